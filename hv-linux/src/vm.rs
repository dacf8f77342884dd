//! A KVM VM: memory slots and vCPU creation.

use hv_core::{GuestMemory, HvError, Result, Vm};
use kvm_bindings::{CpuId, KVM_MEM_READONLY, kvm_userspace_memory_region};
use kvm_ioctls::{Cap, VmFd};

use crate::error::os;
use crate::vcpu::KvmVcpu;

/// Guest-physical address of the page KVM uses for real-mode identity page tables on
/// Intel without unrestricted guest. It and the three TSS pages after it sit just below
/// the BIOS area at 4 GiB, far above the RAM hv guests get.
const IDENTITY_MAP_ADDR: u64 = 0xFFFB_C000;
/// Guest-physical address of KVM's three-page real-mode TSS (required on Intel).
const TSS_ADDR: usize = 0xFFFB_D000;

/// A KVM VM with no in-kernel irqchip (hv's 8259 PIC lives in userspace).
#[derive(Debug)]
pub struct KvmVm {
    // Declared before `memory`: the slots must go before the host mapping does.
    fd: VmFd,
    cpuid: CpuId,
    memory: Option<GuestMemory>,
}

impl KvmVm {
    pub(crate) fn new(fd: VmFd, cpuid: CpuId) -> Result<Self> {
        fd.set_identity_map_address(IDENTITY_MAP_ADDR)
            .map_err(|e| os("KVM_SET_IDENTITY_MAP_ADDR", e))?;
        fd.set_tss_address(TSS_ADDR)
            .map_err(|e| os("KVM_SET_TSS_ADDR", e))?;
        Ok(Self {
            fd,
            cpuid,
            memory: None,
        })
    }
}

impl Vm for KvmVm {
    type Vcpu = KvmVcpu;

    fn map_memory(&mut self, memory: &GuestMemory) -> Result<()> {
        if self.memory.is_some() {
            return Err(HvError::InvalidArgument(
                "guest memory is already mapped".into(),
            ));
        }
        let readonly_ok = self.fd.check_extension(Cap::ReadonlyMem);
        // Keep the clone first, so the host memory outlives the slots even on error.
        let memory = self.memory.insert(memory.clone());
        for (slot, region) in memory.regions().enumerate() {
            if region.read_only && !readonly_ok {
                return Err(HvError::Unavailable(
                    "this KVM cannot map read-only memory (no KVM_CAP_READONLY_MEM)".into(),
                ));
            }
            let slot = u32::try_from(slot)
                .map_err(|_| HvError::Memory("too many memory regions".into()))?;
            let slot_desc = kvm_userspace_memory_region {
                slot,
                flags: if region.read_only {
                    KVM_MEM_READONLY
                } else {
                    0
                },
                guest_phys_addr: region.gpa,
                memory_size: region.size,
                userspace_addr: region.host as u64,
            };
            // SAFETY: `region.host` points to `region.size` bytes of host memory owned by
            // the GuestMemory clone stored in `self.memory`, which is dropped only after
            // `self.fd` (field order), so the memory outlives the slot.
            unsafe { self.fd.set_user_memory_region(slot_desc) }
                .map_err(|e| os("KVM_SET_USER_MEMORY_REGION", e))?;
            log::debug!(
                "KVM slot {slot}: {:#x}+{:#x}{}",
                region.gpa,
                region.size,
                if region.read_only { " (ROM)" } else { "" }
            );
        }
        Ok(())
    }

    fn create_vcpu(&self, id: u32) -> Result<KvmVcpu> {
        let fd = self
            .fd
            .create_vcpu(u64::from(id))
            .map_err(|e| os("KVM_CREATE_VCPU", e))?;
        fd.set_cpuid2(&self.cpuid)
            .map_err(|e| os("KVM_SET_CPUID2", e))?;
        KvmVcpu::new(fd, self.fd.run_size(), self.memory.clone())
    }
}
