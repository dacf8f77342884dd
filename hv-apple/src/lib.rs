//! hv's Hypervisor.framework backend (Apple Silicon, arm64 guests).
//!
//! * [`Hvf`] probes the framework and creates the process's single [`HvfVm`].
//! * [`HvfVm`] maps guest memory with explicit `HV_MEMORY_*` flags and optionally owns the
//!   in-kernel GICv3 (macOS 15+).
//! * [`HvfVcpu`] lives on its creating thread and completes MMIO, PSCI, WFI, vtimer and
//!   trapped system-register exits inside `run`; other threads hold its [`HvfKicker`].
//!
//! The framework is called only on `aarch64-apple-darwin` (`sys`). On every other target
//! the same types exist but are uninhabited (`unsupported`), so the decision logic
//! ([`exit`], [`gic`], [`kick`], [`memory`], [`regs`]) and the header pins ([`abi`]) are
//! built and tested anywhere, and nothing links Hypervisor.framework or needs a unix API.
//! See `docs/backends.md` (Hypervisor.framework section).

pub mod abi;
pub mod error;
pub mod exit;
pub mod gic;
pub mod kick;
pub mod memory;
pub mod regs;

#[cfg(all(target_os = "macos", target_arch = "aarch64"))]
mod sys;
#[cfg(all(target_os = "macos", target_arch = "aarch64"))]
pub use sys::{Hvf, HvfVcpu, HvfVm};

#[cfg(not(all(target_os = "macos", target_arch = "aarch64")))]
mod unsupported;
#[cfg(not(all(target_os = "macos", target_arch = "aarch64")))]
pub use unsupported::{Hvf, HvfVcpu, HvfVm};

pub use gic::GicLayout;
pub use kick::HvfKicker;

/// Options beyond [`hv_core::VmConfig`] that only HVF has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HvfOptions {
    /// Use the in-kernel GICv3 (macOS 15+) at this layout instead of the bare IRQ line.
    pub gic: Option<GicLayout>,
}

/// A VM with the in-kernel GIC at the default layout for the GIC conformance cases
/// (`hv_core::testing::arm64::gic_cases`), or `None` where the GIC is unavailable (before
/// macOS 15). Used by `tests/conformance.rs` and `hv selftest`.
pub fn gic_conformance_vm(
    hv: &Hvf,
) -> std::result::Result<Option<(HvfVm, hv_core::machine::arm64::GicWiring<HvfVm>)>, String> {
    use hv_core::{HvError, VmConfig};
    let options = HvfOptions {
        gic: Some(Default::default()),
    };
    match hv.create_vm_with(&VmConfig::default(), &options) {
        Ok(vm) => {
            let regions = vm.gic_regions().ok_or("a GIC VM without GIC regions")?;
            let wiring = hv_core::machine::arm64::GicWiring {
                regions,
                set_spi: HvfVm::set_spi,
                reset: HvfVm::reset_gic,
            };
            Ok(Some((vm, wiring)))
        }
        Err(HvError::Unavailable(why)) => {
            log::warn!("no in-kernel GIC ({why}); GIC conformance cases skipped");
            Ok(None)
        }
        Err(e) => Err(format!("create a GIC VM: {e}")),
    }
}
