//! What crosses between the front end (window or headless runner) and the vCPU thread.
//!
//! Front end -> VM: [`HostEvent`]s on a crossbeam channel, each followed by a kick so a
//! guest spinning without exits sees it within one exit round trip (Firecracker's
//! channel + kick protocol). VM -> front end: [`VmEvent`]s.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::devices::keymap::Key;
use crate::devices::ps2_mouse::MouseInput;
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
    /// Host mouse input: relative motion, wheel notches, the buttons now held.
    Mouse(MouseInput),
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

/// Whether the vCPU thread is parked on the host-event channel (halted guest, or paused).
///
/// A parked vCPU thread is woken by the channel itself and drains the channel before it
/// next enters the guest, so a sender need not kick it; a kick would be sticky and make
/// that next entry return at once (one wasted entry per keystroke to a halted guest).
/// Sender and vCPU thread follow the store-buffer (Dekker) pattern with SeqCst fences:
/// the sender's message store is fenced before it reads the flag, the vCPU's un-park
/// store is fenced before it polls the channel, so at least one sees the other.
#[derive(Debug, Default)]
pub struct VcpuParking(AtomicBool);

impl VcpuParking {
    fn park(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn unpark(&self) {
        self.0.store(false, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    fn parked(&self) -> bool {
        fence(Ordering::SeqCst);
        self.0.load(Ordering::SeqCst)
    }
}

/// The front end's handle for sending input: channel send, then kick (unless the vCPU
/// thread is parked on the channel).
#[derive(Clone)]
pub struct VmInput {
    tx: Sender<HostEvent>,
    kicker: Arc<dyn Kicker>,
    parking: Arc<VcpuParking>,
}

impl fmt::Debug for VmInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VmInput").finish_non_exhaustive()
    }
}

impl VmInput {
    /// Wraps the sending side, the vCPU's kicker and the parking flag shared with the
    /// VM's [`VmChannels`].
    pub fn new(tx: Sender<HostEvent>, kicker: Arc<dyn Kicker>, parking: Arc<VcpuParking>) -> Self {
        Self {
            tx,
            kicker,
            parking,
        }
    }

    /// Sends `ev` and, unless the vCPU thread is parked on the channel, forces the vCPU
    /// out of the guest so it is seen at once. Returns false if the VM is gone.
    pub fn send(&self, ev: HostEvent) -> bool {
        let ok = self.tx.send(ev).is_ok();
        if !self.parking.parked() {
            self.kicker.kick();
        }
        ok
    }
}

/// How long [`VmChannels::receive`] may wait for an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Do not wait.
    No,
    /// Until an event arrives.
    Forever,
    /// At most this long.
    For(Duration),
}

/// What [`VmChannels::receive`] got.
#[derive(Debug)]
pub enum Received {
    /// An event.
    Event(HostEvent),
    /// Nothing (yet).
    Nothing,
    /// The front end is gone.
    Disconnected,
}

/// The VM's ends of the channels (cheap to clone: reference-counted handles).
#[derive(Debug, Clone)]
pub struct VmChannels {
    /// Host events in.
    pub rx: Receiver<HostEvent>,
    /// VM events out.
    pub tx: Sender<VmEvent>,
    /// Set while the vCPU thread blocks on `rx`.
    pub parking: Arc<VcpuParking>,
}

impl VmChannels {
    /// Takes one host event, blocking as `wait` says (parked, so senders need not kick).
    pub fn receive(&self, wait: Wait) -> Received {
        let got = match wait {
            Wait::No => self.rx.try_recv().map_err(|e| e.is_disconnected()),
            Wait::Forever => {
                self.parking.park();
                let r = self.rx.recv().map_err(|_| true);
                self.parking.unpark();
                r
            }
            Wait::For(d) => {
                self.parking.park();
                let r = self.rx.recv_timeout(d).map_err(|e| e.is_disconnected());
                self.parking.unpark();
                r
            }
        };
        match got {
            Ok(ev) => Received::Event(ev),
            Err(true) => Received::Disconnected,
            Err(false) => Received::Nothing,
        }
    }
}

impl VmChannels {
    /// Receives events (waiting for the first as `wait` says) and hands each queued one
    /// to `handle`, until the channel is empty or `handle` ends the run.
    pub fn dispatch<E>(
        &self,
        wait: Wait,
        mut handle: impl FnMut(HostEvent) -> Result<Option<RunEnd>, E>,
    ) -> Result<Option<RunEnd>, E> {
        let mut next = self.receive(wait);
        loop {
            match next {
                Received::Event(ev) => {
                    if let Some(end) = handle(ev)? {
                        return Ok(Some(end));
                    }
                }
                Received::Disconnected => return Ok(Some(RunEnd::Quit)),
                Received::Nothing => return Ok(None),
            }
            next = self.receive(Wait::No);
        }
    }
}

/// Makes the host-event channel: the front end's sending half (completed with the
/// vCPU's kicker by [`VmInput::new`]) and the VM's receiving half.
pub fn host_channel() -> (Sender<HostEvent>, Receiver<HostEvent>, Arc<VcpuParking>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    (tx, rx, Arc::new(VcpuParking::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[derive(Debug, Default)]
    struct CountKicks(AtomicU32);
    impl Kicker for CountKicks {
        fn kick(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn send_kicks_a_running_vcpu_but_not_a_parked_one() {
        let (htx, hrx, parking) = host_channel();
        let (vtx, _vrx) = crossbeam_channel::unbounded();
        let kicks = Arc::new(CountKicks::default());
        let input = VmInput::new(htx, kicks.clone(), parking.clone());
        let channels = VmChannels {
            rx: hrx,
            tx: vtx,
            parking,
        };

        assert!(input.send(HostEvent::Pause));
        assert_eq!(kicks.0.load(Ordering::SeqCst), 1, "running vCPU is kicked");
        assert!(matches!(
            channels.receive(Wait::No),
            Received::Event(HostEvent::Pause)
        ));

        // A parked receiver is woken by the channel; the sender must not kick.
        let sender = std::thread::spawn(move || {
            while !input.parking.0.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            input.send(HostEvent::Resume);
            input
        });
        assert!(matches!(
            channels.receive(Wait::Forever),
            Received::Event(HostEvent::Resume)
        ));
        let input = sender.join().expect("sender");
        assert_eq!(
            kicks.0.load(Ordering::SeqCst),
            1,
            "no kick for a parked vCPU"
        );
        assert!(matches!(
            channels.receive(Wait::For(Duration::from_millis(1))),
            Received::Nothing
        ));
        drop(input);
        assert!(matches!(channels.receive(Wait::No), Received::Disconnected));
    }

    #[test]
    fn dispatch_handles_every_queued_event_and_stops_on_quit() {
        let (htx, hrx, parking) = host_channel();
        let (vtx, _vrx) = crossbeam_channel::unbounded();
        let channels = VmChannels {
            rx: hrx,
            tx: vtx,
            parking,
        };
        for ev in [
            HostEvent::Pause,
            HostEvent::Resume,
            HostEvent::Quit,
            HostEvent::Reset,
        ] {
            htx.send(ev).expect("send");
        }
        let mut seen = Vec::new();
        let end = channels.dispatch::<()>(Wait::No, |ev| {
            let quit = ev == HostEvent::Quit;
            seen.push(ev);
            Ok(quit.then_some(RunEnd::Quit))
        });
        assert_eq!(end, Ok(Some(RunEnd::Quit)));
        assert_eq!(
            seen,
            vec![HostEvent::Pause, HostEvent::Resume, HostEvent::Quit]
        );
        assert_eq!(
            channels.dispatch::<()>(Wait::No, |_| Ok(None)),
            Ok(None),
            "Reset left, handled, empty"
        );
    }
}
