//! What crosses between the front end (window or headless runner) and the vCPU thread.
//!
//! Front end -> VM: [`HostEvent`]s on a crossbeam channel, each followed by a kick so a
//! guest spinning without exits sees it within one exit round trip (Firecracker's
//! channel + kick protocol). VM -> front end: [`VmEvent`]s.

use std::fmt;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use crate::devices::keymap::Key;
use crate::hypervisor::Kicker;

/// Input to the VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEvent {
    /// A physical key went down or up.
    Key {
        /// The key.
        key: Key,
        /// Down (true) or up.
        pressed: bool,
    },
    /// Release every key the guest believes is held (window lost focus).
    ReleaseAllKeys,
    /// Type this text through the keyboard, paced so the guest keeps up.
    Type(String),
    /// Bytes for COM1's receiver.
    SerialInput(Vec<u8>),
    /// Stop running the guest (time keeps going for timers).
    Pause,
    /// Continue after [`HostEvent::Pause`].
    Resume,
    /// Reset the machine in place.
    Reset,
    /// End the run.
    Quit,
}

/// Why a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// The guest wrote `v` to the debug-exit port; the status is `(v << 1) | 1`.
    DebugExit(i32),
    /// The front end asked to quit.
    Quit,
    /// The guest shut down (triple fault) and `--no-reboot` was given.
    Shutdown,
    /// The guest powered the machine off (PSCI SYSTEM_OFF or CPU_OFF on arm64).
    PowerOff,
    /// The guest executed `hlt` with interrupts disabled: nothing can wake it.
    HaltedWithInterruptsOff {
        /// Where it stopped (linear address).
        at: u64,
    },
    /// The VMM failed (the text is the whole error, one line).
    Error(String),
}

impl RunEnd {
    /// The process exit status for this end (debug-exit status, 0 for a clean end,
    /// 1 for a VMM error).
    pub fn exit_status(&self) -> i32 {
        match self {
            RunEnd::DebugExit(s) => *s,
            RunEnd::Quit | RunEnd::PowerOff | RunEnd::HaltedWithInterruptsOff { .. } => 0,
            RunEnd::Shutdown => 0,
            RunEnd::Error(_) => 1,
        }
    }
}

impl fmt::Display for RunEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunEnd::DebugExit(s) => {
                write!(f, "guest exited through the debug-exit port (status {s})")
            }
            RunEnd::Quit => write!(f, "stopped by the user"),
            RunEnd::PowerOff => write!(f, "guest powered off"),
            RunEnd::Shutdown => write!(
                f,
                "guest shut down (triple fault) and --no-reboot was given"
            ),
            RunEnd::HaltedWithInterruptsOff { at } => {
                write!(
                    f,
                    "guest halted with interrupts disabled at {at:#x}; nothing can wake it"
                )
            }
            RunEnd::Error(e) => write!(f, "{e}"),
        }
    }
}

/// News from the VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmEvent {
    /// The guest is about to run its first instruction.
    Started,
    /// Paused (true) or running (false).
    Paused(bool),
    /// The machine was reset (by the guest or the user).
    Reset(String),
    /// The run is over.
    Ended(RunEnd),
}

/// The front end's handle for sending input: channel send, then kick.
#[derive(Clone)]
pub struct VmInput {
    tx: Sender<HostEvent>,
    kicker: Arc<dyn Kicker>,
}

impl fmt::Debug for VmInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VmInput").finish_non_exhaustive()
    }
}

impl VmInput {
    /// Wraps the sending side and the vCPU's kicker.
    pub fn new(tx: Sender<HostEvent>, kicker: Arc<dyn Kicker>) -> Self {
        Self { tx, kicker }
    }

    /// Sends `ev` and forces the vCPU out of the guest so it is seen at once. Returns
    /// false if the VM is gone.
    pub fn send(&self, ev: HostEvent) -> bool {
        let ok = self.tx.send(ev).is_ok();
        self.kicker.kick();
        ok
    }
}

/// The VM's ends of the channels.
#[derive(Debug)]
pub struct VmChannels {
    /// Host events in.
    pub rx: Receiver<HostEvent>,
    /// VM events out.
    pub tx: Sender<VmEvent>,
}
