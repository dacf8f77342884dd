//! The emulated devices. Each is a [`BusDevice`](crate::bus::BusDevice) owned by the vCPU
//! thread; devices raise interrupts through [`IrqLine`](crate::irq::IrqLine)s and ask the
//! machine for resets or power-off through [`SystemControl`].

pub mod system;
pub mod vga;

pub use system::{SystemControl, SystemRequest};
