//! The text on screen as Unicode, for `--dump-screen`, `--until-text` and tests.
//!
//! Cells are read exactly as the renderer reads them (start address, row stride,
//! wrapping), so what this returns is what the window shows.

use std::fmt;

use crate::memory::GuestMemory;

use super::modes::VgaMode;
use super::regs::VgaState;
use super::vram::{self, TEXT_WINDOW_BYTES};

/// Code page 437 as Unicode. 0x00 (and 0xFF, a non-breaking space) become plain spaces
/// so dumps compare and trim like ordinary text.
#[rustfmt::skip]
pub const CP437: [char; 256] = [
    ' ', '☺', '☻', '♥', '♦', '♣', '♠', '•', '◘', '○', '◙', '♂', '♀', '♪', '♫', '☼',
    '►', '◄', '↕', '‼', '¶', '§', '▬', '↨', '↑', '↓', '→', '←', '∟', '↔', '▲', '▼',
    ' ', '!', '"', '#', '$', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
    '@', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', '[', '\\', ']', '^', '_',
    '`', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', '{', '|', '}', '~', '⌂',
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å',
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ',
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '⌐', '¬', '½', '¼', '¡', '«', '»',
    '░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝', '╜', '╛', '┐',
    '└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧',
    '╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀',
    'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ', 'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩',
    '≡', '±', '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', ' ',
];

/// A snapshot of the characters on a text-mode screen (attributes dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextScreen {
    cols: u16,
    rows: u16,
    /// CP437 codes, row-major.
    cells: Vec<u8>,
}

/// The visible text, or `None` in graphics modes.
pub fn text_screen(state: &VgaState, mem: &GuestMemory) -> Option<TextScreen> {
    let VgaMode::Text { .. } = state.mode() else {
        return None;
    };
    let g = state.text_geometry();
    let window = vram::snapshot(mem, vram::text_base(state), TEXT_WINDOW_BYTES);
    let cells = (0..g.rows)
        .flat_map(|row| (0..g.cols).map(move |col| (row, col)))
        .map(|(row, col)| vram::text_cell(&window, g.cell_address(row, col)).0)
        .collect();
    Some(TextScreen {
        cols: g.cols,
        rows: g.rows,
        cells,
    })
}

impl TextScreen {
    /// Characters per row.
    pub fn cols(&self) -> u16 {
        self.cols
    }

    /// Number of rows.
    pub fn row_count(&self) -> u16 {
        self.rows
    }

    /// The CP437 code at (row, col), if on screen.
    pub fn code_at(&self, row: u16, col: u16) -> Option<u8> {
        if row >= self.rows || col >= self.cols {
            return None;
        }
        self.cells
            .get(usize::from(row) * usize::from(self.cols) + usize::from(col))
            .copied()
    }

    /// Each row as Unicode with trailing spaces removed.
    pub fn rows(&self) -> Vec<String> {
        self.cells
            .chunks(usize::from(self.cols).max(1))
            .map(|row| {
                let s: String = row.iter().map(|&c| CP437[usize::from(c)]).collect();
                s.trim_end_matches(' ').to_owned()
            })
            .collect()
    }

    /// True if `needle` appears within one row.
    pub fn contains(&self, needle: &str) -> bool {
        self.rows().iter().any(|row| row.contains(needle))
    }
}

impl fmt::Display for TextScreen {
    /// Rows joined with '\n' (no trailing newline).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rows().join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen_with(text: &[(u16, &[u8])]) -> (VgaState, GuestMemory) {
        let mem = GuestMemory::ram(0x10_0000).expect("ram");
        for &(row, bytes) in text {
            for (col, &b) in bytes.iter().enumerate() {
                let addr = vram::COLOUR_TEXT_BASE + u64::from(row) * 160 + col as u64 * 2;
                mem.write(addr, &[b, 0x07]).expect("in ram");
            }
        }
        (VgaState::new(), mem)
    }

    #[test]
    fn cp437_table_is_complete_and_ascii_compatible() {
        for b in 0x20u8..0x7F {
            assert_eq!(CP437[usize::from(b)], char::from(b));
        }
        assert_eq!(CP437[0x00], ' ');
        assert_eq!(CP437[0xC9], '╔');
        assert_eq!(CP437[0xCD], '═');
        assert_eq!(CP437[0xBB], '╗');
        assert_eq!(CP437[0xDB], '█');
        assert_eq!(CP437[0xB0], '░');
        assert_eq!(CP437[0xE1], 'ß');
        assert_eq!(CP437[0xFE], '■');
        // Apart from the spaces, every code maps to its own character.
        let mut seen: Vec<char> = CP437.iter().copied().filter(|&c| c != ' ').collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 256 - 3);
    }

    #[test]
    fn extracts_box_drawing_rows_trimmed() {
        let (s, mem) = screen_with(&[
            (0, &[0xC9, 0xCD, 0xCD, 0xBB]),
            (1, b"\xBAHi\xBA"),
            (2, &[0xC8, 0xCD, 0xCD, 0xBC]),
            (24, b"bottom"),
        ]);
        let screen = text_screen(&s, &mem).expect("text mode");
        let rows = screen.rows();
        assert_eq!(rows.len(), 25);
        assert_eq!(rows[0], "╔══╗");
        assert_eq!(rows[1], "║Hi║");
        assert_eq!(rows[2], "╚══╝");
        assert_eq!(rows[3], "");
        assert_eq!(rows[24], "bottom");
        assert!(screen.contains("Hi"));
        assert!(!screen.contains("Hi║╚"), "no match across rows");
        let text = screen.to_string();
        assert!(text.starts_with("╔══╗\n║Hi║\n╚══╝\n\n"));
        assert!(text.ends_with("\nbottom"));
        assert_eq!(screen.code_at(1, 1), Some(b'H'));
        assert_eq!(screen.code_at(25, 0), None);
        assert_eq!(screen.code_at(0, 80), None);
    }

    #[test]
    fn follows_the_crtc_start_address() {
        let (mut s, mem) = screen_with(&[(0, b"first"), (1, b"second")]);
        s.set_start_address(80);
        let screen = text_screen(&s, &mem).expect("text mode");
        assert_eq!(screen.rows()[0], "second");
    }

    #[test]
    fn none_in_graphics_modes() {
        let (mut s, mem) = screen_with(&[]);
        s.set_mode_13h();
        assert!(text_screen(&s, &mem).is_none());
    }
}
