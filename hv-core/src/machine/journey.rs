//! Records each keystroke's journey through the emulation, for the overlay and for the
//! keystroke-latency benchmark: host key -> set-2 bytes -> the byte the guest read from
//! port 0x60 (translated to set 1 or not) -> IRQ1 injected -> time until the guest read.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;
use crate::devices::i8042::{ByteSource, IrqKind, KbdEvent};
use crate::devices::keymap::Key;

/// Journeys kept for display.
pub const JOURNEYS_KEPT: usize = 16;
/// Latency samples kept for statistics.
pub const LATENCIES_KEPT: usize = 4096;

/// One byte as the guest read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveredByte {
    /// The byte read from port 0x60.
    pub byte: u8,
    /// The set-2 byte it was translated from, when the i8042 translated.
    pub translated_from: Option<u8>,
    /// Time from the host key event to this read.
    pub after: Duration,
}

/// One key event's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyJourney {
    /// The host key.
    pub key: Key,
    /// Down or up.
    pub pressed: bool,
    /// The set-2 bytes the keyboard produced.
    pub set2: Vec<u8>,
    /// Interrupt vector injected for it, and when.
    pub injected: Option<(u8, Duration)>,
    /// Bytes the guest read, in order.
    pub delivered: Vec<DeliveredByte>,
    started: Duration,
}

impl KeyJourney {
    /// Time from the host event until the guest read the first byte.
    pub fn latency(&self) -> Option<Duration> {
        self.delivered.first().map(|d| d.after)
    }

    /// When the host event entered the VM (machine clock), so a front end can place the
    /// journey on its own timeline: the latency benchmark measures from its `send`.
    pub fn started(&self) -> Duration {
        self.started
    }
}

#[derive(Debug, Default)]
struct Log {
    journeys: VecDeque<KeyJourney>,
    latencies: VecDeque<Duration>,
    last_translated_from: Option<u8>,
    irq1_raised: bool,
}

/// Shared recorder: cloned into the i8042's observer and the vCPU loop.
#[derive(Debug, Clone)]
pub struct JourneyRecorder {
    log: Arc<Mutex<Log>>,
    clock: Arc<dyn Clock>,
}

impl JourneyRecorder {
    /// An empty recorder timing with `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            log: Arc::new(Mutex::new(Log::default())),
            clock,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Log, Duration) -> R) -> R {
        let now = self.clock.now();
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut log, now)
    }

    /// A host key event entered the VM.
    pub fn host_key(&self, key: Key, pressed: bool) {
        self.with(|log, now| {
            if log.journeys.len() == JOURNEYS_KEPT {
                log.journeys.pop_front();
            }
            log.journeys.push_back(KeyJourney {
                key,
                pressed,
                set2: Vec::new(),
                injected: None,
                delivered: Vec::new(),
                started: now,
            });
        });
    }

    /// The loop injected `vector`; attributed to the newest journey if IRQ1 is what the
    /// keyboard raised since.
    pub fn injected(&self, vector: u8) {
        self.with(|log, now| {
            if !std::mem::take(&mut log.irq1_raised) {
                return;
            }
            if let Some(j) = log.journeys.back_mut() {
                if j.injected.is_none() {
                    j.injected = Some((vector, now.saturating_sub(j.started)));
                }
            }
        });
    }

    /// An event from the i8042's observer.
    pub fn kbd_event(&self, ev: &KbdEvent) {
        self.with(|log, now| match ev {
            KbdEvent::HostKey { set2, .. } => {
                if let Some(j) = log.journeys.back_mut() {
                    if j.set2.is_empty() {
                        j.set2.clone_from(set2);
                    }
                }
            }
            KbdEvent::Latched {
                source: ByteSource::Keyboard,
                translated_from,
                ..
            } => {
                log.last_translated_from = *translated_from;
            }
            KbdEvent::IrqRaised {
                line: IrqKind::Keyboard,
            } => log.irq1_raised = true,
            KbdEvent::GuestRead {
                byte,
                source: Some(ByteSource::Keyboard),
            } => {
                let translated_from = log.last_translated_from.take();
                let mut sample = None;
                if let Some(j) = log.journeys.back_mut() {
                    let after = now.saturating_sub(j.started);
                    if j.delivered.is_empty() {
                        sample = Some(after);
                    }
                    if j.delivered.len() < 16 {
                        j.delivered.push(DeliveredByte {
                            byte: *byte,
                            translated_from,
                            after,
                        });
                    }
                }
                if let Some(s) = sample {
                    if log.latencies.len() == LATENCIES_KEPT {
                        log.latencies.pop_front();
                    }
                    log.latencies.push_back(s);
                }
            }
            _ => {}
        });
    }

    /// The newest journeys, oldest first.
    pub fn journeys(&self) -> Vec<KeyJourney> {
        self.with(|log, _| log.journeys.iter().cloned().collect())
    }

    /// Host-event-to-guest-read latencies recorded so far.
    pub fn latencies(&self) -> Vec<Duration> {
        self.with(|log, _| log.latencies.iter().copied().collect())
    }
}
