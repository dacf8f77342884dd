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
