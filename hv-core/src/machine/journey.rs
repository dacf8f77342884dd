//! Records each keystroke's journey through the emulation, for the overlay and for the
//! keystroke-latency benchmark: host key -> set-2 bytes -> the byte the guest read from
//! port 0x60 (translated to set 1 or not) -> IRQ1 injected -> time until the guest read.
//!
//! Mouse packets get the same treatment: the host mouse events folded into a packet ->
//! the packet's bytes -> IRQ12 injected -> the guest reading its last byte. A packet is
//! attributed the first IRQ12 injected after it was cut; when IRQ1 and IRQ12 are both
//! pending, the first injection is taken as IRQ1's (the PIC's priority order).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;
use crate::devices::i8042::{ByteSource, IrqKind, KbdEvent};
use crate::devices::keymap::Key;
use crate::devices::ps2_mouse::MouseInput;

/// Journeys kept for display.
pub const JOURNEYS_KEPT: usize = 16;
/// Mouse packets kept for display.
pub const MOUSE_PACKETS_KEPT: usize = 16;
/// Host mouse events older than this without a packet are forgotten: the mouse dropped
/// them (reporting off), so no later packet carries them.
pub const MOUSE_EVENTS_STALE: Duration = Duration::from_secs(1);

/// One mouse packet's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MouseJourney {
    /// Host events since the previous packet (0 when the events behind this packet were
    /// already counted by an earlier one: the rest of a move split over several
    /// packets, or a button change queued behind motion).
    pub host_events: u32,
    /// Their summed motion and wheel (screen convention), and the buttons after the
    /// last one.
    pub host: MouseInput,
    /// The packet's bytes.
    pub packet: Vec<u8>,
    /// IRQ12's vector and when it was injected (from [`started`](Self::started)).
    pub injected: Option<(u8, Duration)>,
    /// Bytes of the packet the guest has read so far.
    pub read: usize,
    /// From [`started`](Self::started) to the guest reading the packet's last byte.
    pub latency: Option<Duration>,
    started: Duration,
}

impl MouseJourney {
    /// When the first host event folded into it entered the VM (or, for the rest of a
    /// split move, when the packet was cut), on the machine clock.
    pub fn started(&self) -> Duration {
        self.started
    }
}

/// Host mouse events not yet carried by a packet.
#[derive(Debug, Default)]
struct PendingMouse {
    events: u32,
    sum: MouseInput,
    first_at: Duration,
}
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
    mouse: VecDeque<MouseJourney>,
    pending_mouse: PendingMouse,
    irq12_raised: bool,
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

    /// A host mouse event entered the VM.
    pub fn host_mouse(&self, input: MouseInput) {
        self.with(|log, now| {
            let p = &mut log.pending_mouse;
            if p.events == 0 || now.saturating_sub(p.first_at) > MOUSE_EVENTS_STALE {
                p.events = 0;
                p.first_at = now;
                p.sum = MouseInput::default();
            }
            p.events = p.events.saturating_add(1);
            p.sum.dx = p.sum.dx.saturating_add(input.dx);
            p.sum.dy = p.sum.dy.saturating_add(input.dy);
            p.sum.wheel = p.sum.wheel.saturating_add(input.wheel);
            p.sum.buttons = input.buttons;
        });
    }

    /// The loop injected `vector`; attributed to the newest keystroke journey if IRQ1 is
    /// what the keyboard raised since, else to the newest mouse packet if the aux port
    /// raised IRQ12.
    pub fn injected(&self, vector: u8) {
        self.with(|log, now| {
            if std::mem::take(&mut log.irq1_raised) {
                if let Some(j) = log.journeys.back_mut() {
                    if j.injected.is_none() {
                        j.injected = Some((vector, now.saturating_sub(j.started)));
                    }
                }
            } else if std::mem::take(&mut log.irq12_raised) {
                if let Some(j) = log.mouse.back_mut() {
                    if j.injected.is_none() {
                        j.injected = Some((vector, now.saturating_sub(j.started)));
                    }
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
            KbdEvent::IrqRaised { line: IrqKind::Aux } => log.irq12_raised = true,
            KbdEvent::MousePacket { bytes } => {
                let pending = std::mem::take(&mut log.pending_mouse);
                let (host_events, host, started) = if pending.events > 0 {
                    (pending.events, pending.sum, pending.first_at)
                } else {
                    (0, MouseInput::default(), now)
                };
                if log.mouse.len() == MOUSE_PACKETS_KEPT {
                    log.mouse.pop_front();
                }
                log.mouse.push_back(MouseJourney {
                    host_events,
                    host,
                    packet: bytes.clone(),
                    injected: None,
                    read: 0,
                    latency: None,
                    started,
                });
            }
            KbdEvent::MousePacketRead { .. } => {
                if let Some(j) = log.mouse.iter_mut().find(|j| j.read < j.packet.len()) {
                    j.read += 1;
                    if j.read == j.packet.len() {
                        j.latency = Some(now.saturating_sub(j.started));
                    }
                }
            }
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

    /// The newest mouse packets, oldest first.
    pub fn mouse_packets(&self) -> Vec<MouseJourney> {
        self.with(|log, _| log.mouse.iter().cloned().collect())
    }

    /// Host-event-to-guest-read latencies recorded so far.
    pub fn latencies(&self) -> Vec<Duration> {
        self.with(|log, _| log.latencies.iter().copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;

    fn input(dx: i32, dy: i32, buttons: u8) -> MouseInput {
        MouseInput {
            dx,
            dy,
            wheel: 0,
            buttons,
        }
    }

    #[test]
    fn a_mouse_packet_is_followed_from_host_events_to_the_guest_read() {
        let clock = FakeClock::new();
        let rec = JourneyRecorder::new(Arc::new(clock.clone()));
        rec.host_mouse(input(3, -1, 0));
        clock.advance(Duration::from_micros(100));
        rec.host_mouse(input(2, 0, 1));
        rec.kbd_event(&KbdEvent::MousePacket {
            bytes: vec![0x09, 5, 1],
        });
        rec.kbd_event(&KbdEvent::IrqRaised { line: IrqKind::Aux });
        clock.advance(Duration::from_micros(50));
        rec.injected(0x74);
        rec.injected(0x08); // a later timer interrupt is not the packet's
        for b in [0x09, 5, 1] {
            clock.advance(Duration::from_micros(10));
            rec.kbd_event(&KbdEvent::MousePacketRead { byte: b });
        }
        // The rest of a split move has no host events of its own.
        rec.kbd_event(&KbdEvent::MousePacket {
            bytes: vec![0x08, 1, 0],
        });
        let got = rec.mouse_packets();
        assert_eq!(got.len(), 2);
        let first = &got[0];
        assert_eq!(first.host_events, 2);
        assert_eq!(first.host, input(5, -1, 1));
        assert_eq!(first.packet, [0x09, 5, 1]);
        assert_eq!(first.injected, Some((0x74, Duration::from_micros(150))));
        assert_eq!(first.read, 3);
        assert_eq!(first.latency, Some(Duration::from_micros(180)));
        assert_eq!(got[1].host_events, 0);
        assert_eq!(got[1].latency, None);
        assert!(rec.journeys().is_empty(), "no keystroke journeys");
    }

    #[test]
    fn irq1_wins_the_first_injection_when_both_lines_rose() {
        let clock = FakeClock::new();
        let rec = JourneyRecorder::new(Arc::new(clock.clone()));
        rec.host_key(Key::A, true);
        rec.kbd_event(&KbdEvent::MousePacket {
            bytes: vec![0x08, 1, 0],
        });
        rec.kbd_event(&KbdEvent::IrqRaised {
            line: IrqKind::Keyboard,
        });
        rec.kbd_event(&KbdEvent::IrqRaised { line: IrqKind::Aux });
        rec.injected(0x09);
        rec.injected(0x74);
        assert_eq!(rec.journeys()[0].injected.map(|i| i.0), Some(0x09));
        assert_eq!(rec.mouse_packets()[0].injected.map(|i| i.0), Some(0x74));
    }

    #[test]
    fn host_mouse_events_no_packet_carried_are_forgotten() {
        let clock = FakeClock::new();
        let rec = JourneyRecorder::new(Arc::new(clock.clone()));
        rec.host_mouse(input(100, 0, 0)); // reporting was off: the mouse dropped it
        clock.advance(MOUSE_EVENTS_STALE * 2);
        rec.host_mouse(input(1, 0, 0));
        rec.kbd_event(&KbdEvent::MousePacket {
            bytes: vec![0x08, 1, 0],
        });
        let j = &rec.mouse_packets()[0];
        assert_eq!((j.host_events, j.host.dx), (1, 1));
        assert_eq!(j.started(), MOUSE_EVENTS_STALE * 2);
    }

    #[test]
    fn mouse_packets_kept_are_bounded() {
        let rec = JourneyRecorder::new(Arc::new(FakeClock::new()));
        for i in 0..100u8 {
            rec.kbd_event(&KbdEvent::MousePacket {
                bytes: vec![0x08, i, 0],
            });
        }
        let got = rec.mouse_packets();
        assert_eq!(got.len(), MOUSE_PACKETS_KEPT);
        assert_eq!(got[MOUSE_PACKETS_KEPT - 1].packet[1], 99);
    }
}
