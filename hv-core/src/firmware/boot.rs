//! int 18h (no bootable device) and int 19h (bootstrap loader).
//!
//! int 19h reads LBA 0 of the boot drive to 0000:7C00 and "returns" there: the stub's
//! `iret` frame is rewritten to CS:IP = 0000:7C00 with interrupts on, DL = the drive and
//! AX = AA55h, the hand-off SeaBIOS makes (`src/boot.c`). When nothing can be booted it
//! does what int 18h does: a message on the screen, then `cli; hlt` forever.

use super::cpu_view::{Completion, CpuView, FLAG_IF, write_guest};
use super::rom;
use super::video;
use crate::loader::disk::{DiskKind, SECTOR};
use crate::machine::pc::PcBoard;

/// Where boot sectors are loaded and entered.
pub const BOOT_ADDRESS: u16 = 0x7C00;
/// The message int 18h shows.
pub const NO_BOOT_MESSAGE: &str = "No bootable device.";

/// int 18h: report and halt (the stub returns into the ROM's halt loop).
pub fn int18(cpu: &mut CpuView, board: &mut PcBoard) -> Completion {
    log::warn!("BIOS: {NO_BOOT_MESSAGE}");
    video::print(board, NO_BOOT_MESSAGE.as_bytes());
    video::print(board, b"\r\n");
    cpu.return_cs = rom::SEGMENT;
    cpu.return_ip = rom::HALT_LOOP;
    Completion::Done
}

/// int 19h: load the boot sector of drive DL (or of the first attached drive) and enter it.
pub fn int19(cpu: &mut CpuView, board: &mut PcBoard) -> Completion {
    let requested = cpu.dl();
    let drive = if board.drives.get(requested).is_some() {
        Some(requested)
    } else {
        [0x00, 0x80]
            .into_iter()
            .find(|&d| board.drives.get(d).is_some())
    };
    match drive.map(|d| (d, load_boot_sector(board, d))) {
        Some((d, Ok(()))) => {
            log::info!("BIOS: booting drive {d:#04x}");
            cpu.return_cs = 0;
            cpu.return_ip = BOOT_ADDRESS;
            cpu.flags |= FLAG_IF;
            cpu.set_ax(0xAA55);
            cpu.set_dx(u16::from(d));
            Completion::Done
        }
        Some((d, Err(why))) => {
            log::warn!("BIOS: drive {d:#04x} is not bootable: {why}");
            int18(cpu, board)
        }
        None => int18(cpu, board),
    }
}

/// Reads LBA 0 of `drive` to 0x7C00; hard disks must carry the 55 AA signature.
fn load_boot_sector(board: &PcBoard, drive: u8) -> Result<(), String> {
    let disk = board.drives.get(drive).ok_or("no such drive")?;
    let mut sector = [0u8; SECTOR];
    disk.read_sector(0, &mut sector)
        .map_err(|e| e.to_string())?;
    if disk.kind() == DiskKind::HardDisk && sector[510..] != [0x55, 0xAA] {
        return Err("no boot signature (55 AA)".into());
    }
    if !write_guest(&board.shared.memory, u64::from(BOOT_ADDRESS), &sector) {
        return Err("0x7C00 is not writable".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::vga::text_screen;
    use crate::firmware::test_util::{board, cpu};
    use crate::loader::disk::Disk;

    fn screen_has(b: &PcBoard, text: &str) -> bool {
        let state = b.shared.vga.lock().expect("vga").clone();
        text_screen(&state, &b.shared.memory).is_some_and(|s| s.contains(text))
    }

    #[test]
    fn int19_loads_and_enters_the_boot_sector() {
        let mut b = board();
        let mut image = vec![0u8; 1_474_560];
        image[0] = 0xEB;
        image[510..512].copy_from_slice(&[0x55, 0xAA]);
        b.drives.floppy = Some(Disk::from_bytes(image, "boot", false).expect("disk"));
        let mut c = cpu(0, 0, 0, 0x0080); // DL names an absent drive: the floppy is used
        c.flags = 0x0002;
        assert_eq!(int19(&mut c, &mut b), Completion::Done);
        assert_eq!((c.return_cs, c.return_ip), (0, BOOT_ADDRESS));
        assert_eq!((c.dl(), c.ax()), (0x00, 0xAA55));
        assert_ne!(c.flags & FLAG_IF, 0);
        assert_eq!(b.shared.memory.read_u8(0x7C00).expect("r"), 0xEB);
    }

    #[test]
    fn unbootable_disks_end_in_int18() {
        let mut b = board();
        b.drives.hard_disk = Some(Disk::from_bytes(vec![0; 4096], "hd", true).expect("disk"));
        let mut c = cpu(0, 0, 0, 0x0080);
        int19(&mut c, &mut b);
        assert_eq!((c.return_cs, c.return_ip), (rom::SEGMENT, rom::HALT_LOOP));
        assert!(screen_has(&b, NO_BOOT_MESSAGE));
        let mut b = board();
        let mut c = cpu(0, 0, 0, 0);
        int19(&mut c, &mut b);
        assert_eq!(c.return_ip, rom::HALT_LOOP, "no drives at all");
    }
}
