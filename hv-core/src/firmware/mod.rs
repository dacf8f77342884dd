//! Firmware: a PC BIOS whose services are written in Rust.
//!
//! The interrupt vectors point at tiny stubs in the ROM (see [`rom`]) that trap to the
//! VMM with one write of their vector number to [`TRAP_PORT`]. [`service`] then rebuilds
//! the caller's registers ([`cpu_view`]), performs the service on them and on the board,
//! and writes the results back; the stub returns with `iret`, or halts with interrupts on
//! and retries: when the service has to wait (for a key, or for time to pass), and once
//! before the service runs when the caller had interrupts enabled and one is pending. One port exit per BIOS call
//! matters here: on hosts that emulate real-mode code, every guest instruction costs
//! about a microsecond, an exit about ten.
//!
//! [`install`] lays out what SeaBIOS leaves behind before it jumps to a boot sector:
//! IVT, BDA, ROM tables and stubs, an initialised PIC pair, video in mode 3.
//!
//! Services: int 10h ([`video`]), 13h ([`disk`]), 16h and the IRQ1 handler
//! ([`keyboard`]), 1Ah, the IRQ0 handler and the int 15h interval timer ([`time`]),
//! 11h/12h/15h ([`system`]), 18h/19h ([`boot`]).

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
pub(crate) mod test_util;

use crate::bus::BusDevice;
use crate::hypervisor::VcpuX86;
use crate::machine::pc::PcBoard;
use cpu_view::{Attempt, Completion, CpuView};

/// The port BIOS ROM stubs write their vector number to, to have the VMM perform the
/// service.
pub const TRAP_PORT: u16 = 0xEF;

/// Linear address of the default interrupt handler (`iret`) in the BIOS ROM, at the
/// place IBM's BIOS kept its dummy handler (F000:FF53).
pub const DEFAULT_HANDLER: u64 = rom::BASE + rom::IRET as u64;

/// Performs BIOS service `vector` for the ROM stub that trapped, and says what the stub
/// does next.
///
/// Traps that did not come from the stub for `vector` (a guest writing the trap port
/// itself, or jumping into the middle of the ROM) are ignored. A trap whose stack frame
/// is unusable is answered "done" without doing anything, so the stub cannot spin.
///
/// Interrupts get in around the call: a service stub trapping for the first time, from a
/// caller that had interrupts enabled, while the PIC has an interrupt for the CPU, is
/// answered [`Completion::Yield`] without running the service, so the stub halts with
/// interrupts on, the interrupt is injected at that halt, and the call is served on the
/// next trap (marked as after the yield, so it yields once per call). A real BIOS runs
/// its services after `sti`, so it lets pending interrupts in at least that often. The
/// IRQ stubs (int 08h, 09h) never yield: they run before their EOI.
pub fn service<V: VcpuX86>(
    vector: u8,
    vcpu: &mut V,
    board: &mut PcBoard,
) -> crate::Result<Completion> {
    let regs = vcpu.regs()?;
    let sregs = vcpu.sregs()?;
    let at = sregs.code_linear(regs.rip);
    if rom::trapping_vector_at(at) != Some(vector) {
        log::debug!("BIOS: ignoring a write of {vector:#04x} to the trap port from {at:#x}");
        return Ok(Completion::Done);
    }
    let mem = board.shared.memory.clone();
    let mut cpu = match CpuView::capture(&regs, &sregs, &mem) {
        Ok(cpu) => cpu,
        Err(e) => {
            log::warn!("BIOS int {vector:02x}h: {e}; call ignored");
            let mut done = regs;
            done.rax &= !0xFF;
            vcpu.set_regs(&done)?;
            return Ok(Completion::Done);
        }
    };
    let completion = if should_yield(vector, &cpu, board) {
        Completion::Yield
    } else {
        dispatch(vector, &mut cpu, board)
    };
    let (new_regs, new_sregs) = cpu.commit(&regs, &sregs, completion, &mem)?;
    if let Some(s) = new_sregs {
        vcpu.set_sregs(&s)?;
    }
    vcpu.set_regs(&new_regs)?;
    Ok(completion)
}

/// Whether the call in `cpu` lets a pending interrupt in before it is served (see
/// [`service`]). Device time is brought up to the trap first, so a timer tick that fell
/// due since the last exit counts as pending.
fn should_yield(vector: u8, cpu: &CpuView, board: &mut PcBoard) -> bool {
    if rom::service_stub_offset(vector).is_none()
        || cpu.attempt != Attempt::First
        || !cpu.caller_interrupts_enabled()
    {
        return false;
    }
    board.poll();
    board.pic.has_interrupt()
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

/// A vCPU for unit tests of the firmware and the x86 loop half.
#[cfg(test)]
pub(crate) mod fake {
    use std::sync::Arc;

    use crate::arch::x86::regs::{Regs, Segment, Sregs};
    use crate::exit::VcpuExit;
    use crate::firmware::rom;
    use crate::hypervisor::{IoHandler, Kicker, Vcpu, VcpuX86};
    use crate::machine::pc::PcBoard;

    #[derive(Debug)]
    struct NoKick;

    impl Kicker for NoKick {
        fn kick(&self) {}
    }

    /// A vCPU that only holds registers, to drive [`super::service`] without a backend.
    #[derive(Debug, Default)]
    pub struct FakeVcpu {
        pub regs: Regs,
        pub sregs: Sregs,
        pub sregs_written: bool,
    }

    impl Vcpu for FakeVcpu {
        fn run(&mut self, _io: &mut dyn IoHandler) -> crate::Result<VcpuExit> {
            Ok(VcpuExit::Spurious)
        }
        fn kicker(&self) -> Arc<dyn Kicker> {
            Arc::new(NoKick)
        }
        fn reset(&mut self) -> crate::Result<()> {
            Ok(())
        }
    }

    impl VcpuX86 for FakeVcpu {
        fn regs(&self) -> crate::Result<Regs> {
            Ok(self.regs)
        }
        fn set_regs(&mut self, regs: &Regs) -> crate::Result<()> {
            self.regs = *regs;
            Ok(())
        }
        fn sregs(&self) -> crate::Result<Sregs> {
            Ok(self.sregs)
        }
        fn set_sregs(&mut self, sregs: &Sregs) -> crate::Result<()> {
            self.sregs = *sregs;
            self.sregs_written = true;
            Ok(())
        }
        fn ready_for_interrupt(&self) -> bool {
            false
        }
        fn inject_interrupt(&mut self, _vector: u8) -> crate::Result<()> {
            Ok(())
        }
        fn request_interrupt_window(&mut self, _on: bool) -> crate::Result<()> {
            Ok(())
        }
    }

    /// A vCPU stopped at the `out` of the stub for `vector` (`rip_in_stub` bytes into the
    /// stub), called from 0000:7C10 with `ax` and `flags`, the frame at 0000:7000.
    pub fn trapped(b: &PcBoard, vector: u8, ax: u16, flags: u16, rip_in_stub: u16) -> FakeVcpu {
        let mem = &b.shared.memory;
        for (i, w) in [ax, 0x7C10, 0, flags].iter().enumerate() {
            mem.write_u16(0x7000 + 2 * i as u64, *w).expect("frame");
        }
        let stub = rom::service_stub_offset(vector).unwrap_or(0);
        FakeVcpu {
            regs: Regs {
                rax: u64::from(vector),
                rsp: 0x7000,
                rip: u64::from(stub + rip_in_stub),
                rflags: 0x2,
                ..Default::default()
            },
            sregs: Sregs {
                cs: Segment::real_mode(rom::SEGMENT, true),
                ds: Segment::real_mode(0, false),
                es: Segment::real_mode(0, false),
                ss: Segment::real_mode(0, false),
                ..Default::default()
            },
            sregs_written: false,
        }
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

    use super::fake::trapped;
    use crate::arch::x86::regs::{Regs, Segment};

    #[test]
    fn service_returns_results_through_the_frame() {
        let mut b = board();
        let mut c = CpuView::for_test(Regs {
            rax: 0x0500,
            rcx: 0x1E61,
            ..Default::default()
        });
        keyboard::int16(&mut c, &mut b);
        // RIP at the `out` (offset 5) or past it (7): both accepted.
        for rip in [5, 7] {
            let mut vcpu = trapped(&b, 0x16, 0x0100, 0x0202, rip);
            service(0x16, &mut vcpu, &mut b).expect("service");
            let mem = &b.shared.memory;
            assert_eq!(mem.read_u16(0x7000).expect("r"), 0x1E61, "AX in the frame");
            assert_eq!(mem.read_u16(0x7006).expect("r") & 0x40, 0, "ZF clear");
            assert_eq!(vcpu.regs.rax & 0xFF, 0, "AL = done");
            assert_eq!(
                vcpu.regs.rip,
                u64::from(rom::service_stub_offset(0x16).unwrap_or(0) + rip)
            );
        }
        // AH=00h takes it; the next AH=00h has to wait.
        let mut vcpu = trapped(&b, 0x16, 0x0000, 0x0202, 5);
        service(0x16, &mut vcpu, &mut b).expect("service");
        let mut vcpu = trapped(&b, 0x16, 0x0000, 0x0202, 5);
        service(0x16, &mut vcpu, &mut b).expect("service");
        assert_eq!(vcpu.regs.rax & 0xFF, 1, "AL = wait");
    }

    #[test]
    fn service_loads_es_when_a_call_returns_a_far_pointer() {
        let mut b = board();
        let mut vcpu = trapped(&b, 0x15, 0xC000, 0x0202, 5);
        service(0x15, &mut vcpu, &mut b).expect("service");
        assert!(vcpu.sregs_written);
        assert_eq!(vcpu.sregs.es.base, rom::BASE);
        assert_eq!(vcpu.regs.rbx & 0xFFFF, u64::from(rom::CONFIG_TABLE));
    }

    #[test]
    fn traps_from_outside_the_matching_stub_are_ignored() {
        let mut b = board();
        // The guest's own `out 0xEF` at 0000:7C05.
        let mut vcpu = trapped(&b, 0x16, 0x0000, 0x0202, 5);
        vcpu.sregs.cs = Segment::real_mode(0, true);
        vcpu.regs.rip = 0x7C05;
        let before = vcpu.regs;
        service(0x16, &mut vcpu, &mut b).expect("service");
        assert_eq!(vcpu.regs, before);
        // The int 16h stub claiming to be int 13h.
        let mut vcpu = trapped(&b, 0x16, 0x0000, 0x0202, 5);
        let before = vcpu.regs;
        service(0x13, &mut vcpu, &mut b).expect("service");
        assert_eq!(vcpu.regs, before);
        // A stack in the ROM: answered "done" without doing anything.
        let mut vcpu = trapped(&b, 0x16, 0x0000, 0x0202, 5);
        vcpu.sregs.ss = Segment::real_mode(rom::SEGMENT, false);
        service(0x16, &mut vcpu, &mut b).expect("service");
        assert_eq!(vcpu.regs.rax & 0xFF, 0);
    }

    /// An IRQ0 edge latched at the PIC (unmasked by `install`).
    fn pend_irq0(b: &PcBoard) {
        use crate::irq::IrqSink;
        b.pic.set_level(0, true);
        b.pic.set_level(0, false);
    }

    fn frame(b: &PcBoard) -> [u16; 4] {
        let mem = &b.shared.memory;
        std::array::from_fn(|i| mem.read_u16(0x7000 + 2 * i as u64).expect("frame"))
    }

    fn queue_key(b: &mut PcBoard, key: u16) {
        let mut c = CpuView::for_test(Regs {
            rax: 0x0500,
            rcx: key.into(),
            ..Default::default()
        });
        keyboard::int16(&mut c, b);
    }

    #[test]
    fn a_caller_with_interrupts_on_lets_a_pending_interrupt_in_first() {
        let mut b = board();
        queue_key(&mut b, 0x1E61);
        pend_irq0(&b);
        let mut vcpu = trapped(&b, 0x16, 0x0100, 0x0202, 7);
        let before = frame(&b);
        assert_eq!(
            service(0x16, &mut vcpu, &mut b).expect("service"),
            Completion::Yield
        );
        assert_eq!(
            vcpu.regs.rax & 0xFFFF,
            0x0201,
            "AL=1: halt; AH=2: after the yield"
        );
        assert_eq!(frame(&b), before, "the service has not run");
        // The stub halts with IF=1; the loop injects IRQ0 there and its handler EOIs.
        assert_eq!(b.pic.acknowledge(), Some(0x08));
        b.pic.ports().write(0x20, &[0x20]);
        // Another interrupt pending at the retry does not delay the call again.
        pend_irq0(&b);
        vcpu.regs.rax = 0x0216; // the stub's `mov al, 16h` before `out`
        assert_eq!(
            service(0x16, &mut vcpu, &mut b).expect("service"),
            Completion::Done
        );
        assert_eq!(vcpu.regs.rax & 0xFF, 0, "AL=0: return");
        let after = frame(&b);
        assert_eq!(after[0], 0x1E61, "AX: the key");
        assert_eq!(after[3] & cpu_view::FLAG_ZF, 0, "ZF=0: a key is there");
    }

    #[test]
    fn nothing_is_let_in_early_when_the_caller_had_interrupts_off() {
        let mut b = board();
        queue_key(&mut b, 0x1E61);
        pend_irq0(&b);
        let mut vcpu = trapped(&b, 0x16, 0x0100, 0x0002, 7);
        assert_eq!(
            service(0x16, &mut vcpu, &mut b).expect("service"),
            Completion::Done
        );
        assert_eq!(frame(&b)[0], 0x1E61);
        assert!(
            b.pic.has_interrupt(),
            "still pending, for the caller's own sti"
        );
    }

    #[test]
    fn nothing_pending_or_masked_means_no_yield() {
        let mut b = board();
        let mut vcpu = trapped(&b, 0x1A, 0x0000, 0x0202, 5);
        assert_eq!(
            service(0x1A, &mut vcpu, &mut b).expect("service"),
            Completion::Done
        );
        // IRQ0 masked: its latched request is no interrupt for the CPU.
        b.pic.ports().write(0x21, &[0xF9]);
        pend_irq0(&b);
        let mut vcpu = trapped(&b, 0x1A, 0x0000, 0x0202, 5);
        assert_eq!(
            service(0x1A, &mut vcpu, &mut b).expect("service"),
            Completion::Done
        );
    }

    #[test]
    fn a_tick_that_fell_due_before_the_trap_is_let_in() {
        let clock = std::sync::Arc::new(crate::clock::FakeClock::new());
        let mut b = super::test_util::board_with_clock(clock.clone());
        clock.advance(std::time::Duration::from_millis(55));
        let mut vcpu = trapped(&b, 0x1A, 0x0000, 0x0202, 5);
        assert_eq!(
            service(0x1A, &mut vcpu, &mut b).expect("service"),
            Completion::Yield,
            "the PIT was brought up to the trap"
        );
    }

    #[test]
    fn irq_stubs_never_yield() {
        let mut b = board();
        // In the IRQ1 handler, before its EOI, IRQ0 (higher priority) is pending.
        use crate::irq::IrqSink;
        b.pic.set_level(1, true);
        assert_eq!(b.pic.acknowledge(), Some(0x09));
        pend_irq0(&b);
        assert!(b.pic.has_interrupt());
        let mut vcpu = trapped(&b, 0x16, 0x0000, 0x0202, 5);
        vcpu.regs.rip = u64::from(rom::IRQ1_STUB + 5);
        vcpu.regs.rax = 0x09;
        assert_eq!(
            service(0x09, &mut vcpu, &mut b).expect("service"),
            Completion::Done
        );
        vcpu.regs.rip = u64::from(rom::IRQ0_STUB + 5);
        vcpu.regs.rax = 0x08;
        assert_eq!(
            service(0x08, &mut vcpu, &mut b).expect("service"),
            Completion::Done
        );
        assert_eq!(b.shared.memory.read_u32(bda::TICKS).expect("r"), 1);
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
