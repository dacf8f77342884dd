//! Turns a register snapshot plus guest video memory into RGBA pixels.
//!
//! The UI thread calls [`render`] at its own frame rate with a clone of [`VgaState`], so
//! the vCPU thread never waits for drawing. Text mode is the hot path (720x400 every
//! frame): cells are decoded once per text row, glyph scanlines expand through a
//! precomputed mask table, and pixels are written as whole `u32`s.

use std::time::Duration;

use crate::memory::GuestMemory;

use super::font::Font;
use super::modes::{TextGeometry, VgaMode};
use super::palette::dac_to_rgb8;
use super::regs::{VgaState, idx};
use super::vram::{self, GRAPHICS_BASE, GRAPHICS_WINDOW_BYTES, TEXT_WINDOW_BYTES};

/// Half period of the text cursor blink: 16 frames at 60 Hz (QEMU's rate).
pub const CURSOR_BLINK_HALF_PERIOD: Duration = Duration::from_micros(266_667);
/// Half period of blinking characters: 32 frames at 60 Hz.
pub const CHAR_BLINK_HALF_PERIOD: Duration = Duration::from_micros(533_333);

/// Bytes per RGBA pixel.
const BPP: usize = 4;
const BLACK: u32 = u32::from_ne_bytes([0, 0, 0, 0xFF]);
const MESSAGE_GREY: u32 = u32::from_ne_bytes([0xAA, 0xAA, 0xAA, 0xFF]);

/// An RGBA8 picture, row-major, `width * height * 4` bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    /// Pixels per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// R, G, B, A bytes for each pixel.
    pub rgba: Vec<u8>,
}

impl Frame {
    /// An empty frame; [`render`] sizes it.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the size, reallocating only when it changes.
    pub fn resize(&mut self, width: u32, height: u32) {
        self.width = width;
        self.height = height;
        let len = width as usize * height as usize * BPP;
        if self.rgba.len() != len {
            self.rgba.resize(len, 0);
        }
    }

    /// The pixel at (x, y) as [r, g, b, a], if inside the frame.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * BPP;
        let p = self.rgba.get(i..i + BPP)?;
        Some([p[0], p[1], p[2], p[3]])
    }

    fn fill(&mut self, colour: u32) {
        let px = colour.to_ne_bytes();
        for dst in self.rgba.chunks_exact_mut(BPP) {
            dst.copy_from_slice(&px);
        }
    }
}

/// What was drawn, for the UI's overlay and window title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderInfo {
    /// The mode the registers describe.
    pub mode: VgaMode,
    /// Text cursor cell as (row, col) when enabled and on screen, whatever the blink phase.
    pub cursor: Option<(u16, u16)>,
    /// The picture is black because PAS = 0 or the sequencer turned the screen off.
    pub blanked: bool,
    /// [`VgaState::generation`] of the snapshot drawn.
    pub generation: u64,
}

/// Draws the current picture into `frame`, resizing it to the mode's resolution. `time`
/// drives cursor and character blinking (any monotonic clock will do).
pub fn render(
    state: &VgaState,
    mem: &GuestMemory,
    time: Duration,
    frame: &mut Frame,
) -> RenderInfo {
    let mode = state.mode();
    let (width, height) = mode.resolution();
    frame.resize(width, height);
    let blanked = state.blanked();
    let cursor = match mode {
        VgaMode::Text { .. } => {
            text_cursor(state, &state.text_geometry()).map(|(row, col, _)| (row, col))
        }
        _ => None,
    };
    if blanked {
        frame.fill(BLACK);
    } else {
        match mode {
            VgaMode::Text { .. } => draw_text(state, mem, time, frame),
            VgaMode::Graphics256 { width, height } => draw_256(state, mem, width, height, frame),
            VgaMode::Unsupported { description } => {
                draw_message(frame, &["Unsupported VGA mode:", description]);
            }
        }
    }
    RenderInfo {
        mode,
        cursor,
        blanked,
        generation: state.generation(),
    }
}

/// An opaque pixel from a 6-bit DAC entry.
fn dac_colour(state: &VgaState, index: u8) -> u32 {
    let [r, g, b] = state.dac_entry(index & state.pel_mask());
    u32::from_ne_bytes([dac_to_rgb8(r), dac_to_rgb8(g), dac_to_rgb8(b), 0xFF])
}

/// The 16 text colours: attribute palette (AR0-F) -> DAC index, with AR14 supplying
/// bits 6-7 (and bits 4-5 when AR10 bit 7 is set), then through the DAC.
fn text_palette(state: &VgaState) -> [u32; 16] {
    let select = state.attr(idx::AR_COLOUR_SELECT);
    let p54_from_select = state.attr(idx::AR_MODE) & 0x80 != 0;
    std::array::from_fn(|i| {
        let ar = state.attr(i) & 0x3F;
        let low = if p54_from_select {
            (ar & 0x0F) | ((select & 0x03) << 4)
        } else {
            ar
        };
        dac_colour(state, low | ((select & 0x0C) << 4))
    })
}

/// Bit masks for the 8 dots of every glyph scanline byte (bit 7 = leftmost dot).
static DOT_MASKS: [[u32; 8]; 256] = {
    let mut t = [[0u32; 8]; 256];
    let mut bits = 0;
    while bits < 256 {
        let mut dot = 0;
        while dot < 8 {
            if bits & (0x80 >> dot) != 0 {
                t[bits][dot] = u32::MAX;
            }
            dot += 1;
        }
        bits += 1;
    }
    t
};

/// One decoded text cell.
#[derive(Clone, Copy)]
struct Cell {
    glyph: u8,
    fg: u32,
    bg: u32,
    /// The 9th dot repeats the 8th (line-graphics characters 0xC0-0xDF).
    extend: bool,
}

/// Writes one glyph scanline (8 or 9 dots) into `px`.
#[inline]
fn draw_glyph_row(px: &mut [u8], bits: u8, fg: u32, bg: u32, extend: bool) {
    for (dst, &m) in px.chunks_exact_mut(BPP).zip(&DOT_MASKS[usize::from(bits)]) {
        dst.copy_from_slice(&((fg & m) | (bg & !m)).to_ne_bytes());
    }
    if let Some(ninth) = px.get_mut(8 * BPP..9 * BPP) {
        let on = extend && bits & 1 != 0;
        ninth.copy_from_slice(&if on { fg } else { bg }.to_ne_bytes());
    }
}

/// The cursor cell and its scanlines, if the cursor is enabled and on screen.
fn text_cursor(
    state: &VgaState,
    g: &TextGeometry,
) -> Option<(u16, u16, std::ops::RangeInclusive<usize>)> {
    let (start, end) = state.cursor_shape();
    if start & 0x20 != 0 {
        return None;
    }
    let first = usize::from(start & 0x1F);
    let last = usize::from(end & 0x1F).min(usize::from(g.char_height) - 1);
    if first > last {
        return None;
    }
    let (row, col) = g.locate(state.cursor_location())?;
    Some((row, col, first..=last))
}

fn blink_phase_on(time: Duration, half_period: Duration) -> bool {
    (time.as_micros() / half_period.as_micros().max(1)) % 2 == 0
}

fn draw_text(state: &VgaState, mem: &GuestMemory, time: Duration, frame: &mut Frame) {
    let g = state.text_geometry();
    let window = vram::snapshot(mem, vram::text_base(state), TEXT_WINDOW_BYTES);
    let palette = text_palette(state);
    let font: &Font = state.font();
    let ar_mode = state.attr(idx::AR_MODE);
    let blink_enabled = ar_mode & 0x08 != 0;
    let line_graphics = ar_mode & 0x04 != 0;
    let blink_shown = blink_phase_on(time, CHAR_BLINK_HALF_PERIOD);
    let cursor = text_cursor(state, &g).filter(|_| blink_phase_on(time, CURSOR_BLINK_HALF_PERIOD));

    let cw = usize::from(g.char_width);
    let ch = usize::from(g.char_height);
    let pitch = usize::from(g.cols) * cw * BPP;
    let mut cells = Vec::with_capacity(usize::from(g.cols));
    for (row, text_row) in (0..g.rows).zip(frame.rgba.chunks_exact_mut(pitch * ch)) {
        cells.clear();
        cells.extend((0..g.cols).map(|col| {
            let (glyph, attr) = vram::text_cell(&window, g.cell_address(row, col));
            let fg = palette[usize::from(attr & 0x0F)];
            let bg_index = if blink_enabled {
                (attr >> 4) & 7
            } else {
                attr >> 4
            };
            let bg = palette[usize::from(bg_index)];
            let hidden = blink_enabled && attr & 0x80 != 0 && !blink_shown;
            Cell {
                glyph,
                fg: if hidden { bg } else { fg },
                bg,
                extend: line_graphics && (0xC0..=0xDF).contains(&glyph),
            }
        }));
        for (line, out) in text_row.chunks_exact_mut(pitch).enumerate() {
            for (cell, px) in cells.iter().zip(out.chunks_exact_mut(cw * BPP)) {
                draw_glyph_row(
                    px,
                    font.row(cell.glyph, line),
                    cell.fg,
                    cell.bg,
                    cell.extend,
                );
            }
        }
        if let Some((cursor_row, col, lines)) = cursor.clone() {
            if cursor_row == row {
                // The cursor takes the cell's foreground colour, ignoring the blink bit.
                let (_, attr) = vram::text_cell(&window, g.cell_address(row, col));
                let colour = palette[usize::from(attr & 0x0F)].to_ne_bytes();
                let x = usize::from(col) * cw * BPP;
                for line in lines {
                    let start = line * pitch + x;
                    if let Some(span) = text_row.get_mut(start..start + cw * BPP) {
                        for dst in span.chunks_exact_mut(BPP) {
                            dst.copy_from_slice(&colour);
                        }
                    }
                }
            }
        }
    }
}

/// Mode 13h: one byte per pixel through the PEL mask and DAC. The CRTC start address
/// counts dwords and CR13 gives the line length in units of 8 bytes, as on chained VGA.
fn draw_256(state: &VgaState, mem: &GuestMemory, width: u16, height: u16, frame: &mut Frame) {
    let window = vram::snapshot(mem, GRAPHICS_BASE, GRAPHICS_WINDOW_BYTES);
    let palette: [u32; 256] = std::array::from_fn(|i| dac_colour(state, i as u8));
    let start = usize::from(state.start_address()) * 4;
    let stride = usize::from(state.crtc(idx::CR_OFFSET)) * 8;
    let pitch = usize::from(width) * BPP;
    for (y, out) in (0..usize::from(height)).zip(frame.rgba.chunks_exact_mut(pitch)) {
        let line = start + y * stride;
        for (x, dst) in out.chunks_exact_mut(BPP).enumerate() {
            let byte = window[(line + x) & (GRAPHICS_WINDOW_BYTES - 1)];
            dst.copy_from_slice(&palette[usize::from(byte)].to_ne_bytes());
        }
    }
}

/// A black frame with centred lines of text in the built-in font, so an unsupported mode
/// is visibly reported instead of drawn wrongly.
fn draw_message(frame: &mut Frame, lines: &[&str]) {
    frame.fill(BLACK);
    let font = Font::builtin_8x16();
    let width = frame.width as usize;
    let pitch = width * BPP;
    let top = (frame.height as usize).saturating_sub(lines.len() * 16) / 2;
    for (i, text) in lines.iter().enumerate() {
        let text_width = text.len() * 8;
        let left = width.saturating_sub(text_width) / 2;
        for (n, byte) in text.bytes().enumerate() {
            for line in 0..16 {
                let y = top + i * 16 + line;
                let x = (left + n * 8) * BPP;
                let start = y * pitch + x;
                if let Some(px) = frame.rgba.get_mut(start..start + 8 * BPP) {
                    draw_glyph_row(px, font.row(byte, line), MESSAGE_GREY, BLACK, false);
                }
            }
        }
    }
}
