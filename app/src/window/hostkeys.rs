//! The host key and its shortcuts: which key events go to the guest and which are ours.
//!
//! One key (the *host key*, as in VirtualBox) turns the next key into a window shortcut.
//! The host key itself never reaches the guest, and a shortcut key pressed with it
//! reaches the guest neither when pressed nor when released, so the guest never sees a
//! half keystroke. Pressed and released alone, the host key types nothing; it releases
//! a captured mouse ([`Action::HostTapped`]). Every other key goes to the guest
//! unchanged while the window has focus.

use std::collections::BTreeSet;

use hv_core::devices::keymap::Key;

/// What a host-key combination does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    /// Host+G: capture the mouse for the guest, or release it.
    ToggleCapture,
    /// Host+V: type the host clipboard's text into the guest.
    Paste,
    /// Host+Delete: send Ctrl+Alt+Del to the guest.
    CtrlAltDel,
    /// Host+P: pause or resume the guest.
    TogglePause,
    /// Host+R: reset the machine.
    Reset,
    /// Host+S: save the current frame as a PNG.
    Screenshot,
    /// Host+O: show or hide the emulation overlay.
    ToggleOverlay,
    /// Host+Q: end the run.
    Quit,
}

impl Shortcut {
    /// Every shortcut with its key, in the order help texts list them.
    pub const ALL: [(Key, Shortcut); 8] = [
        (Key::G, Shortcut::ToggleCapture),
        (Key::V, Shortcut::Paste),
        (Key::Delete, Shortcut::CtrlAltDel),
        (Key::P, Shortcut::TogglePause),
        (Key::R, Shortcut::Reset),
        (Key::S, Shortcut::Screenshot),
        (Key::O, Shortcut::ToggleOverlay),
        (Key::Q, Shortcut::Quit),
    ];

    /// The shortcut on `key`, if any.
    pub fn for_key(key: Key) -> Option<Shortcut> {
        Self::ALL.iter().find(|(k, _)| *k == key).map(|&(_, s)| s)
    }

    /// A few words for help texts.
    pub fn describe(self) -> &'static str {
        match self {
            Shortcut::ToggleCapture => "capture/release the mouse",
            Shortcut::Paste => "paste the clipboard as typed text",
            Shortcut::CtrlAltDel => "Ctrl+Alt+Del",
            Shortcut::TogglePause => "pause/resume",
            Shortcut::Reset => "reset",
            Shortcut::Screenshot => "screenshot",
            Shortcut::ToggleOverlay => "overlay",
            Shortcut::Quit => "quit",
        }
    }
}

/// What to do with one key event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send the key to the guest.
    Guest {
        /// The key.
        key: Key,
        /// Down (true) or up.
        pressed: bool,
    },
    /// Run a window shortcut.
    Shortcut(Shortcut),
    /// The host key was pressed and released with no other key (releases a capture).
    HostTapped,
    /// Swallow the event.
    Nothing,
}

/// The default host key: Right Ctrl on Linux and Windows (VirtualBox's choice; no desktop
/// shortcut uses the right Ctrl alone), Right Option on macOS (Macs have no Right Ctrl on
/// laptop keyboards, and macOS binds no shortcut to the right Option key by side).
pub const fn default_host_key() -> Key {
    if cfg!(target_os = "macos") {
        Key::AltRight
    } else {
        Key::ControlRight
    }
}

/// The host key's name as the user's keyboard labels it.
pub fn host_key_label(key: Key) -> &'static str {
    match key {
        Key::AltRight if cfg!(target_os = "macos") => "Right Option",
        Key::AltLeft if cfg!(target_os = "macos") => "Left Option",
        Key::MetaRight if cfg!(target_os = "macos") => "Right Command",
        Key::MetaLeft if cfg!(target_os = "macos") => "Left Command",
        _ => key.name(),
    }
}

/// Parses `--host-key`: a key code name as winit and the W3C spell it (`ControlRight`,
/// `AltRight`, `SuperRight`/`MetaRight`, `ScrollLock`, ...), case-insensitive, plus the
/// usual short names (`rctrl`, `ralt`, `ropt`, `rcmd`, `rwin`).
pub fn parse_host_key(s: &str) -> Result<Key, String> {
    let wanted = s.trim().to_ascii_lowercase().replace(['-', '_', ' '], "");
    let alias = match wanted.as_str() {
        "rctrl" | "rightctrl" | "rightcontrol" => Some(Key::ControlRight),
        "lctrl" | "leftctrl" | "leftcontrol" => Some(Key::ControlLeft),
        "ralt" | "rightalt" | "altgr" | "ropt" | "rightoption" | "optionright" => {
            Some(Key::AltRight)
        }
        "lalt" | "leftalt" | "lopt" | "leftoption" | "optionleft" => Some(Key::AltLeft),
        "rcmd" | "rightcommand" | "rwin" | "rightwindows" | "superright" | "rsuper" => {
            Some(Key::MetaRight)
        }
        "lcmd" | "leftcommand" | "lwin" | "leftwindows" | "superleft" | "lsuper" => {
            Some(Key::MetaLeft)
        }
        "menu" => Some(Key::ContextMenu),
        _ => None,
    };
    let key = alias
        .or_else(|| {
            Key::ALL.iter().copied().find(|k| {
                let code = format!("{k:?}").to_ascii_lowercase();
                code == wanted || format!("key{code}") == wanted
            })
        })
        .ok_or_else(|| {
            format!(
                "unknown key {s:?}; use a key code name such as ControlRight, AltRight, \
                 MetaRight, ContextMenu or ScrollLock"
            )
        })?;
    if let Some(shortcut) = Shortcut::for_key(key) {
        return Err(format!(
            "{} is the key of the {} shortcut and cannot be the host key",
            key.name(),
            shortcut.describe()
        ));
    }
    Ok(key)
}

/// Routes key events between the guest and the window's shortcuts.
#[derive(Debug)]
pub struct HostKeys {
    host: Key,
    host_down: bool,
    /// No other key went down since the host key did.
    host_alone: bool,
    /// Keys pressed together with the host key: their releases are swallowed too.
    swallowed: BTreeSet<Key>,
}

impl HostKeys {
    /// Keys go to the guest; `host` is the host key.
    pub fn new(host: Key) -> Self {
        Self {
            host,
            host_down: false,
            host_alone: false,
            swallowed: BTreeSet::new(),
        }
    }

    /// Forgets held keys (the window lost focus, so their releases will not come).
    pub fn forget_held(&mut self) {
        self.host_down = false;
        self.host_alone = false;
        self.swallowed.clear();
    }

    /// Decides what one physical key event (repeats already dropped) does.
    pub fn on_key(&mut self, key: Key, pressed: bool) -> Action {
        if key == self.host {
            let tapped = !pressed && self.host_down && self.host_alone;
            self.host_down = pressed;
            self.host_alone = pressed;
            return if tapped {
                Action::HostTapped
            } else {
                Action::Nothing
            };
        }
        if pressed {
            self.host_alone = false;
        }
        if pressed && self.host_down {
            self.swallowed.insert(key);
            return Shortcut::for_key(key).map_or(Action::Nothing, Action::Shortcut);
        }
        if !pressed && self.swallowed.remove(&key) {
            return Action::Nothing;
        }
        Action::Guest { key, pressed }
    }
}

/// The keys of Ctrl+Alt+Del, in press order (released in reverse).
pub const CTRL_ALT_DEL: [Key; 3] = [Key::ControlLeft, Key::AltLeft, Key::Delete];

#[cfg(test)]
mod tests {
    use super::*;

    fn guest(key: Key, pressed: bool) -> Action {
        Action::Guest { key, pressed }
    }

    #[test]
    fn plain_keys_go_to_the_guest() {
        let mut h = HostKeys::new(Key::ControlRight);
        assert_eq!(h.on_key(Key::A, true), guest(Key::A, true));
        assert_eq!(h.on_key(Key::A, false), guest(Key::A, false));
        // Shortcut keys without the host key are ordinary keys.
        assert_eq!(h.on_key(Key::Q, true), guest(Key::Q, true));
        assert_eq!(
            h.on_key(Key::ControlLeft, true),
            guest(Key::ControlLeft, true)
        );
    }

    #[test]
    fn host_combinations_run_shortcuts_and_never_reach_the_guest() {
        let mut h = HostKeys::new(Key::ControlRight);
        assert_eq!(h.on_key(Key::ControlRight, true), Action::Nothing);
        assert_eq!(
            h.on_key(Key::S, true),
            Action::Shortcut(Shortcut::Screenshot)
        );
        // The host key is let go first: S's release must still be swallowed.
        assert_eq!(h.on_key(Key::ControlRight, false), Action::Nothing);
        assert_eq!(h.on_key(Key::S, false), Action::Nothing);
        assert_eq!(h.on_key(Key::S, true), guest(Key::S, true));
    }

    #[test]
    fn every_shortcut_is_reachable() {
        for (key, shortcut) in Shortcut::ALL {
            let mut h = HostKeys::new(default_host_key());
            h.on_key(default_host_key(), true);
            assert_eq!(h.on_key(key, true), Action::Shortcut(shortcut));
        }
    }

    #[test]
    fn the_host_key_alone_types_nothing_and_reports_a_tap() {
        let mut h = HostKeys::new(Key::AltRight);
        assert_eq!(h.on_key(Key::AltRight, true), Action::Nothing);
        assert_eq!(h.on_key(Key::AltRight, false), Action::HostTapped);
        // A non-shortcut key with the host key is swallowed, press and release, and
        // the host key's release is then no tap.
        h.on_key(Key::AltRight, true);
        assert_eq!(h.on_key(Key::X, true), Action::Nothing);
        assert_eq!(h.on_key(Key::X, false), Action::Nothing);
        assert_eq!(h.on_key(Key::AltRight, false), Action::Nothing);
        // Nor is it one after a shortcut.
        h.on_key(Key::AltRight, true);
        h.on_key(Key::V, true);
        assert_eq!(h.on_key(Key::AltRight, false), Action::Nothing);
        // A key let go (not pressed) while the host key is down does not spoil it.
        h.on_key(Key::ShiftLeft, true);
        h.on_key(Key::AltRight, true);
        h.on_key(Key::ShiftLeft, false);
        assert_eq!(h.on_key(Key::AltRight, false), Action::HostTapped);
    }

    #[test]
    fn focus_loss_spoils_a_tap() {
        let mut h = HostKeys::new(Key::ControlRight);
        h.on_key(Key::ControlRight, true);
        h.forget_held();
        assert_eq!(h.on_key(Key::ControlRight, false), Action::Nothing);
    }

    #[test]
    fn focus_loss_forgets_the_host_key() {
        let mut h = HostKeys::new(Key::ControlRight);
        h.on_key(Key::ControlRight, true);
        h.forget_held();
        assert_eq!(h.on_key(Key::Q, true), guest(Key::Q, true));
    }

    #[test]
    fn host_key_names_parse() {
        assert_eq!(parse_host_key("ControlRight"), Ok(Key::ControlRight));
        assert_eq!(parse_host_key("controlright"), Ok(Key::ControlRight));
        assert_eq!(parse_host_key("rctrl"), Ok(Key::ControlRight));
        assert_eq!(parse_host_key("AltRight"), Ok(Key::AltRight));
        assert_eq!(parse_host_key("right-option"), Ok(Key::AltRight));
        assert_eq!(parse_host_key("SuperRight"), Ok(Key::MetaRight));
        assert_eq!(parse_host_key("ScrollLock"), Ok(Key::ScrollLock));
        assert_eq!(parse_host_key("F12"), Ok(Key::F12));
        assert_eq!(parse_host_key("KeyZ"), Ok(Key::Z));
        assert!(parse_host_key("KeyQ").is_err(), "Q is the quit shortcut");
        assert!(parse_host_key("Delete").is_err());
        assert!(parse_host_key("Hyper").is_err());
    }

    #[test]
    fn defaults_are_right_hand_modifiers() {
        let k = default_host_key();
        assert!(matches!(k, Key::ControlRight | Key::AltRight));
        assert!(Shortcut::for_key(k).is_none());
    }
}
