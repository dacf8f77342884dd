//! hv's KVM backend (Linux only; empty elsewhere).
//!
//! [`Kvm`] opens `/dev/kvm`, [`KvmVm`] maps guest memory into memory slots, and
//! [`KvmVcpu`] runs the guest, completing port and MMIO accesses inside `run`. hv keeps its
//! interrupt controller in userspace, so interrupts go in with `KVM_INTERRUPT` and the
//! interrupt window, exactly as on WHP, and no in-kernel irqchip is created.
#![cfg(target_os = "linux")]

mod error;
mod exits;
mod failure;
mod hypervisor;
mod interrupt;
mod kick;
mod regs;
mod vcpu;
mod vm;

pub use hypervisor::Kvm;
pub use kick::KvmKicker;
pub use vcpu::KvmVcpu;
pub use vm::KvmVm;
