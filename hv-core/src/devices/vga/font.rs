//! The text-mode font: 256 glyphs, 8 dots wide, up to 32 scanlines each.
//!
//! Real VGA fetches glyphs from plane 2, 32 bytes per character. Without a VGA BIOS nothing
//! loads plane 2, so the device starts with a built-in CP437 8x16 font and replaces it when
//! the guest uploads its own through the plane-2 window (see [`Font::from_plane2`]).
//!
//! Built-in glyph data (`font8x16.bin`, 4096 bytes, 16 bytes per glyph in CP437 order):
//! SeaBIOS `vgasrc/vgafonts.c` `vgafont16`, which states: "These fonts come from
//! ftp://ftp.simtel.net/pub/simtelnet/msdos/screen/fntcol16.zip. The package is (c) by
//! Joseph Gil. The individual fonts are public domain."

/// Glyphs in a font.
pub const GLYPHS: usize = 256;
/// Bytes per glyph slot in plane 2 (and in [`Font`]): one byte per scanline.
pub const GLYPH_STRIDE: usize = 32;
/// Bytes of one 256-glyph font in plane 2.
pub const FONT_BYTES: usize = GLYPHS * GLYPH_STRIDE;

/// The built-in 8x16 glyphs, 16 bytes each.
const BUILTIN_8X16: &[u8; GLYPHS * 16] = include_bytes!("font8x16.bin");

/// 256 glyphs with a 32-byte stride; bit 7 of a scanline byte is the leftmost dot.
#[derive(Clone, PartialEq, Eq)]
pub struct Font {
    glyphs: Box<[u8; FONT_BYTES]>,
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Font").finish_non_exhaustive()
    }
}

impl Default for Font {
    fn default() -> Self {
        Self::builtin_8x16()
    }
}

impl Font {
    /// The built-in CP437 8x16 font (scanlines 16-31 blank).
    pub fn builtin_8x16() -> Self {
        let mut glyphs = Box::new([0u8; FONT_BYTES]);
        for (slot, glyph) in glyphs
            .chunks_exact_mut(GLYPH_STRIDE)
            .zip(BUILTIN_8X16.chunks_exact(16))
        {
            slot[..16].copy_from_slice(glyph);
        }
        Self { glyphs }
    }

    /// A font from a plane-2 image (32 bytes per glyph). A short image leaves the
    /// remaining glyphs blank; extra bytes are ignored.
    pub fn from_plane2(image: &[u8]) -> Self {
        let mut glyphs = Box::new([0u8; FONT_BYTES]);
        let n = image.len().min(FONT_BYTES);
        glyphs[..n].copy_from_slice(&image[..n]);
        Self { glyphs }
    }

    /// The font as it sits in plane 2 (32 bytes per glyph).
    pub fn as_plane2(&self) -> &[u8; FONT_BYTES] {
        &self.glyphs
    }

    /// Scanline `line` of glyph `ch`; lines past 31 are blank.
    #[inline]
    pub fn row(&self, ch: u8, line: usize) -> u8 {
        if line >= GLYPH_STRIDE {
            return 0;
        }
        self.glyphs[usize::from(ch) * GLYPH_STRIDE + line]
    }

    /// All 32 scanlines of glyph `ch`.
    #[inline]
    pub fn glyph(&self, ch: u8) -> &[u8] {
        let start = usize::from(ch) * GLYPH_STRIDE;
        &self.glyphs[start..start + GLYPH_STRIDE]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_glyphs_match_the_vga_rom_font() {
        let f = Font::builtin_8x16();
        let a: Vec<u8> = (0..16).map(|l| f.row(b'A', l)).collect();
        assert_eq!(
            a,
            [
                0x00, 0x00, 0x10, 0x38, 0x6c, 0xc6, 0xc6, 0xfe, 0xc6, 0xc6, 0xc6, 0xc6, 0x00, 0x00,
                0x00, 0x00
            ]
        );
        assert!((0..16).all(|l| f.row(0xDB, l) == 0xFF), "full block");
        assert!((0..16).all(|l| f.row(b' ', l) == 0), "space");
        assert!((0..16).all(|l| f.row(0, l) == 0), "NUL");
        // Box drawing: 0xC4 is a horizontal line on scanline 7, 0xB3 a vertical bar.
        assert_eq!(f.row(0xC4, 7), 0xFF);
        assert_eq!(f.row(0xC4, 6), 0x00);
        assert!((0..16).all(|l| f.row(0xB3, l) == 0x18));
        // Lower half block 0xDC covers scanlines 7-15 only.
        assert_eq!(f.row(0xDC, 6), 0x00);
        assert_eq!(f.row(0xDC, 7), 0xFF);
        assert_eq!(f.row(0xDC, 15), 0xFF);
    }

    #[test]
    fn stride_is_32_and_out_of_range_lines_are_blank() {
        let f = Font::builtin_8x16();
        assert_eq!(f.glyph(0xDB).len(), GLYPH_STRIDE);
        assert_eq!(f.row(0xDB, 16), 0);
        assert_eq!(f.row(0xDB, 31), 0);
        assert_eq!(f.row(0xDB, 1000), 0);
        assert_eq!(f.as_plane2()[0xDB * 32], 0xFF);
    }

    #[test]
    fn plane2_image_of_any_length_is_accepted() {
        let short = Font::from_plane2(&[0xAA; 40]);
        assert_eq!(short.row(0, 0), 0xAA);
        assert_eq!(short.row(1, 7), 0xAA);
        assert_eq!(short.row(1, 8), 0);
        let long = Font::from_plane2(&vec![0x55; FONT_BYTES * 2]);
        assert_eq!(long.row(255, 31), 0x55);
    }
}
