//! int 10h: video services for text mode 3 (and mode 2, the same on a VGA) and mode 13h.
//!
//! The BDA holds the BIOS's view (mode, cursor per page, active page, shape); the VGA
//! register file is changed through [`VgaState`] as a VGA BIOS would through its ports.
//! Geometry always comes from the mode, never from guest-writable BDA fields, so every
//! video-memory write stays inside the text pages (0xB8000-0xBFFFF) or the graphics
//! window (0xA0000-0xAFFFF). Semantics follow SeaBIOS `vgasrc/vgabios.c`.

use std::sync::{MutexGuard, PoisonError};

use super::bda;
use super::cpu_view::{Completion, CpuView, linear, read_guest, write_guest};
use super::rom;
use crate::devices::vga::{Font, VgaState};
use crate::machine::pc::PcBoard;
use crate::memory::GuestMemory;

/// Colour text pages.
const TEXT_BASE: u64 = 0xB8000;
/// Bytes per text page (80x25 cells, rounded up to 4 KiB as IBM did).
const TEXT_PAGE_BYTES: u16 = 0x1000;
/// Text pages the 32 KiB window holds.
const TEXT_PAGES: u8 = 8;
/// Mode 13h pixels.
const GRAPHICS_BASE: u64 = 0xA0000;
/// Mode 13h size.
const GFX_WIDTH: usize = 320;
const GFX_HEIGHT: usize = 200;
/// Glyph cell in mode 13h (8x8, 40x25 characters).
const GFX_CELL: usize = 8;
/// Attribute of lines scrolled in by teletype output.
const TELETYPE_FILL: u8 = 0x07;
/// Blank text cell: space, light grey on black.
const BLANK_CELL: u16 = 0x0720;

/// How the current mode stores characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Character + attribute words at 0xB8000, 8 pages.
    Text,
    /// One byte per pixel at 0xA0000, glyphs drawn 8x8, one page.
    Graphics,
}

/// The current mode's character grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Screen {
    layout: Layout,
    cols: u8,
    rows: u8,
}

impl Screen {
    fn pages(&self) -> u8 {
        match self.layout {
            Layout::Text => TEXT_PAGES,
            Layout::Graphics => 1,
        }
    }

    fn char_height(&self) -> u8 {
        match self.layout {
            Layout::Text => 16,
            Layout::Graphics => GFX_CELL as u8,
        }
    }
}

const TEXT_SCREEN: Screen = Screen {
    layout: Layout::Text,
    cols: 80,
    rows: 25,
};
const GRAPHICS_SCREEN: Screen = Screen {
    layout: Layout::Graphics,
    cols: 40,
    rows: 25,
};

fn vga(board: &PcBoard) -> MutexGuard<'_, VgaState> {
    board
        .shared
        .vga
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

fn bda_u8(mem: &GuestMemory, addr: u64) -> u8 {
    mem.read_u8(addr).unwrap_or(0)
}

fn bda_u16(mem: &GuestMemory, addr: u64) -> u16 {
    mem.read_u16(addr).unwrap_or(0)
}

fn set_bda(mem: &GuestMemory, addr: u64, bytes: &[u8]) {
    if let Err(e) = mem.write(addr, bytes) {
        log::warn!("int 10h: BDA write at {addr:#x}: {e}");
    }
}

fn current_mode(mem: &GuestMemory) -> u8 {
    bda_u8(mem, bda::VIDEO_MODE) & 0x7F
}

fn screen(mem: &GuestMemory) -> Screen {
    match current_mode(mem) {
        0x13 => GRAPHICS_SCREEN,
        _ => TEXT_SCREEN,
    }
}

fn active_page(mem: &GuestMemory) -> u8 {
    bda_u8(mem, bda::ACTIVE_PAGE) % TEXT_PAGES
}

/// (row, column) of the cursor of `page`.
fn cursor(mem: &GuestMemory, page: u8) -> (u8, u8) {
    let [col, row] = bda_u16(mem, bda::CURSOR_POS + 2 * u64::from(page % TEXT_PAGES)).to_le_bytes();
    (row, col)
}

/// Moves the cursor of `page`; the hardware cursor follows when the page is shown.
fn set_cursor(board: &PcBoard, page: u8, row: u8, col: u8) {
    let mem = &board.shared.memory;
    let page = page % TEXT_PAGES;
    set_bda(mem, bda::CURSOR_POS + 2 * u64::from(page), &[col, row]);
    if page == active_page(mem) {
        let s = screen(mem);
        let start = u16::from(page).wrapping_mul(TEXT_PAGE_BYTES / 2);
        let loc = start
            .wrapping_add(u16::from(row).wrapping_mul(u16::from(s.cols)))
            .wrapping_add(u16::from(col));
        vga(board).set_cursor_location(loc);
    }
}

/// Address of the text cell, if it is on the page.
fn text_cell(s: Screen, page: u8, row: u8, col: u8) -> Option<u64> {
    (page < TEXT_PAGES && row < s.rows && col < s.cols).then(|| {
        TEXT_BASE
            + u64::from(page) * u64::from(TEXT_PAGE_BYTES)
            + 2 * (u64::from(row) * u64::from(s.cols) + u64::from(col))
    })
}

/// The 8x8 glyph for mode 13h, folded from the current 8x16 font (pairs of scanlines
/// OR-ed, so no stroke is lost; there is no separate 8x8 font).
fn glyph_8x8(font: &Font, ch: u8) -> [u8; GFX_CELL] {
    let mut g = [0u8; GFX_CELL];
    for (i, line) in g.iter_mut().enumerate() {
        *line = font.row(ch, 2 * i) | font.row(ch, 2 * i + 1);
    }
    g
}

/// Writes one character: in text mode with `attr` (or keeping the cell's attribute when
/// `None`), in mode 13h as a glyph in colour `colour` (bit 7 = XOR). Off-screen cells are
/// skipped.
fn put_char(board: &PcBoard, page: u8, row: u8, col: u8, ch: u8, attr: Option<u8>, colour: u8) {
    let mem = &board.shared.memory;
    let s = screen(mem);
    match s.layout {
        Layout::Text => {
            let Some(addr) = text_cell(s, page, row, col) else {
                return;
            };
            let ok = match attr {
                Some(a) => write_guest(mem, addr, &[ch, a]),
                None => write_guest(mem, addr, &[ch]),
            };
            if !ok {
                log::debug!("int 10h: text cell {addr:#x} not writable");
            }
        }
        Layout::Graphics => {
            if page != 0 || row >= s.rows || col >= s.cols {
                return;
            }
            let glyph = glyph_8x8(vga(board).font(), ch);
            let (x0, y0) = (usize::from(col) * GFX_CELL, usize::from(row) * GFX_CELL);
            for (dy, bits) in glyph.iter().enumerate() {
                let addr = GRAPHICS_BASE + ((y0 + dy) * GFX_WIDTH + x0) as u64;
                let Some(mut line) = read_guest(mem, addr, GFX_CELL) else {
                    return;
                };
                for (dx, px) in line.iter_mut().enumerate() {
                    let on = bits & (0x80 >> dx) != 0;
                    if colour & 0x80 != 0 {
                        if on {
                            *px ^= colour & 0x7F;
                        }
                    } else {
                        *px = if on { colour } else { 0 };
                    }
                }
                write_guest(mem, addr, &line);
            }
        }
    }
}

/// A rectangle of character cells, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    top: u8,
    left: u8,
    bottom: u8,
    right: u8,
}

/// Scrolls `window` of `page` up (or down) by `lines`, filling with `fill` (attribute in
/// text, colour in mode 13h). `lines` = 0 or more than the window clears it. The window
/// is clamped to the screen; an inverted one does nothing.
fn scroll(board: &PcBoard, page: u8, window: Window, lines: u8, fill: u8, up: bool) {
    let mem = &board.shared.memory;
    let s = screen(mem);
    if page >= s.pages() {
        return;
    }
    let bottom = window.bottom.min(s.rows - 1);
    let right = window.right.min(s.cols - 1);
    if window.top > bottom || window.left > right {
        return;
    }
    let height = bottom - window.top + 1;
    let lines = if lines == 0 || lines > height {
        height
    } else {
        lines
    };
    // Work on a copy of the page: (cell bytes per row, rows of cells) differ per layout.
    let (base, cell_w, cell_h, line_bytes) = match s.layout {
        Layout::Text => (
            TEXT_BASE + u64::from(page) * u64::from(TEXT_PAGE_BYTES),
            2usize,
            1usize,
            usize::from(s.cols) * 2,
        ),
        Layout::Graphics => (GRAPHICS_BASE, GFX_CELL, GFX_CELL, GFX_WIDTH),
    };
    let size = line_bytes * cell_h * usize::from(s.rows);
    let Some(mut buf) = read_guest(mem, base, size) else {
        return;
    };
    let span = (usize::from(window.left) * cell_w)..((usize::from(right) + 1) * cell_w);
    let blank: Vec<u8> = match s.layout {
        Layout::Text => span
            .clone()
            .map(|i| if i % 2 == 0 { b' ' } else { fill })
            .collect(),
        Layout::Graphics => vec![fill; span.len()],
    };
    let rows: Vec<u8> = if up {
        (window.top..=bottom).collect()
    } else {
        (window.top..=bottom).rev().collect()
    };
    for r in rows {
        let src = if up {
            r.checked_add(lines).filter(|&v| v <= bottom)
        } else {
            r.checked_sub(lines).filter(|&v| v >= window.top)
        };
        for sub in 0..cell_h {
            let dst_off = (usize::from(r) * cell_h + sub) * line_bytes;
            let dst = dst_off + span.start..dst_off + span.end;
            match src {
                Some(src) => {
                    let src_off = (usize::from(src) * cell_h + sub) * line_bytes;
                    buf.copy_within(src_off + span.start..src_off + span.end, dst.start);
                }
                None => buf[dst].copy_from_slice(&blank),
            }
        }
    }
    write_guest(mem, base, &buf);
}

/// Teletype output of one character on `page` at its cursor (SeaBIOS `write_teletype`):
/// BEL ignored, BS left (not past column 0), CR, LF; wraps at the last column and
/// scrolls the screen when the cursor passes the last row.
fn teletype(board: &PcBoard, page: u8, ch: u8, attr: Option<u8>, colour: u8) {
    let mem = &board.shared.memory;
    let s = screen(mem);
    let (mut row, mut col) = cursor(mem, page);
    match ch {
        0x07 => {}
        0x08 => col = col.saturating_sub(1),
        b'\r' => col = 0,
        b'\n' => row = row.saturating_add(1),
        _ => {
            put_char(board, page, row, col, ch, attr, colour);
            col = col.saturating_add(1);
        }
    }
    if col >= s.cols {
        col = 0;
        row = row.saturating_add(1);
    }
    if row >= s.rows {
        let whole = Window {
            top: 0,
            left: 0,
            bottom: s.rows - 1,
            right: s.cols - 1,
        };
        let fill = match s.layout {
            Layout::Text => TELETYPE_FILL,
            Layout::Graphics => 0,
        };
        scroll(board, page, whole, 1, fill, true);
        row = s.rows - 1;
    }
    set_cursor(board, page, row, col);
}

/// Writes `text` at the cursor of the active page as int 10h AH=0Eh does (for the BIOS's
/// own messages).
pub fn print(board: &PcBoard, text: &[u8]) {
    let page = active_page(&board.shared.memory);
    for &ch in text {
        teletype(board, page, ch, None, TELETYPE_FILL);
    }
}

/// Mode numbers this BIOS can set: 2 and 3 (80x25 text) and 13h (320x200x256).
fn supported(mode: u8) -> Option<Screen> {
    match mode {
        0x02 | 0x03 => Some(TEXT_SCREEN),
        0x13 => Some(GRAPHICS_SCREEN),
        _ => None,
    }
}

/// Sets a mode: registers, BDA, cursor, and (unless `keep_memory`) cleared video memory.
fn apply_mode(board: &PcBoard, mode: u8, keep_memory: bool) -> bool {
    let Some(s) = supported(mode) else {
        return false;
    };
    let mem = &board.shared.memory;
    {
        let mut v = vga(board);
        match s.layout {
            Layout::Text => v.set_mode_3(),
            Layout::Graphics => v.set_mode_13h(),
        }
    }
    if !keep_memory {
        let cleared = match s.layout {
            Layout::Text => BLANK_CELL
                .to_le_bytes()
                .repeat(usize::from(TEXT_PAGES) * usize::from(TEXT_PAGE_BYTES) / 2),
            Layout::Graphics => vec![0; 0x1_0000],
        };
        let base = match s.layout {
            Layout::Text => TEXT_BASE,
            Layout::Graphics => GRAPHICS_BASE,
        };
        write_guest(mem, base, &cleared);
    }
    let page_size: u16 = match s.layout {
        Layout::Text => TEXT_PAGE_BYTES,
        Layout::Graphics => 0,
    };
    set_bda(mem, bda::VIDEO_MODE, &[mode]);
    set_bda(mem, bda::VIDEO_COLS, &u16::from(s.cols).to_le_bytes());
    set_bda(mem, bda::VIDEO_PAGE_SIZE, &page_size.to_le_bytes());
    set_bda(mem, bda::VIDEO_PAGE_START, &[0, 0]);
    set_bda(mem, bda::CURSOR_POS, &[0; 16]);
    let shape: u16 = match s.layout {
        Layout::Text => 0x0D0E,
        Layout::Graphics => 0x0607,
    };
    set_bda(mem, bda::CURSOR_SHAPE, &shape.to_le_bytes());
    set_bda(mem, bda::ACTIVE_PAGE, &[0]);
    set_bda(mem, bda::CRTC_PORT, &0x3D4u16.to_le_bytes());
    set_bda(
        mem,
        bda::MODE_SELECT,
        &[if s.layout == Layout::Text { 0x29 } else { 0x09 }],
    );
    set_bda(mem, bda::PALETTE, &[0x30]);
    set_bda(mem, bda::VIDEO_ROWS, &[s.rows - 1]);
    set_bda(mem, bda::CHAR_HEIGHT, &[s.char_height()]);
    set_bda(
        mem,
        bda::VIDEO_CTL,
        &[0x60 | if keep_memory { 0x80 } else { 0 }],
    );
    set_bda(mem, bda::VIDEO_SWITCHES, &[0xF9]);
    set_bda(mem, bda::MODESET_CTL, &[0x51]);
    vga(board).set_cursor_location(0);
    true
}

/// Power-on video state: mode 3 with a cleared screen, as a VGA BIOS leaves it.
pub fn init(board: &PcBoard) -> crate::Result<()> {
    apply_mode(board, 0x03, false);
    Ok(())
}

/// int 10h.
pub fn int10(cpu: &mut CpuView, board: &mut PcBoard) -> Completion {
    let mem = board.shared.memory.clone();
    match cpu.ah() {
        0x00 => set_mode(cpu, board),
        0x01 => set_cursor_shape(cpu, board),
        0x02 => set_cursor(board, cpu.bh(), cpu.dh(), cpu.dl()),
        0x03 => {
            let (row, col) = cursor(&mem, cpu.bh());
            cpu.set_dx(u16::from_le_bytes([col, row]));
            cpu.set_cx(bda_u16(&mem, bda::CURSOR_SHAPE));
        }
        0x05 => set_active_page(cpu.al(), board),
        0x06 | 0x07 => {
            let window = Window {
                top: cpu.ch(),
                left: cpu.cl(),
                bottom: cpu.dh(),
                right: cpu.dl(),
            };
            scroll(
                board,
                active_page(&mem),
                window,
                cpu.al(),
                cpu.bh(),
                cpu.ah() == 0x06,
            );
        }
        0x08 => {
            let s = screen(&mem);
            let (row, col) = cursor(&mem, cpu.bh());
            let cell = text_cell(s, cpu.bh(), row, col)
                .filter(|_| s.layout == Layout::Text)
                .and_then(|a| read_guest(&mem, a, 2));
            let [ch, attr] = cell.map_or([0, 0], |c| [c[0], c[1]]);
            cpu.set_ax(u16::from_le_bytes([ch, attr]));
        }
        0x09 | 0x0A => write_repeated(cpu, board),
        0x0C => write_pixel(cpu, &mem),
        0x0D => read_pixel(cpu, &mem),
        0x0E => teletype(board, active_page(&mem), cpu.al(), None, cpu.bl()),
        0x0F => {
            let mode = bda_u8(&mem, bda::VIDEO_MODE) | (bda_u8(&mem, bda::VIDEO_CTL) & 0x80);
            cpu.set_al(mode);
            cpu.set_ah(screen(&mem).cols);
            cpu.set_bh(active_page(&mem));
        }
        0x10 => palette(cpu, board),
        0x11 => font_service(cpu, board),
        0x12 => alternate_select(cpu, &mem),
        0x13 => write_string(cpu, board),
        0x1A => {
            if cpu.al() <= 1 {
                if cpu.al() == 0 {
                    cpu.set_bx(0x0008); // VGA with colour display, no secondary
                }
                cpu.set_al(0x1A);
            }
        }
        other => log::debug!("int 10h: AH={other:#04x} not supported"),
    }
    Completion::Done
}

fn set_mode(cpu: &mut CpuView, board: &PcBoard) {
    let mode = cpu.al() & 0x7F;
    let keep = cpu.al() & 0x80 != 0;
    if !apply_mode(board, mode, keep) {
        log::warn!("int 10h: video mode {mode:#04x} is not supported; mode unchanged");
        return;
    }
    cpu.set_al(if mode <= 7 { 0x30 } else { 0x20 });
}

/// AH=01h with SeaBIOS's cursor emulation: shapes given for an 8-line cell are scaled to
/// the 16-line font unless emulation is off (BDA 0x487 bit 0).
fn set_cursor_shape(cpu: &mut CpuView, board: &PcBoard) {
    let mem = &board.shared.memory;
    set_bda(mem, bda::CURSOR_SHAPE, &cpu.cx().to_le_bytes());
    let (mut start, mut end) = (cpu.ch(), cpu.cl());
    let height = u16::from(screen(mem).char_height());
    let emulate = bda_u8(mem, bda::VIDEO_CTL) & 1 == 0;
    if emulate && height > 8 && end < 8 && start < 0x20 {
        let scale = |v: u8| ((u16::from(v) + 1) * height / 8) as u8;
        if end != start.wrapping_add(1) {
            start = scale(start).saturating_sub(1);
        } else {
            start = scale(end).saturating_sub(2);
        }
        end = scale(end).saturating_sub(1);
    }
    vga(board).set_cursor_shape(start, end);
}

fn set_active_page(page: u8, board: &PcBoard) {
    let mem = &board.shared.memory;
    let s = screen(mem);
    if page >= s.pages() {
        log::debug!("int 10h: page {page} does not exist");
        return;
    }
    let start = u16::from(page) * TEXT_PAGE_BYTES;
    set_bda(mem, bda::ACTIVE_PAGE, &[page]);
    set_bda(mem, bda::VIDEO_PAGE_START, &start.to_le_bytes());
    vga(board).set_start_address(start / 2);
    let (row, col) = cursor(mem, page);
    set_cursor(board, page, row, col);
}

/// AH=09h/0Ah: CX copies of AL at the cursor (with attribute BL for 09h), cursor not
/// moved; the count is capped at the end of the page.
fn write_repeated(cpu: &mut CpuView, board: &PcBoard) {
    let mem = &board.shared.memory;
    let s = screen(mem);
    let page = cpu.bh();
    let (row, col) = cursor(mem, page);
    if row >= s.rows || col >= s.cols {
        return;
    }
    let start = usize::from(row) * usize::from(s.cols) + usize::from(col);
    let room = usize::from(s.rows) * usize::from(s.cols) - start;
    let attr = (cpu.ah() == 0x09).then_some(cpu.bl());
    for i in 0..usize::from(cpu.cx()).min(room) {
        let cell = start + i;
        let (r, c) = (cell / usize::from(s.cols), cell % usize::from(s.cols));
        put_char(board, page, r as u8, c as u8, cpu.al(), attr, cpu.bl());
    }
}

fn pixel_address(cpu: &CpuView, mem: &GuestMemory) -> Option<u64> {
    let (x, y) = (usize::from(cpu.cx()), usize::from(cpu.dx()));
    (screen(mem).layout == Layout::Graphics && x < GFX_WIDTH && y < GFX_HEIGHT)
        .then(|| GRAPHICS_BASE + (y * GFX_WIDTH + x) as u64)
}

/// AH=0Ch: pixel AL at (CX, DX) in mode 13h; AL bit 7 XORs.
fn write_pixel(cpu: &CpuView, mem: &GuestMemory) {
    let Some(addr) = pixel_address(cpu, mem) else {
        return;
    };
    let old = mem.read_u8(addr).unwrap_or(0);
    let colour = cpu.al();
    let new = if colour & 0x80 != 0 {
        old ^ (colour & 0x7F)
    } else {
        colour
    };
    write_guest(mem, addr, &[new]);
}

/// AH=0Dh: AL = pixel at (CX, DX).
fn read_pixel(cpu: &mut CpuView, mem: &GuestMemory) {
    let v = pixel_address(cpu, mem).map_or(0, |a| mem.read_u8(a).unwrap_or(0));
    cpu.set_al(v);
}

/// AH=10h: attribute-controller palette and DAC.
fn palette(cpu: &mut CpuView, board: &PcBoard) {
    let mem = &board.shared.memory;
    let table = linear(cpu.es, cpu.dx());
    // First DAC entry and count for the block functions, clamped to the 256 entries.
    let block = || {
        let first = usize::from(cpu.bx());
        let count = usize::from(cpu.cx()).min(256usize.saturating_sub(first));
        (first, count)
    };
    let mut v = vga(board);
    match cpu.al() {
        0x00 if cpu.bl() <= 0x14 => v.set_attr(usize::from(cpu.bl()), cpu.bh()),
        0x01 => v.set_attr(0x11, cpu.bh()),
        0x02 => {
            if let Some(regs) = read_guest(mem, table, 17) {
                for (i, &val) in regs[..16].iter().enumerate() {
                    v.set_attr(i, val);
                }
                v.set_attr(0x11, regs[16]);
            }
        }
        0x03 => v.set_blink_enabled(cpu.bl() != 0),
        0x07 if cpu.bl() <= 0x14 => {
            let val = v.attr(usize::from(cpu.bl()));
            cpu.set_bh(val);
        }
        0x08 => {
            let val = v.attr(0x11);
            cpu.set_bh(val);
        }
        0x09 => {
            let mut regs: Vec<u8> = (0..16).map(|i| v.attr(i)).collect();
            regs.push(v.attr(0x11));
            write_guest(mem, table, &regs);
        }
        0x10 if cpu.bx() < 256 => {
            v.set_dac_entry(cpu.bx() as u8, [cpu.dh(), cpu.ch(), cpu.cl()]);
        }
        0x12 => {
            let (first, count) = block();
            if let Some(rgb) = read_guest(mem, table, 3 * count) {
                for (i, c) in rgb.chunks_exact(3).enumerate() {
                    v.set_dac_entry((first + i) as u8, [c[0], c[1], c[2]]);
                }
            }
        }
        0x13 => {
            let mode = v.attr(0x10);
            if cpu.bl() == 0 {
                v.set_attr(0x10, (mode & 0x7F) | ((cpu.bh() & 1) << 7));
            } else if cpu.bl() == 1 {
                let select = if mode & 0x80 != 0 {
                    cpu.bh() & 0x0F
                } else {
                    (cpu.bh() & 0x03) << 2
                };
                v.set_attr(0x14, select);
            }
        }
        0x15 if cpu.bx() < 256 => {
            let [r, g, b] = v.dac_entry(cpu.bx() as u8);
            cpu.set_dh(r);
            cpu.set_ch(g);
            cpu.set_cl(b);
        }
        0x17 => {
            let (first, count) = block();
            let rgb: Vec<u8> = (first..first + count)
                .flat_map(|i| v.dac_entry(i as u8))
                .collect();
            write_guest(mem, table, &rgb);
        }
        0x18 => v.write_port(0x3C6, cpu.bl()),
        0x19 => {
            let mask = v.pel_mask();
            cpu.set_bl(mask);
        }
        0x1A => {
            let mode = v.attr(0x10);
            let select = v.attr(0x14);
            cpu.set_bl(mode >> 7);
            cpu.set_bh(if mode & 0x80 != 0 {
                select & 0x0F
            } else {
                (select >> 2) & 0x03
            });
        }
        0x1B => {
            let (first, count) = block();
            for i in first..first + count {
                let [r, g, b] = v.dac_entry(i as u8);
                // Luminance weights as IBM's BIOS (and SeaBIOS) use them: 30/59/11 %.
                let grey = ((77 * u32::from(r) + 151 * u32::from(g) + 28 * u32::from(b) + 0x80)
                    >> 8)
                    .min(0x3F) as u8;
                v.set_dac_entry(i as u8, [grey; 3]);
            }
        }
        other => log::debug!("int 10h: AX=10{other:02x}h not supported"),
    }
}

/// AH=11h: reload the ROM font (AL=04h/14h), font information (AL=30h).
fn font_service(cpu: &mut CpuView, board: &PcBoard) {
    let mem = &board.shared.memory;
    match cpu.al() {
        0x04 | 0x14 => vga(board).set_font(Font::builtin_8x16()),
        0x30 => {
            let far = |v: u64| mem.read_u32(v * 4).unwrap_or(0);
            let (seg, off) = match cpu.bh() {
                0x00 => split(far(0x1F)),
                0x01 => split(far(0x43)),
                0x06 => (rom::SEGMENT, rom::FONT_8X16),
                other => {
                    log::debug!("int 10h: AX=1130h BH={other:#04x}: no such font");
                    (0, 0)
                }
            };
            cpu.es = seg;
            cpu.set_bp(off);
            let s = screen(mem);
            cpu.set_cx(u16::from(s.char_height()));
            cpu.set_dl(s.rows - 1);
        }
        other => log::debug!("int 10h: AX=11{other:02x}h not supported"),
    }
}

fn split(far: u32) -> (u16, u16) {
    ((far >> 16) as u16, far as u16)
}

/// AH=12h: EGA/VGA information and settings.
fn alternate_select(cpu: &mut CpuView, mem: &GuestMemory) {
    match cpu.bl() {
        0x10 => {
            cpu.set_bh(0x00); // colour
            cpu.set_bl(0x03); // 256 KiB
            cpu.set_ch(0x00);
            cpu.set_cl(bda_u8(mem, bda::VIDEO_SWITCHES) & 0x0F);
        }
        0x34 => {
            // Cursor emulation: AL=0 on, 1 off.
            let ctl = bda_u8(mem, bda::VIDEO_CTL);
            let ctl = if cpu.al() == 0 { ctl & !1 } else { ctl | 1 };
            set_bda(mem, bda::VIDEO_CTL, &[ctl]);
            cpu.set_al(0x12);
        }
        0x30..=0x36 => cpu.set_al(0x12), // accepted, nothing to change
        other => log::debug!("int 10h: AH=12h BL={other:#04x} not supported"),
    }
}

/// AH=13h: write CX characters from ES:BP at DH/DL of page BH; AL bit 1: the string
/// alternates characters and attributes (else attribute BL); AL bit 0: leave the cursor
/// after the string.
fn write_string(cpu: &mut CpuView, board: &PcBoard) {
    let mem = &board.shared.memory;
    let with_attrs = cpu.al() & 2 != 0;
    let stride = if with_attrs { 2 } else { 1 };
    let len = usize::from(cpu.cx()) * stride;
    let Some(text) = read_guest(mem, linear(cpu.es, cpu.bp()), len) else {
        log::debug!(
            "int 10h AH=13h: string at {:04x}:{:04x} not readable",
            cpu.es,
            cpu.bp()
        );
        return;
    };
    let page = cpu.bh() % TEXT_PAGES;
    let saved = cursor(mem, page);
    set_cursor(board, page, cpu.dh(), cpu.dl());
    for unit in text.chunks_exact(stride) {
        let attr = if with_attrs { unit[1] } else { cpu.bl() };
        teletype(board, page, unit[0], Some(attr), attr);
    }
    if cpu.al() & 1 == 0 {
        set_cursor(board, page, saved.0, saved.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firmware::test_util::{board, cpu};

    fn cell(b: &PcBoard, row: u64, col: u64) -> (u8, u8) {
        let mut c = [0u8; 2];
        b.shared
            .memory
            .read(TEXT_BASE + 2 * (row * 80 + col), &mut c)
            .expect("read");
        (c[0], c[1])
    }

    fn call(b: &mut PcBoard, ax: u16, bx: u16, cx: u16, dx: u16) -> CpuView {
        let mut c = cpu(ax, bx, cx, dx);
        int10(&mut c, b);
        c
    }

    #[test]
    fn teletype_writes_wraps_and_scrolls() {
        let mut b = board();
        assert_eq!(cell(&b, 0, 0), (b' ', 0x07), "screen cleared at power-on");
        for ch in *b"Hi\r\nX" {
            call(&mut b, 0x0E00 | u16::from(ch), 0, 0, 0);
        }
        assert_eq!(cell(&b, 0, 0).0, b'H');
        assert_eq!(cell(&b, 1, 0).0, b'X');
        assert_eq!(cursor(&b.shared.memory, 0), (1, 1));
        assert_eq!(vga(&b).cursor_location(), 81);
        // Backspace stops at column 0; BEL does nothing.
        for ch in [8u8, 8, 8, 7] {
            call(&mut b, 0x0E00 | u16::from(ch), 0, 0, 0);
        }
        assert_eq!(cursor(&b.shared.memory, 0), (1, 0));
        // Park the cursor at the bottom-right corner: the next char wraps and scrolls.
        call(&mut b, 0x0200, 0, 0, 0x184F);
        call(&mut b, 0x0E00 | u16::from(b'Z'), 0, 0, 0);
        assert_eq!(cell(&b, 23, 79).0, b'Z');
        assert_eq!(cell(&b, 0, 0).0, b'X', "row 1 moved up");
        assert_eq!(cursor(&b.shared.memory, 0), (24, 0));
        // A hostile cursor far off screen still scrolls back onto it.
        call(&mut b, 0x0200, 0, 0, 0xFFFF);
        call(&mut b, 0x0E41, 0, 0, 0);
        assert_eq!(cursor(&b.shared.memory, 0), (24, 0));
    }

    #[test]
    fn write_char_repeats_without_moving_the_cursor_and_stops_at_page_end() {
        let mut b = board();
        call(&mut b, 0x0200, 0, 0, 0x0005);
        call(&mut b, 0x0921, 0x001F, 2, 0);
        assert_eq!(cell(&b, 0, 5), (b'!', 0x1F));
        assert_eq!(cell(&b, 0, 6), (b'!', 0x1F));
        assert_eq!(cell(&b, 0, 7), (b' ', 0x07));
        assert_eq!(cursor(&b.shared.memory, 0), (0, 5));
        call(&mut b, 0x0A41, 0, 1, 0);
        assert_eq!(cell(&b, 0, 5), (b'A', 0x1F), "0Ah keeps the attribute");
        let c = call(&mut b, 0x0800, 0, 0, 0);
        assert_eq!(c.ax(), 0x1F41);
        // CX=FFFFh at the last cell of page 7 writes one cell and nothing beyond.
        call(&mut b, 0x0200, 0x0700, 0, 0x184F);
        call(&mut b, 0x0958, 0x0770, 0xFFFF, 0);
        let mem = &b.shared.memory;
        assert_eq!(
            mem.read_u8(0xB8000 + 7 * 0x1000 + 2 * 1999).expect("r"),
            b'X'
        );
        assert_eq!(
            mem.read_u8(0xC0000).expect("r"),
            0,
            "nothing past the window"
        );
    }

    #[test]
    fn scroll_window_is_clamped_and_fills_with_bh() {
        let mut b = board();
        for ch in *b"ab\r\ncd" {
            call(&mut b, 0x0E00 | u16::from(ch), 0, 0, 0);
        }
        // Scroll rows 0-1, columns 0-0 up by one with attribute 0x4E.
        call(&mut b, 0x0601, 0x4E00, 0x0000, 0x0100);
        assert_eq!(cell(&b, 0, 0).0, b'c');
        assert_eq!(cell(&b, 0, 1).0, b'b', "outside the window");
        assert_eq!(cell(&b, 1, 0), (b' ', 0x4E));
        // Scroll down, then a clear with a window far outside the screen.
        call(&mut b, 0x0701, 0x0700, 0, 0x0100);
        assert_eq!(cell(&b, 1, 0).0, b'c');
        call(&mut b, 0x0600, 0x1700, 0, 0xFFFF);
        assert_eq!(cell(&b, 24, 79), (b' ', 0x17));
        // Inverted window: nothing happens.
        call(&mut b, 0x0600, 0x2200, 0x0505, 0x0101);
        assert_eq!(cell(&b, 3, 3), (b' ', 0x17));
    }

    #[test]
    fn cursor_shape_and_position_round_trip() {
        let mut b = board();
        call(&mut b, 0x0100, 0, 0x0607, 0);
        // SeaBIOS's emulation: an 8-line 6-7 underline becomes 14-15 of 16.
        assert_eq!(vga(&b).cursor_shape(), (0x0E, 0x0F));
        call(&mut b, 0x0200, 0x0300, 0, 0x0A14);
        let c = call(&mut b, 0x0300, 0x0300, 0, 0);
        assert_eq!((c.dx(), c.cx()), (0x0A14, 0x0607));
        assert_eq!(vga(&b).cursor_location(), 0, "page 3 is not shown");
        call(&mut b, 0x0503, 0, 0, 0);
        assert_eq!(vga(&b).start_address(), 3 * 0x800);
        assert_eq!(vga(&b).cursor_location(), 3 * 0x800 + 10 * 80 + 20);
        let c = call(&mut b, 0x0F00, 0, 0, 0);
        assert_eq!((c.al(), c.ah(), c.bh()), (3, 80, 3));
        call(&mut b, 0x0509, 0, 0, 0);
        assert_eq!(active_page(&b.shared.memory), 3, "page 9 refused");
    }

    #[test]
    fn mode_13h_pixels_and_glyphs_then_back_to_text() {
        let mut b = board();
        let c = call(&mut b, 0x0013, 0, 0, 0);
        assert_eq!(c.al(), 0x20);
        assert!(matches!(
            vga(&b).mode(),
            crate::devices::vga::VgaMode::Graphics256 { .. }
        ));
        call(&mut b, 0x0C2A, 0, 10, 20);
        let mem = b.shared.memory.clone();
        assert_eq!(mem.read_u8(0xA0000 + 20 * 320 + 10).expect("r"), 0x2A);
        assert_eq!(call(&mut b, 0x0D00, 0, 10, 20).al(), 0x2A);
        call(&mut b, 0x0C2A, 0, 320, 0); // off screen: ignored
        assert_eq!(mem.read_u8(0xA0000 + 320).expect("r"), 0);
        // Teletype draws a glyph in colour BL.
        call(&mut b, 0x0E00 | u16::from(b'H'), 0x000E, 0, 0);
        let glyph: Vec<u8> = (0..8)
            .flat_map(|y| (0..8).map(move |x| (x, y)))
            .map(|(x, y)| mem.read_u8(0xA0000 + y * 320 + x).expect("r"))
            .collect();
        assert!(glyph.contains(&0x0E) && glyph.contains(&0));
        assert_eq!(cursor(&mem, 0), (0, 1));
        assert_eq!(call(&mut b, 0x0F00, 0, 0, 0).ah(), 40);
        // Unsupported mode: unchanged.
        let c = call(&mut b, 0x0012, 0, 0, 0);
        assert_eq!(c.al(), 0x12);
        assert_eq!(current_mode(&mem), 0x13);
        // Mode 3 with bit 7: memory kept.
        mem.write(0xB8000, b"K\x07").expect("w");
        call(&mut b, 0x0083, 0, 0, 0);
        assert_eq!(cell(&b, 0, 0).0, b'K');
        assert_eq!(call(&mut b, 0x0F00, 0, 0, 0).al(), 0x83);
    }

    #[test]
    fn dac_and_palette_functions_are_bounded() {
        let mut b = board();
        call(&mut b, 0x1010, 0x0005, 0x0203, 0x0100);
        assert_eq!(vga(&b).dac_entry(5), [1, 2, 3]);
        let c = call(&mut b, 0x1015, 5, 0, 0);
        assert_eq!((c.dh(), c.ch(), c.cl()), (1, 2, 3));
        call(&mut b, 0x1010, 0x0100, 0x3F3F, 0x3F00); // index 256: ignored
        // Block write from ES:DX, count clamped to the end of the DAC.
        let mem = b.shared.memory.clone();
        mem.write(0x600, &[9, 8, 7, 6, 5, 4]).expect("w");
        call(&mut b, 0x1012, 0x00FF, 0xFFFF, 0x0600);
        assert_eq!(vga(&b).dac_entry(255), [9, 8, 7]);
        call(&mut b, 0x1017, 0x00FF, 2, 0x0700);
        assert_eq!(mem.read_u8(0x702).expect("r"), 7);
        assert_eq!(mem.read_u8(0x703).expect("r"), 0, "only one entry fits");
        call(&mut b, 0x1018, 0x000F, 0, 0);
        assert_eq!(call(&mut b, 0x1019, 0, 0, 0).bl(), 0x0F);
        call(&mut b, 0x1003, 0, 0, 0);
        assert!(!vga(&b).blink_enabled());
        call(&mut b, 0x1000, 0x3F01, 0, 0);
        assert_eq!(call(&mut b, 0x1007, 0x0001, 0, 0).bh(), 0x3F);
        call(&mut b, 0x1000, 0x3F15, 0, 0); // beyond AR14: ignored
        // 1009h into the ROM is refused without harm.
        let mut c = cpu(0x1009, 0, 0, 0);
        c.es = 0xF000;
        int10(&mut c, &mut b);
        assert_eq!(mem.read_u8(0xF0000).expect("r"), vga(&b).font().row(0, 0));
        call(&mut b, 0x101B, 5, 1, 0);
        let [r, g, bl] = vga(&b).dac_entry(5);
        assert!(r == g && g == bl);
    }

    #[test]
    fn information_functions() {
        let mut b = board();
        let c = call(&mut b, 0x1130, 0x0600, 0, 0);
        assert_eq!((c.es, c.bp(), c.cx(), c.dl()), (0xF000, 0, 16, 24));
        let c = call(&mut b, 0x1200, 0x0010, 0, 0);
        assert_eq!((c.bh(), c.bl()), (0, 3));
        let c = call(&mut b, 0x1A00, 0, 0, 0);
        assert_eq!((c.al(), c.bx()), (0x1A, 0x0008));
        let c = call(&mut b, 0x4F00, 0, 0, 0);
        assert_eq!(c.ax(), 0x4F00, "no VBE");
    }

    #[test]
    fn write_string_with_and_without_attributes() {
        let mut b = board();
        let mem = b.shared.memory.clone();
        mem.write(0x800, b"OK").expect("w");
        mem.write(0x900, b"A\x1eB\x2f").expect("w");
        let mut c = cpu(0x1300, 0x004F, 2, 0x0203);
        c.set_bp(0x800);
        int10(&mut c, &mut b);
        assert_eq!(cell(&b, 2, 3), (b'O', 0x4F));
        assert_eq!(cursor(&mem, 0), (0, 0), "AL bit 0 clear: cursor kept");
        let mut c = cpu(0x1303, 0, 2, 0x0300);
        c.set_bp(0x900);
        int10(&mut c, &mut b);
        assert_eq!(cell(&b, 3, 0), (b'A', 0x1E));
        assert_eq!(cell(&b, 3, 1), (b'B', 0x2F));
        assert_eq!(cursor(&mem, 0), (3, 2));
        // A string that runs out of the ROM is refused.
        let mut c = cpu(0x1301, 0, 2, 0);
        c.es = 0xF000;
        c.set_bp(0xFFFF);
        int10(&mut c, &mut b);
        assert_eq!(cursor(&mem, 0), (3, 2));
    }
}
