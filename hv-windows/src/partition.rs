//! A WHP partition: creation with its properties, guest memory, teardown.
//!
//! Properties must all be set before `WHvSetupPartition` (QEMU: CPUID results cannot be
//! changed afterwards), so creation is one function that either returns a set-up
//! partition or deletes what it made.

use std::ffi::c_void;
use std::sync::{Mutex, OnceLock, PoisonError};

use hv_core::{GuestMemory, HvError, MemoryRegionInfo, Result};
use windows_sys::Win32::Foundation::WHV_E_UNKNOWN_PROPERTY;
use windows_sys::Win32::System::Hypervisor::*;

use crate::api::WhpApi;
use crate::defs::EXTENDED_VM_EXITS_X64_CPUID;
use crate::hresult::{check, describe};
use crate::layout::{RegValue, values_mut_ptr, values_ptr};

/// WHP maps guest memory in 4 KiB pages (MSDocs WHvMapGpaRange).
const PAGE: u64 = 0x1000;

/// CPUID leaves that exit to hv (`WHvPartitionPropertyCodeCpuidExitList`). Leaf 1 has
/// the APIC bits hv hides ([`hv_core::arch::x86::cpuid::adjust`]) and OSXSAVE, which
/// follows the guest's CR4 and so cannot be a static `CpuidResultList` entry. The exit
/// handler starts from WHP's own answer (`DefaultResult*`: the partition's processor,
/// not the root partition's), as QEMU's and crosvm's whpx do.
pub(crate) const CPUID_EXIT_LEAVES: [u32; 1] = [1];

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
    /// Memory that a failed [`Self::map_memory`] could not unmap again: the partition
    /// may still map it, so it lives as long as the partition. The lock also serializes
    /// `map_memory` calls.
    retained: Mutex<Vec<GuestMemory>>,
}

impl Partition {
    /// Creates a partition with `processors` VPs, no in-hypervisor APIC (so HLT and
    /// interrupt windows exit to us) and CPUID exits for [`CPUID_EXIT_LEAVES`], then
    /// sets it up.
    pub(crate) fn create(api: &'static WhpApi, processors: u32) -> Result<Self> {
        let mut handle: WHV_PARTITION_HANDLE = 0;
        // SAFETY: `handle` is a valid out-pointer.
        check("WHvCreatePartition", unsafe {
            (api.create_partition)(&mut handle)
        })?;
        let partition = Self::from_handle(api, handle);
        partition.configure(processors)?;
        // SAFETY: the handle is a live partition with its processor count set.
        check("WHvSetupPartition", unsafe {
            (api.setup_partition)(handle)
        })?;
        Ok(partition)
    }

    fn from_handle(api: &'static WhpApi, handle: WHV_PARTITION_HANDLE) -> Self {
        Self {
            api,
            handle,
            memory: OnceLock::new(),
            retained: Mutex::new(Vec::new()),
        }
    }

    /// A partition around a fake API table, for the vCPU tests (a fresh handle each).
    #[cfg(test)]
    pub(crate) fn for_tests(api: &'static WhpApi) -> Self {
        Self::from_handle(api, crate::fake::new_partition())
    }

    fn configure(&self, processors: u32) -> Result<()> {
        self.set_scalar(
            "WHvSetPartitionProperty(ProcessorCount)",
            WHvPartitionPropertyCodeProcessorCount,
            |p| p.ProcessorCount = processors,
        )?;
        self.set_scalar(
            "WHvSetPartitionProperty(ExtendedVmExits)",
            WHvPartitionPropertyCodeExtendedVmExits,
            |p| {
                p.ExtendedVmExits = WHV_EXTENDED_VM_EXITS {
                    AsUINT64: EXTENDED_VM_EXITS_X64_CPUID,
                }
            },
        )?;
        self.set_list(
            "WHvSetPartitionProperty(CpuidExitList)",
            WHvPartitionPropertyCodeCpuidExitList,
            &CPUID_EXIT_LEAVES,
        )?;
        match self.set_scalar(
            "WHvSetPartitionProperty(LocalApicEmulationMode)",
            WHvPartitionPropertyCodeLocalApicEmulationMode,
            |p| p.LocalApicEmulationMode = WHvX64LocalApicEmulationModeNone,
        ) {
            // Builds that predate the property have no APIC emulation at all.
            Err(HvError::Api { code, .. }) if code == u64::from(WHV_E_UNKNOWN_PROPERTY as u32) => {
                log::info!(
                    "LocalApicEmulationMode unknown to this WHP; no APIC emulation by default"
                );
                Ok(())
            }
            other => other,
        }
    }

    /// A fixed-size property, passed as the whole `WHV_PARTITION_PROPERTY` union with the
    /// rest zeroed (what QEMU's and crosvm's whpx pass). `fill` sets the one field.
    fn set_scalar(
        &self,
        op: &'static str,
        code: WHV_PARTITION_PROPERTY_CODE,
        fill: impl FnOnce(&mut WHV_PARTITION_PROPERTY),
    ) -> Result<()> {
        // SAFETY: WHV_PARTITION_PROPERTY is a union of plain integers; all-zero is valid.
        let mut prop: WHV_PARTITION_PROPERTY = unsafe { std::mem::zeroed() };
        fill(&mut prop);
        self.set_raw(op, code, (&raw const prop).cast(), size_of_val(&prop))
    }

    /// A list property (`CpuidExitList`): the buffer size gives the element count.
    fn set_list<T>(
        &self,
        op: &'static str,
        code: WHV_PARTITION_PROPERTY_CODE,
        list: &[T],
    ) -> Result<()> {
        self.set_raw(op, code, list.as_ptr().cast(), size_of_val(list))
    }

    fn set_raw(
        &self,
        op: &'static str,
        code: WHV_PARTITION_PROPERTY_CODE,
        value: *const c_void,
        len: usize,
    ) -> Result<()> {
        let len = u32::try_from(len)
            .map_err(|_| HvError::InvalidArgument(format!("{op}: value too large")))?;
        // SAFETY: `value` points to `len` readable bytes in the property's layout (the
        // callers pass a whole WHV_PARTITION_PROPERTY or a slice of list elements).
        let hr = unsafe { (self.api.set_partition_property)(self.handle, code, value, len) };
        check(op, hr)
    }

    /// Maps every region of `memory`; the partition keeps a clone so the host pages
    /// outlive the mapping. If a region cannot be mapped, the regions mapped before it
    /// are unmapped again; any that cannot be unmapped keep `memory` alive until the
    /// partition is deleted, so the partition never maps freed host pages.
    pub(crate) fn map_memory(&self, memory: &GuestMemory) -> Result<()> {
        let mut retained = self.retained.lock().unwrap_or_else(PoisonError::into_inner);
        if self.memory.get().is_some() {
            return Err(HvError::InvalidArgument(
                "guest memory is already mapped".into(),
            ));
        }
        let regions: Vec<MemoryRegionInfo> = memory.regions().collect();
        for r in &regions {
            check_region(r)?;
        }
        for (done, r) in regions.iter().enumerate() {
            // SAFETY: `r.host` points to `r.size` bytes owned by `memory`. On success the
            // partition keeps a clone (below) until WHvDeletePartition has run; on failure
            // the mapped part is unmapped or `memory` is retained.
            let hr = unsafe {
                (self.api.map_gpa_range)(
                    self.handle,
                    r.host.cast_const().cast(),
                    r.gpa,
                    r.size,
                    map_flags(r.read_only),
                )
            };
            if let Err(e) = check("WHvMapGpaRange", hr) {
                if !self.unmap_all(&regions[..done]) {
                    retained.push(memory.clone());
                }
                return Err(e);
            }
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

    /// Unmaps `regions`; true if every unmap succeeded.
    fn unmap_all(&self, regions: &[MemoryRegionInfo]) -> bool {
        let mut all = true;
        for r in regions.iter().rev() {
            // SAFETY: the range was mapped by this partition; unmapping has no memory
            // effects on the host side.
            let hr = unsafe { (self.api.unmap_gpa_range)(self.handle, r.gpa, r.size) };
            if let Err(e) = check("WHvUnmapGpaRange", hr) {
                log::warn!("{e}: keeping the guest memory alive with the partition");
                all = false;
            }
        }
        all
    }

    /// How many failed mappings keep their memory alive (tests).
    #[cfg(test)]
    pub(crate) fn retained_count(&self) -> usize {
        self.retained
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
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
    use hv_core::memory::RegionSpec;

    use crate::fake::{self, FAKE, Property};

    fn property(code: WHV_PARTITION_PROPERTY_CODE, first: &[u8]) -> Property {
        let mut bytes = if code == WHvPartitionPropertyCodeCpuidExitList {
            Vec::new()
        } else {
            vec![0; size_of::<WHV_PARTITION_PROPERTY>()]
        };
        if bytes.is_empty() {
            bytes.extend_from_slice(first);
        } else {
            bytes[..first.len()].copy_from_slice(first);
        }
        Property { code, bytes }
    }

    /// Before setup: the processor count, CPUID exits for leaf 1 (and no static result
    /// list, which cannot follow the guest's CR4.OSXSAVE), no APIC emulation.
    #[test]
    fn create_enables_the_cpuid_exit_for_leaf_1_before_setup() {
        let p = Partition::create(&FAKE, 1).expect("create");
        let (properties, setup, violations) = fake::with(p.handle, |s| {
            (s.properties.clone(), s.setup, s.violations.clone())
        });
        assert_eq!(
            properties,
            [
                property(WHvPartitionPropertyCodeProcessorCount, &1u32.to_le_bytes()),
                property(
                    WHvPartitionPropertyCodeExtendedVmExits,
                    &EXTENDED_VM_EXITS_X64_CPUID.to_le_bytes()
                ),
                property(WHvPartitionPropertyCodeCpuidExitList, &1u32.to_le_bytes()),
                property(
                    WHvPartitionPropertyCodeLocalApicEmulationMode,
                    &WHvX64LocalApicEmulationModeNone.to_le_bytes()
                ),
            ]
        );
        assert!(setup);
        assert!(violations.is_empty(), "{violations:?}");
        let h = p.handle;
        drop(p);
        assert!(fake::with(h, |s| s.deleted));
    }

    fn three_regions() -> GuestMemory {
        GuestMemory::new(&[
            RegionSpec {
                gpa: 0,
                size: 0x4000,
                read_only: false,
            },
            RegionSpec {
                gpa: 0x10_0000,
                size: 0x4000,
                read_only: false,
            },
            RegionSpec {
                gpa: 0xf_c000,
                size: 0x4000,
                read_only: true,
            },
        ])
        .expect("layout")
    }

    #[test]
    fn a_failed_map_unmaps_what_it_mapped() {
        let p = Partition::for_tests(&FAKE);
        let mem = three_regions();
        let order: Vec<(u64, u64)> = mem.regions().map(|r| (r.gpa, r.size)).collect();
        fake::with(p.handle, |s| s.fail_map_at = Some(2));
        assert!(matches!(
            p.map_memory(&mem),
            Err(HvError::Api {
                op: "WHvMapGpaRange",
                ..
            })
        ));
        let unmaps = fake::with(p.handle, |s| s.unmaps.clone());
        assert_eq!(
            unmaps,
            [order[1], order[0]],
            "both mapped regions, newest first"
        );
        assert!(p.memory().is_none());
        assert_eq!(
            p.retained_count(),
            0,
            "nothing left mapped, nothing retained"
        );
        // The partition is usable again.
        fake::with(p.handle, |s| s.fail_map_at = None);
        p.map_memory(&mem).expect("map");
        assert!(p.memory().is_some());
    }

    #[test]
    fn memory_that_cannot_be_unmapped_lives_with_the_partition() {
        let p = Partition::for_tests(&FAKE);
        fake::with(p.handle, |s| {
            s.fail_map_at = Some(1);
            s.unmap_result = windows_sys::Win32::Foundation::E_FAIL;
        });
        assert!(p.map_memory(&three_regions()).is_err());
        assert_eq!(fake::with(p.handle, |s| s.unmaps.len()), 1);
        assert_eq!(p.retained_count(), 1);
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
