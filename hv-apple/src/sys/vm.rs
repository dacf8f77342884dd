//! [`Hvf`] (the hypervisor) and [`HvfVm`] (the one VM a process may have).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use hv_core::machine::arm64::layout::GicRegions;
use hv_core::memory::MemoryRegionInfo;
use hv_core::{GuestMemory, HvError, Hypervisor, Result, Vm, VmConfig};

use super::ffi;
use super::gic::Gic;
use super::vcpu::HvfVcpu;
use crate::HvfOptions;
use crate::error::{BACKEND, check, vm_create_unavailable};
use crate::memory::{permissions, validate};

/// Set while this process owns the Hypervisor.framework VM (HVF allows one per process).
static VM_EXISTS: AtomicBool = AtomicBool::new(false);

/// Claims the process's single VM slot.
fn claim_vm_slot() -> Result<()> {
    VM_EXISTS
        .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
        .map(|_| ())
        .map_err(|_| {
            HvError::InvalidArgument(
                "Hypervisor.framework allows one VM per process and this process already has \
                 one; drop it first"
                    .into(),
            )
        })
}

fn release_vm_slot() {
    VM_EXISTS.store(false, Ordering::SeqCst);
}

/// Creates the process's VM (`hv_vm_create` with the default configuration: 36-bit IPA
/// space, 16 KiB granule).
fn create_hvf_vm() -> Result<()> {
    // SAFETY: a null config asks for the defaults; no pointers are retained.
    let ret = unsafe { ffi::hv_vm_create(std::ptr::null_mut()) };
    if ret == 0 {
        Ok(())
    } else {
        Err(HvError::Unavailable(vm_create_unavailable(ret)))
    }
}

fn destroy_hvf_vm() {
    // SAFETY: called once per successful hv_vm_create, after every vCPU is destroyed
    // (each vCPU holds an Arc to the VM state whose drop calls this).
    let ret = unsafe { ffi::hv_vm_destroy() };
    if let Err(e) = check("hv_vm_destroy", ret) {
        log::error!("{e}");
    }
}

/// Says whether this Mac can run HVF at all, before touching the framework.
fn host_supports_hvf() -> Result<()> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>();
    // SAFETY: valid NUL-terminated name, out-pointer and length for an int sysctl.
    let ret = unsafe {
        libc::sysctlbyname(
            c"kern.hv_support".as_ptr(),
            (&raw mut value).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if ret != 0 || value == 0 {
        return Err(HvError::Unavailable(
            "this Mac offers no hardware virtualization (sysctl kern.hv_support = 0): \
             macOS inside a VM has no nested virtualization; run hv on the host"
                .into(),
        ));
    }
    Ok(())
}

/// Maps one region into the VM of this process.
fn map_region(region: &MemoryRegionInfo) -> Result<()> {
    validate(region)?;
    let size = usize::try_from(region.size)
        .map_err(|_| HvError::InvalidArgument(format!("region size {:#x}", region.size)))?;
    // SAFETY: `host..host+size` is one live anonymous mapping owned by the GuestMemory the
    // VM keeps alive until hv_vm_destroy; alignment was checked above. hv_vm_map only
    // records the mapping; it does not dereference Rust references.
    let ret = unsafe {
        ffi::hv_vm_map(
            region.host.cast(),
            region.gpa,
            size,
            permissions(region.read_only),
        )
    };
    check("hv_vm_map", ret)
}

/// The Hypervisor.framework backend.
#[derive(Debug, Clone, Copy)]
pub struct Hvf {
    _probed: (),
}

impl Hvf {
    /// Creates a VM with HVF-specific options (e.g. the in-kernel GIC).
    pub fn create_vm_with(&self, config: &VmConfig, options: &HvfOptions) -> Result<HvfVm> {
        HvfVm::create(config, options)
    }
}

impl Hypervisor for Hvf {
    type Vm = HvfVm;

    fn probe() -> Result<Self> {
        host_supports_hvf()?;
        // If this process already has a VM, HVF evidently works; creating another would
        // fail with HV_BUSY.
        if claim_vm_slot().is_ok() {
            let created = create_hvf_vm();
            if created.is_ok() {
                destroy_hvf_vm();
            }
            release_vm_slot();
            created?;
        }
        Ok(Self { _probed: () })
    }

    fn name(&self) -> &'static str {
        BACKEND
    }

    fn create_vm(&self, config: &VmConfig) -> Result<HvfVm> {
        HvfVm::create(config, &HvfOptions::default())
    }
}

/// State the VM shares with its vCPUs; dropping the last reference destroys the VM.
#[derive(Debug)]
pub(crate) struct VmShared {
    /// Keeps guest RAM alive while it is mapped; also read for fault reports.
    pub(crate) memory: Mutex<Vec<GuestMemory>>,
    pub(crate) gic: Option<Gic>,
}

impl VmShared {
    /// Up to `buf.len()` bytes at `gpa`, if they are guest RAM.
    pub(crate) fn read_guest(&self, gpa: u64, buf: &mut [u8]) -> bool {
        let memory = self.memory.lock().unwrap_or_else(PoisonError::into_inner);
        memory
            .iter()
            .any(|m| m.contains(gpa, buf.len() as u64) && m.read(gpa, buf).is_ok())
    }

    /// True when `len` bytes at `gpa` are mapped guest memory.
    pub(crate) fn is_ram(&self, gpa: u64, len: u64) -> bool {
        let memory = self.memory.lock().unwrap_or_else(PoisonError::into_inner);
        memory.iter().any(|m| m.contains(gpa, len))
    }
}

impl Drop for VmShared {
    fn drop(&mut self) {
        destroy_hvf_vm();
        release_vm_slot();
    }
}

/// The process's Hypervisor.framework VM.
#[derive(Debug)]
pub struct HvfVm {
    shared: Arc<VmShared>,
    vcpus: u32,
}

impl HvfVm {
    fn create(config: &VmConfig, options: &HvfOptions) -> Result<Self> {
        if config.vcpus != 1 {
            return Err(HvError::InvalidArgument(format!(
                "hv-apple runs exactly one vCPU (asked for {})",
                config.vcpus
            )));
        }
        claim_vm_slot()?;
        if let Err(e) = create_hvf_vm() {
            release_vm_slot();
            return Err(e);
        }
        // From here VmShared's drop destroys the VM, also if the GIC fails.
        let mut shared = VmShared {
            memory: Mutex::new(Vec::new()),
            gic: None,
        };
        if let Some(layout) = &options.gic {
            shared.gic = Some(Gic::create(layout, config.vcpus)?);
        }
        Ok(Self {
            shared: Arc::new(shared),
            vcpus: config.vcpus,
        })
    }

    /// True when the in-kernel GIC delivers interrupts.
    pub fn has_gic(&self) -> bool {
        self.shared.gic.is_some()
    }

    /// Where the in-kernel GIC is (sizes as the framework reported them), if there is one.
    pub fn gic_regions(&self) -> Option<GicRegions> {
        self.shared.gic.as_ref().map(Gic::regions)
    }

    /// Drives GIC shared peripheral interrupt `intid` (only with the in-kernel GIC).
    pub fn set_spi(&self, intid: u32, level: bool) -> Result<()> {
        match &self.shared.gic {
            Some(gic) => gic.set_spi(intid, level),
            None => Err(HvError::InvalidArgument(
                "this VM has no in-kernel GIC; drive the vCPU's IRQ line instead".into(),
            )),
        }
    }

    /// Resets the in-kernel GIC's distributor and redistributors (`hv_gic_reset`); does
    /// nothing without one. The machine calls it on every power-on, after the vCPU's
    /// reset (whose part of the GIC, the CPU interface, is reset there).
    pub fn reset_gic(&self) -> Result<()> {
        match &self.shared.gic {
            Some(gic) => gic.reset(),
            None => Ok(()),
        }
    }
}

impl Vm for HvfVm {
    type Vcpu = HvfVcpu;

    fn map_memory(&mut self, memory: &GuestMemory) -> Result<()> {
        for region in memory.regions() {
            map_region(&region)?;
            log::debug!(
                "HVF mapped IPA {:#x}+{:#x}{}",
                region.gpa,
                region.size,
                if region.read_only { " (read-only)" } else { "" }
            );
        }
        self.shared
            .memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(memory.clone());
        Ok(())
    }

    fn create_vcpu(&self, id: u32) -> Result<HvfVcpu> {
        if id >= self.vcpus {
            return Err(HvError::InvalidArgument(format!(
                "vCPU {id} does not exist (the VM has {})",
                self.vcpus
            )));
        }
        HvfVcpu::new(self.shared.clone(), id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_vm_slot_per_process() {
        // Only the bookkeeping, no framework call.
        if VM_EXISTS.load(Ordering::SeqCst) {
            return;
        }
        claim_vm_slot().expect("first claim");
        let err = claim_vm_slot().expect_err("second claim");
        assert!(err.to_string().contains("one VM per process"));
        release_vm_slot();
        claim_vm_slot().expect("claim after release");
        release_vm_slot();
    }
}
