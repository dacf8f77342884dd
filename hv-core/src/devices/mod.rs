//! The emulated devices. Each is a [`BusDevice`](crate::bus::BusDevice) owned by the vCPU
//! thread; devices raise interrupts through [`IrqLine`](crate::irq::IrqLine)s and ask the
//! machine for resets or power-off through [`SystemControl`].

pub mod i8042;
pub mod keymap;
pub mod ps2_keyboard;
pub mod ps2_mouse;
pub mod scancode;
pub mod system;

pub use system::{SystemControl, SystemRequest};
