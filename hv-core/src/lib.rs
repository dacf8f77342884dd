//! hv-core: everything in hv that is the same on every host.
//!
//! A backend (KVM, WHP, HVF) implements the small traits in [`hypervisor`]; everything
//! else — devices, firmware, loaders, the machine and its vCPU loop — is written once
//! here against those traits. See `docs/architecture.md` for the four paths (exit,
//! interrupt, keystroke, display) that run through these modules.

pub mod arch;
pub mod bus;
pub mod clock;
pub mod devices;
pub mod error;
pub mod exit;
pub mod firmware;
pub mod hypervisor;
pub mod irq;
pub mod loader;
pub mod machine;
pub mod memory;

#[cfg(test)]
mod test_rng;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{GuestFailure, HvError, Result};
pub use exit::VcpuExit;
pub use hypervisor::{Hypervisor, IoHandler, Kicker, Vcpu, VcpuArm64, VcpuX86, Vm, VmConfig};
pub use memory::{GuestMemory, MemoryRegionInfo};
