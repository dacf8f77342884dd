//! The traits every backend implements.
//!
//! The shape follows three rules (see `docs/architecture.md` for the trade-offs):
//!
//! * **I/O completes inside [`Vcpu::run`].** The backend calls the [`IoHandler`] for every
//!   port or MMIO access and writes the result back before it returns, so no caller can
//!   forget to complete an access (cloud-hypervisor's callback shape, not crosvm's
//!   two-step `run` + `handle_io`). `run` still returns [`VcpuExit::Io`] after each access
//!   so the loop can inject a freshly raised interrupt at once.
//! * **A vCPU is not `Send`.** Hypervisor.framework binds a vCPU to the thread that
//!   created it; we impose that rule everywhere. Other threads hold a [`Kicker`].
//! * **Architecture specifics live in extension traits** ([`VcpuX86`], [`VcpuArm64`]), so
//!   a backend implements only what its guests have.

use std::fmt;
use std::sync::Arc;

use crate::arch::arm64::{Arm64Reg, Arm64SysReg};
use crate::arch::x86::{Regs, Sregs};
use crate::error::Result;
use crate::exit::VcpuExit;
use crate::memory::GuestMemory;

/// What a VM is created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmConfig {
    /// Number of vCPUs the VM will host (hv runs one).
    pub vcpus: u32,
}

impl Default for VmConfig {
    fn default() -> Self {
        Self { vcpus: 1 }
    }
}

/// A host hypervisor API (KVM, WHP, HVF): probe it, then create VMs on it.
pub trait Hypervisor: Sized {
    /// The VM type this backend creates.
    type Vm: Vm;

    /// Opens the host hypervisor. The error says in one line what is missing and what to
    /// do about it (e.g. "/dev/kvm: permission denied; add yourself to group kvm").
    fn probe() -> Result<Self>;

    /// A short name for logs and reports ("KVM", "WHP", "HVF").
    fn name(&self) -> &'static str;

    /// What the probe found, as (what, value) lines for `hv selftest` and bug reports:
    /// API version, the capabilities hv relies on, which implementation this is. Empty
    /// when the backend has nothing to add to its name.
    fn features(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Creates an empty VM.
    fn create_vm(&self, config: &VmConfig) -> Result<Self::Vm>;
}

/// A VM: guest memory and vCPUs. Shared by the threads of a machine.
pub trait Vm: Send + Sync {
    /// The vCPU type. Deliberately not required to be `Send`.
    type Vcpu: Vcpu;

    /// Maps every region of `memory` into the guest, read-only where the region says so.
    ///
    /// The VM keeps a clone of `memory` (its regions are reference-counted), so the host
    /// mapping outlives every guest access. Call once, before creating vCPUs.
    fn map_memory(&mut self, memory: &GuestMemory) -> Result<()>;

    /// Creates vCPU `id`. Call this on the thread that will run the vCPU, and drop the
    /// vCPU on that thread too.
    fn create_vcpu(&self, id: u32) -> Result<Self::Vcpu>;
}

/// Completes guest port and MMIO accesses. Implemented by the machine's buses.
///
/// Reads fill all of `data` (the backend zero-fills first); `data.len()` is the access
/// size (1, 2, 4, or 8 for MMIO). A `rep ins/outs` arrives as one call per element.
pub trait IoHandler {
    /// `in` from `port`.
    fn pio_read(&mut self, port: u16, data: &mut [u8]);
    /// `out` to `port`.
    fn pio_write(&mut self, port: u16, data: &[u8]);
    /// A load from an unmapped (or read-only, for writes) guest-physical address.
    fn mmio_read(&mut self, gpa: u64, data: &mut [u8]);
    /// A store to an unmapped or read-only guest-physical address.
    fn mmio_write(&mut self, gpa: u64, data: &[u8]);
}

/// Forces a running vCPU out of guest mode, from any thread.
///
/// A kick is sticky: if the vCPU is not in guest mode when kicked, its next entry returns
/// [`VcpuExit::Kicked`] at once, so a kick is never lost. A kick after the vCPU is gone
/// does nothing (it never touches freed state).
pub trait Kicker: Send + Sync + fmt::Debug {
    /// Requests an exit.
    fn kick(&self);
}

/// One virtual CPU, owned by the thread that created it.
pub trait Vcpu {
    /// Enters the guest until something needs the VMM. Port and MMIO accesses are
    /// completed through `io` before this returns.
    fn run(&mut self, io: &mut dyn IoHandler) -> Result<VcpuExit>;

    /// A handle other threads use to force this vCPU out of the guest.
    fn kicker(&self) -> Arc<dyn Kicker>;

    /// Returns the vCPU's event state to what a CPU has after reset: no interrupt or
    /// exception queued for the next entry, no interrupt-window request, no interrupt
    /// shadow, and (arm64) the virtual timer and interrupt inputs quiet. Registers are
    /// not touched; the loader sets them afterwards. The machine calls this before
    /// loading the guest at power-on and on every reset, so nothing the old guest left
    /// pending can reach the new one. A pending kick is kept (it belongs to the VMM,
    /// not to the guest).
    fn reset(&mut self) -> Result<()>;
}

/// x86 extension: registers, interrupt injection and the interrupt window.
pub trait VcpuX86: Vcpu {
    /// General-purpose registers, RIP and RFLAGS.
    fn regs(&self) -> Result<Regs>;
    /// Sets general-purpose registers, RIP and RFLAGS.
    fn set_regs(&mut self, regs: &Regs) -> Result<()>;
    /// Segment, descriptor-table and control registers, EFER.
    fn sregs(&self) -> Result<Sregs>;
    /// Sets segment, descriptor-table and control registers, EFER.
    fn set_sregs(&mut self, sregs: &Sregs) -> Result<()>;

    /// True when an external interrupt injected now would be taken on the next entry:
    /// RFLAGS.IF set, no interrupt shadow (`sti`/`mov ss`), no event already pending.
    fn ready_for_interrupt(&self) -> bool;

    /// Queues external interrupt `vector` for the next entry. Only call when
    /// [`ready_for_interrupt`](Self::ready_for_interrupt) is true.
    fn inject_interrupt(&mut self, vector: u8) -> Result<()>;

    /// Asks for a [`VcpuExit::InterruptWindow`] exit as soon as the guest can take an
    /// interrupt (`on = true`), or cancels that request.
    fn request_interrupt_window(&mut self, on: bool) -> Result<()>;
}

/// arm64 extension: registers, system registers and the IRQ line.
pub trait VcpuArm64: Vcpu {
    /// Reads a general-purpose register, PC or CPSR.
    fn reg(&self, reg: Arm64Reg) -> Result<u64>;
    /// Writes a general-purpose register, PC or CPSR.
    fn set_reg(&mut self, reg: Arm64Reg, value: u64) -> Result<()>;
    /// Reads a system register.
    fn sys_reg(&self, reg: Arm64SysReg) -> Result<u64>;
    /// Writes a system register.
    fn set_sys_reg(&mut self, reg: Arm64SysReg, value: u64) -> Result<()>;
    /// Drives the vCPU's IRQ input (level-sensitive; re-asserted before every entry by
    /// backends whose API forgets it after a run).
    fn set_irq_line(&mut self, level: bool) -> Result<()>;
}
