//! Host+V: the host clipboard typed into the guest.
//!
//! The text goes through the same lossless typist as `--type` ([`HostEvent::Type`]), one
//! US-layout keystroke per character, paced so the guest reads every one. The clipboard
//! is read on a helper thread (an X11 clipboard answers through the selection owner and
//! may take a moment), and the outcome comes back to the window as a [`Pasted`].
//!
//! [`HostEvent::Type`]: hv_core::machine::events::HostEvent::Type

use std::thread;

use crossbeam_channel::{Receiver, Sender};

/// Most characters one paste types (at most four key events each: within the typist's
/// queue, [`hv_core::machine::typing::MAX_QUEUED`]).
pub const MAX_PASTE: usize = 16_000;
const _: () = assert!(4 * MAX_PASTE < hv_core::machine::typing::MAX_QUEUED);

/// The clipboard text made ready for the typist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pasted {
    /// ASCII text to type (line ends as `\n`).
    pub text: String,
    /// Characters left out because a US keyboard cannot type them (non-ASCII).
    pub skipped: usize,
    /// ASCII characters left out past [`MAX_PASTE`].
    pub cut: usize,
}

impl Pasted {
    /// One line for the log and the overlay.
    pub fn notice(&self) -> String {
        let typed = self.text.chars().count();
        let mut s = format!("pasting {typed} characters");
        if self.skipped > 0 {
            s.push_str(&format!("; {} non-ASCII skipped", self.skipped));
        }
        if self.cut > 0 {
            s.push_str(&format!(
                "; {} past the {MAX_PASTE}-character limit left out",
                self.cut
            ));
        }
        s
    }
}

/// Prepares clipboard text: `\r\n` and lone `\r` become `\n` (Enter once per line),
/// non-ASCII characters are dropped and counted, and text past [`MAX_PASTE`]
/// characters is left out and counted.
pub fn prepare(clip: &str) -> Pasted {
    let mut text = String::with_capacity(clip.len().min(MAX_PASTE));
    let (mut skipped, mut cut, mut kept) = (0, 0, 0);
    let mut chars = clip.chars().peekable();
    while let Some(c) = chars.next() {
        let c = match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                '\n'
            }
            c if c.is_ascii() => c,
            _ => {
                skipped += 1;
                continue;
            }
        };
        if kept == MAX_PASTE {
            cut += 1;
        } else {
            text.push(c);
            kept += 1;
        }
    }
    Pasted { text, skipped, cut }
}

/// Reads the clipboard on a helper thread; the result arrives on the returned channel.
pub fn read_clipboard() -> Receiver<Result<Pasted, String>> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let spawned = thread::Builder::new()
        .name("hv-paste".into())
        .spawn(move || read_into(&tx));
    if let Err(e) = spawned {
        log::warn!("cannot start the clipboard reader: {e}");
    }
    rx
}

fn read_into(tx: &Sender<Result<Pasted, String>>) {
    let result = arboard::Clipboard::new()
        .and_then(|mut c| c.get_text())
        .map(|t| prepare(&t))
        .map_err(|e| format!("cannot read the clipboard: {e}"));
    let _ = tx.send(result);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_become_enter_and_non_ascii_is_counted() {
        let p = prepare("héllo\r\nwörld\rend\n€");
        assert_eq!(p.text, "hllo\nwrld\nend\n");
        assert_eq!(p.skipped, 3);
        assert_eq!(p.notice(), "pasting 14 characters; 3 non-ASCII skipped");
        let plain = prepare("ls -l\n");
        assert_eq!(plain.skipped, 0);
        assert_eq!(plain.notice(), "pasting 6 characters");
    }

    #[test]
    fn a_huge_clipboard_is_cut_at_the_limit_and_says_so() {
        let p = prepare(&"ab".repeat(MAX_PASTE));
        assert_eq!(p.text.len(), MAX_PASTE);
        assert_eq!(p.cut, MAX_PASTE);
        assert!(
            p.notice()
                .ends_with("16000 past the 16000-character limit left out")
        );
    }
}
