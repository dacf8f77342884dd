//! Physical keys of a 104/105-key PC keyboard and their scancodes.
//!
//! Front ends translate their platform key codes into [`Key`] (named after the W3C
//! `KeyboardEvent.code` values, as winit does); everything below that is platform-neutral.
//! The PS/2 keyboard natively speaks scancode set 2, and the i8042 translates to set 1
//! when the guest asks for it. Codes follow `qemu/keycodemapdb` (see the device notes
//! §2.3): set 1 break = last byte | 0x80, set 2 break = `F0` before the last byte.

use std::fmt;

/// The scancodes of one key.
#[derive(Debug, Clone, Copy)]
struct Codes {
    set1_make: &'static [u8],
    set1_break: Option<&'static [u8]>,
    set2_make: &'static [u8],
    set2_break: Option<&'static [u8]>,
}

/// Print Screen without modifiers: a fake left shift around the real code.
const PRINT_SCREEN: Codes = Codes {
    set1_make: &[0xE0, 0x2A, 0xE0, 0x37],
    set1_break: Some(&[0xE0, 0xB7, 0xE0, 0xAA]),
    set2_make: &[0xE0, 0x12, 0xE0, 0x7C],
    set2_break: Some(&[0xE0, 0xF0, 0x7C, 0xE0, 0xF0, 0x12]),
};

/// Pause sends make and break at once on press and nothing on release.
const PAUSE: Codes = Codes {
    set1_make: &[0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5],
    set1_break: None,
    set2_make: &[0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77],
    set2_break: None,
};

/// Builds [`Key`], its table of names and codes, and [`Key::ALL`] from one list, so a
/// key cannot be added without its codes. Rows: `Variant, "name", (prefix set1, set2)`
/// where prefix is `__` (single byte) or `e0`, or `(seq CONST)` for multi-code keys.
macro_rules! key_table {
    ($( $(#[$doc:meta])* $variant:ident, $name:literal, $codes:tt; )*) => {
        /// A physical key on a 104/105-key PC keyboard (US names; position is what counts).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Key {
            $( $(#[$doc])* $variant, )*
        }

        impl Key {
            /// Every key, in keyboard row order: for table-driven tests and key pickers.
            pub const ALL: &'static [Key] = &[ $( Key::$variant, )* ];

            /// A short human name ("A", "Enter", "Left Shift") for overlays and logs.
            pub const fn name(self) -> &'static str {
                match self { $( Key::$variant => $name, )* }
            }

            const fn codes(self) -> Codes {
                match self { $( Key::$variant => key_table!(@codes $codes), )* }
            }
        }
    };
    (@codes (__ $s1:literal, $s2:literal)) => {
        Codes {
            set1_make: &[$s1],
            set1_break: Some(&[$s1 | 0x80]),
            set2_make: &[$s2],
            set2_break: Some(&[0xF0, $s2]),
        }
    };
    (@codes (e0 $s1:literal, $s2:literal)) => {
        Codes {
            set1_make: &[0xE0, $s1],
            set1_break: Some(&[0xE0, $s1 | 0x80]),
            set2_make: &[0xE0, $s2],
            set2_break: Some(&[0xE0, 0xF0, $s2]),
        }
    };
    (@codes (seq $codes:ident)) => { $codes };
}

key_table! {
    Escape, "Esc", (__ 0x01, 0x76);
    F1, "F1", (__ 0x3b, 0x05);
    F2, "F2", (__ 0x3c, 0x06);
    F3, "F3", (__ 0x3d, 0x04);
    F4, "F4", (__ 0x3e, 0x0c);
    F5, "F5", (__ 0x3f, 0x03);
    F6, "F6", (__ 0x40, 0x0b);
    F7, "F7", (__ 0x41, 0x83);
    F8, "F8", (__ 0x42, 0x0a);
    F9, "F9", (__ 0x43, 0x01);
    F10, "F10", (__ 0x44, 0x09);
    F11, "F11", (__ 0x57, 0x78);
    F12, "F12", (__ 0x58, 0x07);
    PrintScreen, "Print Screen", (seq PRINT_SCREEN);
    ScrollLock, "Scroll Lock", (__ 0x46, 0x7e);
    /// Make-only: press sends make and break, release sends nothing, never repeats.
    Pause, "Pause", (seq PAUSE);

    Backquote, "`", (__ 0x29, 0x0e);
    Digit1, "1", (__ 0x02, 0x16);
    Digit2, "2", (__ 0x03, 0x1e);
    Digit3, "3", (__ 0x04, 0x26);
    Digit4, "4", (__ 0x05, 0x25);
    Digit5, "5", (__ 0x06, 0x2e);
    Digit6, "6", (__ 0x07, 0x36);
    Digit7, "7", (__ 0x08, 0x3d);
    Digit8, "8", (__ 0x09, 0x3e);
    Digit9, "9", (__ 0x0a, 0x46);
    Digit0, "0", (__ 0x0b, 0x45);
    Minus, "-", (__ 0x0c, 0x4e);
    Equal, "=", (__ 0x0d, 0x55);
    Backspace, "Backspace", (__ 0x0e, 0x66);
    Insert, "Insert", (e0 0x52, 0x70);
    Home, "Home", (e0 0x47, 0x6c);
    PageUp, "Page Up", (e0 0x49, 0x7d);
    NumLock, "Num Lock", (__ 0x45, 0x77);
    NumpadDivide, "Keypad /", (e0 0x35, 0x4a);
    NumpadMultiply, "Keypad *", (__ 0x37, 0x7c);
    NumpadSubtract, "Keypad -", (__ 0x4a, 0x7b);

    Tab, "Tab", (__ 0x0f, 0x0d);
    Q, "Q", (__ 0x10, 0x15);
    W, "W", (__ 0x11, 0x1d);
    E, "E", (__ 0x12, 0x24);
    R, "R", (__ 0x13, 0x2d);
    T, "T", (__ 0x14, 0x2c);
    Y, "Y", (__ 0x15, 0x35);
    U, "U", (__ 0x16, 0x3c);
    I, "I", (__ 0x17, 0x43);
    O, "O", (__ 0x18, 0x44);
    P, "P", (__ 0x19, 0x4d);
    BracketLeft, "[", (__ 0x1a, 0x54);
    BracketRight, "]", (__ 0x1b, 0x5b);
    Backslash, "\\", (__ 0x2b, 0x5d);
    Delete, "Delete", (e0 0x53, 0x71);
    End, "End", (e0 0x4f, 0x69);
    PageDown, "Page Down", (e0 0x51, 0x7a);
    Numpad7, "Keypad 7", (__ 0x47, 0x6c);
    Numpad8, "Keypad 8", (__ 0x48, 0x75);
    Numpad9, "Keypad 9", (__ 0x49, 0x7d);
    NumpadAdd, "Keypad +", (__ 0x4e, 0x79);

    CapsLock, "Caps Lock", (__ 0x3a, 0x58);
    A, "A", (__ 0x1e, 0x1c);
    S, "S", (__ 0x1f, 0x1b);
    D, "D", (__ 0x20, 0x23);
    F, "F", (__ 0x21, 0x2b);
    G, "G", (__ 0x22, 0x34);
    H, "H", (__ 0x23, 0x33);
    J, "J", (__ 0x24, 0x3b);
    K, "K", (__ 0x25, 0x42);
    L, "L", (__ 0x26, 0x4b);
    Semicolon, ";", (__ 0x27, 0x4c);
    Quote, "'", (__ 0x28, 0x52);
    Enter, "Enter", (__ 0x1c, 0x5a);
    Numpad4, "Keypad 4", (__ 0x4b, 0x6b);
    Numpad5, "Keypad 5", (__ 0x4c, 0x73);
    Numpad6, "Keypad 6", (__ 0x4d, 0x74);

    ShiftLeft, "Left Shift", (__ 0x2a, 0x12);
    /// The ISO 102nd key between left shift and Z (`\|` on UK, `<>` on German layouts).
    IntlBackslash, "ISO \\", (__ 0x56, 0x61);
    Z, "Z", (__ 0x2c, 0x1a);
    X, "X", (__ 0x2d, 0x22);
    C, "C", (__ 0x2e, 0x21);
    V, "V", (__ 0x2f, 0x2a);
    B, "B", (__ 0x30, 0x32);
    N, "N", (__ 0x31, 0x31);
    M, "M", (__ 0x32, 0x3a);
    Comma, ",", (__ 0x33, 0x41);
    Period, ".", (__ 0x34, 0x49);
    Slash, "/", (__ 0x35, 0x4a);
    ShiftRight, "Right Shift", (__ 0x36, 0x59);
    ArrowUp, "Up", (e0 0x48, 0x75);
    Numpad1, "Keypad 1", (__ 0x4f, 0x69);
    Numpad2, "Keypad 2", (__ 0x50, 0x72);
    Numpad3, "Keypad 3", (__ 0x51, 0x7a);
    NumpadEnter, "Keypad Enter", (e0 0x1c, 0x5a);

    ControlLeft, "Left Ctrl", (__ 0x1d, 0x14);
    MetaLeft, "Left Windows", (e0 0x5b, 0x1f);
    AltLeft, "Left Alt", (__ 0x38, 0x11);
    Space, "Space", (__ 0x39, 0x29);
    AltRight, "Right Alt", (e0 0x38, 0x11);
    MetaRight, "Right Windows", (e0 0x5c, 0x27);
    ContextMenu, "Menu", (e0 0x5d, 0x2f);
    ControlRight, "Right Ctrl", (e0 0x1d, 0x14);
    ArrowLeft, "Left", (e0 0x4b, 0x6b);
    ArrowDown, "Down", (e0 0x50, 0x72);
    ArrowRight, "Right", (e0 0x4d, 0x74);
    Numpad0, "Keypad 0", (__ 0x52, 0x70);
    NumpadDecimal, "Keypad .", (__ 0x53, 0x71);
}

impl Key {
    /// The set 2 make sequence (what the key sends when pressed).
    pub const fn set2_make(self) -> &'static [u8] {
        self.codes().set2_make
    }

    /// The set 2 break sequence; `None` for Pause, which has none.
    pub const fn set2_break(self) -> Option<&'static [u8]> {
        self.codes().set2_break
    }

    /// The set 1 make sequence (XT codes, what a translating i8042 delivers).
    pub const fn set1_make(self) -> &'static [u8] {
        self.codes().set1_make
    }

    /// The set 1 break sequence; `None` for Pause.
    pub const fn set1_break(self) -> Option<&'static [u8]> {
        self.codes().set1_break
    }

    /// Whether holding the key makes the keyboard repeat it (everything but Pause).
    pub const fn repeats(self) -> bool {
        !matches!(self, Key::Pause)
    }

    /// The US-layout key (and whether Shift is needed) that types `c`; for
    /// `hv run --type`. Control characters: `\n` Enter, `\t` Tab, `\x08` Backspace,
    /// `\x1b` Esc. `None` for anything a US keyboard cannot type directly.
    pub fn for_char_us(c: char) -> Option<(Key, bool)> {
        const LETTERS: [Key; 26] = [
            Key::A,
            Key::B,
            Key::C,
            Key::D,
            Key::E,
            Key::F,
            Key::G,
            Key::H,
            Key::I,
            Key::J,
            Key::K,
            Key::L,
            Key::M,
            Key::N,
            Key::O,
            Key::P,
            Key::Q,
            Key::R,
            Key::S,
            Key::T,
            Key::U,
            Key::V,
            Key::W,
            Key::X,
            Key::Y,
            Key::Z,
        ];
        const DIGITS: [Key; 10] = [
            Key::Digit0,
            Key::Digit1,
            Key::Digit2,
            Key::Digit3,
            Key::Digit4,
            Key::Digit5,
            Key::Digit6,
            Key::Digit7,
            Key::Digit8,
            Key::Digit9,
        ];
        let plain = |k| Some((k, false));
        let shifted = |k| Some((k, true));
        match c {
            'a'..='z' => plain(LETTERS[(c as u8 - b'a') as usize]),
            'A'..='Z' => shifted(LETTERS[(c as u8 - b'A') as usize]),
            '0'..='9' => plain(DIGITS[(c as u8 - b'0') as usize]),
            ')' => shifted(Key::Digit0),
            '!' => shifted(Key::Digit1),
            '@' => shifted(Key::Digit2),
            '#' => shifted(Key::Digit3),
            '$' => shifted(Key::Digit4),
            '%' => shifted(Key::Digit5),
            '^' => shifted(Key::Digit6),
            '&' => shifted(Key::Digit7),
            '*' => shifted(Key::Digit8),
            '(' => shifted(Key::Digit9),
            '`' => plain(Key::Backquote),
            '~' => shifted(Key::Backquote),
            '-' => plain(Key::Minus),
            '_' => shifted(Key::Minus),
            '=' => plain(Key::Equal),
            '+' => shifted(Key::Equal),
            '[' => plain(Key::BracketLeft),
            '{' => shifted(Key::BracketLeft),
            ']' => plain(Key::BracketRight),
            '}' => shifted(Key::BracketRight),
            '\\' => plain(Key::Backslash),
            '|' => shifted(Key::Backslash),
            ';' => plain(Key::Semicolon),
            ':' => shifted(Key::Semicolon),
            '\'' => plain(Key::Quote),
            '"' => shifted(Key::Quote),
            ',' => plain(Key::Comma),
            '<' => shifted(Key::Comma),
            '.' => plain(Key::Period),
            '>' => shifted(Key::Period),
            '/' => plain(Key::Slash),
            '?' => shifted(Key::Slash),
            ' ' => plain(Key::Space),
            '\n' => plain(Key::Enter),
            '\t' => plain(Key::Tab),
            '\x08' => plain(Key::Backspace),
            '\x1b' => plain(Key::Escape),
            _ => None,
        }
    }

    /// Position in [`Key::ALL`]; dense, for bitsets of held keys.
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// Decodes one complete set 2 sequence (make or break) back into its key.
    pub fn from_set2(bytes: &[u8]) -> Option<(Key, bool)> {
        Self::find(bytes, |k| (k.set2_make(), k.set2_break()))
    }

    /// Decodes one complete set 1 sequence (make or break) back into its key.
    pub fn from_set1(bytes: &[u8]) -> Option<(Key, bool)> {
        Self::find(bytes, |k| (k.set1_make(), k.set1_break()))
    }

    fn find(
        bytes: &[u8],
        codes: impl Fn(Key) -> (&'static [u8], Option<&'static [u8]>),
    ) -> Option<(Key, bool)> {
        Key::ALL.iter().find_map(|&k| {
            let (make, brk) = codes(k);
            if make == bytes {
                Some((k, true))
            } else if brk == Some(bytes) {
                Some((k, false))
            } else {
                None
            }
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn layout_has_105_keys_with_unique_names_and_codes() {
        assert_eq!(Key::ALL.len(), 105);
        for (i, k) in Key::ALL.iter().enumerate() {
            assert_eq!(k.index(), i, "{k:?}");
        }
        let names: HashSet<_> = Key::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), Key::ALL.len());
        let set1: HashSet<_> = Key::ALL.iter().map(|k| k.set1_make()).collect();
        let set2: HashSet<_> = Key::ALL.iter().map(|k| k.set2_make()).collect();
        assert_eq!(set1.len(), Key::ALL.len());
        assert_eq!(set2.len(), Key::ALL.len());
    }

    #[test]
    fn break_codes_follow_the_set_rules() {
        for &k in Key::ALL {
            if matches!(k, Key::Pause | Key::PrintScreen) {
                continue;
            }
            let (m2, b2) = (k.set2_make(), k.set2_break().expect("break"));
            let (last, prefix) = m2.split_last().expect("non-empty");
            assert_eq!(b2, [prefix, &[0xF0, *last]].concat().as_slice(), "{k:?}");
            let (m1, b1) = (k.set1_make(), k.set1_break().expect("break"));
            let (last, prefix) = m1.split_last().expect("non-empty");
            assert_eq!(b1, [prefix, &[*last | 0x80]].concat().as_slice(), "{k:?}");
        }
    }

    #[test]
    fn special_keys_have_their_multi_byte_sequences() {
        assert_eq!(
            Key::Pause.set2_make(),
            [0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77]
        );
        assert_eq!(Key::Pause.set2_break(), None);
        assert!(!Key::Pause.repeats());
        assert_eq!(Key::PrintScreen.set2_make(), [0xE0, 0x12, 0xE0, 0x7C]);
        assert_eq!(
            Key::PrintScreen.set2_break(),
            Some(&[0xE0, 0xF0, 0x7C, 0xE0, 0xF0, 0x12][..])
        );
        assert_eq!(Key::NumpadEnter.set2_make(), [0xE0, 0x5A]);
        assert_eq!(Key::ArrowUp.set2_break(), Some(&[0xE0, 0xF0, 0x75][..]));
        assert_eq!(Key::ArrowUp.set1_break(), Some(&[0xE0, 0xC8][..]));
    }

    #[test]
    fn decoders_invert_every_sequence() {
        for &k in Key::ALL {
            assert_eq!(Key::from_set2(k.set2_make()), Some((k, true)));
            assert_eq!(Key::from_set1(k.set1_make()), Some((k, true)));
            if let Some(b) = k.set2_break() {
                assert_eq!(Key::from_set2(b), Some((k, false)));
            }
            if let Some(b) = k.set1_break() {
                assert_eq!(Key::from_set1(b), Some((k, false)));
            }
        }
        assert_eq!(Key::from_set2(&[0xF0]), None);
    }

    #[test]
    fn us_characters_map_to_keys_and_shift() {
        assert_eq!(Key::for_char_us('a'), Some((Key::A, false)));
        assert_eq!(Key::for_char_us('Z'), Some((Key::Z, true)));
        assert_eq!(Key::for_char_us('0'), Some((Key::Digit0, false)));
        assert_eq!(Key::for_char_us('@'), Some((Key::Digit2, true)));
        assert_eq!(Key::for_char_us('\n'), Some((Key::Enter, false)));
        assert_eq!(Key::for_char_us('\t'), Some((Key::Tab, false)));
        assert_eq!(Key::for_char_us('\x08'), Some((Key::Backspace, false)));
        assert_eq!(Key::for_char_us('\x1b'), Some((Key::Escape, false)));
        assert_eq!(Key::for_char_us('|'), Some((Key::Backslash, true)));
        assert_eq!(Key::for_char_us('é'), None);
        // Every printable ASCII character is typeable.
        for c in (0x20u8..0x7f).map(char::from) {
            assert!(Key::for_char_us(c).is_some(), "{c:?}");
        }
    }

    #[test]
    fn us_characters_agree_with_pc_keyboard_layout() {
        use pc_keyboard::{
            DecodedKey, HandleControl, KeyCode, KeyState, PS2Keyboard as Keyboard, ScancodeSet2,
            layouts,
        };
        for c in (0x20u8..0x7f).map(char::from) {
            let (key, shift) = Key::for_char_us(c).expect("printable");
            let mut kb = Keyboard::new(
                ScancodeSet2::new(),
                layouts::Us104Key,
                HandleControl::Ignore,
            );
            let mut decoded = None;
            let mut bytes = Vec::new();
            if shift {
                bytes.extend_from_slice(Key::ShiftLeft.set2_make());
            }
            bytes.extend_from_slice(key.set2_make());
            for b in bytes {
                if let Some(ev) = kb.add_byte(b).expect("valid set 2") {
                    let down = ev.state == KeyState::Down && ev.code != KeyCode::LShift;
                    if let Some(DecodedKey::Unicode(ch)) = kb.process_keyevent(ev) {
                        if down {
                            decoded = Some(ch);
                        }
                    }
                }
            }
            assert_eq!(decoded, Some(c), "{key:?} shift={shift}");
        }
    }
}
