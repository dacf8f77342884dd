//! hv's Windows Hypervisor Platform (WHP) backend: x86-64 guests on x86-64 Windows.
//!
//! * [`Whp`] probes WHP and creates partitions ([`hv_core::Hypervisor`]).
//! * [`WhpVm`] is one partition with its guest memory ([`hv_core::Vm`]).
//! * [`WhpVcpu`] runs a virtual processor ([`hv_core::Vcpu`], [`hv_core::VcpuX86`]);
//!   [`WhpKicker`] forces it out from other threads.
//!
//! WinHvPlatform.dll and WinHvEmulation.dll are loaded at run time ([`api`]), so a
//! Windows without the feature gets a clear error instead of a process that fails to
//! start, and the crate builds and unit-tests on every host. Pure logic (exit decoding,
//! IN/OUT math, register marshalling, injection rules, emulator callbacks, HRESULTs)
//! lives in modules with no FFI; `partition`, `vcpu` and `kick` are the thin FFI layer.
//! See `docs/backends.md` for the WHP facts each piece relies on.

pub mod api;
mod decode;
mod defs;
mod emulator;
#[cfg(test)]
mod fake;
pub mod hresult;
mod inject;
mod io;
mod kick;
mod layout;
mod partition;
#[cfg(test)]
mod pins;
mod regs;
mod vcpu;

use std::sync::Arc;

use hv_core::{GuestMemory, HvError, Hypervisor, Result, Vm, VmConfig};
use windows_sys::Win32::System::Hypervisor::{
    WHV_CAPABILITY, WHV_CAPABILITY_CODE, WHvCapabilityCodeFeatures,
    WHvCapabilityCodeHypervisorPresent,
};

pub use vcpu::{WhpKicker, WhpVcpu};

use crate::api::{ENABLE_COMMAND, WhpApi};
use crate::hresult::check;
use crate::partition::Partition;

/// The Windows Hypervisor Platform.
#[derive(Debug)]
pub struct Whp {
    api: &'static WhpApi,
    features: u64,
}

impl Whp {
    /// `WHvCapabilityCodeFeatures` (bit 0 PartialUnmap, 1 LocalApicEmulation, 2 Xsave,
    /// 3 DirtyPageTracking, 4 SpeculationControl, 5 ApicRemoteRead, 6 IdleSuspend).
    pub fn features(&self) -> u64 {
        self.features
    }

    fn capability(
        api: &WhpApi,
        code: WHV_CAPABILITY_CODE,
        op: &'static str,
    ) -> Result<WHV_CAPABILITY> {
        let mut cap = WHV_CAPABILITY {
            ProcessorClockFrequency: 0,
        };
        let mut written = 0u32;
        // SAFETY: `cap` is a writable WHV_CAPABILITY of the size passed; `written` is a
        // valid out-pointer.
        let hr = unsafe {
            (api.get_capability)(
                code,
                (&raw mut cap).cast(),
                size_of::<WHV_CAPABILITY>() as u32,
                &mut written,
            )
        };
        check(op, hr)?;
        Ok(cap)
    }
}

impl Hypervisor for Whp {
    type Vm = WhpVm;

    fn probe() -> Result<Self> {
        let api = WhpApi::load()?;
        let present = Self::capability(
            api,
            WHvCapabilityCodeHypervisorPresent,
            "WHvGetCapability(HypervisorPresent)",
        )?;
        // SAFETY: HypervisorPresent is the BOOL view the call filled.
        if unsafe { present.HypervisorPresent } == 0 {
            return Err(HvError::Unavailable(format!(
                "the Windows hypervisor is not running: enable the Windows Hypervisor Platform \
                 with `{ENABLE_COMMAND}` (elevated), make sure virtualization is enabled in the \
                 firmware, and reboot"
            )));
        }
        let features =
            match Self::capability(api, WHvCapabilityCodeFeatures, "WHvGetCapability(Features)") {
                // SAFETY: Features is the view the call filled; any u64 is valid.
                Ok(cap) => unsafe { cap.Features.AsUINT64 },
                Err(e) => {
                    log::info!("WHP features unknown: {e}");
                    0
                }
            };
        log::info!("WHP present, features {features:#x}");
        Ok(Self { api, features })
    }

    fn name(&self) -> &'static str {
        "WHP"
    }

    fn create_vm(&self, config: &VmConfig) -> Result<WhpVm> {
        if config.vcpus == 0 {
            return Err(HvError::InvalidArgument(
                "a VM needs at least one vCPU".into(),
            ));
        }
        let partition =
            Partition::create(self.api, config.vcpus).map_err(partition::explain_create_error)?;
        Ok(WhpVm {
            partition: Arc::new(partition),
            vcpus: config.vcpus,
        })
    }
}

/// One WHP partition.
#[derive(Debug)]
pub struct WhpVm {
    partition: Arc<Partition>,
    vcpus: u32,
}

impl Vm for WhpVm {
    type Vcpu = WhpVcpu;

    fn map_memory(&mut self, memory: &GuestMemory) -> Result<()> {
        self.partition.map_memory(memory)
    }

    fn create_vcpu(&self, id: u32) -> Result<WhpVcpu> {
        if id >= self.vcpus {
            return Err(HvError::InvalidArgument(format!(
                "vCPU {id} requested, the VM has {}",
                self.vcpus
            )));
        }
        WhpVcpu::create(Arc::clone(&self.partition), id)
    }
}

#[cfg(test)]
mod tests {
    use hv_core::GuestMemory;

    use super::*;

    fn fake_whp() -> Whp {
        Whp {
            api: &fake::FAKE,
            features: 0,
        }
    }

    #[test]
    fn a_vm_maps_memory_and_creates_only_the_vcpus_it_has() {
        let whp = fake_whp();
        let mut vm = whp.create_vm(&VmConfig::default()).expect("vm");
        let mem = GuestMemory::ram(0x1_0000).expect("ram");
        vm.map_memory(&mem).expect("map");
        let h = vm.partition.handle;
        assert_eq!(
            fake::with(h, |s| s.maps.clone()),
            [(0, 0x1_0000, partition::map_flags(false))]
        );
        assert!(
            vm.map_memory(&mem).is_err(),
            "memory is mapped once, before vCPUs"
        );
        let vcpu = vm.create_vcpu(0).expect("vcpu 0");
        assert!(matches!(
            vm.create_vcpu(1),
            Err(HvError::InvalidArgument(_))
        ));
        drop(vcpu);
        drop(vm);
        assert!(fake::with(h, |s| s.vp_deleted && s.deleted));
        assert!(fake::violations(h).is_empty());
    }

    #[test]
    fn a_vm_needs_a_vcpu() {
        let config = VmConfig { vcpus: 0 };
        assert!(matches!(
            fake_whp().create_vm(&config),
            Err(HvError::InvalidArgument(_))
        ));
    }
}
