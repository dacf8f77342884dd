//! The VGA register files and what a port access does to them.
//!
//! Everything the picture depends on, apart from guest memory, lives in [`VgaState`]: the
//! vCPU thread changes it through port I/O and the UI thread renders from a clone. Which
//! bits of a register exist follows the IBM VGA (and QEMU's `sr_mask`/`gr_mask`): unused
//! bits read back as zero.

use std::sync::Arc;

use super::font::Font;
use super::palette::{DAC_ENTRIES, DacEntry};

/// Sequencer registers SR0-SR4.
pub const SEQ_REGS: usize = 5;
/// Graphics controller registers GR0-GR8.
pub const GFX_REGS: usize = 9;
/// Attribute controller registers AR0-AR14.
pub const ATTR_REGS: usize = 0x15;
/// CRT controller registers CR0-CR18.
pub const CRTC_REGS: usize = 0x19;

/// Bits that exist in SR0-SR4.
const SEQ_WRITABLE: [u8; SEQ_REGS] = [0x03, 0x3D, 0x0F, 0x3F, 0x0E];
/// Bits that exist in GR0-GR8.
const GFX_WRITABLE: [u8; GFX_REGS] = [0x0F, 0x0F, 0x0F, 0x1F, 0x03, 0x7B, 0x0F, 0x0F, 0xFF];

/// Attribute index bit 5: palette address source. 0 lets the CPU reach AR0-F and blanks
/// the screen; 1 gives the palette back to the display.
pub const AR_INDEX_PAS: u8 = 0x20;
/// CR11 bit 7: CR0-CR7 are write-protected (except CR7 bit 4).
const CR11_PROTECT: u8 = 0x80;
/// Input status 1 bits the "dumb retrace" toggles: display enable and vertical retrace.
const STATUS1_TOGGLE: u8 = 0x09;

/// Register indices the rest of the device names.
pub mod idx {
    /// SR1 clocking mode: bit 0 8-dot chars, bit 3 dot clock / 2, bit 5 screen off.
    pub const SR_CLOCKING: usize = 1;
    /// SR2 map mask (planes the CPU writes).
    pub const SR_MAP_MASK: usize = 2;
    /// SR4 memory mode: bit 2 odd/even off, bit 3 chain-4.
    pub const SR_MEMORY_MODE: usize = 4;
    /// GR4 read map select.
    pub const GR_READ_MAP: usize = 4;
    /// GR5 mode: bits 5-6 shift control (0x40 = 256 colours).
    pub const GR_MODE: usize = 5;
    /// GR6 misc: bit 0 graphics, bits 2-3 memory map.
    pub const GR_MISC: usize = 6;
    /// AR10 mode control: bit 0 graphics, bit 2 line graphics, bit 3 blink, bit 7 P5-4 select.
    pub const AR_MODE: usize = 0x10;
    /// AR14 colour select (DAC index bits 4-7).
    pub const AR_COLOUR_SELECT: usize = 0x14;
    /// CR01 horizontal display end (columns - 1).
    pub const CR_H_DISP_END: usize = 0x01;
    /// CR07 overflow (bit 1 = vdisp end bit 8, bit 6 = bit 9).
    pub const CR_OVERFLOW: usize = 0x07;
    /// CR09 maximum scanline (char height - 1 in bits 0-4).
    pub const CR_MAX_SCAN: usize = 0x09;
    /// CR0A cursor start (bit 5 = cursor off).
    pub const CR_CURSOR_START: usize = 0x0A;
    /// CR0B cursor end.
    pub const CR_CURSOR_END: usize = 0x0B;
    /// CR0C start address high.
    pub const CR_START_HI: usize = 0x0C;
    /// CR0D start address low.
    pub const CR_START_LO: usize = 0x0D;
    /// CR0E cursor location high.
    pub const CR_CURSOR_HI: usize = 0x0E;
    /// CR0F cursor location low.
    pub const CR_CURSOR_LO: usize = 0x0F;
    /// CR11 vertical retrace end (bit 7 = protect CR0-7).
    pub const CR_V_SYNC_END: usize = 0x11;
    /// CR12 vertical display end, low 8 bits.
    pub const CR_V_DISP_END: usize = 0x12;
    /// CR13 offset (row stride in words / 2).
    pub const CR_OFFSET: usize = 0x13;
}

/// The whole register state of the VGA, cheap to clone for the renderer.
#[derive(Debug, Clone)]
pub struct VgaState {
    pub(super) misc: u8,
    pub(super) feature_control: u8,
    pub(super) status1: u8,
    pub(super) seq_index: u8,
    pub(super) seq: [u8; SEQ_REGS],
    pub(super) gfx_index: u8,
    pub(super) gfx: [u8; GFX_REGS],
    /// Attribute index including the PAS bit.
    pub(super) attr_index: u8,
    /// True when the next 0x3C0 write is data, false when it is an index.
    pub(super) attr_flip_flop: bool,
    pub(super) attr: [u8; ATTR_REGS],
    pub(super) crtc_index: u8,
    pub(super) crtc: [u8; CRTC_REGS],
    pub(super) dac: [DacEntry; DAC_ENTRIES],
    pub(super) dac_read_index: u8,
    pub(super) dac_write_index: u8,
    pub(super) dac_sub_index: u8,
    /// Components of the entry being written, committed after blue.
    pub(super) dac_latch: DacEntry,
    /// Last index port written was 0x3C7 (read mode).
    pub(super) dac_reading: bool,
    pub(super) pel_mask: u8,
    pub(super) font: Arc<Font>,
    pub(super) generation: u64,
}

impl Default for VgaState {
    /// Power-on state: mode 3, as a VGA BIOS would leave it.
    fn default() -> Self {
        let mut s = Self {
            misc: 0,
            feature_control: 0,
            status1: 0,
            seq_index: 0,
            seq: [0; SEQ_REGS],
            gfx_index: 0,
            gfx: [0; GFX_REGS],
            attr_index: 0,
            attr_flip_flop: false,
            attr: [0; ATTR_REGS],
            crtc_index: 0,
            crtc: [0; CRTC_REGS],
            dac: [[0; 3]; DAC_ENTRIES],
            dac_read_index: 0,
            dac_write_index: 0,
            dac_sub_index: 0,
            dac_latch: [0; 3],
            dac_reading: false,
            pel_mask: 0xFF,
            font: Arc::new(Font::builtin_8x16()),
            generation: 0,
        };
        s.set_mode_3();
        s
    }
}

impl VgaState {
    /// Power-on state (mode 3 with the standard palette).
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts every register back to power-on (mode 3) in place; the generation keeps
    /// counting up so a renderer watching it redraws.
    pub fn power_on(&mut self) {
        let generation = self.generation.wrapping_add(1);
        *self = Self::new();
        self.generation = generation;
    }

    /// Bumped on every change that can alter the picture. Guest memory and blinking are
    /// not covered: they change without any register write.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub(super) fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// Miscellaneous output register (0x3CC).
    pub fn misc(&self) -> u8 {
        self.misc
    }

    /// Misc bit 0: CRTC and status at 0x3Dx (colour) rather than 0x3Bx (mono).
    pub fn colour_ports(&self) -> bool {
        self.misc & 1 != 0
    }

    /// Sequencer register `i` (0 if it does not exist).
    pub fn seq(&self, i: usize) -> u8 {
        self.seq.get(i).copied().unwrap_or(0)
    }

    /// Graphics controller register `i` (0 if it does not exist).
    pub fn gfx(&self, i: usize) -> u8 {
        self.gfx.get(i).copied().unwrap_or(0)
    }

    /// Attribute controller register `i` (0 if it does not exist).
    pub fn attr(&self, i: usize) -> u8 {
        self.attr.get(i).copied().unwrap_or(0)
    }

    /// CRT controller register `i` (0 if it does not exist).
    pub fn crtc(&self, i: usize) -> u8 {
        self.crtc.get(i).copied().unwrap_or(0)
    }

    /// DAC entry `i` as 6-bit R, G, B.
    pub fn dac_entry(&self, i: u8) -> DacEntry {
        self.dac[usize::from(i)]
    }

    /// DAC pixel mask (0x3C6).
    pub fn pel_mask(&self) -> u8 {
        self.pel_mask
    }

    /// The font text modes render with.
    pub fn font(&self) -> &Font {
        &self.font
    }

    /// Attribute index bit 5 is set: the display owns the palette (otherwise it is blank).
    pub fn palette_enabled(&self) -> bool {
        self.attr_index & AR_INDEX_PAS != 0
    }

    /// The picture is blanked, by PAS = 0 or SR1 bit 5 (screen off).
    pub fn blanked(&self) -> bool {
        !self.palette_enabled() || self.seq[idx::SR_CLOCKING] & 0x20 != 0
    }

    /// Replaces the font (a VGA BIOS loading one, or a guest upload captured).
    pub fn set_font(&mut self, font: Font) {
        if *self.font != font {
            self.font = Arc::new(font);
            self.bump();
        }
    }

    /// The plane-2 font window is open: the guest maps plane 2 alone at 0xA0000 in text
    /// mode (SR2 = 4, SR4 odd/even off, GR4 = 2, GR6 text with map A0000), the sequence
    /// every VGA BIOS and Linux vgacon use to load or read a font.
    pub fn plane2_mapped(&self) -> bool {
        let map = (self.gfx[idx::GR_MISC] >> 2) & 3;
        self.seq[idx::SR_MAP_MASK] & 0x0F == 0x04
            && self.seq[idx::SR_MEMORY_MODE] & 0x04 != 0
            && self.gfx[idx::GR_READ_MAP] & 3 == 2
            && self.gfx[idx::GR_MISC] & 1 == 0
            && map <= 1
    }

    /// Sets a register value, bumping the generation if it changed.
    fn store(generation: &mut u64, reg: &mut u8, value: u8) {
        if *reg != value {
            *reg = value;
            *generation = generation.wrapping_add(1);
        }
    }

    /// Reads one byte from `port` (0x3B0-0x3DF); ports without a register float high.
    pub fn read_port(&mut self, port: u16) -> u8 {
        if !self.port_selected(port) {
            return 0xFF;
        }
        match port {
            0x3C0 => {
                if self.attr_flip_flop {
                    0
                } else {
                    self.attr_index
                }
            }
            0x3C1 => self.attr(usize::from(self.attr_index & 0x1F)),
            0x3C2 => 0, // input status 0: no switch sense, no pending CRT interrupt
            0x3C4 => self.seq_index,
            0x3C5 => self.seq(usize::from(self.seq_index)),
            0x3C6 => self.pel_mask,
            0x3C7 => {
                if self.dac_reading {
                    3
                } else {
                    0
                }
            }
            0x3C8 => self.dac_write_index,
            0x3C9 => self.read_dac_data(),
            0x3CA => self.feature_control,
            0x3CC => self.misc,
            0x3CE => self.gfx_index,
            0x3CF => self.gfx(usize::from(self.gfx_index)),
            0x3B4 | 0x3D4 => self.crtc_index,
            0x3B5 | 0x3D5 => self.crtc(usize::from(self.crtc_index)),
            0x3BA | 0x3DA => {
                // Polling loops wait for retrace then display; toggling both on every
                // read lets them finish without modelling beam timing.
                self.attr_flip_flop = false;
                self.status1 ^= STATUS1_TOGGLE;
                self.status1
            }
            _ => {
                log::trace!("vga: read of unimplemented port {port:#x}");
                0xFF
            }
        }
    }

    /// Writes one byte to `port` (0x3B0-0x3DF); writes to ports without a register are
    /// dropped.
    pub fn write_port(&mut self, port: u16, value: u8) {
        if !self.port_selected(port) {
            return;
        }
        let g = &mut self.generation;
        match port {
            0x3C0 => self.write_attr(value),
            0x3C2 => Self::store(g, &mut self.misc, value & !0x10),
            0x3C4 => self.seq_index = value & 7,
            0x3C5 => {
                let i = usize::from(self.seq_index);
                if let (Some(reg), Some(bits)) = (self.seq.get_mut(i), SEQ_WRITABLE.get(i)) {
                    Self::store(g, reg, value & bits);
                }
            }
            0x3C6 => Self::store(g, &mut self.pel_mask, value),
            0x3C7 => {
                self.dac_read_index = value;
                self.dac_sub_index = 0;
                self.dac_reading = true;
            }
            0x3C8 => {
                self.dac_write_index = value;
                self.dac_sub_index = 0;
                self.dac_reading = false;
            }
            0x3C9 => self.write_dac_data(value),
            0x3CE => self.gfx_index = value & 0x0F,
            0x3CF => {
                let i = usize::from(self.gfx_index);
                if let (Some(reg), Some(bits)) = (self.gfx.get_mut(i), GFX_WRITABLE.get(i)) {
                    Self::store(g, reg, value & bits);
                }
            }
            0x3B4 | 0x3D4 => self.crtc_index = value,
            0x3B5 | 0x3D5 => self.write_crtc(value),
            0x3BA | 0x3DA => self.feature_control = value,
            _ => log::trace!("vga: write {value:#x} to unimplemented port {port:#x}"),
        }
    }

    /// Misc bit 0 selects the colour (0x3Dx) or mono (0x3Bx) range; the other range is
    /// not decoded at all.
    fn port_selected(&self, port: u16) -> bool {
        match port {
            0x3B0..=0x3BF => !self.colour_ports(),
            0x3D0..=0x3DF => self.colour_ports(),
            0x3C0..=0x3CF => true,
            _ => false,
        }
    }

    /// 0x3C0: index and data share the port, a flip-flop says which comes next.
    fn write_attr(&mut self, value: u8) {
        if !self.attr_flip_flop {
            let pas_changed = (self.attr_index ^ value) & AR_INDEX_PAS != 0;
            self.attr_index = value & 0x3F;
            if pas_changed {
                self.bump();
            }
        } else {
            let i = usize::from(self.attr_index & 0x1F);
            let bits = match i {
                0x00..=0x0F => 0x3F,
                idx::AR_MODE => 0xEF,
                0x11 => 0xFF,
                0x12 => 0x3F,
                _ => 0x0F, // AR13 panning, AR14 colour select
            };
            if let Some(reg) = self.attr.get_mut(i) {
                Self::store(&mut self.generation, reg, value & bits);
            }
        }
        self.attr_flip_flop = !self.attr_flip_flop;
    }

    /// 0x3D5/0x3B5: CR11 bit 7 locks CR0-7 so old mode-setting code cannot wreck the
    /// timing; only the line-compare bit in CR7 stays writable.
    fn write_crtc(&mut self, value: u8) {
        let i = usize::from(self.crtc_index);
        let Some(&old) = self.crtc.get(i) else {
            return;
        };
        let locked = self.crtc[idx::CR_V_SYNC_END] & CR11_PROTECT != 0;
        let new = match i {
            0..=6 if locked => old,
            idx::CR_OVERFLOW if locked => (old & !0x10) | (value & 0x10),
            _ => value,
        };
        Self::store(&mut self.generation, &mut self.crtc[i], new);
    }

    fn read_dac_data(&mut self) -> u8 {
        let entry = self.dac[usize::from(self.dac_read_index)];
        let v = entry[usize::from(self.dac_sub_index)];
        self.dac_sub_index += 1;
        if self.dac_sub_index == 3 {
            self.dac_sub_index = 0;
            self.dac_read_index = self.dac_read_index.wrapping_add(1);
        }
        v
    }

    fn write_dac_data(&mut self, value: u8) {
        self.dac_latch[usize::from(self.dac_sub_index)] = value & 0x3F;
        self.dac_sub_index += 1;
        if self.dac_sub_index == 3 {
            self.dac_sub_index = 0;
            let i = self.dac_write_index;
            self.set_dac_entry(i, self.dac_latch);
            self.dac_write_index = i.wrapping_add(1);
        }
    }

    /// Sets DAC entry `i` (components masked to 6 bits).
    pub fn set_dac_entry(&mut self, i: u8, rgb: DacEntry) {
        let rgb = rgb.map(|c| c & 0x3F);
        let slot = &mut self.dac[usize::from(i)];
        if *slot != rgb {
            *slot = rgb;
            self.bump();
        }
    }

    /// Sets attribute register `i` (AR0-F palette, AR10-14) as a BIOS would through 0x3C0.
    pub fn set_attr(&mut self, i: usize, value: u8) {
        if let Some(reg) = self.attr.get_mut(i) {
            Self::store(&mut self.generation, reg, value);
        }
    }

    /// Sets CRTC register `i` directly, ignoring the CR0-7 lock (BIOS use).
    pub fn set_crtc(&mut self, i: usize, value: u8) {
        if let Some(reg) = self.crtc.get_mut(i) {
            Self::store(&mut self.generation, reg, value);
        }
    }

    /// Cursor location (CR0E:CR0F), a word offset in the text buffer.
    pub fn cursor_location(&self) -> u16 {
        u16::from_be_bytes([self.crtc[idx::CR_CURSOR_HI], self.crtc[idx::CR_CURSOR_LO]])
    }

    /// Sets the cursor location (CR0E:CR0F).
    pub fn set_cursor_location(&mut self, location: u16) {
        let [hi, lo] = location.to_be_bytes();
        self.set_crtc(idx::CR_CURSOR_HI, hi);
        self.set_crtc(idx::CR_CURSOR_LO, lo);
    }

    /// Cursor shape as (CR0A, CR0B): start scanline (bit 5 = off) and end scanline.
    pub fn cursor_shape(&self) -> (u8, u8) {
        (
            self.crtc[idx::CR_CURSOR_START],
            self.crtc[idx::CR_CURSOR_END],
        )
    }

    /// Sets the cursor shape (CR0A, CR0B), keeping the reserved high bits as they are.
    pub fn set_cursor_shape(&mut self, start: u8, end: u8) {
        let s = (self.crtc[idx::CR_CURSOR_START] & 0xC0) | (start & 0x3F);
        let e = (self.crtc[idx::CR_CURSOR_END] & 0x80) | (end & 0x7F);
        self.set_crtc(idx::CR_CURSOR_START, s);
        self.set_crtc(idx::CR_CURSOR_END, e);
    }

    /// Display start address (CR0C:CR0D).
    pub fn start_address(&self) -> u16 {
        u16::from_be_bytes([self.crtc[idx::CR_START_HI], self.crtc[idx::CR_START_LO]])
    }

    /// Sets the display start address (CR0C:CR0D).
    pub fn set_start_address(&mut self, address: u16) {
        let [hi, lo] = address.to_be_bytes();
        self.set_crtc(idx::CR_START_HI, hi);
        self.set_crtc(idx::CR_START_LO, lo);
    }

    /// AR10 bit 3: attribute bit 7 blinks (true) or selects bright backgrounds (false).
    pub fn blink_enabled(&self) -> bool {
        self.attr[idx::AR_MODE] & 0x08 != 0
    }

    /// Sets AR10 bit 3 (int 10h AX=1003h).
    pub fn set_blink_enabled(&mut self, on: bool) {
        let v = (self.attr[idx::AR_MODE] & !0x08) | if on { 0x08 } else { 0 };
        self.set_attr(idx::AR_MODE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outb(s: &mut VgaState, port: u16, v: u8) {
        s.write_port(port, v);
    }

    fn inb(s: &mut VgaState, port: u16) -> u8 {
        s.read_port(port)
    }

    #[test]
    fn sequencer_and_graphics_registers_read_back_with_their_valid_bits() {
        let mut s = VgaState::new();
        for (i, bits) in SEQ_WRITABLE.iter().enumerate() {
            outb(&mut s, 0x3C4, i as u8);
            outb(&mut s, 0x3C5, 0xFF);
            assert_eq!(inb(&mut s, 0x3C4), i as u8);
            assert_eq!(inb(&mut s, 0x3C5), *bits, "SR{i}");
            outb(&mut s, 0x3C5, 0x5A & bits);
            assert_eq!(inb(&mut s, 0x3C5), 0x5A & bits, "SR{i}");
        }
        for (i, bits) in GFX_WRITABLE.iter().enumerate() {
            outb(&mut s, 0x3CE, i as u8);
            outb(&mut s, 0x3CF, 0xA5);
            assert_eq!(inb(&mut s, 0x3CE), i as u8);
            assert_eq!(inb(&mut s, 0x3CF), 0xA5 & bits, "GR{i}");
        }
        // Nonexistent registers read 0 and ignore writes.
        outb(&mut s, 0x3C4, 6);
        outb(&mut s, 0x3C5, 0x12);
        assert_eq!(inb(&mut s, 0x3C5), 0);
        outb(&mut s, 0x3CE, 0x0C);
        outb(&mut s, 0x3CF, 0x12);
        assert_eq!(inb(&mut s, 0x3CF), 0);
    }

    #[test]
    fn crtc_registers_read_back_and_cr11_locks_cr0_to_cr7() {
        let mut s = VgaState::new();
        outb(&mut s, 0x3D4, 0x11);
        outb(&mut s, 0x3D5, 0x0E); // unlock
        for i in 0..CRTC_REGS as u8 {
            outb(&mut s, 0x3D4, i);
            let v = if usize::from(i) == idx::CR_V_SYNC_END {
                0x0E
            } else {
                i ^ 0xA5
            };
            outb(&mut s, 0x3D5, v);
            assert_eq!(inb(&mut s, 0x3D4), i);
            assert_eq!(inb(&mut s, 0x3D5), v, "CR{i:#x}");
        }
        outb(&mut s, 0x3D4, 0x11);
        outb(&mut s, 0x3D5, 0x8E); // lock
        outb(&mut s, 0x3D4, 0x01);
        outb(&mut s, 0x3D5, 0x00);
        assert_eq!(inb(&mut s, 0x3D5), 0x01 ^ 0xA5, "CR1 locked");
        outb(&mut s, 0x3D4, 0x07);
        let before = inb(&mut s, 0x3D5);
        outb(&mut s, 0x3D5, 0xFF);
        assert_eq!(inb(&mut s, 0x3D5), before | 0x10, "only CR7 bit 4 writable");
        outb(&mut s, 0x3D4, 0x0E);
        outb(&mut s, 0x3D5, 0x07);
        assert_eq!(inb(&mut s, 0x3D5), 0x07, "CR0E not locked");
        // An index past the register file reads 0 and ignores writes.
        outb(&mut s, 0x3D4, 0x40);
        outb(&mut s, 0x3D5, 0x33);
        assert_eq!(inb(&mut s, 0x3D5), 0);
        assert_eq!(inb(&mut s, 0x3D4), 0x40);
    }

    #[test]
    fn attribute_flip_flop_index_data_and_status_reset() {
        let mut s = VgaState::new();
        inb(&mut s, 0x3DA); // reset flip-flop
        for i in 0..ATTR_REGS as u8 {
            outb(&mut s, 0x3C0, i | AR_INDEX_PAS);
            assert_eq!(inb(&mut s, 0x3C0), 0, "data phase reads 0");
            outb(&mut s, 0x3C0, 0x0A);
            assert_eq!(inb(&mut s, 0x3C0), i | AR_INDEX_PAS, "index phase");
            assert_eq!(inb(&mut s, 0x3C1), 0x0A, "AR{i:#x}");
        }
        // Half-way through an index/data pair, reading 0x3DA returns to the index phase.
        outb(&mut s, 0x3C0, 0x02 | AR_INDEX_PAS);
        inb(&mut s, 0x3DA);
        outb(&mut s, 0x3C0, 0x05 | AR_INDEX_PAS);
        outb(&mut s, 0x3C0, 0x3F);
        assert_eq!(s.attr(5), 0x3F);
        assert_eq!(s.attr(2), 0x0A);
        // Writes to 0x3C1 are not data writes.
        outb(&mut s, 0x3C1, 0x11);
        assert_eq!(s.attr(5), 0x3F);
        // Palette bits above 5 do not exist.
        outb(&mut s, 0x3C0, 0x03);
        outb(&mut s, 0x3C0, 0xFF);
        assert_eq!(s.attr(3), 0x3F);
    }

    #[test]
    fn pas_bit_blanks_the_display() {
        let mut s = VgaState::new();
        assert!(!s.blanked());
        inb(&mut s, 0x3DA);
        outb(&mut s, 0x3C0, 0x00);
        assert!(s.blanked());
        outb(&mut s, 0x3C0, 0x00); // data
        outb(&mut s, 0x3C0, 0x20);
        assert!(!s.blanked());
        outb(&mut s, 0x3C4, 1);
        outb(&mut s, 0x3C5, 0x20);
        assert!(s.blanked(), "SR1 screen off");
    }

    #[test]
    fn input_status_toggles_retrace_and_display_enable() {
        let mut s = VgaState::new();
        let a = inb(&mut s, 0x3DA);
        let b = inb(&mut s, 0x3DA);
        assert_eq!(a ^ b, STATUS1_TOGGLE);
        assert_ne!(a & 0x08, b & 0x08, "vertical retrace toggles");
    }

    #[test]
    fn dac_writes_auto_increment_and_read_back_six_bits() {
        let mut s = VgaState::new();
        outb(&mut s, 0x3C8, 0xFF);
        for v in [0x10, 0x20, 0xFF, 0x01, 0x02, 0x03] {
            outb(&mut s, 0x3C9, v);
        }
        assert_eq!(inb(&mut s, 0x3C8), 0x01, "index wrapped after entry 255");
        assert_eq!(inb(&mut s, 0x3C7), 0, "write mode");
        assert_eq!(s.dac_entry(0xFF), [0x10, 0x20, 0x3F]);
        assert_eq!(s.dac_entry(0x00), [0x01, 0x02, 0x03]);
        outb(&mut s, 0x3C7, 0xFF);
        assert_eq!(inb(&mut s, 0x3C7), 3, "read mode");
        let got: Vec<u8> = (0..6).map(|_| inb(&mut s, 0x3C9)).collect();
        assert_eq!(got, [0x10, 0x20, 0x3F, 0x01, 0x02, 0x03]);
        outb(&mut s, 0x3C6, 0x0F);
        assert_eq!(inb(&mut s, 0x3C6), 0x0F);
        // A partial triplet does not commit.
        outb(&mut s, 0x3C8, 5);
        outb(&mut s, 0x3C9, 0x3F);
        assert_ne!(s.dac_entry(5)[0], 0x3F);
    }

    #[test]
    fn mono_and_colour_ranges_follow_misc_bit0() {
        let mut s = VgaState::new();
        assert!(s.colour_ports());
        outb(&mut s, 0x3B4, 0x0E);
        outb(&mut s, 0x3B5, 0x12);
        assert_eq!(inb(&mut s, 0x3B4), 0xFF, "mono range not decoded");
        assert_eq!(inb(&mut s, 0x3BA), 0xFF);
        outb(&mut s, 0x3D4, 0x0E);
        assert_eq!(inb(&mut s, 0x3D5), 0x00, "the mono write was ignored");
        outb(&mut s, 0x3C2, 0x66);
        assert_eq!(inb(&mut s, 0x3CC), 0x66);
        assert_eq!(inb(&mut s, 0x3D4), 0xFF, "colour range off");
        outb(&mut s, 0x3B4, 0x0E);
        outb(&mut s, 0x3B5, 0x12);
        assert_eq!(inb(&mut s, 0x3B5), 0x12);
        outb(&mut s, 0x3BA, 0x01);
        assert_eq!(inb(&mut s, 0x3CA), 0x01, "feature control through 0x3BA");
    }

    #[test]
    fn generation_moves_only_on_picture_changes() {
        let mut s = VgaState::new();
        let g = s.generation();
        inb(&mut s, 0x3DA);
        outb(&mut s, 0x3D4, 0x0E);
        assert_eq!(s.generation(), g, "index writes and status reads");
        outb(&mut s, 0x3D5, 0x00); // same value
        assert_eq!(s.generation(), g);
        outb(&mut s, 0x3D5, 0x01);
        assert!(s.generation() > g);
        let g = s.generation();
        outb(&mut s, 0x3C8, 1);
        outb(&mut s, 0x3C9, 0x3F);
        outb(&mut s, 0x3C9, 0x3F);
        assert_eq!(s.generation(), g, "DAC commits after blue");
        outb(&mut s, 0x3C9, 0x3F);
        assert!(s.generation() > g);
    }

    #[test]
    fn bios_accessors_round_trip() {
        let mut s = VgaState::new();
        s.set_cursor_location(0x07CF);
        assert_eq!(s.cursor_location(), 0x07CF);
        assert_eq!(s.crtc(0x0E), 0x07);
        s.set_start_address(0x1234);
        assert_eq!(s.start_address(), 0x1234);
        assert_eq!((s.crtc(0x0C), s.crtc(0x0D)), (0x12, 0x34));
        s.set_cursor_shape(0x06, 0x07);
        assert_eq!(s.cursor_shape(), (0x06, 0x07));
        s.set_blink_enabled(false);
        assert!(!s.blink_enabled());
        s.set_blink_enabled(true);
        assert!(s.blink_enabled());
        s.set_dac_entry(7, [0xFF, 0x40, 0x01]);
        assert_eq!(s.dac_entry(7), [0x3F, 0x00, 0x01]);
    }
}
