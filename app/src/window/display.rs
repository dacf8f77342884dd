//! The guest picture on the UI thread: notices what changed, renders with hv-core's
//! renderer only then, and composes picture, letterbox and overlay into the window.
//!
//! Nothing is drawn when nothing changed: the register generation, the bytes of the
//! video memory window the mode displays (memcmp of 32 or 64 KiB, far cheaper than a
//! render), and the blink phases together decide. The vCPU thread is never waited on:
//! the VGA lock is only held to clone the register file.

use std::sync::Mutex;
use std::time::Duration;

use hv_core::GuestMemory;
use hv_core::devices::vga::{
    CHAR_BLINK_HALF_PERIOD, COLOUR_TEXT_BASE, CURSOR_BLINK_HALF_PERIOD, Frame, GRAPHICS_BASE,
    MONO_TEXT_BASE, RenderInfo, VgaMode, VgaState, render,
};

use super::scale::{self, Size};

/// The letterbox around the picture: nearly black, so the picture's own black edge
/// stays visible as an edge.
const LETTERBOX: [u8; 4] = [0x12, 0x13, 0x17, 0xFF];
const TEXT_WINDOW_BYTES: usize = 0x8000;
const GRAPHICS_WINDOW_BYTES: usize = 0x10000;

/// Everything besides video memory that decides what the picture looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Look {
    generation: u64,
    cursor_on: Option<bool>,
    blink_on: Option<bool>,
}

/// The guest's picture at its own resolution, and what it was drawn from.
#[derive(Debug, Default)]
pub struct Display {
    frame: Frame,
    info: Option<RenderInfo>,
    look: Option<Look>,
    vram: Vec<u8>,
    scratch: Vec<u8>,
}

/// Which guest memory the mode shows.
fn video_window(state: &VgaState) -> Option<(u64, usize)> {
    match state.mode() {
        VgaMode::Text { .. } => Some((
            if state.colour_ports() {
                COLOUR_TEXT_BASE
            } else {
                MONO_TEXT_BASE
            },
            TEXT_WINDOW_BYTES,
        )),
        VgaMode::Graphics256 { .. } => Some((GRAPHICS_BASE, GRAPHICS_WINDOW_BYTES)),
        VgaMode::Unsupported { .. } => None,
    }
}

fn phase(time: Duration, half_period: Duration) -> bool {
    (time.as_nanos() / half_period.as_nanos().max(1)) % 2 == 0
}

impl Display {
    /// Nothing rendered yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The last rendered frame (guest resolution).
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// What the last render saw.
    pub fn info(&self) -> Option<&RenderInfo> {
        self.info.as_ref()
    }

    /// Renders again if the picture can have changed since the last call; returns
    /// whether it did. `time` drives blinking (the machine clock, as the headless
    /// screenshot uses).
    pub fn update(&mut self, vga: &Mutex<VgaState>, mem: &GuestMemory, time: Duration) -> bool {
        let state = match vga.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let text = matches!(state.mode(), VgaMode::Text { .. });
        let cursor_visible = self.info.as_ref().is_some_and(|i| i.cursor.is_some());
        let look = Look {
            generation: state.generation(),
            cursor_on: (text && cursor_visible).then(|| phase(time, CURSOR_BLINK_HALF_PERIOD)),
            blink_on: (text && state.blink_enabled()).then(|| phase(time, CHAR_BLINK_HALF_PERIOD)),
        };
        let vram_changed = self.snapshot_vram(&state, mem);
        if !vram_changed && self.look == Some(look) {
            return false;
        }
        let info = render(&state, mem, time, &mut self.frame);
        // The cursor's visibility is only known after a render: take its phase now.
        let cursor_on =
            (text && info.cursor.is_some()).then(|| phase(time, CURSOR_BLINK_HALF_PERIOD));
        self.look = Some(Look { cursor_on, ..look });
        self.info = Some(info);
        true
    }

    /// Copies the displayed video memory; true if it differs from the last copy.
    fn snapshot_vram(&mut self, state: &VgaState, mem: &GuestMemory) -> bool {
        let Some((base, len)) = video_window(state) else {
            let changed = !self.vram.is_empty();
            self.vram.clear();
            return changed;
        };
        self.scratch.resize(len, 0);
        if mem.read(base, &mut self.scratch).is_err() {
            self.scratch.fill(0);
        }
        if self.scratch == self.vram {
            return false;
        }
        std::mem::swap(&mut self.scratch, &mut self.vram);
        true
    }

    /// Draws the picture into `buf` (the window, `window` pixels): letterbox, then the
    /// scaled frame. Returns where the picture went.
    pub fn compose(&self, buf: &mut [u8], window: Size) -> scale::Placement {
        for px in buf.chunks_exact_mut(4) {
            px.copy_from_slice(&LETTERBOX);
        }
        let src = Size::new(self.frame.width, self.frame.height);
        let placement = scale::place(src, window);
        scale::blit(&self.frame.rgba, src, buf, window, &placement);
        placement
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blink_phases_alternate_each_half_period() {
        let h = Duration::from_millis(100);
        assert!(phase(Duration::ZERO, h));
        assert!(!phase(Duration::from_millis(150), h));
        assert!(phase(Duration::from_millis(250), h));
    }

    #[test]
    fn nothing_changes_nothing_is_redrawn() {
        let mem = GuestMemory::ram(1 << 20).expect("ram");
        let vga = Mutex::new(VgaState::default());
        if let Ok(mut v) = vga.lock() {
            v.set_mode_3();
            // Cursor and character blinking off, so time does not matter.
            v.set_crtc(0x0A, 0x20);
            v.set_blink_enabled(false);
        }
        let mut d = Display::new();
        assert!(d.update(&vga, &mem, Duration::ZERO), "first frame");
        assert!(!d.update(&vga, &mem, Duration::from_secs(3)), "idle");
        mem.write(COLOUR_TEXT_BASE, b"H\x07").expect("write");
        assert!(d.update(&vga, &mem, Duration::from_secs(3)), "video memory");
        assert!(!d.update(&vga, &mem, Duration::from_secs(4)));
        if let Ok(mut v) = vga.lock() {
            v.set_mode_13h();
        }
        assert!(d.update(&vga, &mem, Duration::from_secs(4)), "mode switch");
        assert_eq!((d.frame().width, d.frame().height), (320, 200));
    }

    #[test]
    fn a_visible_cursor_redraws_on_its_blink() {
        let mem = GuestMemory::ram(1 << 20).expect("ram");
        let vga = Mutex::new(VgaState::default());
        if let Ok(mut v) = vga.lock() {
            v.set_mode_3();
            v.set_blink_enabled(false);
        }
        let mut d = Display::new();
        assert!(d.update(&vga, &mem, Duration::ZERO));
        assert!(!d.update(&vga, &mem, Duration::from_millis(10)));
        assert!(d.update(
            &vga,
            &mem,
            CURSOR_BLINK_HALF_PERIOD + Duration::from_millis(1)
        ));
    }

    #[test]
    fn compose_letterboxes_and_scales() {
        let mem = GuestMemory::ram(1 << 20).expect("ram");
        let vga = Mutex::new(VgaState::default());
        if let Ok(mut v) = vga.lock() {
            v.set_mode_13h();
        }
        let mut d = Display::new();
        d.update(&vga, &mem, Duration::ZERO);
        let window = Size::new(700, 420);
        let mut buf = vec![0u8; 700 * 420 * 4];
        let p = d.compose(&mut buf, window);
        assert_eq!(p.factors, Some((2, 2)));
        assert_eq!(&buf[0..4], &LETTERBOX);
    }
}
