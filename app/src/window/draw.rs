//! Drawing on the window's RGBA buffer: blended rectangles and CP437 text in the VGA
//! 8x16 font, clipped to the buffer. Used by the overlay.

use std::sync::OnceLock;

use hv_core::devices::vga::{CP437, Font};

use super::scale::Size;

/// Glyph cell width in font pixels.
pub const GLYPH_W: u32 = 8;
/// Glyph cell height in font pixels.
pub const GLYPH_H: u32 = 16;

/// An RGB colour.
pub type Rgb = [u8; 3];

/// The font the overlay writes with: hv-core's built-in CP437 8x16, so the overlay
/// looks like the machine it describes and stays readable whatever font the guest loads.
fn font() -> &'static Font {
    static FONT: OnceLock<Font> = OnceLock::new();
    FONT.get_or_init(Font::builtin_8x16)
}

/// The CP437 code for `c` (`?` for characters the font lacks).
pub fn cp437(c: char) -> u8 {
    if c.is_ascii() && !c.is_ascii_control() {
        return c as u8;
    }
    CP437
        .iter()
        .position(|&g| g == c)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(b'?')
}

/// A mutable view of an RGBA buffer.
#[derive(Debug)]
pub struct Canvas<'a> {
    buf: &'a mut [u8],
    size: Size,
}

impl<'a> Canvas<'a> {
    /// Wraps `buf`; `None` if it is smaller than `size` says.
    pub fn new(buf: &'a mut [u8], size: Size) -> Option<Self> {
        let needed = size.width as usize * size.height as usize * 4;
        (buf.len() >= needed).then_some(Self { buf, size })
    }

    /// The buffer size.
    pub fn size(&self) -> Size {
        self.size
    }

    fn index(&self, x: u32, y: u32) -> usize {
        (y as usize * self.size.width as usize + x as usize) * 4
    }

    /// Fills a rectangle with `colour` at `alpha` (0-255) over what is there.
    pub fn blend_rect(&mut self, x: u32, y: u32, w: u32, h: u32, colour: Rgb, alpha: u8) {
        let x1 = x.saturating_add(w).min(self.size.width);
        let y1 = y.saturating_add(h).min(self.size.height);
        let a = u32::from(alpha);
        for yy in y.min(y1)..y1 {
            let start = self.index(x.min(x1), yy);
            let end = self.index(x1, yy);
            for px in self.buf[start..end].chunks_exact_mut(4) {
                for (d, &c) in px.iter_mut().zip(&colour) {
                    *d = ((u32::from(*d) * (255 - a) + u32::from(c) * a + 127) / 255) as u8;
                }
                px[3] = 0xFF;
            }
        }
    }

    /// Writes `text` with its top-left corner at (x, y), each font pixel `scale` screen
    /// pixels square. Returns the x after the last glyph.
    pub fn text(&mut self, x: u32, y: u32, text: &str, colour: Rgb, scale: u32) -> u32 {
        let mut cx = x;
        for c in text.chars() {
            self.glyph(cx, y, cp437(c), colour, scale);
            cx = cx.saturating_add(GLYPH_W * scale);
        }
        cx
    }

    fn glyph(&mut self, x: u32, y: u32, code: u8, colour: Rgb, scale: u32) {
        let glyph = font().glyph(code);
        for (row, &bits) in glyph.iter().take(GLYPH_H as usize).enumerate() {
            if bits == 0 {
                continue;
            }
            for col in 0..GLYPH_W {
                if bits & (0x80 >> col) == 0 {
                    continue;
                }
                let px = x.saturating_add(col * scale);
                let py = y.saturating_add(row as u32 * scale);
                self.solid_rect(px, py, scale, scale, colour);
            }
        }
    }

    fn solid_rect(&mut self, x: u32, y: u32, w: u32, h: u32, colour: Rgb) {
        let x1 = x.saturating_add(w).min(self.size.width);
        let y1 = y.saturating_add(h).min(self.size.height);
        for yy in y.min(y1)..y1 {
            let start = self.index(x.min(x1), yy);
            let end = self.index(x1, yy);
            for px in self.buf[start..end].chunks_exact_mut(4) {
                px.copy_from_slice(&[colour[0], colour[1], colour[2], 0xFF]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp437_covers_the_symbols_the_overlay_uses() {
        assert_eq!(cp437('A'), b'A');
        assert_eq!(cp437('→'), 0x1A);
        assert_eq!(cp437('↓'), 0x19);
        assert_eq!(cp437('↑'), 0x18);
        assert_eq!(cp437('µ'), 0xE6);
        assert_eq!(cp437('█'), 0xDB);
        assert_eq!(cp437('·'), 0xFA);
        assert_eq!(cp437('\u{1F600}'), b'?');
    }

    #[test]
    fn drawing_is_clipped_and_blends() {
        let size = Size::new(4, 4);
        let mut buf = vec![0u8; 4 * 4 * 4];
        let mut c = Canvas::new(&mut buf, size).expect("canvas");
        c.blend_rect(2, 2, 100, 100, [255, 255, 255], 128);
        c.text(3, 0, "W", [255, 0, 0], 2);
        assert_eq!(&buf[0..4], &[0, 0, 0, 0]);
        let last = (4 * 4 - 1) * 4;
        assert_eq!(&buf[last..last + 4], &[128, 128, 128, 255]);
        assert!(Canvas::new(&mut [0u8; 3], size).is_none());
    }

    #[test]
    fn text_draws_glyph_pixels() {
        let size = Size::new(16, 16);
        let mut buf = vec![0u8; 16 * 16 * 4];
        let mut c = Canvas::new(&mut buf, size).expect("canvas");
        let end = c.text(0, 0, "█", [9, 9, 9], 1);
        assert_eq!(end, 8);
        // The full block covers its cell's middle.
        let i = (8 * 16 + 4) * 4;
        assert_eq!(&buf[i..i + 4], &[9, 9, 9, 255]);
    }
}
