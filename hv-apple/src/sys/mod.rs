//! The Hypervisor.framework backend proper: Apple Silicon macOS only.

mod ffi;
mod gic;
mod vcpu;
mod vm;

pub use vcpu::HvfVcpu;
pub use vm::{Hvf, HvfVm};
