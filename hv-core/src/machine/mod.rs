//! The machine: a PC built from the devices, and the vCPU loop that runs it.

pub mod arm64;
pub mod deadline;
pub mod events;
pub mod handle;
pub mod journey;
pub mod launch;
pub mod layout;
pub mod pc;
pub mod stats;
pub mod typing;
pub mod vcpu_loop;
