//! hv's Hypervisor.framework backend (Apple Silicon, arm64 guests).
//!
//! * [`Hvf`] probes the framework and creates the process's single [`HvfVm`].
//! * [`HvfVm`] maps guest memory with explicit `HV_MEMORY_*` flags and optionally owns the
//!   in-kernel GICv3 (macOS 15+).
//! * [`HvfVcpu`] lives on its creating thread and completes MMIO, PSCI, WFI and vtimer
//!   exits inside `run`; other threads hold its [`HvfKicker`].
//!
//! The crate builds on every host: the bindings only link where Hypervisor.framework
//! exists, and the only entry point that calls into it off macOS ([`Hvf::probe`]) is
//! compiled out there, so nothing else is ever reached and Linux test binaries link.
//! See `docs/backends.md (Hypervisor.framework section)`.

pub mod error;
mod exit;
pub mod gic;
mod kick;
pub mod memory;
mod regs;
mod vcpu;
mod vm;

pub use gic::GicLayout;
pub use kick::HvfKicker;
pub use vcpu::HvfVcpu;
pub use vm::{Hvf, HvfOptions, HvfVm};
