//! The emulated devices. Each is a [`BusDevice`](crate::bus::BusDevice) owned by the vCPU
//! thread; devices raise interrupts through [`IrqLine`](crate::irq::IrqLine)s and ask the
//! machine for resets or power-off through [`SystemControl`].

pub mod cmos;
pub mod i8042;
pub mod keymap;
pub mod pic;
pub mod pit;
pub mod ports;
pub mod ps2_keyboard;
pub mod ps2_mouse;
pub mod scancode;
pub mod system;
pub mod uart;
pub mod vga;

pub use system::{SystemControl, SystemRequest};
