//! The PC's guest-physical memory map.
//!
//! ```text
//! 0x0000_0000  IVT, BIOS data area, free conventional memory (RAM)
//! 0x0009_FC00  EBDA (RAM)
//! 0x000A_0000  VGA memory (plain RAM: guest writes never exit)
//! 0x000C_0000  option-ROM area (RAM, unused)
//! 0x000F_0000  BIOS ROM (read-only to the guest; writes exit and are dropped)
//! 0x0010_0000  extended memory (RAM) up to the configured size
//! ```

use crate::error::{HvError, Result};
use crate::memory::{GuestMemory, RegionSpec};

/// Start of the BIOS ROM.
pub const BIOS_ROM_START: u64 = 0xF_0000;
/// Size of the BIOS ROM.
pub const BIOS_ROM_SIZE: u64 = 0x1_0000;
/// Start of extended memory.
pub const HIGH_MEMORY_START: u64 = 0x10_0000;
/// Start of VGA memory.
pub const VGA_MEMORY_START: u64 = 0xA_0000;
/// End of VGA memory (exclusive).
pub const VGA_MEMORY_END: u64 = 0xC_0000;
/// Start of the extended BIOS data area (the last KiB of conventional memory).
pub const EBDA_START: u64 = 0x9_FC00;
/// Smallest RAM size hv accepts.
pub const MIN_MEMORY_MIB: u64 = 2;
/// Largest RAM size hv accepts (stays below the 32-bit MMIO hole at 3 GiB).
pub const MAX_MEMORY_MIB: u64 = 3 * 1024;

/// Guest memory for a PC with `mib` MiB of RAM (the BIOS ROM is carved out of the first
/// MiB as on real hardware).
pub fn pc_memory(mib: u64) -> Result<GuestMemory> {
    if !(MIN_MEMORY_MIB..=MAX_MEMORY_MIB).contains(&mib) {
        return Err(HvError::InvalidArgument(format!(
            "memory size {mib} MiB is out of range; use {MIN_MEMORY_MIB} to {MAX_MEMORY_MIB} MiB"
        )));
    }
    let total = mib << 20;
    GuestMemory::new(&[
        RegionSpec {
            gpa: 0,
            size: BIOS_ROM_START,
            read_only: false,
        },
        RegionSpec {
            gpa: BIOS_ROM_START,
            size: BIOS_ROM_SIZE,
            read_only: true,
        },
        RegionSpec {
            gpa: HIGH_MEMORY_START,
            size: total - HIGH_MEMORY_START,
            read_only: false,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_has_rom_hole_and_bounds() {
        let m = pc_memory(64).expect("valid size");
        let r: Vec<_> = m.regions().map(|r| (r.gpa, r.size, r.read_only)).collect();
        assert_eq!(r[1], (BIOS_ROM_START, BIOS_ROM_SIZE, true));
        assert_eq!(r[2].0 + r[2].1, 64 << 20);
        assert!(pc_memory(0).is_err());
        assert!(pc_memory(1).is_err());
        assert!(pc_memory(1 << 20).is_err());
    }
}
