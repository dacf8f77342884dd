//! Booting from a disk as a PC BIOS does: sector 0 of the boot drive is read to
//! 0000:7C00 and entered in real mode with DL = the drive number.
//!
//! Hard disks must end their first sector with the 0x55AA boot signature; floppies need
//! not (SeaBIOS skips the check for floppies by default, and so do old PC BIOSes).

use super::disk::{Disk, DiskKind, Drives, SECTOR};
use super::{BootImage, LoadError, Loaded};
use crate::arch::x86::real_mode;
use crate::arch::x86::regs::RFLAGS_IF;
use crate::memory::GuestMemory;

/// Where the BIOS loads the boot sector.
pub const BOOT_SECTOR_ADDR: u16 = 0x7C00;

/// Checks that `disk` can be booted: it has a first sector, and a hard disk's first
/// sector ends in 0x55AA.
pub fn check_bootable(disk: &Disk) -> Result<[u8; SECTOR], LoadError> {
    let mut sector = [0u8; SECTOR];
    disk.read_sector(0, &mut sector)
        .map_err(|e| LoadError::Invalid(format!("cannot read the boot sector: {e}")))?;
    if disk.kind() == DiskKind::HardDisk && sector[510..512] != [0x55, 0xAA] {
        return Err(LoadError::Invalid(
            "no boot signature (0x55AA) at offset 510; not a bootable disk image".into(),
        ));
    }
    Ok(sector)
}

/// Boots the disk attached as BIOS drive `drive` (0x00 floppy, 0x80 hard disk).
#[derive(Debug, Clone, Copy)]
pub struct DiskBoot {
    drive: u8,
}

impl DiskBoot {
    /// Checks that `drives` has a bootable disk as `drive`.
    pub fn new(drives: &Drives, drive: u8) -> Result<Self, LoadError> {
        let disk = drives.get(drive).ok_or_else(|| {
            LoadError::Invalid(format!("no disk is attached as drive {drive:#04x}"))
        })?;
        check_bootable(disk)?;
        Ok(Self { drive })
    }

    /// The boot drive.
    pub fn drive(&self) -> u8 {
        self.drive
    }
}

impl BootImage for DiskBoot {
    fn load(&self, mem: &GuestMemory, drives: &Drives) -> Result<Loaded, LoadError> {
        // Read again on every reset: the guest may have rewritten its boot sector.
        let disk = drives.get(self.drive).ok_or_else(|| {
            LoadError::Invalid(format!("drive {:#04x} is no longer attached", self.drive))
        })?;
        let sector = check_bootable(disk)?;
        mem.write(u64::from(BOOT_SECTOR_ADDR), &sector)
            .map_err(|e| LoadError::Invalid(e.to_string()))?;
        // SeaBIOS's handoff: CS:IP = 0000:7C00, DL = drive, AX = 0xAA55, DS = ES = 0,
        // interrupts on. The stack is just below the boot sector.
        let mut entry = real_mode(0, BOOT_SECTOR_ADDR, BOOT_SECTOR_ADDR);
        entry.regs.rdx = u64::from(self.drive);
        entry.regs.rax = 0xAA55;
        entry.regs.rflags |= RFLAGS_IF;
        Ok(Loaded { entry })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sector0(sig: bool, sectors: usize) -> Vec<u8> {
        let mut v = vec![0u8; sectors * SECTOR];
        v[0] = 0xEB;
        v[1] = 0xFE;
        if sig {
            v[510] = 0x55;
            v[511] = 0xAA;
        }
        v
    }

    #[test]
    fn hard_disk_boot_sector_lands_at_7c00_with_dl_80() {
        let mut drives = Drives::default();
        let d = Disk::from_bytes(sector0(true, 4), "hd", false).expect("disk");
        assert_eq!(drives.attach(d), 0x80);
        let boot = DiskBoot::new(&drives, 0x80).expect("bootable");
        let mem = crate::machine::layout::pc_memory(4).expect("mem");
        let l = boot.load(&mem, &drives).expect("loads");
        assert_eq!(l.entry.regs.rip, 0x7C00);
        assert_eq!(l.entry.sregs.cs.base, 0);
        assert_eq!(l.entry.regs.rdx, 0x80);
        assert_eq!(l.entry.regs.rsp, 0x7C00);
        assert_ne!(l.entry.regs.rflags & RFLAGS_IF, 0);
        assert_eq!(mem.read_u16(0x7C00 + 510).expect("read"), 0xAA55);
        assert_eq!(mem.read_u8(0x7C00).expect("read"), 0xEB);
    }

    #[test]
    fn hard_disk_without_signature_is_refused_floppy_is_not() {
        let mut drives = Drives::default();
        drives.attach(Disk::from_bytes(sector0(false, 4), "hd", false).expect("disk"));
        let e = DiskBoot::new(&drives, 0x80).expect_err("no signature");
        assert!(
            e.to_string()
                .contains("no boot signature (0x55AA) at offset 510")
        );
        drives.attach(Disk::floppy_from_bytes(sector0(false, 1), "fd").expect("floppy"));
        let boot = DiskBoot::new(&drives, 0x00).expect("floppies need no signature");
        let mem = crate::machine::layout::pc_memory(4).expect("mem");
        assert_eq!(boot.load(&mem, &drives).expect("loads").entry.regs.rdx, 0);
        assert!(DiskBoot::new(&Drives::default(), 0x80).is_err());
        assert!(boot.load(&mem, &Drives::default()).is_err());
    }
}
