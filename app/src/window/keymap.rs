//! winit's physical key codes -> hv's [`Key`].
//!
//! The window maps *physical* keys (the position on the keyboard, W3C `KeyboardEvent.code`),
//! never the character a host layout would produce: the guest runs its own keyboard
//! layout, so a German or French user gets what their guest expects, the ISO key next to
//! left Shift (`IntlBackslash`) works, and right Alt stays right Alt (AltGr in the guest).
//! One table lists every pair, so the lookup and its test cannot drift apart.

use hv_core::devices::keymap::Key;
use winit::keyboard::KeyCode;

/// Every host key code the guest keyboard has, paired with the guest key it is.
/// One row per [`Key`]: the map is a bijection between these codes and `Key::ALL`.
const TABLE: &[(KeyCode, Key)] = &[
    (KeyCode::Escape, Key::Escape),
    (KeyCode::F1, Key::F1),
    (KeyCode::F2, Key::F2),
    (KeyCode::F3, Key::F3),
    (KeyCode::F4, Key::F4),
    (KeyCode::F5, Key::F5),
    (KeyCode::F6, Key::F6),
    (KeyCode::F7, Key::F7),
    (KeyCode::F8, Key::F8),
    (KeyCode::F9, Key::F9),
    (KeyCode::F10, Key::F10),
    (KeyCode::F11, Key::F11),
    (KeyCode::F12, Key::F12),
    (KeyCode::PrintScreen, Key::PrintScreen),
    (KeyCode::ScrollLock, Key::ScrollLock),
    (KeyCode::Pause, Key::Pause),
    (KeyCode::Backquote, Key::Backquote),
    (KeyCode::Digit1, Key::Digit1),
    (KeyCode::Digit2, Key::Digit2),
    (KeyCode::Digit3, Key::Digit3),
    (KeyCode::Digit4, Key::Digit4),
    (KeyCode::Digit5, Key::Digit5),
    (KeyCode::Digit6, Key::Digit6),
    (KeyCode::Digit7, Key::Digit7),
    (KeyCode::Digit8, Key::Digit8),
    (KeyCode::Digit9, Key::Digit9),
    (KeyCode::Digit0, Key::Digit0),
    (KeyCode::Minus, Key::Minus),
    (KeyCode::Equal, Key::Equal),
    (KeyCode::Backspace, Key::Backspace),
    (KeyCode::Insert, Key::Insert),
    (KeyCode::Home, Key::Home),
    (KeyCode::PageUp, Key::PageUp),
    (KeyCode::NumLock, Key::NumLock),
    (KeyCode::NumpadDivide, Key::NumpadDivide),
    (KeyCode::NumpadMultiply, Key::NumpadMultiply),
    (KeyCode::NumpadSubtract, Key::NumpadSubtract),
    (KeyCode::Tab, Key::Tab),
    (KeyCode::KeyQ, Key::Q),
    (KeyCode::KeyW, Key::W),
    (KeyCode::KeyE, Key::E),
    (KeyCode::KeyR, Key::R),
    (KeyCode::KeyT, Key::T),
    (KeyCode::KeyY, Key::Y),
    (KeyCode::KeyU, Key::U),
    (KeyCode::KeyI, Key::I),
    (KeyCode::KeyO, Key::O),
    (KeyCode::KeyP, Key::P),
    (KeyCode::BracketLeft, Key::BracketLeft),
    (KeyCode::BracketRight, Key::BracketRight),
    (KeyCode::Backslash, Key::Backslash),
    (KeyCode::Delete, Key::Delete),
    (KeyCode::End, Key::End),
    (KeyCode::PageDown, Key::PageDown),
    (KeyCode::Numpad7, Key::Numpad7),
    (KeyCode::Numpad8, Key::Numpad8),
    (KeyCode::Numpad9, Key::Numpad9),
    (KeyCode::NumpadAdd, Key::NumpadAdd),
    (KeyCode::CapsLock, Key::CapsLock),
    (KeyCode::KeyA, Key::A),
    (KeyCode::KeyS, Key::S),
    (KeyCode::KeyD, Key::D),
    (KeyCode::KeyF, Key::F),
    (KeyCode::KeyG, Key::G),
    (KeyCode::KeyH, Key::H),
    (KeyCode::KeyJ, Key::J),
    (KeyCode::KeyK, Key::K),
    (KeyCode::KeyL, Key::L),
    (KeyCode::Semicolon, Key::Semicolon),
    (KeyCode::Quote, Key::Quote),
    (KeyCode::Enter, Key::Enter),
    (KeyCode::Numpad4, Key::Numpad4),
    (KeyCode::Numpad5, Key::Numpad5),
    (KeyCode::Numpad6, Key::Numpad6),
    (KeyCode::ShiftLeft, Key::ShiftLeft),
    (KeyCode::IntlBackslash, Key::IntlBackslash),
    (KeyCode::KeyZ, Key::Z),
    (KeyCode::KeyX, Key::X),
    (KeyCode::KeyC, Key::C),
    (KeyCode::KeyV, Key::V),
    (KeyCode::KeyB, Key::B),
    (KeyCode::KeyN, Key::N),
    (KeyCode::KeyM, Key::M),
    (KeyCode::Comma, Key::Comma),
    (KeyCode::Period, Key::Period),
    (KeyCode::Slash, Key::Slash),
    (KeyCode::ShiftRight, Key::ShiftRight),
    (KeyCode::ArrowUp, Key::ArrowUp),
    (KeyCode::Numpad1, Key::Numpad1),
    (KeyCode::Numpad2, Key::Numpad2),
    (KeyCode::Numpad3, Key::Numpad3),
    (KeyCode::NumpadEnter, Key::NumpadEnter),
    (KeyCode::ControlLeft, Key::ControlLeft),
    // winit calls the Windows/Command keys "Super"; W3C and hv call them "Meta".
    (KeyCode::SuperLeft, Key::MetaLeft),
    (KeyCode::AltLeft, Key::AltLeft),
    (KeyCode::Space, Key::Space),
    // Right Alt is its own key (E0 11 in set 2), so AltGr layouts work in the guest.
    (KeyCode::AltRight, Key::AltRight),
    (KeyCode::SuperRight, Key::MetaRight),
    (KeyCode::ContextMenu, Key::ContextMenu),
    (KeyCode::ControlRight, Key::ControlRight),
    (KeyCode::ArrowLeft, Key::ArrowLeft),
    (KeyCode::ArrowDown, Key::ArrowDown),
    (KeyCode::ArrowRight, Key::ArrowRight),
    (KeyCode::Numpad0, Key::Numpad0),
    (KeyCode::NumpadDecimal, Key::NumpadDecimal),
];

/// The guest key at the position of host key `code`, or `None` for keys a 105-key PC
/// keyboard does not have (media keys, F13+, Japanese/Korean extras).
pub fn guest_key(code: KeyCode) -> Option<Key> {
    TABLE.iter().find(|(c, _)| *c == code).map(|&(_, k)| k)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use super::*;

    #[test]
    fn every_guest_key_is_reachable_from_a_host_key() {
        for &key in Key::ALL {
            assert!(
                TABLE
                    .iter()
                    .any(|&(code, k)| k == key && guest_key(code) == Some(key)),
                "{key:?} ({}) has no host key code",
                key.name()
            );
        }
    }

    #[test]
    fn the_map_is_injective_both_ways() {
        let keys: BTreeSet<Key> = TABLE.iter().map(|&(_, k)| k).collect();
        assert_eq!(
            keys.len(),
            TABLE.len(),
            "two host codes map to one guest key"
        );
        let codes: HashSet<KeyCode> = TABLE.iter().map(|&(c, _)| c).collect();
        assert_eq!(codes.len(), TABLE.len(), "a host code is listed twice");
        assert_eq!(
            TABLE.len(),
            Key::ALL.len(),
            "the table covers exactly Key::ALL"
        );
    }

    #[test]
    fn every_row_maps_to_its_own_key() {
        for &(code, key) in TABLE {
            assert_eq!(guest_key(code), Some(key), "{code:?}");
        }
    }

    #[test]
    fn the_keys_users_complain_about_get_their_own_scancodes() {
        // ISO key next to left Shift: set 2 61.
        assert_eq!(
            guest_key(KeyCode::IntlBackslash).map(Key::set2_make),
            Some(&[0x61][..])
        );
        // Right Alt (AltGr) is E0 11, not left Alt's 11.
        assert_eq!(
            guest_key(KeyCode::AltRight).map(Key::set2_make),
            Some(&[0xE0, 0x11][..])
        );
        // Windows/Command keys.
        assert_eq!(
            guest_key(KeyCode::SuperLeft).map(Key::set2_make),
            Some(&[0xE0, 0x1F][..])
        );
        // Keypad Enter is E0 5A, main Enter 5A.
        assert_eq!(
            guest_key(KeyCode::NumpadEnter).map(Key::set2_make),
            Some(&[0xE0, 0x5A][..])
        );
        assert_eq!(guest_key(KeyCode::Pause), Some(Key::Pause));
        assert_eq!(guest_key(KeyCode::PrintScreen), Some(Key::PrintScreen));
    }

    #[test]
    fn keys_a_pc_keyboard_lacks_map_to_nothing() {
        for code in [
            KeyCode::F13,
            KeyCode::MediaPlayPause,
            KeyCode::IntlRo,
            KeyCode::Fn,
        ] {
            assert_eq!(guest_key(code), None, "{code:?}");
        }
    }
}
