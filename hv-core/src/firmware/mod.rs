//! Firmware: a PC BIOS whose services are written in Rust.
//!
//! The interrupt vectors point at tiny stubs in the ROM (see [`rom`]) that trap to the
//! VMM with one write of their vector number to [`TRAP_PORT`]. [`service`] then rebuilds
//! the caller's registers ([`cpu_view`]), performs the service on them and on the board,
//! and writes the results back; the stub returns with `iret`, or halts and retries when
//! the service has to wait (for a key, or for time to pass). One port exit per BIOS call
//! matters here: on hosts that emulate real-mode code, every guest instruction costs
//! about a microsecond, an exit about ten.
//!
//! [`install`] lays out what SeaBIOS leaves behind before it jumps to a boot sector:
//! IVT, BDA, ROM tables and stubs, an initialised PIC pair, video in mode 3.
//!
//! Services: int 10h ([`video`]), 13h ([`disk`]), 16h and the IRQ1 handler
//! ([`keyboard`]), 1Ah and the IRQ0 handler ([`time`]), 11h/12h/15h ([`system`]),
//! 18h/19h ([`boot`]).

pub mod bda;
pub mod boot;
pub mod cpu_view;
pub mod disk;
pub mod keyboard;
pub mod rom;
pub mod system;
pub mod time;
pub mod video;

#[cfg(test)]
mod test_util;

use crate::bus::BusDevice;
use crate::hypervisor::VcpuX86;
use crate::machine::pc::PcBoard;
use cpu_view::{Completion, CpuView};

/// The port BIOS ROM stubs write their vector number to, to have the VMM perform the
/// service.
pub const TRAP_PORT: u16 = 0xEF;

/// Linear address of the default interrupt handler (`iret`) in the BIOS ROM, at the
/// place IBM's BIOS kept its dummy handler (F000:FF53).
pub const DEFAULT_HANDLER: u64 = rom::BASE + rom::IRET as u64;

/// Performs BIOS service `vector` for the ROM stub that trapped.
///
/// Traps that did not come from the stub for `vector` (a guest writing the trap port
/// itself, or jumping into the middle of the ROM) are ignored. A trap whose stack frame
/// is unusable is answered "done" without doing anything, so the stub cannot spin.
pub fn service<V: VcpuX86>(vector: u8, vcpu: &mut V, board: &mut PcBoard) -> crate::Result<()> {
    let regs = vcpu.regs()?;
    let sregs = vcpu.sregs()?;
    let at = sregs.code_linear(regs.rip);
    if rom::trapping_vector_at(at) != Some(vector) {
        log::debug!("BIOS: ignoring a write of {vector:#04x} to the trap port from {at:#x}");
        return Ok(());
    }
    let mem = board.shared.memory.clone();
    let mut cpu = match CpuView::capture(&regs, &sregs, &mem) {
        Ok(cpu) => cpu,
        Err(e) => {
            log::warn!("BIOS int {vector:02x}h: {e}; call ignored");
            let mut done = regs;
            done.rax &= !0xFF;
            return vcpu.set_regs(&done);
        }
    };
    let completion = dispatch(vector, &mut cpu, board);
    let (new_regs, new_sregs) = cpu.commit(&regs, &sregs, completion, &mem)?;
    if let Some(s) = new_sregs {
        vcpu.set_sregs(&s)?;
    }
    vcpu.set_regs(&new_regs)
}

/// Runs the service for `vector` on the caller's registers.
pub fn dispatch(vector: u8, cpu: &mut CpuView, board: &mut PcBoard) -> Completion {
    match vector {
        0x08 => time::irq0(board),
        0x09 => keyboard::irq1(board),
        0x10 => video::int10(cpu, board),
        0x11 => system::int11(cpu, board),
        0x12 => system::int12(cpu, board),
        0x13 => disk::int13(cpu, board),
        0x15 => system::int15(cpu, board),
        0x16 => keyboard::int16(cpu, board),
        0x18 => boot::int18(cpu, board),
        0x19 => boot::int19(cpu, board),
        0x1A => time::int1a(cpu, board),
        _ => {
            log::debug!("BIOS: no service for int {vector:02x}h");
            Completion::Done
        }
    }
}

/// Installs the BIOS into freshly zeroed guest memory (on every power-on and reset,
/// before the image loader runs): ROM, IVT, BDA, disk tables, video state, and the PIC
/// pair initialised as SeaBIOS leaves it.
pub fn install(board: &PcBoard) -> crate::Result<()> {
    let mem = &board.shared.memory;
    let font = board
        .shared
        .vga
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .font()
        .clone();
    let glyphs: Vec<u8> = (0..=255u8)
        .flat_map(|c| font.glyph(c)[..16].to_vec())
        .collect();
    let mut image = rom::image(&glyphs);
    disk::write_rom_tables(&mut image, &board.drives);
    mem.write(rom::BASE, &image)?;

    let ivt: Vec<u8> = (0..=255u8)
        .flat_map(|v| {
            let far = rom::handler_offset(v)
                .map_or(0, |off| u32::from(rom::SEGMENT) << 16 | u32::from(off));
            far.to_le_bytes()
        })
        .collect();
    mem.write(0, &ivt)?;

    let hard_disks = u8::from(board.drives.hard_disk.is_some());
    bda::init(mem, board.drives.floppy.is_some(), hard_disks)?;
    video::init(board)?;
    init_pic(board);
    Ok(())
}

/// Programs the 8259 pair as SeaBIOS's `pic_setup` does: edge-triggered, vectors 08h and
/// 70h, slave on IR2, 8086 mode; everything masked except the timer, the keyboard and
/// the cascade.
fn init_pic(board: &PcBoard) {
    let mut ports = board.pic.ports();
    for (port, value) in [
        (0x20u64, 0x11u8), // ICW1: edge, cascade, ICW4 follows
        (0xA0, 0x11),
        (0x21, 0x08), // ICW2: vector base
        (0xA1, 0x70),
        (0x21, 0x04), // ICW3: slave on IR2
        (0xA1, 0x02), //       slave id 2
        (0x21, 0x01), // ICW4: 8086 mode
        (0xA1, 0x01),
        (0x21, 0xF8), // OCW1: IRQ0, IRQ1, IRQ2 open
        (0xA1, 0xFF),
    ] {
        ports.write(port, &[value]);
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::board;
    use super::*;

    #[test]
    fn install_points_every_vector_somewhere_sensible() {
        let b = board();
        install(&b).expect("install");
        let mem = &b.shared.memory;
        let vector = |v: u64| mem.read_u32(v * 4).expect("ivt");
        assert_eq!(vector(0x20), 0xF000_FF53);
        assert_eq!(
            vector(0x16),
            0xF000_0000 | u32::from(rom::service_stub_offset(0x16).expect("stub"))
        );
        assert_eq!(vector(0x1F), 0);
        assert_eq!(mem.read_u8(DEFAULT_HANDLER).expect("rom"), 0xCF);
        // The font is in the ROM where int 10h AX=1130h says.
        let font = b.shared.vga.lock().expect("vga").font().clone();
        let mut glyph = [0u8; 16];
        mem.read(rom::BASE + 16 * u64::from(b'A'), &mut glyph)
            .expect("rom");
        assert_eq!(&glyph[..], &font.glyph(b'A')[..16]);
    }

    #[test]
    fn install_initialises_the_pic_like_seabios() {
        let b = board();
        install(&b).expect("install");
        let mut ports = b.pic.ports();
        let mut imr = [0u8; 2];
        ports.read(0x21, &mut imr[..1]);
        ports.read(0xA1, &mut imr[1..]);
        assert_eq!(imr, [0xF8, 0xFF]);
        // IRQ1 now arrives as vector 9.
        use crate::irq::IrqSink;
        b.pic.set_level(1, true);
        assert_eq!(b.pic.acknowledge(), Some(0x09));
    }

    #[test]
    fn unknown_vectors_are_ignored() {
        let mut b = board();
        let mut cpu = CpuView::for_test(Default::default());
        let before = cpu.clone();
        assert_eq!(dispatch(0x21, &mut cpu, &mut b), Completion::Done);
        assert_eq!(cpu, before);
    }
}
