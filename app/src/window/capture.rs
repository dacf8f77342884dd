//! Mouse capture: when host mouse input goes to the guest's PS/2 mouse.
//!
//! The window starts with the keyboard going to the guest and the host cursor free. A
//! click in the window, or Host+G, *captures* the input: the cursor is hidden and held
//! in the window, raw device motion (not the cursor position, which stops at the
//! window's edges and is accelerated) becomes PS/2 motion, and the buttons and the
//! wheel go to the guest. Tapping the host key alone, Host+G again, or the window losing
//! focus releases it; any button still held is released in the guest, so it never
//! sees a stuck button.
//!
//! Motion is summed between event batches and sent once per batch ([`Capture::flush`],
//! from winit's `about_to_wait`) and before any button or wheel change, so a 1000 Hz
//! mouse does not kick the vCPU a thousand times a second, and the order of motion and
//! button edges is kept.
//!
//! This module is the state machine only (no window calls), so its transitions are
//! unit-tested; the window applies the [`Cursor`] changes it asks for.

use std::time::{Duration, Instant};

use hv_core::devices::ps2_mouse::{MouseInput, buttons};

/// A mouse button as the window reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    /// Left.
    Left,
    /// Right.
    Right,
    /// Middle.
    Middle,
    /// Anything else (back, forward...): the PS/2 mouse has no such button.
    Other,
}

impl Button {
    fn bit(self) -> u8 {
        match self {
            Button::Left => buttons::LEFT,
            Button::Right => buttons::RIGHT,
            Button::Middle => buttons::MIDDLE,
            Button::Other => 0,
        }
    }
}

/// What the window must do with the host cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Hide it and hold it in the window.
    Grab,
    /// Show it and let it go.
    Release,
}

/// The outcome of one host event: a cursor change and/or input for the guest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Step {
    /// Grab or release the cursor.
    pub cursor: Option<Cursor>,
    /// Motion summed since the last flush: send this first.
    pub motion: Option<MouseInput>,
    /// Then this (a button or wheel change).
    pub input: Option<MouseInput>,
}

/// Motion summed between flushes saturates here (a stalled UI thread cannot overflow it).
const MAX_PENDING: i32 = 1_000_000;

/// Host pixels per wheel "line" for touchpads that report pixel deltas (a common
/// desktop line height; winit reports `LineDelta` for real wheels).
pub const PIXELS_PER_LINE: f64 = 40.0;

/// The capture state.
#[derive(Debug, Default)]
pub struct Capture {
    captured: bool,
    /// Buttons the guest believes are held.
    held: u8,
    /// The click that captured: its release is not the guest's either.
    swallow: Option<Button>,
    /// Whole motion not sent yet.
    pending_x: i32,
    pending_y: i32,
    /// Sub-pixel motion and sub-notch wheel carried to the next event.
    frac_x: f64,
    frac_y: f64,
    frac_wheel: f64,
}

impl Capture {
    /// Free: the cursor is the host's.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether mouse input goes to the guest.
    pub fn captured(&self) -> bool {
        self.captured
    }

    /// Host+G.
    pub fn toggle(&mut self) -> Step {
        if self.captured {
            self.release()
        } else {
            self.capture()
        }
    }

    fn capture(&mut self) -> Step {
        self.captured = true;
        self.pending_x = 0;
        self.pending_y = 0;
        self.frac_x = 0.0;
        self.frac_y = 0.0;
        self.frac_wheel = 0.0;
        Step {
            cursor: Some(Cursor::Grab),
            ..Step::default()
        }
    }

    /// The host key tapped alone, or focus lost: release if captured, letting go of
    /// any button the guest thinks is held.
    pub fn release(&mut self) -> Step {
        if !self.captured {
            return Step::default();
        }
        let motion = self.take_motion();
        self.captured = false;
        self.swallow = None;
        let input = (self.held != 0).then(|| {
            self.held = 0;
            MouseInput::default()
        });
        Step {
            cursor: Some(Cursor::Release),
            motion,
            input,
        }
    }

    /// A button went down or up in the window.
    pub fn button(&mut self, button: Button, pressed: bool) -> Step {
        if !self.captured {
            if pressed && button == Button::Left {
                // This click is the host's way in; the guest sees neither edge.
                self.swallow = Some(button);
                return self.capture();
            }
            return Step::default();
        }
        if !pressed && self.swallow == Some(button) {
            self.swallow = None;
            return Step::default();
        }
        let bit = button.bit();
        let held = if pressed {
            self.held | bit
        } else {
            self.held & !bit
        };
        if held == self.held {
            return Step::default();
        }
        // Motion so far happened with the old buttons.
        let motion = self.take_motion();
        self.held = held;
        Step {
            cursor: None,
            motion,
            input: Some(self.input(0, 0, 0)),
        }
    }

    /// Raw device motion (host mouse counts, `dy` > 0 downwards): summed until the next
    /// [`flush`](Self::flush) or button/wheel change.
    pub fn motion(&mut self, dx: f64, dy: f64) {
        if !self.captured || !dx.is_finite() || !dy.is_finite() {
            return;
        }
        let (x, fx) = whole(self.frac_x + dx);
        let (y, fy) = whole(self.frac_y + dy);
        self.frac_x = fx;
        self.frac_y = fy;
        self.pending_x = self
            .pending_x
            .saturating_add(x)
            .clamp(-MAX_PENDING, MAX_PENDING);
        self.pending_y = self
            .pending_y
            .saturating_add(y)
            .clamp(-MAX_PENDING, MAX_PENDING);
    }

    /// The event batch is over: the motion summed in it, if any.
    pub fn flush(&mut self) -> Step {
        Step {
            motion: self.take_motion(),
            ..Step::default()
        }
    }

    fn take_motion(&mut self) -> Option<MouseInput> {
        let (x, y) = (self.pending_x, self.pending_y);
        self.pending_x = 0;
        self.pending_y = 0;
        (x != 0 || y != 0).then(|| self.input(x, y, 0))
    }

    /// Wheel movement in lines (notches), positive = away from the user (scroll up).
    pub fn wheel(&mut self, lines: f64) -> Step {
        if !self.captured || !lines.is_finite() {
            return Step::default();
        }
        let (notches, rest) = whole(self.frac_wheel + lines);
        self.frac_wheel = rest;
        if notches == 0 {
            return Step::default();
        }
        Step {
            cursor: None,
            motion: self.take_motion(),
            input: Some(self.input(0, 0, notches)),
        }
    }

    fn input(&self, dx: i32, dy: i32, wheel: i32) -> MouseInput {
        MouseInput {
            dx,
            dy,
            wheel,
            buttons: self.held,
        }
    }
}

/// Drops the second copy of each raw motion event while X11 holds the pointer grab.
///
/// With the cursor confined, winit 0.30 on X11 delivers every raw (XI2) device event
/// twice, back to back: once through the root-window selection and once through its
/// core pointer grab (winit issues #2846 and #3773; seen here under Xvfb, where one
/// XTEST move of 40 arrived as two of 40, sometimes in two event batches). The copy is
/// identical and follows within microseconds, so an event equal to the unpaired one
/// before it, within [`PAIR_WINDOW`], is taken as its copy.
#[derive(Debug, Default)]
pub struct RawPairs {
    first: Option<((f64, f64), Instant)>,
}

/// How soon a copy follows its original (generous: both come from one X read).
pub const PAIR_WINDOW: Duration = Duration::from_millis(20);

impl RawPairs {
    /// The motion to use, or `None` for the copy.
    pub fn filter(&mut self, delta: (f64, f64), now: Instant) -> Option<(f64, f64)> {
        match self.first.take() {
            Some((d, at)) if d == delta && now.saturating_duration_since(at) <= PAIR_WINDOW => None,
            _ => {
                self.first = Some((delta, now));
                Some(delta)
            }
        }
    }
}

/// X11 wheel buttons (4-7) that are real button events, not smooth-scroll emulation
/// (XTEST's, as xdotool sends them): winit 0.30 turns both the press and the release
/// into a wheel step. The raw (XI2) release arrives just before the window event it
/// causes, so it marks that step as an echo to skip. Raw events of emulated buttons are
/// not delivered, so smooth-scrolling wheels are untouched.
#[derive(Debug, Default)]
pub struct WheelReleaseEcho {
    pending: bool,
}

impl WheelReleaseEcho {
    /// A raw button event (`button` is the X11 button number).
    pub fn raw_button(&mut self, button: u32, pressed: bool) {
        if (4..=7).contains(&button) && !pressed {
            self.pending = true;
        }
    }

    /// Whether the wheel step that just came is the release's echo (and forgets it).
    pub fn is_echo(&mut self) -> bool {
        std::mem::take(&mut self.pending)
    }
}

/// Splits `v` into a whole number (toward zero, clamped to ±1 000 000) and the rest.
fn whole(v: f64) -> (i32, f64) {
    let v = v.clamp(-1_000_000.0, 1_000_000.0);
    let w = v.trunc();
    (w as i32, v - w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(dx: i32, dy: i32, wheel: i32, buttons: u8) -> Option<MouseInput> {
        Some(MouseInput {
            dx,
            dy,
            wheel,
            buttons,
        })
    }

    #[test]
    fn free_mouse_sends_nothing_and_a_left_click_captures_silently() {
        let mut c = Capture::new();
        c.motion(5.0, 5.0);
        assert_eq!(c.flush(), Step::default());
        assert_eq!(c.wheel(1.0), Step::default());
        assert_eq!(c.button(Button::Right, true), Step::default());
        assert_eq!(c.button(Button::Right, false), Step::default());
        assert!(!c.captured());
        let step = c.button(Button::Left, true);
        assert_eq!(step.cursor, Some(Cursor::Grab));
        assert_eq!(step.input, None, "the capturing press is the host's");
        assert!(c.captured());
        assert_eq!(
            c.button(Button::Left, false),
            Step::default(),
            "and so is its release"
        );
        // The next click is the guest's.
        assert_eq!(
            c.button(Button::Left, true).input,
            input(0, 0, 0, buttons::LEFT)
        );
        assert_eq!(c.button(Button::Left, false).input, input(0, 0, 0, 0));
    }

    #[test]
    fn captured_motion_wheel_and_buttons_reach_the_guest() {
        let mut c = Capture::new();
        assert_eq!(c.toggle().cursor, Some(Cursor::Grab));
        c.motion(3.0, -2.0);
        c.motion(1.0, 0.0);
        assert_eq!(c.flush().motion, input(4, -2, 0, 0), "one batch, one event");
        assert_eq!(c.flush(), Step::default());
        // Motion before a press goes first, with the buttons it happened with.
        c.motion(2.0, 2.0);
        let step = c.button(Button::Middle, true);
        assert_eq!(step.motion, input(2, 2, 0, 0));
        assert_eq!(step.input, input(0, 0, 0, buttons::MIDDLE));
        assert_eq!(
            c.button(Button::Middle, true),
            Step::default(),
            "no change, nothing sent"
        );
        assert_eq!(c.button(Button::Other, true), Step::default());
        c.motion(0.0, 5.0);
        let step = c.wheel(-1.0);
        assert_eq!(step.motion, input(0, 5, 0, buttons::MIDDLE), "a drag");
        assert_eq!(step.input, input(0, 0, -1, buttons::MIDDLE));
        assert_eq!(
            c.button(Button::Right, true).input,
            input(0, 0, 0, buttons::MIDDLE | buttons::RIGHT)
        );
    }

    #[test]
    fn fractions_carry_so_slow_motion_is_not_lost() {
        let mut c = Capture::new();
        c.toggle();
        c.motion(0.4, -0.4);
        assert_eq!(c.flush(), Step::default());
        c.motion(0.4, -0.4);
        assert_eq!(c.flush(), Step::default());
        c.motion(0.4, -0.4);
        assert_eq!(c.flush().motion, input(1, -1, 0, 0));
        // A touchpad's pixel wheel: 40 px is one notch, in small steps.
        for _ in 0..3 {
            assert_eq!(c.wheel(10.0 / PIXELS_PER_LINE), Step::default());
        }
        assert_eq!(c.wheel(10.0 / PIXELS_PER_LINE).input, input(0, 0, 1, 0));
        c.motion(f64::NAN, 1.0);
        assert_eq!(c.flush(), Step::default());
        c.motion(1e300, 0.0);
        c.motion(1e300, 0.0);
        assert_eq!(c.flush().motion, input(MAX_PENDING, 0, 0, 0));
    }

    #[test]
    fn release_lets_go_of_held_buttons_and_stops_input() {
        let mut c = Capture::new();
        c.toggle();
        c.button(Button::Left, true);
        c.motion(7.0, 0.0);
        let step = c.release();
        assert_eq!(step.cursor, Some(Cursor::Release));
        assert_eq!(step.motion, input(7, 0, 0, buttons::LEFT), "motion first");
        assert_eq!(
            step.input,
            input(0, 0, 0, 0),
            "the guest sees the button go up"
        );
        assert!(!c.captured());
        assert_eq!(c.release(), Step::default(), "releasing twice does nothing");
        c.motion(1.0, 1.0);
        assert_eq!(c.flush(), Step::default());
        // Released with nothing held: only the cursor changes.
        c.toggle();
        assert_eq!(
            c.toggle(),
            Step {
                cursor: Some(Cursor::Release),
                ..Step::default()
            }
        );
    }

    #[test]
    fn raw_pairs_drop_each_second_copy() {
        let mut p = RawPairs::default();
        let t0 = Instant::now();
        let at = |us: u64| t0 + Duration::from_micros(us);
        // A A B B A A: three events, each delivered twice.
        let events = [
            (1.0, 0.0),
            (1.0, 0.0),
            (2.0, 1.0),
            (2.0, 1.0),
            (1.0, 0.0),
            (1.0, 0.0),
        ];
        let got: Vec<_> = events
            .into_iter()
            .enumerate()
            .filter_map(|(i, d)| p.filter(d, at(i as u64 * 500)))
            .collect();
        assert_eq!(got, [(1.0, 0.0), (2.0, 1.0), (1.0, 0.0)]);
        // Steady identical motion stays whole: A A A A is two events.
        let n = (0..4)
            .filter_map(|i| p.filter((3.0, 3.0), at(10_000 + i * 100)))
            .count();
        assert_eq!(n, 2);
        // An unpaired event long ago does not swallow a new one.
        p.filter((5.0, 0.0), at(100_000));
        assert_eq!(p.filter((5.0, 0.0), at(200_000)), Some((5.0, 0.0)));
    }

    #[test]
    fn wheel_release_echoes_are_marked_once() {
        let mut w = WheelReleaseEcho::default();
        // Press (raw, twice under the grab), its wheel step, release (raw, twice), echo.
        w.raw_button(4, true);
        w.raw_button(4, true);
        assert!(!w.is_echo());
        w.raw_button(4, false);
        w.raw_button(4, false);
        assert!(w.is_echo());
        assert!(!w.is_echo(), "one echo per release");
        // Ordinary buttons never mark anything.
        w.raw_button(1, false);
        w.raw_button(3, false);
        assert!(!w.is_echo());
    }

    #[test]
    fn release_forgets_a_pending_swallowed_release() {
        let mut c = Capture::new();
        c.button(Button::Left, true); // captures
        c.release(); // focus lost before the button came up
        c.toggle();
        assert_eq!(
            c.button(Button::Left, false),
            Step::default(),
            "not held: no change"
        );
        assert_eq!(
            c.button(Button::Left, true).input,
            input(0, 0, 0, buttons::LEFT)
        );
    }
}
