//! A WHP partition: creation with its properties, guest memory, teardown.
//!
//! Properties must all be set before `WHvSetupPartition` (QEMU: CPUID results cannot be
//! changed afterwards), so creation is one function that either returns a set-up
//! partition or deletes what it made.

use std::ffi::c_void;
use std::sync::OnceLock;

use hv_core::arch::x86::cpuid::{self, CpuidResult};
use hv_core::{GuestMemory, HvError, MemoryRegionInfo, Result};
use windows_sys::Win32::Foundation::WHV_E_UNKNOWN_PROPERTY;
use windows_sys::Win32::System::Hypervisor::*;

use crate::api::WhpApi;
use crate::hresult::{check, describe};
use crate::layout::{RegValue, values_mut_ptr, values_ptr};

/// WHP maps guest memory in 4 KiB pages (MSDocs WHvMapGpaRange).
const PAGE: u64 = 0x1000;

/// CPUID leaves whose results hv overrides, each as the host reports it after
/// [`cpuid::adjust`]. Leaf 1 carries the APIC bits that must be hidden.
const OVERRIDDEN_LEAVES: [u32; 1] = [1];

/// CPUID.1:ECX bit 27, OSXSAVE: mirrors the *guest's* CR4.OSXSAVE, which a static
/// result list cannot follow; a fresh guest has CR4.OSXSAVE = 0.
const LEAF1_ECX_OSXSAVE: u32 = 1 << 27;

/// The `WHvPartitionPropertyCodeCpuidResultList` entries for `host` results.
pub(crate) fn cpuid_result_list(host: impl Fn(u32) -> CpuidResult) -> Vec<WHV_X64_CPUID_RESULT> {
    OVERRIDDEN_LEAVES
        .iter()
        .map(|&leaf| {
            let mut r = host(leaf);
            cpuid::adjust(leaf, 0, &mut r);
            if leaf == 1 {
                r.ecx &= !LEAF1_ECX_OSXSAVE;
            }
            WHV_X64_CPUID_RESULT {
                Function: leaf,
                Reserved: [0; 3],
                Eax: r.eax,
                Ebx: r.ebx,
                Ecx: r.ecx,
                Edx: r.edx,
            }
        })
        .collect()
}

/// The host's CPUID answer for `leaf` (subleaf 0).
#[cfg(target_arch = "x86_64")]
pub(crate) fn host_cpuid(leaf: u32) -> CpuidResult {
    #[allow(unused_unsafe)]
    // SAFETY: CPUID exists on every x86-64 CPU; it has no memory effects.
    let r = unsafe { std::arch::x86_64::__cpuid_count(leaf, 0) };
    CpuidResult {
        eax: r.eax,
        ebx: r.ebx,
        ecx: r.ecx,
        edx: r.edx,
    }
}

/// Off x86-64 there is no WHP x86 guest; the API table never loads there.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn host_cpuid(_leaf: u32) -> CpuidResult {
    CpuidResult::default()
}

/// `WHvMapGpaRange` flags: ROM is R|X (guest writes exit as MMIO), RAM is R|W|X.
pub(crate) fn map_flags(read_only: bool) -> WHV_MAP_GPA_RANGE_FLAGS {
    if read_only {
        WHvMapGpaRangeFlagRead | WHvMapGpaRangeFlagExecute
    } else {
        WHvMapGpaRangeFlagRead | WHvMapGpaRangeFlagWrite | WHvMapGpaRangeFlagExecute
    }
}

/// Refuses a region WHP would reject with a bare E_INVALIDARG.
pub(crate) fn check_region(r: &MemoryRegionInfo) -> Result<()> {
    if r.gpa % PAGE != 0
        || r.size % PAGE != 0
        || r.size == 0
        || (r.host as usize) % PAGE as usize != 0
    {
        return Err(HvError::InvalidArgument(format!(
            "guest region {:#x}+{:#x} at host {:p} is not 4 KiB aligned",
            r.gpa, r.size, r.host
        )));
    }
    Ok(())
}

/// A set-up partition. Deleted on drop, after every vCPU (each holds an `Arc`).
#[derive(Debug)]
pub(crate) struct Partition {
    pub(crate) api: &'static WhpApi,
    pub(crate) handle: WHV_PARTITION_HANDLE,
    /// The mapped memory, kept alive until the partition is deleted.
    memory: OnceLock<GuestMemory>,
}

impl Partition {
    /// Creates a partition with `processors` VPs, no in-hypervisor APIC (so HLT and
    /// interrupt windows exit to us) and the adjusted CPUID leaves, then sets it up.
    pub(crate) fn create(api: &'static WhpApi, processors: u32) -> Result<Self> {
        let mut handle: WHV_PARTITION_HANDLE = 0;
        // SAFETY: `handle` is a valid out-pointer.
        check("WHvCreatePartition", unsafe {
            (api.create_partition)(&mut handle)
        })?;
        let partition = Self {
            api,
            handle,
            memory: OnceLock::new(),
        };
        partition.configure(processors)?;
        // SAFETY: the handle is a live partition with its processor count set.
        check("WHvSetupPartition", unsafe {
            (api.setup_partition)(handle)
        })?;
        Ok(partition)
    }

    /// A partition around a fake API table, for the vCPU tests.
    #[cfg(test)]
    pub(crate) fn for_tests(api: &'static WhpApi) -> Self {
        Self {
            api,
            handle: 1,
            memory: OnceLock::new(),
        }
    }

    fn configure(&self, processors: u32) -> Result<()> {
        self.set_property(
            "WHvSetPartitionProperty(ProcessorCount)",
            WHvPartitionPropertyCodeProcessorCount,
            &processors.to_le_bytes(),
        )?;
        let none: WHV_X64_LOCAL_APIC_EMULATION_MODE = WHvX64LocalApicEmulationModeNone;
        match self.set_property(
            "WHvSetPartitionProperty(LocalApicEmulationMode)",
            WHvPartitionPropertyCodeLocalApicEmulationMode,
            &none.to_le_bytes(),
        ) {
            // Builds that predate the property have no APIC emulation at all.
            Err(HvError::Api { code, .. }) if code == u64::from(WHV_E_UNKNOWN_PROPERTY as u32) => {
                log::info!(
                    "LocalApicEmulationMode unknown to this WHP; no APIC emulation by default"
                );
            }
            other => other?,
        }
        let list = cpuid_result_list(host_cpuid);
        let bytes: Vec<u8> = list
            .iter()
            .flat_map(|r| {
                [r.Function, 0, 0, 0, r.Eax, r.Ebx, r.Ecx, r.Edx]
                    .into_iter()
                    .flat_map(u32::to_le_bytes)
            })
            .collect();
        self.set_property(
            "WHvSetPartitionProperty(CpuidResultList)",
            WHvPartitionPropertyCodeCpuidResultList,
            &bytes,
        )
    }

    fn set_property(
        &self,
        op: &'static str,
        code: WHV_PARTITION_PROPERTY_CODE,
        value: &[u8],
    ) -> Result<()> {
        let len = u32::try_from(value.len())
            .map_err(|_| HvError::InvalidArgument(format!("{op}: value too large")))?;
        // SAFETY: `value` is a readable buffer of `len` bytes in the property's layout
        // (u32 count, u32 enum, or an array of 32-byte WHV_X64_CPUID_RESULTs).
        let hr = unsafe {
            (self.api.set_partition_property)(
                self.handle,
                code,
                value.as_ptr().cast::<c_void>(),
                len,
            )
        };
        check(op, hr)
    }

    /// Maps every region of `memory`; the partition keeps a clone so the host pages
    /// outlive the mapping.
    pub(crate) fn map_memory(&self, memory: &GuestMemory) -> Result<()> {
        if self.memory.get().is_some() {
            return Err(HvError::InvalidArgument(
                "guest memory is already mapped".into(),
            ));
        }
        for r in memory.regions() {
            check_region(&r)?;
        }
        for r in memory.regions() {
            // SAFETY: `r.host` points to `r.size` bytes owned by `memory`, which the
            // partition keeps (below) until WHvDeletePartition has run.
            let hr = unsafe {
                (self.api.map_gpa_range)(
                    self.handle,
                    r.host.cast_const().cast(),
                    r.gpa,
                    r.size,
                    map_flags(r.read_only),
                )
            };
            check("WHvMapGpaRange", hr)?;
            log::debug!(
                "mapped {:#x}+{:#x} {}",
                r.gpa,
                r.size,
                if r.read_only { "R-X" } else { "RWX" }
            );
        }
        self.memory
            .set(memory.clone())
            .map_err(|_| HvError::InvalidArgument("guest memory is already mapped".into()))
    }

    /// The mapped memory, if any.
    pub(crate) fn memory(&self) -> Option<&GuestMemory> {
        self.memory.get()
    }

    /// One batched register read. `names` and `values` have the same length.
    pub(crate) fn get_registers(
        &self,
        vp: u32,
        names: &[WHV_REGISTER_NAME],
        values: &mut [RegValue],
    ) -> Result<()> {
        let count = batch_len(names.len(), values.len())?;
        // SAFETY: both arrays hold `count` elements; the values are 16-byte aligned.
        let hr = unsafe {
            (self.api.get_vp_registers)(
                self.handle,
                vp,
                names.as_ptr(),
                count,
                values_mut_ptr(values),
            )
        };
        check("WHvGetVirtualProcessorRegisters", hr)
    }

    /// One batched register write.
    pub(crate) fn set_registers(
        &self,
        vp: u32,
        names: &[WHV_REGISTER_NAME],
        values: &[RegValue],
    ) -> Result<()> {
        let count = batch_len(names.len(), values.len())?;
        // SAFETY: both arrays hold `count` elements; the values are 16-byte aligned.
        let hr = unsafe {
            (self.api.set_vp_registers)(self.handle, vp, names.as_ptr(), count, values_ptr(values))
        };
        check("WHvSetVirtualProcessorRegisters", hr)
    }
}

fn batch_len(names: usize, values: usize) -> Result<u32> {
    if names != values {
        return Err(HvError::InvalidArgument(format!(
            "{names} register names for {values} values"
        )));
    }
    u32::try_from(names).map_err(|_| HvError::InvalidArgument("register batch too large".into()))
}

impl Drop for Partition {
    fn drop(&mut self) {
        // SAFETY: the handle is live; every VP (and its kicker gate) is gone, since each
        // holds an Arc to this partition.
        let hr = unsafe { (self.api.delete_partition)(self.handle) };
        if crate::hresult::succeeded(hr) {
            log::debug!("partition deleted");
        } else {
            log::warn!("WHvDeletePartition failed: {}", describe(hr));
        }
    }
}

/// Maps a failed `WHvCreatePartition`/`WHvSetupPartition` to a message the user can act
/// on when the hypervisor itself is not usable.
pub(crate) fn explain_create_error(e: HvError) -> HvError {
    match e {
        HvError::Api { code, op, .. }
            if code
                == u64::from(
                    windows_sys::Win32::Foundation::WHV_E_UNSUPPORTED_HYPERVISOR_CONFIG as u32,
                ) =>
        {
            HvError::Unavailable(format!(
                "{op}: the hypervisor configuration is not supported \
                 (WHV_E_UNSUPPORTED_HYPERVISOR_CONFIG); enable the Windows Hypervisor \
                 Platform with `{}` and reboot",
                crate::api::ENABLE_COMMAND
            ))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuid_list_hides_the_apic_for_leaf_1() {
        let host = |leaf| CpuidResult {
            eax: leaf,
            ebx: 0x0810_0800,
            ecx: 0xffff_ffff,
            edx: 0xffff_ffff,
        };
        let list = cpuid_result_list(host);
        assert_eq!(list.len(), 1);
        let r = &list[0];
        assert_eq!(r.Function, 1);
        assert_eq!(r.Edx & cpuid::LEAF1_EDX_APIC, 0);
        assert_eq!(r.Ecx & cpuid::LEAF1_ECX_X2APIC, 0);
        assert_eq!(r.Ecx & LEAF1_ECX_OSXSAVE, 0);
        assert_ne!(r.Ecx & cpuid::LEAF1_ECX_HYPERVISOR, 0);
        assert_eq!(r.Ebx >> 24, 0, "APIC ID cleared");
        assert_eq!(r.Reserved, [0; 3]);
    }

    #[test]
    fn map_flags_rom_is_rx_ram_is_rwx() {
        assert_eq!(map_flags(true), 1 | 4);
        assert_eq!(map_flags(false), 1 | 2 | 4);
    }

    #[test]
    fn region_alignment_is_checked() {
        let ok = MemoryRegionInfo {
            gpa: 0x1000,
            size: 0x2000,
            host: 0x7000_0000 as *mut u8,
            read_only: false,
        };
        assert!(check_region(&ok).is_ok());
        for bad in [
            MemoryRegionInfo { gpa: 0x800, ..ok },
            MemoryRegionInfo { size: 0x1800, ..ok },
            MemoryRegionInfo { size: 0, ..ok },
            MemoryRegionInfo {
                host: 0x7000_0010 as *mut u8,
                ..ok
            },
        ] {
            assert!(check_region(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn batch_lengths_must_match() {
        assert_eq!(batch_len(3, 3).expect("equal"), 3);
        assert!(batch_len(3, 2).is_err());
    }

    #[test]
    fn unsupported_hypervisor_config_becomes_unavailable() {
        let e = explain_create_error(HvError::Api {
            backend: "WHP",
            op: "WHvSetupPartition",
            code: 0x8037_0303,
        });
        match e {
            HvError::Unavailable(m) => assert!(m.contains("HypervisorPlatform")),
            other => panic!("{other:?}"),
        }
    }
}
