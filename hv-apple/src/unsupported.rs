//! Off Apple Silicon macOS: the backend's public types, uninhabited.
//!
//! Hypervisor.framework's arm64 API exists only on Apple Silicon (an Intel Mac's
//! framework has a different, x86 API under the same function names), so elsewhere hv
//! compiles the same API with types that can hold no value: [`Hvf::probe`] is the only
//! way to get an [`Hvf`], it fails with one line saying why, and every other method is
//! statically unreachable (`match never {}`). Code that uses the backend (the app's
//! arm64 boot path) therefore type-checks on every host, and nothing here links against
//! Hypervisor.framework or touches unix-only APIs.

use std::convert::Infallible;
use std::sync::Arc;

use hv_core::arch::arm64::{Arm64Reg, Arm64SysReg};
use hv_core::machine::arm64::layout::GicRegions;
use hv_core::{
    GuestMemory, HvError, Hypervisor, IoHandler, Kicker, Result, Vcpu, VcpuArm64, VcpuExit, Vm,
    VmConfig,
};

use crate::HvfOptions;

/// Why there is no HVF backend on this build target.
pub const UNAVAILABLE: &str = if cfg!(target_os = "macos") {
    "Hypervisor.framework's arm64 API exists only on Apple Silicon; hv has no backend for \
     Intel Macs"
} else {
    "Hypervisor.framework exists only on macOS on Apple Silicon"
};

/// The Hypervisor.framework backend (not available on this target).
#[derive(Debug, Clone, Copy)]
pub struct Hvf {
    never: Infallible,
}

impl Hvf {
    /// Creates a VM with HVF-specific options.
    pub fn create_vm_with(&self, _config: &VmConfig, _options: &HvfOptions) -> Result<HvfVm> {
        match self.never {}
    }
}

impl Hypervisor for Hvf {
    type Vm = HvfVm;

    fn probe() -> Result<Self> {
        Err(HvError::Unavailable(UNAVAILABLE.into()))
    }

    fn name(&self) -> &'static str {
        match self.never {}
    }

    fn create_vm(&self, _config: &VmConfig) -> Result<HvfVm> {
        match self.never {}
    }
}

/// The process's Hypervisor.framework VM (not available on this target).
#[derive(Debug)]
pub struct HvfVm {
    never: Infallible,
}

impl HvfVm {
    /// True when the in-kernel GIC delivers interrupts.
    pub fn has_gic(&self) -> bool {
        match self.never {}
    }

    /// Where the in-kernel GIC is, if there is one.
    pub fn gic_regions(&self) -> Option<GicRegions> {
        match self.never {}
    }

    /// Drives GIC shared peripheral interrupt `intid`.
    pub fn set_spi(&self, _intid: u32, _level: bool) -> Result<()> {
        match self.never {}
    }

    /// Resets the in-kernel GIC.
    pub fn reset_gic(&self) -> Result<()> {
        match self.never {}
    }
}

impl Vm for HvfVm {
    type Vcpu = HvfVcpu;

    fn map_memory(&mut self, _memory: &GuestMemory) -> Result<()> {
        match self.never {}
    }

    fn create_vcpu(&self, _id: u32) -> Result<HvfVcpu> {
        match self.never {}
    }
}

/// A Hypervisor.framework vCPU (not available on this target).
#[derive(Debug)]
pub struct HvfVcpu {
    never: Infallible,
}

impl Vcpu for HvfVcpu {
    fn run(&mut self, _io: &mut dyn IoHandler) -> Result<VcpuExit> {
        match self.never {}
    }

    fn kicker(&self) -> Arc<dyn Kicker> {
        match self.never {}
    }

    fn reset(&mut self) -> Result<()> {
        match self.never {}
    }
}

impl VcpuArm64 for HvfVcpu {
    fn reg(&self, _reg: Arm64Reg) -> Result<u64> {
        match self.never {}
    }

    fn set_reg(&mut self, _reg: Arm64Reg, _value: u64) -> Result<()> {
        match self.never {}
    }

    fn sys_reg(&self, _reg: Arm64SysReg) -> Result<u64> {
        match self.never {}
    }

    fn set_sys_reg(&mut self, _reg: Arm64SysReg, _value: u64) -> Result<()> {
        match self.never {}
    }

    fn set_irq_line(&mut self, _level: bool) -> Result<()> {
        match self.never {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_says_why_in_one_line() {
        let err = Hvf::probe().expect_err("no HVF on this target");
        assert!(matches!(err, HvError::Unavailable(_)));
        let text = err.to_string();
        assert!(
            text.contains("Apple Silicon") && !text.contains('\n'),
            "{text}"
        );
        if cfg!(target_os = "macos") {
            assert!(text.contains("Intel"), "{text}");
        }
    }
}
