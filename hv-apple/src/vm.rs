//! [`Hvf`] (the hypervisor) and [`HvfVm`] (the one VM a process may have).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use hv_core::{GuestMemory, HvError, Hypervisor, Result, Vm, VmConfig};

use crate::error::{BACKEND, check, vm_create_unavailable};
use crate::gic::{Gic, GicLayout};
use crate::vcpu::HvfVcpu;

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
    let ret = unsafe { applevisor_sys::hv_vm_create(std::ptr::null_mut()) };
    if ret == 0 {
        Ok(())
    } else {
        Err(HvError::Unavailable(vm_create_unavailable(ret)))
    }
}

fn destroy_hvf_vm() {
    // SAFETY: called once per successful hv_vm_create, after every vCPU is destroyed
    // (each vCPU holds an Arc to the VM state whose drop calls this).
    let ret = unsafe { applevisor_sys::hv_vm_destroy() };
    if let Err(e) = check("hv_vm_destroy", ret) {
        log::error!("{e}");
    }
}

/// Says whether this host can run HVF at all, before touching the framework.
#[cfg(target_os = "macos")]
fn host_supports_hvf() -> Result<()> {
    if !cfg!(target_arch = "aarch64") {
        return Err(HvError::Unavailable(
            "hv-apple runs arm64 guests and needs an Apple Silicon Mac (this is an Intel build)"
                .into(),
        ));
    }
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

/// The Hypervisor.framework backend.
#[derive(Debug, Clone, Copy)]
pub struct Hvf {
    _probed: (),
}

/// Options beyond [`VmConfig`] that only HVF has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HvfOptions {
    /// Use the in-kernel GICv3 (macOS 15+) at this layout instead of the bare IRQ line.
    pub gic: Option<GicLayout>,
}

impl Hvf {
    /// Creates a VM with HVF-specific options (e.g. the in-kernel GIC).
    pub fn create_vm_with(&self, config: &VmConfig, options: &HvfOptions) -> Result<HvfVm> {
        HvfVm::create(config, options)
    }
}

impl Hypervisor for Hvf {
    type Vm = HvfVm;

    #[cfg(target_os = "macos")]
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

    #[cfg(not(target_os = "macos"))]
    fn probe() -> Result<Self> {
        Err(HvError::Unavailable(
            "Hypervisor.framework exists only on macOS (Apple Silicon)".into(),
        ))
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
            shared.gic = Some(Gic::create(layout)?);
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

    /// Drives GIC shared peripheral interrupt `intid` (only with the in-kernel GIC).
    pub fn set_spi(&self, intid: u32, level: bool) -> Result<()> {
        match &self.shared.gic {
            Some(gic) => gic.set_spi(intid, level),
            None => Err(HvError::InvalidArgument(
                "this VM has no in-kernel GIC; drive the vCPU's IRQ line instead".into(),
            )),
        }
    }
}

impl Vm for HvfVm {
    type Vcpu = HvfVcpu;

    fn map_memory(&mut self, memory: &GuestMemory) -> Result<()> {
        for region in memory.regions() {
            crate::memory::map(&region)?;
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
    fn probe_off_macos_says_why() {
        if cfg!(target_os = "macos") {
            return;
        }
        let err = Hvf::probe().expect_err("no HVF here");
        assert!(matches!(err, HvError::Unavailable(_)));
        assert!(err.to_string().contains("macOS"));
    }

    #[test]
    fn one_vm_slot_per_process() {
        // Runs on every host: only the bookkeeping, no framework call.
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
