//! Types text through the real keystroke path, paced so the guest keeps up.
//!
//! Each character becomes key-down/key-up events (with Shift around it when needed).
//! The next event goes to the keyboard only when the guest has read everything the
//! previous one produced, and no sooner than [`MIN_GAP`] after it, so a slow guest (or one
//! whose kernel-mode code is emulated) never loses a key to a full buffer.

use std::collections::VecDeque;
use std::time::Duration;

use crate::devices::keymap::Key;

/// Shortest time between two key events.
pub const MIN_GAP: Duration = Duration::from_millis(4);
/// Most key events queued at once (longer text is refused, not truncated silently).
pub const MAX_QUEUED: usize = 64 * 1024;

/// The queue of key events still to type.
#[derive(Debug, Default)]
pub struct Typist {
    queue: VecDeque<(Key, bool)>,
    next_at: Duration,
}

impl Typist {
    /// Queues `text`. Characters with no US-layout key are skipped and returned so the
    /// caller can report them.
    pub fn push_text(&mut self, text: &str) -> Vec<char> {
        let mut skipped = Vec::new();
        for c in text.chars() {
            let Some((key, shift)) = Key::for_char_us(c) else {
                skipped.push(c);
                continue;
            };
            if self.queue.len() + 4 > MAX_QUEUED {
                skipped.push(c);
                continue;
            }
            if shift {
                self.queue.push_back((Key::ShiftLeft, true));
            }
            self.queue.push_back((key, true));
            self.queue.push_back((key, false));
            if shift {
                self.queue.push_back((Key::ShiftLeft, false));
            }
        }
        skipped
    }

    /// The next event to send at `now`. A key press waits until the keyboard is idle and
    /// the gap has passed; a release follows its press at once (its bytes queue behind
    /// the make code), so a guest that is slow to read never sees a held key start its
    /// typematic repeat.
    pub fn next(&mut self, now: Duration, keyboard_idle: bool) -> Option<(Key, bool)> {
        let &(_, pressed) = self.queue.front()?;
        if pressed && (!keyboard_idle || now < self.next_at) {
            return None;
        }
        let ev = self.queue.pop_front()?;
        self.next_at = now + MIN_GAP;
        Some(ev)
    }

    /// When the next event could go, if any are queued.
    pub fn deadline(&self) -> Option<Duration> {
        match self.queue.front() {
            Some((_, true)) => Some(self.next_at),
            Some((_, false)) => Some(Duration::ZERO),
            None => None,
        }
    }

    /// Events still queued.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_characters_are_wrapped_in_shift() {
        let mut t = Typist::default();
        assert!(t.push_text("aB\n").is_empty());
        let mut now = Duration::ZERO;
        let mut evs = Vec::new();
        while let Some(e) = t.next(now, true) {
            evs.push(e);
            now += MIN_GAP;
        }
        assert_eq!(
            evs,
            vec![
                (Key::A, true),
                (Key::A, false),
                (Key::ShiftLeft, true),
                (Key::B, true),
                (Key::B, false),
                (Key::ShiftLeft, false),
                (Key::Enter, true),
                (Key::Enter, false),
            ]
        );
        assert_eq!(t.deadline(), None);
    }

    #[test]
    fn waits_for_idle_keyboard_and_gap() {
        let mut t = Typist::default();
        t.push_text("ab");
        assert_eq!(
            t.next(Duration::ZERO, false),
            None,
            "a press waits for an idle keyboard"
        );
        assert_eq!(t.next(Duration::ZERO, true), Some((Key::A, true)));
        assert_eq!(
            t.deadline(),
            Some(Duration::ZERO),
            "its release is due at once"
        );
        assert_eq!(
            t.next(Duration::from_millis(1), false),
            Some((Key::A, false)),
            "the release does not wait for the guest to read the make code"
        );
        assert_eq!(
            t.next(Duration::from_millis(2), true),
            None,
            "the next press waits for the gap"
        );
        assert_eq!(
            t.next(Duration::from_millis(1) + MIN_GAP, true),
            Some((Key::B, true))
        );
    }

    #[test]
    fn unknown_characters_are_reported() {
        let mut t = Typist::default();
        assert_eq!(t.push_text("a\u{e9}b"), vec!['\u{e9}']);
        assert_eq!(t.pending(), 4);
    }
}
