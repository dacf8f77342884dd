//! The machines (the PC and the arm64 board) built from the devices, and the one vCPU
//! loop that runs them both (`run_loop`, generic over `board::Board` and
//! `run_loop::Arch`).

pub mod arm64;
pub mod board;
pub mod deadline;
pub mod events;
pub mod handle;
pub mod journey;
pub mod launch;
pub mod layout;
pub mod pc;
pub mod run_loop;
pub mod serial_input;
pub mod stats;
pub mod typing;
pub mod vcpu_loop;
pub mod vcpu_thread;
