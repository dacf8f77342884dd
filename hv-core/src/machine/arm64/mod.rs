//! The arm64 board: what hv runs on Apple Silicon (HVF runs arm64 guests only).
//!
//! Its keyboard and display path is the PC's: the same i8042 and VGA models, reached
//! through an ISA-style I/O window in MMIO, with VGA memory as plain RAM at the PC's
//! 0xA0000. Everything else is what arm64 guests expect, placed as on QEMU `virt`: RAM at
//! 1 GiB, a PL011 console, an optional GICv3 (HVF's in-kernel one), the architected
//! timer and PSCI over HVC, all described in a generated device tree.
//!
//! | Module | Role |
//! |--------|------|
//! | [`layout`] | memory map, interrupt numbers, map invariants |
//! | [`pl011`] | the PL011 UART model |
//! | [`interrupts`] | device lines -> GIC SPIs or the vCPU's IRQ input |
//! | [`board`] | the devices and the MMIO decode (the board's schematic) |
//! | [`fdt`] | the device tree |
//! | [`boot`] | Image header, placement, entry registers |
//! | [`vcpu_loop`] | the arm64 half of the shared loop ([`Arm64Cpu`](vcpu_loop::Arm64Cpu)) |
//! | [`launch`] | memory, device tree and board; the shared vCPU thread does the rest |

pub mod board;
pub mod boot;
pub mod fdt;
#[cfg(test)]
mod fdt_reader;
pub mod interrupts;
pub mod launch;
pub mod layout;
pub mod pl011;
pub mod vcpu_loop;

pub use board::Arm64Board;
pub use interrupts::{SpiRouter, SpiSink};
pub use launch::{Arm64Config, GicWiring, launch, launch_on};
pub use layout::GicRegions;
