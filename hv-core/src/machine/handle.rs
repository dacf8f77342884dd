//! The front end's view of a running machine (PC or arm64 board): the input channel,
//! the state it renders from, statistics, and the vCPU thread to join.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::Receiver;

use super::events::{RunEnd, VmEvent, VmInput};
use super::journey::JourneyRecorder;
use super::stats::ExitStats;
use crate::clock::Clock;
use crate::devices::uart::SerialLog;
use crate::devices::vga::VgaState;
use crate::memory::GuestMemory;

/// The front end's view of a running machine.
#[derive(Debug)]
pub struct MachineHandle {
    /// Send keys and commands.
    pub input: VmInput,
    /// News from the VM.
    pub events: Receiver<VmEvent>,
    /// Guest memory (VGA memory is read from here).
    pub memory: GuestMemory,
    /// The VGA register file.
    pub vga: Arc<Mutex<VgaState>>,
    /// The console UART's recent output (COM1 on the PC, the PL011 on arm64).
    pub serial_log: Arc<Mutex<SerialLog>>,
    /// Exit counters.
    pub stats: Arc<ExitStats>,
    /// Keystroke journeys.
    pub journey: JourneyRecorder,
    /// Machine time (shared with the devices).
    pub clock: Arc<dyn Clock>,
    /// The backend's name.
    pub backend: &'static str,
    pub(crate) thread: Option<JoinHandle<RunEnd>>,
}

impl MachineHandle {
    /// Waits for the vCPU thread and returns how the run ended.
    pub fn join(mut self) -> RunEnd {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(end)) => end,
            Some(Err(_)) => RunEnd::Error("the vCPU thread panicked".into()),
            None => RunEnd::Quit,
        }
    }
}
