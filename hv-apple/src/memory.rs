//! What `hv_vm_map` is given: flags and the checks made before calling it (the call is
//! in `sys/vm.rs`).
//!
//! applevisor 1.0's `Memory::map` passes its `MemPerms` enum *discriminant* as the flags,
//! so `ReadWrite` maps execute-only (notes/backends.md §2.1); hv computes the flags here.

use hv_core::memory::{MAP_ALIGN, MemoryRegionInfo};
use hv_core::{HvError, Result};

use crate::abi::memory::{
    EXEC as HV_MEMORY_EXEC, READ as HV_MEMORY_READ, WRITE as HV_MEMORY_WRITE,
};

/// The `HV_MEMORY_*` flags for a region. ROM stays executable but not writable, so guest
/// stores to it exit as data aborts and reach the MMIO handler.
pub fn permissions(read_only: bool) -> u64 {
    if read_only {
        HV_MEMORY_READ | HV_MEMORY_EXEC
    } else {
        HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC
    }
}

/// Checks what `hv_vm_map` requires before calling it: host address, IPA and size
/// aligned to the 16 KiB stage-2 granule, nonzero, and no wrap-around.
pub fn validate(region: &MemoryRegionInfo) -> Result<()> {
    let host = region.host as u64;
    let aligned = |v: u64| v % MAP_ALIGN == 0;
    if region.size == 0 || !aligned(region.gpa) || !aligned(region.size) || !aligned(host) {
        return Err(HvError::InvalidArgument(format!(
            "HVF maps 16 KiB granules: region at IPA {:#x}, size {:#x}, host {host:#x} is \
             not {MAP_ALIGN:#x}-aligned (or empty)",
            region.gpa, region.size
        )));
    }
    if region.gpa.checked_add(region.size).is_none() {
        return Err(HvError::InvalidArgument(format!(
            "region at IPA {:#x} of {:#x} bytes wraps around",
            region.gpa, region.size
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_are_hv_memory_bits() {
        assert_eq!(permissions(false), 0b111);
        assert_eq!(permissions(true), 0b101);
        assert_eq!(permissions(true) & HV_MEMORY_WRITE, 0);
    }

    #[test]
    fn applevisor_memperms_bug_is_why_we_map_ourselves() {
        use applevisor::memory::MemPerms;
        // What applevisor 1.0 passes to hv_vm_map (`perms as u64`): the discriminant.
        assert_eq!(
            MemPerms::ReadWrite as u64,
            HV_MEMORY_EXEC,
            "RW would map exec-only"
        );
        assert_eq!(MemPerms::Exec as u64, HV_MEMORY_READ | HV_MEMORY_WRITE);
        // Our flags for the two kinds of region we map.
        assert_eq!(permissions(false), MemPerms::ReadWriteExec as u64);
        assert_eq!(permissions(true), HV_MEMORY_READ | HV_MEMORY_EXEC);
        // RX happens to coincide (discriminant 5 = R|X); RW is the case that breaks.
        assert_eq!(permissions(true), MemPerms::ReadExec as u64);
    }

    fn region(gpa: u64, size: u64, host: usize) -> MemoryRegionInfo {
        MemoryRegionInfo {
            gpa,
            size,
            host: host as *mut u8,
            read_only: false,
        }
    }

    #[test]
    fn validate_requires_16k_alignment() {
        assert!(validate(&region(0x4000_0000, 0x4000, 0x1_0000)).is_ok());
        assert!(validate(&region(0x4000_1000, 0x4000, 0x1_0000)).is_err());
        assert!(validate(&region(0x4000_0000, 0x1000, 0x1_0000)).is_err());
        assert!(validate(&region(0x4000_0000, 0x4000, 0x1_1000)).is_err());
        assert!(validate(&region(0x4000_0000, 0, 0x1_0000)).is_err());
        assert!(validate(&region(u64::MAX - 0x3fff, 0x8000, 0x1_0000)).is_err());
    }
}
