//! The PS/2 keyboard behind the i8042's first port.
//!
//! It answers the commands Linux atkbd, SeaBIOS and DOS-era software send (device notes
//! §2.1), queues scancodes for host key events, and repeats the last held key like real
//! typematic hardware. Time comes from a [`Clock`]: the owner calls [`Ps2Keyboard::poll`]
//! at [`Ps2Keyboard::next_deadline`], so no thread is involved.
//!
//! Scancode sets 1 and 2 are supported (set 2 is the default and what translation
//! expects). Set 3 is refused with `FE`, as many real keyboards do; Linux then stays on
//! set 2.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::devices::keymap::Key;

/// Acknowledge: the device accepted a command or parameter.
pub(crate) const ACK: u8 = 0xFA;
/// Resend: the device rejected a command or parameter.
pub(crate) const RESEND: u8 = 0xFE;
/// Basic assurance test passed (sent after reset).
pub(crate) const BAT_OK: u8 = 0xAA;

/// A device's output: command replies ahead of data, each part bounded.
///
/// Replies jump ahead so that a command's answer is never stuck behind keystrokes or
/// mouse packets (as QEMU does). Both parts have a fixed capacity; what does not fit is
/// dropped, so a flood of host events or guest commands can never grow memory.
#[derive(Debug)]
pub(crate) struct Ps2Queue {
    replies: VecDeque<u8>,
    data: VecDeque<u8>,
    data_capacity: usize,
    /// The last byte handed to the controller, for the resend command.
    last_sent: u8,
}

/// Room for replies: the longest answer (mouse status, 4 bytes) twice over.
const REPLY_CAPACITY: usize = 8;

impl Ps2Queue {
    pub(crate) fn new(data_capacity: usize) -> Self {
        Self {
            replies: VecDeque::with_capacity(REPLY_CAPACITY),
            data: VecDeque::with_capacity(data_capacity),
            data_capacity,
            last_sent: 0,
        }
    }

    /// Queues a command reply; dropped (and logged) if the reply part is full.
    pub(crate) fn reply(&mut self, byte: u8) {
        if self.replies.len() < REPLY_CAPACITY {
            self.replies.push_back(byte);
        } else {
            log::debug!("ps2: reply queue full, dropping {byte:#04x}");
        }
    }

    /// Queues a whole data sequence, or nothing if it does not fit (a half sequence
    /// would desynchronise the guest's decoder).
    pub(crate) fn push_data(&mut self, bytes: &[u8]) -> bool {
        if self.data.len() + bytes.len() > self.data_capacity {
            return false;
        }
        self.data.extend(bytes);
        true
    }

    /// Free room in the data part.
    pub(crate) fn data_room(&self) -> usize {
        self.data_capacity - self.data.len()
    }

    /// Takes the next byte: replies first.
    pub(crate) fn pop(&mut self) -> Option<u8> {
        let byte = self.replies.pop_front().or_else(|| self.data.pop_front())?;
        self.last_sent = byte;
        Some(byte)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.replies.is_empty() && self.data.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.replies.len() + self.data.len()
    }

    /// Forgets queued data (device reset, flush on disable). Replies already queued
    /// stay: a real device has sent them before it sees the next command.
    pub(crate) fn clear_data(&mut self) {
        self.data.clear();
    }

    /// Queues the last sent byte again (the resend command).
    pub(crate) fn resend(&mut self) {
        self.reply(self.last_sent);
    }
}

/// Scancode bytes the keyboard may buffer. With the byte in the controller's output
/// buffer the guest can find at most 16 pending: Linux's `i8042_flush` gives up (and
/// reports no controller) past 16 bytes (`I8042_BUFFER_SIZE`).
pub const KEYBOARD_QUEUE_BYTES: usize = 15;

/// The keyboard's `F2` identify answer: an MF2 keyboard.
const ID_MF2: [u8; 2] = [0xAB, 0x83];
/// The echo command and its answer.
const ECHO: u8 = 0xEE;
/// Power-on typematic byte: 500 ms delay, 10.9 characters per second.
const DEFAULT_TYPEMATIC: u8 = 0x2B;

/// Commands that take a parameter byte, remembered until it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AwaitingParam {
    Leds,
    ScancodeSet,
    Typematic,
    /// Set 3 per-key commands (`FB`, `FC`, `FD`): the key code is accepted and ignored.
    Set3Key,
}

/// Which scancode set the keyboard sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScancodeSet {
    /// XT codes (`F0 01`).
    Set1,
    /// AT codes, the default (`F0 02`).
    Set2,
}

/// Typematic timing decoded from the `F3` parameter byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Typematic {
    /// Time from press to the first repeat.
    pub delay: Duration,
    /// Time between repeats.
    pub period: Duration,
}

impl Typematic {
    /// Decodes `F3 xx`: bits 5-6 delay (250 ms steps from 250 ms), bits 0-2 (A) and 3-4
    /// (B) the period (8 + A) * 2^B * 4.17 ms (33 ms..500 ms, 30..2 cps).
    pub fn from_byte(byte: u8) -> Self {
        let delay_ms = 250 * (u64::from((byte >> 5) & 0x3) + 1);
        let a = u64::from(byte & 0x7);
        let b = u32::from((byte >> 3) & 0x3);
        let period_us = (8 + a) * (1 << b) * 4170;
        Self {
            delay: Duration::from_millis(delay_ms),
            period: Duration::from_micros(period_us),
        }
    }
}

/// The key being repeated and when its next repeat is due.
#[derive(Debug, Clone, Copy)]
struct Repeat {
    key: Key,
    due: Duration,
}

/// A bitset of held keys, indexed by [`Key::index`].
#[derive(Debug, Default, Clone)]
struct HeldKeys([u64; 2]);

impl HeldKeys {
    fn set(&mut self, key: Key, held: bool) -> bool {
        let (word, bit) = (key.index() / 64, 1u64 << (key.index() % 64));
        let was = self.0[word] & bit != 0;
        if held {
            self.0[word] |= bit;
        } else {
            self.0[word] &= !bit;
        }
        was
    }

    fn take_all(&mut self) -> Vec<Key> {
        let keys = Key::ALL
            .iter()
            .copied()
            .filter(|k| self.0[k.index() / 64] & (1 << (k.index() % 64)) != 0)
            .collect();
        self.0 = [0; 2];
        keys
    }
}

/// The PS/2 keyboard.
#[derive(Debug)]
pub struct Ps2Keyboard {
    clock: Arc<dyn Clock>,
    queue: Ps2Queue,
    awaiting: Option<AwaitingParam>,
    scanning: bool,
    set: ScancodeSet,
    leds: u8,
    typematic: Typematic,
    held: HeldKeys,
    repeat: Option<Repeat>,
}

impl Ps2Keyboard {
    /// A keyboard as after power-on self test: set 2, scanning, default typematic.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            queue: Ps2Queue::new(KEYBOARD_QUEUE_BYTES),
            awaiting: None,
            scanning: true,
            set: ScancodeSet::Set2,
            leds: 0,
            typematic: Typematic::from_byte(DEFAULT_TYPEMATIC),
            held: HeldKeys::default(),
            repeat: None,
        }
    }

    /// Whether key events are being sent (`F4`) or dropped (`F5`).
    pub fn scanning(&self) -> bool {
        self.scanning
    }

    /// The LED state from the last `ED`: bit 0 Scroll, bit 1 Num, bit 2 Caps Lock.
    pub fn leds(&self) -> u8 {
        self.leds
    }

    /// The scancode set in use.
    pub fn scancode_set(&self) -> ScancodeSet {
        self.set
    }

    /// Current typematic timing.
    pub fn typematic(&self) -> Typematic {
        self.typematic
    }

    /// Whether a byte is waiting for the controller.
    pub fn has_output(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Bytes waiting for the controller (bounded by the queue capacities).
    pub fn pending_len(&self) -> usize {
        self.queue.len()
    }

    /// The controller takes the next byte.
    pub fn read(&mut self) -> Option<u8> {
        self.queue.pop()
    }

    /// A byte from the controller (the guest wrote port 0x60).
    pub fn write(&mut self, byte: u8) {
        if let Some(param) = self.awaiting.take() {
            // A real keyboard treats a command byte in place of a parameter as a new
            // command; LED and typematic parameters never have bit 7 set.
            let is_command = byte >= 0xED && param != AwaitingParam::Set3Key;
            if !is_command {
                self.parameter(param, byte);
                return;
            }
        }
        self.command(byte);
    }

    fn parameter(&mut self, param: AwaitingParam, byte: u8) {
        match param {
            AwaitingParam::Leds => {
                self.leds = byte & 0x07;
                self.queue.reply(ACK);
            }
            AwaitingParam::Typematic => {
                self.typematic = Typematic::from_byte(byte);
                self.queue.reply(ACK);
            }
            AwaitingParam::Set3Key => self.queue.reply(ACK),
            AwaitingParam::ScancodeSet => match byte {
                0 => {
                    self.queue.reply(ACK);
                    self.queue.reply(match self.set {
                        ScancodeSet::Set1 => 1,
                        ScancodeSet::Set2 => 2,
                    });
                }
                1 | 2 => {
                    self.set = if byte == 1 {
                        ScancodeSet::Set1
                    } else {
                        ScancodeSet::Set2
                    };
                    self.queue.clear_data();
                    self.queue.reply(ACK);
                }
                _ => {
                    log::debug!("ps2 keyboard: scancode set {byte:#04x} refused");
                    self.queue.reply(RESEND);
                }
            },
        }
    }

    fn command(&mut self, cmd: u8) {
        match cmd {
            0xED => self.await_param(AwaitingParam::Leds),
            ECHO => self.queue.reply(ECHO),
            0xF0 => self.await_param(AwaitingParam::ScancodeSet),
            0xF2 => {
                self.queue.reply(ACK);
                ID_MF2.iter().for_each(|&b| self.queue.reply(b));
            }
            0xF3 => self.await_param(AwaitingParam::Typematic),
            0xF4 => {
                self.scanning = true;
                self.queue.reply(ACK);
            }
            0xF5 => {
                self.set_defaults();
                self.scanning = false;
                self.queue.clear_data();
                self.queue.reply(ACK);
            }
            0xF6 => {
                self.set_defaults();
                self.scanning = true;
                self.queue.reply(ACK);
            }
            0xF7..=0xFA => self.queue.reply(ACK),
            0xFB..=0xFD => self.await_param(AwaitingParam::Set3Key),
            RESEND => self.queue.resend(),
            0xFF => {
                self.set_defaults();
                self.scanning = true;
                self.queue.clear_data();
                self.queue.reply(ACK);
                self.queue.reply(BAT_OK);
            }
            _ => {
                log::debug!("ps2 keyboard: unknown command {cmd:#04x}");
                self.queue.reply(RESEND);
            }
        }
    }

    fn await_param(&mut self, param: AwaitingParam) {
        self.awaiting = Some(param);
        self.queue.reply(ACK);
    }

    /// Set 2, LEDs off, default typematic, no repeat in progress.
    fn set_defaults(&mut self) {
        self.set = ScancodeSet::Set2;
        self.leds = 0;
        self.typematic = Typematic::from_byte(DEFAULT_TYPEMATIC);
        self.repeat = None;
    }

    /// A host key went down or up. Returns whether scancodes were queued (false while
    /// scanning is disabled, for a repeated press, or when the queue is full).
    pub fn key_event(&mut self, key: Key, pressed: bool) -> bool {
        let was_held = self.held.set(key, pressed);
        if pressed {
            // Host auto-repeat arrives as repeated presses; the keyboard repeats by itself.
            if was_held {
                return false;
            }
            self.repeat = key.repeats().then(|| Repeat {
                key,
                due: self.clock.now() + self.typematic.delay,
            });
        } else {
            if !was_held {
                return false;
            }
            if self.repeat.is_some_and(|r| r.key == key) {
                self.repeat = None;
            }
        }
        self.send_key(key, pressed)
    }

    /// Focus loss: every held key is released (breaks are sent while scanning).
    /// Returns each released key and whether its break was queued.
    pub fn release_all(&mut self) -> Vec<(Key, bool)> {
        self.repeat = None;
        self.held
            .take_all()
            .into_iter()
            .map(|key| (key, self.send_key(key, false)))
            .collect()
    }

    fn send_key(&mut self, key: Key, pressed: bool) -> bool {
        if !self.scanning {
            return false;
        }
        let bytes = match (self.set, pressed) {
            (ScancodeSet::Set2, true) => Some(key.set2_make()),
            (ScancodeSet::Set2, false) => key.set2_break(),
            (ScancodeSet::Set1, true) => Some(key.set1_make()),
            (ScancodeSet::Set1, false) => key.set1_break(),
        };
        let Some(bytes) = bytes else { return false };
        let queued = self.queue.push_data(bytes);
        if !queued {
            log::debug!("ps2 keyboard: queue full, dropping {key:?}");
        }
        queued
    }

    /// Sends a typematic repeat if one is due. Returns the key repeated, if any.
    pub fn poll(&mut self) -> Option<Key> {
        let now = self.clock.now();
        let repeat = self.repeat.as_mut().filter(|r| r.due <= now)?;
        let key = repeat.key;
        // One repeat per poll: after a stall the keyboard resumes its rhythm rather than
        // bursting every missed repeat into the guest.
        repeat.due += self.typematic.period;
        if repeat.due <= now {
            repeat.due = now + self.typematic.period;
        }
        self.send_key(key, true).then_some(key)
    }

    /// When [`poll`](Self::poll) next has work: the next typematic repeat.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.repeat.map(|r| r.due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;

    fn keyboard() -> (Ps2Keyboard, FakeClock) {
        let clock = FakeClock::new();
        (Ps2Keyboard::new(Arc::new(clock.clone())), clock)
    }

    fn drain(kbd: &mut Ps2Keyboard) -> Vec<u8> {
        std::iter::from_fn(|| kbd.read()).collect()
    }

    fn send(kbd: &mut Ps2Keyboard, bytes: &[u8]) -> Vec<u8> {
        bytes.iter().for_each(|&b| kbd.write(b));
        drain(kbd)
    }

    #[test]
    fn answers_reset_identify_echo_and_unknown() {
        let (mut kbd, _) = keyboard();
        assert_eq!(send(&mut kbd, &[0xFF]), [ACK, BAT_OK]);
        assert_eq!(send(&mut kbd, &[0xF2]), [ACK, 0xAB, 0x83]);
        assert_eq!(send(&mut kbd, &[0xEE]), [0xEE]);
        assert_eq!(send(&mut kbd, &[0x05]), [RESEND]);
        assert_eq!(send(&mut kbd, &[0x00]), [RESEND]);
        // Resend repeats the last byte sent.
        assert_eq!(send(&mut kbd, &[0xF2]), [ACK, 0xAB, 0x83]);
        assert_eq!(send(&mut kbd, &[0xFE]), [0x83]);
        // Set 3 commands are accepted.
        assert_eq!(send(&mut kbd, &[0xF7, 0xF8, 0xF9, 0xFA]), [ACK; 4]);
        assert_eq!(send(&mut kbd, &[0xFB, 0x1C]), [ACK, ACK]);
    }

    #[test]
    fn leds_and_typematic_take_a_parameter() {
        let (mut kbd, _) = keyboard();
        assert_eq!(send(&mut kbd, &[0xED, 0x07]), [ACK, ACK]);
        assert_eq!(kbd.leds(), 7);
        assert_eq!(send(&mut kbd, &[0xF3, 0x00]), [ACK, ACK]);
        assert_eq!(kbd.typematic().delay, Duration::from_millis(250));
        assert_eq!(kbd.typematic().period, Duration::from_micros(33_360));
        assert_eq!(send(&mut kbd, &[0xF3, 0x7F]), [ACK, ACK]);
        assert_eq!(kbd.typematic().delay, Duration::from_millis(1000));
        assert_eq!(kbd.typematic().period, Duration::from_micros(500_400));
        // A command in place of the parameter is executed as a command.
        assert_eq!(send(&mut kbd, &[0xED, 0xFF]), [ACK, ACK, BAT_OK]);
        assert_eq!(kbd.leds(), 0);
        let default = Typematic::from_byte(DEFAULT_TYPEMATIC);
        assert_eq!(default.delay, Duration::from_millis(500));
        assert_eq!(default.period, Duration::from_micros(91_740)); // 10.9 cps
    }

    #[test]
    fn scancode_set_get_switch_and_refuse() {
        let (mut kbd, _) = keyboard();
        assert_eq!(send(&mut kbd, &[0xF0, 0x00]), [ACK, ACK, 2]);
        assert_eq!(send(&mut kbd, &[0xF0, 0x01]), [ACK, ACK]);
        assert_eq!(kbd.scancode_set(), ScancodeSet::Set1);
        kbd.key_event(Key::ArrowUp, true);
        kbd.key_event(Key::ArrowUp, false);
        assert_eq!(drain(&mut kbd), [0xE0, 0x48, 0xE0, 0xC8]);
        assert_eq!(send(&mut kbd, &[0xF0, 0x00]), [ACK, ACK, 1]);
        assert_eq!(send(&mut kbd, &[0xF0, 0x03]), [ACK, RESEND]);
        assert_eq!(send(&mut kbd, &[0xF0, 0x02]), [ACK, ACK]);
        kbd.key_event(Key::ArrowUp, true);
        assert_eq!(drain(&mut kbd), [0xE0, 0x75]);
    }

    #[test]
    fn disabled_scanning_drops_keys_and_enable_restores() {
        let (mut kbd, _) = keyboard();
        kbd.key_event(Key::A, true);
        assert_eq!(send(&mut kbd, &[0xF5]), [ACK]); // flushes the queued make
        assert!(!kbd.scanning());
        kbd.key_event(Key::B, true);
        assert!(!kbd.has_output());
        assert_eq!(send(&mut kbd, &[0xF4]), [ACK]);
        kbd.key_event(Key::C, true);
        assert_eq!(drain(&mut kbd), [0x21]);
        assert_eq!(send(&mut kbd, &[0xF6]), [ACK]);
        assert!(kbd.scanning());
    }

    #[test]
    fn replies_overtake_queued_scancodes() {
        let (mut kbd, _) = keyboard();
        kbd.key_event(Key::A, true);
        kbd.key_event(Key::A, false);
        kbd.write(0xF2);
        assert_eq!(drain(&mut kbd), [ACK, 0xAB, 0x83, 0x1C, 0xF0, 0x1C]);
    }

    #[test]
    fn flood_of_keys_stays_bounded_and_never_splits_a_sequence() {
        let (mut kbd, _) = keyboard();
        for _ in 0..1000 {
            for &k in Key::ALL {
                kbd.key_event(k, true);
                kbd.key_event(k, false);
                assert!(kbd.pending_len() <= KEYBOARD_QUEUE_BYTES);
            }
        }
        for _ in 0..100 {
            kbd.write(0xEE);
            assert!(kbd.pending_len() <= KEYBOARD_QUEUE_BYTES + REPLY_CAPACITY);
        }
        let bytes = drain(&mut kbd);
        let data = &bytes[REPLY_CAPACITY..];
        // Whatever was kept decodes as whole sequences.
        let mut rest = data;
        while !rest.is_empty() {
            let len = (1..=rest.len())
                .find(|&n| Key::from_set2(&rest[..n]).is_some())
                .expect("whole sequences only");
            rest = &rest[len..];
        }
    }

    #[test]
    fn typematic_repeats_last_key_after_delay_at_rate() {
        let (mut kbd, clock) = keyboard();
        let period = Duration::from_micros(91_740);
        assert_eq!(kbd.next_deadline(), None);
        kbd.key_event(Key::A, true);
        assert_eq!(drain(&mut kbd), [0x1C]);
        assert_eq!(kbd.next_deadline(), Some(Duration::from_millis(500)));
        clock.advance(Duration::from_millis(499));
        assert_eq!(kbd.poll(), None);
        clock.advance(Duration::from_millis(1));
        assert_eq!(kbd.poll(), Some(Key::A));
        assert_eq!(drain(&mut kbd), [0x1C]);
        assert_eq!(
            kbd.next_deadline(),
            Some(Duration::from_millis(500) + period)
        );
        clock.advance(period);
        assert_eq!(kbd.poll(), Some(Key::A));
        // Host auto-repeat presses do not restart anything or send extra makes.
        assert!(!kbd.key_event(Key::A, true));
        // A second key takes over repeating; releasing it does not revive the first.
        kbd.key_event(Key::B, true);
        drain(&mut kbd);
        clock.advance(Duration::from_millis(500));
        assert_eq!(kbd.poll(), Some(Key::B));
        kbd.key_event(Key::B, false);
        assert_eq!(kbd.next_deadline(), None);
        clock.advance(Duration::from_secs(2));
        assert_eq!(kbd.poll(), None);
        // After a stall only one repeat is sent per poll.
        drain(&mut kbd);
        kbd.key_event(Key::C, true);
        clock.advance(Duration::from_secs(10));
        assert_eq!(kbd.poll(), Some(Key::C));
        assert_eq!(kbd.poll(), None);
    }

    #[test]
    fn pause_never_repeats_and_has_no_break() {
        let (mut kbd, clock) = keyboard();
        kbd.key_event(Key::Pause, true);
        assert_eq!(kbd.next_deadline(), None);
        clock.advance(Duration::from_secs(1));
        assert_eq!(kbd.poll(), None);
        kbd.key_event(Key::Pause, false);
        assert_eq!(drain(&mut kbd), Key::Pause.set2_make());
    }

    #[test]
    fn release_all_breaks_every_held_key() {
        let (mut kbd, _) = keyboard();
        kbd.key_event(Key::ShiftLeft, true);
        kbd.key_event(Key::ArrowLeft, true);
        drain(&mut kbd);
        kbd.release_all();
        assert_eq!(drain(&mut kbd), [0xF0, 0x12, 0xE0, 0xF0, 0x6B]);
        assert_eq!(kbd.next_deadline(), None);
        // Releasing a key that is not held sends nothing.
        kbd.key_event(Key::A, false);
        assert!(!kbd.has_output());
    }
}
