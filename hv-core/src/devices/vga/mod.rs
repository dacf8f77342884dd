//! A standard VGA: register emulation on the vCPU thread, rendering on the UI thread.
//!
//! Video memory (0xA0000-0xBFFFF) is plain guest RAM, so guest writes to the screen never
//! exit; only the registers at 0x3B0-0x3DF trap into [`Vga`]. The register state lives in
//! an `Arc<Mutex<VgaState>>`: the device updates it on port I/O, and the UI locks it only
//! long enough to clone a snapshot, then calls [`render`] with that snapshot and guest
//! memory at its own frame rate. [`VgaState::generation`] lets it skip unchanged frames.
//!
//! Modes: text (mode 3 and friends) and chained 256-colour graphics (mode 13h) are drawn;
//! other graphics modes are detected and reported as [`VgaMode::Unsupported`].
//!
//! Fonts: text is drawn from a built-in CP437 8x16 font until the guest loads its own
//! through the plane-2 window; see [`Vga`] for how the upload is captured.

mod font;
mod modes;
mod palette;
mod regs;
mod render;
mod text;
mod vram;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::bus::BusDevice;
use crate::memory::GuestMemory;

pub use font::{FONT_BYTES, Font, GLYPH_STRIDE};
pub use modes::VgaMode;
pub use palette::{DacEntry, PAL_EGA, PAL_VGA, dac_to_rgb8};
pub use regs::{AR_INDEX_PAS, VgaState};
pub use render::{CHAR_BLINK_HALF_PERIOD, CURSOR_BLINK_HALF_PERIOD, Frame, RenderInfo, render};
pub use text::{CP437, TextScreen, text_screen};
pub use vram::{COLOUR_TEXT_BASE, GRAPHICS_BASE, MONO_TEXT_BASE};

/// First VGA I/O port.
pub const PORT_BASE: u64 = 0x3B0;
/// Number of ports from [`PORT_BASE`] (0x3B0-0x3DF).
pub const PORT_COUNT: u64 = 0x30;

/// Where the font window shows plane 2 while it is open.
const FONT_WINDOW: u64 = GRAPHICS_BASE;

/// The VGA register device on the port bus.
///
/// Font uploads: while the guest has plane 2 mapped at 0xA0000 (SR2=0x04, SR4 odd/even
/// off, GR4=2, GR6 text with map A0000, the sequence BIOSes and Linux vgacon use), the
/// guest RAM there stands in for plane 2. Opening the window copies the current font in,
/// so reads and partial edits see real glyphs; closing it captures the 8 KiB (first
/// character map, 32 bytes per glyph) as the new font. Only that map is captured.
#[derive(Debug)]
pub struct Vga {
    state: Arc<Mutex<VgaState>>,
    mem: GuestMemory,
}

impl Vga {
    /// A VGA in the power-on state (mode 3, standard palette, built-in font). `mem` is
    /// used only for the plane-2 font window.
    pub fn new(mem: GuestMemory) -> Self {
        Self {
            state: Arc::new(Mutex::new(VgaState::new())),
            mem,
        }
    }

    /// A VGA whose register state lives in `state` (kept across machine resets so the
    /// front end's handle stays valid). The state is put back to power-on.
    pub fn with_state(state: Arc<Mutex<VgaState>>, mem: GuestMemory) -> Self {
        state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .power_on();
        Self { state, mem }
    }

    /// The shared register state, for the UI's renderer and the BIOS's int 10h.
    pub fn shared(&self) -> Arc<Mutex<VgaState>> {
        Arc::clone(&self.state)
    }

    fn lock(&self) -> MutexGuard<'_, VgaState> {
        // A panic elsewhere while holding the lock leaves plain register values behind,
        // which are still valid: carry on with them.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The port number if `addr` is one of ours.
    fn port(addr: u64) -> Option<u16> {
        if (PORT_BASE..PORT_BASE + PORT_COUNT).contains(&addr) {
            u16::try_from(addr).ok()
        } else {
            None
        }
    }

    fn write_byte(&self, state: &mut VgaState, port: u16, value: u8) {
        let was_open = state.plane2_mapped();
        state.write_port(port, value);
        match (was_open, state.plane2_mapped()) {
            (false, true) => self.open_font_window(state),
            (true, false) => self.close_font_window(state),
            _ => {}
        }
    }

    fn open_font_window(&self, state: &VgaState) {
        log::debug!("vga: plane-2 font window opened");
        if let Err(e) = self.mem.write(FONT_WINDOW, state.font().as_plane2()) {
            log::warn!("vga: cannot expose the font at {FONT_WINDOW:#x}: {e}");
        }
    }

    fn close_font_window(&self, state: &mut VgaState) {
        let mut image = vec![0u8; FONT_BYTES];
        match self.mem.read(FONT_WINDOW, &mut image) {
            Ok(()) => {
                log::debug!("vga: captured a guest font from plane 2");
                state.set_font(Font::from_plane2(&image));
            }
            Err(e) => log::warn!("vga: cannot capture the guest font: {e}"),
        }
    }
}

impl BusDevice for Vga {
    /// Multi-byte reads read consecutive ports, as the ISA bus splits them.
    fn read(&mut self, addr: u64, data: &mut [u8]) {
        let mut state = self.lock();
        for (i, byte) in data.iter_mut().enumerate() {
            let port = addr.checked_add(i as u64).and_then(Self::port);
            *byte = port.map_or(0xFF, |p| state.read_port(p));
        }
    }

    /// Multi-byte writes go to consecutive ports low byte first, so `outw 0x3D4` sets the
    /// CRTC index and then the register (Linux vgacon's `write_vga`).
    fn write(&mut self, addr: u64, data: &[u8]) {
        let mut guard = self.lock();
        for (i, &value) in data.iter().enumerate() {
            if let Some(port) = addr.checked_add(i as u64).and_then(Self::port) {
                self.write_byte(&mut guard, port, value);
            }
        }
    }
}

#[cfg(test)]
mod tests;
