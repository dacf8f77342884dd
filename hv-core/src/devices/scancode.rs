//! Scancode set 2 -> set 1 translation, as the i8042 performs it when CTR bit 6 is set.
//!
//! PC keyboards speak set 2 since the AT; the controller rewrites each byte into the XT's
//! set 1 so that BIOS and DOS-era software keep working. The table is a fixed property of
//! the 8042 firmware. Its first half is the inverse of the set 1 -> set 2 table Linux uses
//! to undo translation (`atkbd_unxlate_table` in drivers/input/keyboard/atkbd.c), which is
//! what we store; bytes 0x80-0xFF pass through except for two codes. A set 2 break prefix
//! `F0` is swallowed and sets bit 7 of the next translated byte.

/// Set 1 code (index) -> set 2 code: the inverse of the controller's translation for the
/// 128 single-byte set 1 codes. A permutation of 0..=0x7F.
const SET1_TO_SET2: [u8; 128] = [
    0x00, 0x76, 0x16, 0x1e, 0x26, 0x25, 0x2e, 0x36, 0x3d, 0x3e, 0x46, 0x45, 0x4e, 0x55, 0x66,
    0x0d, //
    0x15, 0x1d, 0x24, 0x2d, 0x2c, 0x35, 0x3c, 0x43, 0x44, 0x4d, 0x54, 0x5b, 0x5a, 0x14, 0x1c,
    0x1b, //
    0x23, 0x2b, 0x34, 0x33, 0x3b, 0x42, 0x4b, 0x4c, 0x52, 0x0e, 0x12, 0x5d, 0x1a, 0x22, 0x21,
    0x2a, //
    0x32, 0x31, 0x3a, 0x41, 0x49, 0x4a, 0x59, 0x7c, 0x11, 0x29, 0x58, 0x05, 0x06, 0x04, 0x0c,
    0x03, //
    0x0b, 0x02, 0x0a, 0x01, 0x09, 0x77, 0x7e, 0x6c, 0x75, 0x7d, 0x7b, 0x6b, 0x73, 0x74, 0x79,
    0x69, //
    0x72, 0x7a, 0x70, 0x71, 0x7f, 0x60, 0x61, 0x78, 0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37,
    0x3f, //
    0x47, 0x4f, 0x56, 0x5e, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38, 0x40, 0x48, 0x50, 0x57,
    0x6f, //
    0x13, 0x19, 0x39, 0x51, 0x53, 0x5c, 0x5f, 0x62, 0x63, 0x64, 0x65, 0x67, 0x68, 0x6a, 0x6d,
    0x6e, //
];

/// Set 2 byte -> set 1 byte, as the controller translates.
const SET2_TO_SET1: [u8; 256] = build_translation();

const fn build_translation() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = i as u8; // the upper half passes through
        i += 1;
    }
    let mut set1 = 0;
    while set1 < 128 {
        table[SET1_TO_SET2[set1] as usize] = set1 as u8;
        set1 += 1;
    }
    table[0x83] = 0x41; // F7: the one set 2 key code above 0x7F
    table[0x84] = 0x54; // Alt+SysRq
    table
}

/// The set 2 break prefix.
const BREAK_PREFIX: u8 = 0xF0;

/// Translates one byte without break handling (the raw table lookup).
pub const fn translate_byte(set2: u8) -> u8 {
    SET2_TO_SET1[set2 as usize]
}

/// The controller's translation state: whether an `F0` prefix is pending.
#[derive(Debug, Clone, Default)]
pub struct Translator {
    break_pending: bool,
}

impl Translator {
    /// A translator with no prefix pending.
    pub const fn new() -> Self {
        Self {
            break_pending: false,
        }
    }

    /// Feeds one set 2 byte; returns the set 1 byte, or `None` when the byte was the
    /// break prefix and is swallowed.
    pub fn feed(&mut self, set2: u8) -> Option<u8> {
        if set2 == BREAK_PREFIX {
            self.break_pending = true;
            return None;
        }
        let set1 = translate_byte(set2);
        let break_bit = if std::mem::take(&mut self.break_pending) {
            0x80
        } else {
            0
        };
        Some(set1 | break_bit)
    }

    /// Forgets a pending prefix (the guest switched translation or reset the keyboard).
    pub fn reset(&mut self) {
        self.break_pending = false;
    }

    /// Translates a whole sequence (for tests and overlays).
    pub fn translate_all(bytes: &[u8]) -> Vec<u8> {
        let mut t = Self::new();
        bytes.iter().filter_map(|&b| t.feed(b)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::keymap::Key;

    #[test]
    fn stored_table_is_a_permutation() {
        let mut seen = [false; 128];
        for &b in &SET1_TO_SET2 {
            assert!(b < 0x80);
            assert!(!seen[b as usize], "{b:#x} twice");
            seen[b as usize] = true;
        }
    }

    #[test]
    fn protocol_bytes_pass_through() {
        for b in [0xE0, 0xE1, 0xFA, 0xAA, 0xAB, 0xEE, 0xFE, 0xFF] {
            assert_eq!(translate_byte(b), b);
        }
        // Identify `AB 83` reads `AB 41`; scancode-set answers 1/2/3 read 43/41/3F.
        assert_eq!(translate_byte(0x83), 0x41);
        assert_eq!(translate_byte(0x01), 0x43);
        assert_eq!(translate_byte(0x02), 0x41);
        assert_eq!(translate_byte(0x03), 0x3F);
    }

    #[test]
    fn every_key_translates_to_its_set1_codes() {
        for &k in Key::ALL {
            if k == Key::Pause {
                continue; // set 1 Pause is not the translation of set 2 Pause
            }
            assert_eq!(
                Translator::translate_all(k.set2_make()),
                k.set1_make(),
                "{k:?}"
            );
            let b2 = k.set2_break().expect("break");
            let b1 = k.set1_break().expect("break");
            assert_eq!(Translator::translate_all(b2), b1, "{k:?}");
        }
        // What a real controller makes of set 2 Pause.
        assert_eq!(
            Translator::translate_all(Key::Pause.set2_make()),
            [0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5]
        );
    }

    #[test]
    fn break_prefix_is_swallowed_and_sets_bit7() {
        let mut t = Translator::new();
        assert_eq!(t.feed(0xE0), Some(0xE0));
        assert_eq!(t.feed(0xF0), None);
        assert_eq!(t.feed(0x75), Some(0xC8));
        assert_eq!(t.feed(0x1C), Some(0x1E));
        t.feed(0xF0);
        t.reset();
        assert_eq!(t.feed(0x1C), Some(0x1E));
    }
}
