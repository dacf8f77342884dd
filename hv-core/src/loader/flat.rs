//! Flat binaries: raw real-mode code loaded at an address (0x7C00 by default) and entered
//! as a BIOS enters a boot sector: CS:IP = 0000:addr, DL = 0x80, interrupts off.

use super::{BootImage, LoadError, Loaded};
use crate::arch::x86::real_mode;
use crate::machine::layout::VGA_MEMORY_START;
use crate::memory::GuestMemory;

/// The default load address (where a BIOS puts a boot sector).
pub const DEFAULT_LOAD_ADDR: u16 = 0x7C00;

/// A raw binary.
#[derive(Debug, Clone)]
pub struct FlatImage {
    bytes: Vec<u8>,
    load_addr: u16,
}

impl FlatImage {
    /// Checks that `bytes` fit in conventional memory at `load_addr` (below VGA memory).
    pub fn new(bytes: Vec<u8>, load_addr: u16) -> Result<Self, LoadError> {
        if bytes.is_empty() {
            return Err(LoadError::Empty);
        }
        if load_addr < 0x500 {
            return Err(LoadError::Invalid(format!(
                "load address {load_addr:#x} would overwrite the interrupt vector table or BIOS data area; use 0x500 or above"
            )));
        }
        let max = (VGA_MEMORY_START - u64::from(load_addr)) as usize;
        if bytes.len() > max {
            return Err(LoadError::TooLarge {
                size: bytes.len(),
                max,
                addr: u64::from(load_addr),
            });
        }
        Ok(Self { bytes, load_addr })
    }
}

impl BootImage for FlatImage {
    fn load(&self, mem: &GuestMemory, _drives: &super::disk::Drives) -> Result<Loaded, LoadError> {
        mem.write(u64::from(self.load_addr), &self.bytes)
            .map_err(|e| LoadError::Invalid(e.to_string()))?;
        let mut entry = real_mode(0, self.load_addr, self.load_addr);
        entry.regs.rdx = 0x80;
        Ok(Loaded { entry })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_at_7c00_with_boot_drive_in_dl() {
        let mem = crate::machine::layout::pc_memory(4).expect("mem");
        let img = FlatImage::new(vec![0xF4, 0xEB, 0xFE], DEFAULT_LOAD_ADDR).expect("fits");
        let l = img.load(&mem, &Default::default()).expect("loads");
        assert_eq!(l.entry.regs.rip, 0x7C00);
        assert_eq!(l.entry.regs.rdx, 0x80);
        assert_eq!(l.entry.sregs.cs.base, 0);
        assert_eq!(mem.read_u8(0x7C01).expect("read"), 0xEB);
    }

    #[test]
    fn rejects_empty_oversized_and_low_addresses() {
        assert_eq!(FlatImage::new(vec![], 0x7C00).err(), Some(LoadError::Empty));
        assert!(matches!(
            FlatImage::new(vec![0; 0xA0000 - 0x7C00 + 1], 0x7C00),
            Err(LoadError::TooLarge { .. })
        ));
        assert!(FlatImage::new(vec![0; 0xA0000 - 0x7C00], 0x7C00).is_ok());
        assert!(FlatImage::new(vec![0x90], 0x400).is_err());
    }
}
