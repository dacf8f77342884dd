//! Video memory as the display sees it: fixed windows of guest RAM copied out in one go.
//!
//! VGA memory is ordinary guest RAM (guest writes never exit), so the renderer snapshots a
//! window into a local buffer with a single bounds-checked read and then indexes only
//! that buffer, masking every offset to the window size.

use crate::memory::GuestMemory;

use super::regs::VgaState;

/// Colour text buffer (misc bit 0 = 1).
pub const COLOUR_TEXT_BASE: u64 = 0xB8000;
/// Monochrome text buffer (misc bit 0 = 0).
pub const MONO_TEXT_BASE: u64 = 0xB0000;
/// Graphics window (mode 13h).
pub const GRAPHICS_BASE: u64 = 0xA0000;
/// Text buffer size: 16 Ki cells of character + attribute.
pub const TEXT_WINDOW_BYTES: usize = 0x8000;
/// Graphics window size.
pub const GRAPHICS_WINDOW_BYTES: usize = 0x10000;

/// Where the text buffer is. The display reads planes 0/1 wherever the CPU window is
/// mapped, so this follows the colour/mono selection, not GR6 (which a font upload
/// briefly points at 0xA0000).
pub fn text_base(state: &VgaState) -> u64 {
    if state.colour_ports() {
        COLOUR_TEXT_BASE
    } else {
        MONO_TEXT_BASE
    }
}

/// Copies `len` bytes of guest memory at `base`; a window the guest has no memory
/// behind reads as zeros.
pub fn snapshot(mem: &GuestMemory, base: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    if let Err(e) = mem.read(base, &mut buf) {
        log::debug!("vga: video memory at {base:#x} unreadable: {e}");
        buf.fill(0);
    }
    buf
}

/// The character and attribute of the text cell at word address `address` (wrapping
/// within the 32 KiB buffer).
#[inline]
pub fn text_cell(window: &[u8], address: u16) -> (u8, u8) {
    let off = (usize::from(address) * 2) & (TEXT_WINDOW_BYTES - 1);
    match window.get(off..off + 2) {
        Some(&[ch, attr]) => (ch, attr),
        _ => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cells_wrap_inside_the_window() {
        let mut w = vec![0u8; TEXT_WINDOW_BYTES];
        w[0] = b'X';
        w[1] = 0x1F;
        w[TEXT_WINDOW_BYTES - 2] = b'Y';
        assert_eq!(text_cell(&w, 0), (b'X', 0x1F));
        assert_eq!(text_cell(&w, 0x4000), (b'X', 0x1F));
        assert_eq!(text_cell(&w, 0xFFFF), (b'Y', 0));
        assert_eq!(text_cell(&[], 5), (0, 0), "short buffer never panics");
    }

    #[test]
    fn missing_memory_reads_as_zero() {
        let mem = GuestMemory::ram(0x4000).expect("ram");
        let buf = snapshot(&mem, COLOUR_TEXT_BASE, TEXT_WINDOW_BYTES);
        assert_eq!(buf.len(), TEXT_WINDOW_BYTES);
        assert!(buf.iter().all(|&b| b == 0));
    }
}
