//! Standard mode register sets (mode 3 and mode 13h) and what mode the registers describe.
//!
//! Register values are those of SeaBIOS `vgasrc/stdvgamodes.c` (`sequ_03`/`crtc_03`/
//! `actl_01`/`grdc_01` for mode 3, the `_13` tables for mode 13h), which match IBM's.

use std::sync::Arc;

use super::font::Font;
use super::palette::{PAL_EGA, PAL_VGA};
use super::regs::{AR_INDEX_PAS, CRTC_REGS, VgaState, idx};

/// What the registers make the display show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VgaMode {
    /// Alphanumeric mode: `cols` x `rows` cells of `char_width` x `char_height` dots.
    Text {
        /// Characters per row (CR01 + 1).
        cols: u16,
        /// Rows on screen (vertical display end / char height).
        rows: u16,
        /// Scanlines per character (CR09 bits 0-4, + 1).
        char_height: u8,
        /// Dots per character: 9, or 8 with SR1 bit 0.
        char_width: u8,
    },
    /// Chained 256-colour graphics, one byte per pixel (mode 13h).
    Graphics256 {
        /// Pixels per line.
        width: u16,
        /// Lines.
        height: u16,
    },
    /// A graphics mode this device detects but does not draw.
    Unsupported {
        /// Which kind of mode, for the user.
        description: &'static str,
    },
}

impl VgaMode {
    /// Size of the rendered picture in pixels.
    pub fn resolution(&self) -> (u32, u32) {
        match *self {
            VgaMode::Text {
                cols,
                rows,
                char_height,
                char_width,
            } => (
                u32::from(cols) * u32::from(char_width),
                u32::from(rows) * u32::from(char_height),
            ),
            VgaMode::Graphics256 { width, height } => (u32::from(width), u32::from(height)),
            VgaMode::Unsupported { .. } => UNSUPPORTED_RESOLUTION,
        }
    }
}

/// The picture drawn in a mode we cannot render: a plain 640x400 panel with a message.
pub const UNSUPPORTED_RESOLUTION: (u32, u32) = (640, 400);

const MODE3_MISC: u8 = 0x67;
const MODE3_SEQ: [u8; 5] = [0x03, 0x00, 0x03, 0x00, 0x02];
#[rustfmt::skip]
const MODE3_CRTC: [u8; CRTC_REGS] = [
    0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f,
    0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
    0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3,
    0xff,
];
#[rustfmt::skip]
const MODE3_ATTR: [u8; 0x15] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07,
    0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
    0x0c, 0x00, 0x0f, 0x08, 0x00,
];
const MODE3_GFX: [u8; 9] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x0f, 0xff];

const MODE13_MISC: u8 = 0x63;
const MODE13_SEQ: [u8; 5] = [0x03, 0x01, 0x0f, 0x00, 0x0e];
#[rustfmt::skip]
const MODE13_CRTC: [u8; CRTC_REGS] = [
    0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f,
    0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x9c, 0x8e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3,
    0xff,
];
#[rustfmt::skip]
const MODE13_ATTR: [u8; 0x15] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x41, 0x00, 0x0f, 0x00, 0x00,
];
const MODE13_GFX: [u8; 9] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff];

/// Mode 13h's fixed picture size.
const MODE13_SIZE: (u16, u16) = (320, 200);

/// One mode's complete register set.
struct ModeTable<'a> {
    misc: u8,
    seq: [u8; 5],
    crtc: [u8; CRTC_REGS],
    attr: [u8; 0x15],
    gfx: [u8; 9],
    dac: &'a [[u8; 3]],
}

impl VgaState {
    /// Loads the mode 3 register set (80x25 colour text, 9x16 cells, 720x400), the
    /// EGA palette and the built-in font, as int 10h AX=0003h does.
    pub fn set_mode_3(&mut self) {
        self.load(&ModeTable {
            misc: MODE3_MISC,
            seq: MODE3_SEQ,
            crtc: MODE3_CRTC,
            attr: MODE3_ATTR,
            gfx: MODE3_GFX,
            dac: &PAL_EGA,
        });
        self.font = Arc::new(Font::builtin_8x16());
    }

    /// Loads the mode 13h register set (320x200, 256 colours, chain-4) and the VGA
    /// palette, as int 10h AX=0013h does.
    pub fn set_mode_13h(&mut self) {
        self.load(&ModeTable {
            misc: MODE13_MISC,
            seq: MODE13_SEQ,
            crtc: MODE13_CRTC,
            attr: MODE13_ATTR,
            gfx: MODE13_GFX,
            dac: &PAL_VGA,
        });
    }

    fn load(&mut self, t: &ModeTable<'_>) {
        self.misc = t.misc;
        self.seq = t.seq;
        self.crtc = t.crtc;
        self.attr = t.attr;
        self.gfx = t.gfx;
        self.attr_index = AR_INDEX_PAS;
        self.attr_flip_flop = false;
        self.pel_mask = 0xFF;
        self.dac = [[0; 3]; 256];
        for (slot, entry) in self.dac.iter_mut().zip(t.dac) {
            *slot = *entry;
        }
        self.dac_read_index = 0;
        self.dac_write_index = 0;
        self.dac_sub_index = 0;
        self.dac_reading = false;
        self.bump();
    }

    /// What the current registers describe. Text when GR6 bit 0 is clear; 256-colour
    /// graphics when GR5 bit 6 is set with chain-4; other graphics modes are reported as
    /// unsupported rather than drawn wrongly.
    pub fn mode(&self) -> VgaMode {
        let gr6 = self.gfx[idx::GR_MISC];
        let gr5 = self.gfx[idx::GR_MODE];
        if gr6 & 1 == 0 {
            let g = self.text_geometry();
            return VgaMode::Text {
                cols: g.cols,
                rows: g.rows,
                char_height: g.char_height,
                char_width: g.char_width,
            };
        }
        let description = if gr5 & 0x40 != 0 {
            if self.seq[idx::SR_MEMORY_MODE] & 0x08 != 0 {
                let (width, height) = MODE13_SIZE;
                return VgaMode::Graphics256 { width, height };
            }
            "unchained 256-colour graphics (mode X)"
        } else if gr5 & 0x20 != 0 {
            "CGA 4-colour graphics (modes 4/5)"
        } else if (gr6 >> 2) & 3 == 3 {
            "CGA 2-colour graphics (mode 6)"
        } else {
            "planar 16-colour graphics (modes 0Dh-12h)"
        };
        VgaMode::Unsupported { description }
    }

    /// Text-mode geometry from the CRTC and sequencer, clamped to at least one cell.
    pub(super) fn text_geometry(&self) -> TextGeometry {
        let cr = &self.crtc;
        let cols = u16::from(cr[idx::CR_H_DISP_END]) + 1;
        let char_height = (cr[idx::CR_MAX_SCAN] & 0x1F) + 1;
        let overflow = cr[idx::CR_OVERFLOW];
        let vdisp_end = u16::from(cr[idx::CR_V_DISP_END])
            | (u16::from(overflow >> 1) & 1) << 8
            | (u16::from(overflow >> 6) & 1) << 9;
        let rows = ((vdisp_end + 1) / u16::from(char_height)).max(1);
        let char_width = if self.seq[idx::SR_CLOCKING] & 1 != 0 {
            8
        } else {
            9
        };
        TextGeometry {
            cols,
            rows,
            char_height,
            char_width,
            start: self.start_address(),
            row_stride: u16::from(cr[idx::CR_OFFSET]) * 2,
        }
    }
}

/// Where text cells are and how big they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TextGeometry {
    pub cols: u16,
    pub rows: u16,
    pub char_height: u8,
    pub char_width: u8,
    /// Word offset of the top-left cell (CR0C:CR0D).
    pub start: u16,
    /// Words from one row to the next (CR13 * 2 in word mode).
    pub row_stride: u16,
}

impl TextGeometry {
    /// Word address of cell (row, col), as the CRTC's 16-bit address counter computes it.
    pub fn cell_address(&self, row: u16, col: u16) -> u16 {
        self.start
            .wrapping_add(row.wrapping_mul(self.row_stride))
            .wrapping_add(col)
    }

    /// The cell a word address falls on, if it is on screen.
    pub fn locate(&self, address: u16) -> Option<(u16, u16)> {
        let offset = address.wrapping_sub(self.start);
        let (row, col) = match self.row_stride {
            0 => (0, offset),
            stride => (offset / stride, offset % stride),
        };
        (row < self.rows && col < self.cols).then_some((row, col))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_on_is_mode_3_with_the_ega_palette() {
        let s = VgaState::new();
        assert_eq!(
            s.mode(),
            VgaMode::Text {
                cols: 80,
                rows: 25,
                char_height: 16,
                char_width: 9
            }
        );
        assert_eq!(s.mode().resolution(), (720, 400));
        assert_eq!(s.misc(), 0x67);
        assert_eq!(s.cursor_shape(), (0x0D, 0x0E));
        assert_eq!(s.attr(6), 0x14);
        assert_eq!(s.attr(0x10), 0x0C);
        assert!(s.blink_enabled());
        assert!(!s.blanked());
        assert_eq!(s.dac_entry(0x14), [0x2A, 0x15, 0x00]);
        assert_eq!(s.dac_entry(0x3F), [0x3F, 0x3F, 0x3F]);
        assert_eq!(s.dac_entry(0x40), [0, 0, 0]);
        assert_eq!(s.gfx(6), 0x0E);
        assert_eq!(s.crtc(0x13), 0x28);
    }

    #[test]
    fn mode_13h_table_and_detection() {
        let mut s = VgaState::new();
        s.set_mode_13h();
        assert_eq!(
            s.mode(),
            VgaMode::Graphics256 {
                width: 320,
                height: 200
            }
        );
        assert_eq!(s.misc(), 0x63);
        assert_eq!(
            (1..5).map(|i| s.seq(i)).collect::<Vec<_>>(),
            [0x01, 0x0F, 0x00, 0x0E]
        );
        assert_eq!(s.crtc(0x09), 0x41);
        assert_eq!(s.crtc(0x14), 0x40);
        assert_eq!(s.attr(0x10), 0x41);
        assert_eq!(s.gfx(5), 0x40);
        assert_eq!(s.gfx(6), 0x05);
        assert_eq!(s.dac_entry(0x1F), [0x3F, 0x3F, 0x3F]);
        assert_eq!(s.dac_entry(0x20), [0x00, 0x00, 0x3F]);
        s.set_mode_3();
        assert!(matches!(s.mode(), VgaMode::Text { cols: 80, .. }));
        assert_eq!(s.dac_entry(0x20), [0x15, 0x00, 0x00]);
        assert_eq!(
            s.dac_entry(0x40),
            [0x00, 0x00, 0x00],
            "pal_ega has 64 entries"
        );
    }

    #[test]
    fn other_graphics_modes_are_reported_unsupported() {
        let mut s = VgaState::new();
        s.set_mode_13h();
        s.write_port(0x3C4, 4);
        s.write_port(0x3C5, 0x06); // chain-4 off: mode X
        assert!(
            matches!(s.mode(), VgaMode::Unsupported { description } if description.contains("mode X"))
        );
        // Mode 12h: planar, GR5 = 0, GR6 = 0x05.
        s.write_port(0x3CE, 5);
        s.write_port(0x3CF, 0x00);
        assert!(
            matches!(s.mode(), VgaMode::Unsupported { description } if description.contains("planar"))
        );
        // Mode 4: CGA shift interleave, map B8000.
        s.write_port(0x3CF, 0x30);
        s.write_port(0x3CE, 6);
        s.write_port(0x3CF, 0x0F);
        assert!(
            matches!(s.mode(), VgaMode::Unsupported { description } if description.contains("CGA 4"))
        );
        s.write_port(0x3CE, 5);
        s.write_port(0x3CF, 0x00);
        assert!(
            matches!(s.mode(), VgaMode::Unsupported { description } if description.contains("mode 6"))
        );
        assert_eq!(s.mode().resolution(), UNSUPPORTED_RESOLUTION);
    }

    #[test]
    fn text_geometry_follows_crtc_and_clocking() {
        let mut s = VgaState::new();
        s.set_crtc(0x09, 0x07); // 8-line font
        s.write_port(0x3C4, 1);
        s.write_port(0x3C5, 0x01); // 8-dot
        assert_eq!(
            s.mode(),
            VgaMode::Text {
                cols: 80,
                rows: 50,
                char_height: 8,
                char_width: 8
            }
        );
        // Degenerate values stay sane: 1 column, at least 1 row.
        s.set_crtc(0x01, 0);
        s.set_crtc(0x12, 0);
        s.set_crtc(0x07, 0);
        s.set_crtc(0x09, 0x1F);
        assert_eq!(
            s.mode(),
            VgaMode::Text {
                cols: 1,
                rows: 1,
                char_height: 32,
                char_width: 8
            }
        );
    }

    #[test]
    fn cell_addresses_wrap_and_locate_round_trips() {
        let mut s = VgaState::new();
        s.set_start_address(0xFFF0);
        let g = s.text_geometry();
        assert_eq!(g.cell_address(0, 0x20), 0x0010);
        assert_eq!(g.locate(0x0010), Some((0, 0x20)));
        assert_eq!(
            g.locate(0xFFF0u16.wrapping_add(80 * 24 + 79)),
            Some((24, 79)),
            "the 16-bit address counter wraps"
        );
        s.set_start_address(0);
        let g = s.text_geometry();
        assert_eq!(g.locate(80 * 24 + 79), Some((24, 79)));
        assert_eq!(g.locate(80 * 25), None);
        assert_eq!(g.locate(0xFFFF), None);
    }
}
