//! The BIOS data area (segment 0x40) and the EBDA: field addresses and their power-on
//! contents, as SeaBIOS's `src/std/bda.h` lays them out.
//!
//! Every field is guest-writable RAM, so code reading it back treats the values as
//! untrusted (see the users' bounds checks).

use crate::memory::GuestMemory;

/// Linear address of the BDA.
pub const BASE: u64 = 0x400;
/// COM1-COM4 I/O bases.
pub const COM_PORTS: u64 = 0x400;
/// EBDA segment.
pub const EBDA_SEGMENT: u64 = 0x40E;
/// Equipment word (int 11h).
pub const EQUIPMENT: u64 = 0x410;
/// Conventional memory in KiB (int 12h).
pub const MEMORY_KIB: u64 = 0x413;
/// Keyboard shift flags: b0 RShift, b1 LShift, b2 Ctrl, b3 Alt held; b4 Scroll, b5 Num,
/// b6 Caps, b7 Insert active.
pub const KBD_FLAGS0: u64 = 0x417;
/// Keyboard flags: b0 LCtrl, b1 LAlt, b2 SysRq held, b3 pause, b4 Scroll, b5 Num, b6 Caps,
/// b7 Insert keys held.
pub const KBD_FLAGS1: u64 = 0x418;
/// Keyboard ring head (offset from segment 0x40).
pub const KBD_HEAD: u64 = 0x41A;
/// Keyboard ring tail.
pub const KBD_TAIL: u64 = 0x41C;
/// Default keyboard ring (16 words).
pub const KBD_RING: u16 = 0x1E;
/// End of the default ring (exclusive, offset from segment 0x40).
pub const KBD_RING_END: u16 = 0x3E;
/// Diskette status of the last operation.
pub const FLOPPY_STATUS: u64 = 0x441;
/// Current video mode.
pub const VIDEO_MODE: u64 = 0x449;
/// Text columns.
pub const VIDEO_COLS: u64 = 0x44A;
/// Bytes per video page.
pub const VIDEO_PAGE_SIZE: u64 = 0x44C;
/// Offset of the active page in video memory.
pub const VIDEO_PAGE_START: u64 = 0x44E;
/// Cursor positions of pages 0-7 (low byte column, high byte row).
pub const CURSOR_POS: u64 = 0x450;
/// Cursor shape (start scanline << 8 | end scanline).
pub const CURSOR_SHAPE: u64 = 0x460;
/// Active video page.
pub const ACTIVE_PAGE: u64 = 0x462;
/// CRTC base port.
pub const CRTC_PORT: u64 = 0x463;
/// CGA mode-select register shadow.
pub const MODE_SELECT: u64 = 0x465;
/// CGA palette register shadow.
pub const PALETTE: u64 = 0x466;
/// Timer ticks since midnight (int 1Ah).
pub const TICKS: u64 = 0x46C;
/// Set when the tick count passed midnight.
pub const MIDNIGHT: u64 = 0x470;
/// Soft-reset flag (0x1234 = warm boot).
pub const SOFT_RESET: u64 = 0x472;
/// Hard-disk status of the last operation.
pub const DISK_STATUS: u64 = 0x474;
/// Number of hard disks.
pub const HARD_DISKS: u64 = 0x475;
/// Keyboard ring start offset.
pub const KBD_START: u64 = 0x480;
/// Keyboard ring end offset.
pub const KBD_END: u64 = 0x482;
/// Text rows - 1.
pub const VIDEO_ROWS: u64 = 0x484;
/// Character height in scanlines.
pub const CHAR_HEIGHT: u64 = 0x485;
/// EGA/VGA control: b0 cursor emulation off, b7 last mode set kept memory.
pub const VIDEO_CTL: u64 = 0x487;
/// EGA switches.
pub const VIDEO_SWITCHES: u64 = 0x488;
/// VGA mode-set control.
pub const MODESET_CTL: u64 = 0x489;
/// int 15h AH=83h: the far pointer (offset, segment) to the caller's flag byte.
pub const WAIT_FLAG_PTR: u64 = 0x498;
/// int 15h AH=83h/86h: the interval asked for, in microseconds.
pub const WAIT_COUNT: u64 = 0x49C;
/// int 15h AH=83h/86h: bit 0 while an interval is in progress.
pub const WAIT_ACTIVE: u64 = 0x4A0;
/// Keyboard flags: b0 last byte E1, b1 last byte E0, b2 RCtrl, b3 RAlt held, b4 101-key.
pub const KBD_FLAGS2: u64 = 0x496;
/// Keyboard LED state.
pub const KBD_LEDS: u64 = 0x497;

/// Linear address of the extended BIOS data area (the last KiB below 640 KiB).
pub const EBDA: u64 = 0x9_FC00;
/// KiB of conventional memory left for the guest (640 minus the EBDA).
pub const BASE_MEMORY_KIB: u16 = 639;

/// Equipment word bits.
pub mod equipment {
    /// A floppy drive is installed.
    pub const FLOPPY: u16 = 1 << 0;
    /// A math coprocessor is installed.
    pub const FPU: u16 = 1 << 1;
    /// Initial video mode 80x25 colour (bits 4-5 = 10b).
    pub const VIDEO_80X25_COLOUR: u16 = 0b10 << 4;
    /// One serial port (bits 9-11).
    pub const ONE_SERIAL_PORT: u16 = 1 << 9;
}

/// Writes the power-on BDA and EBDA. Video fields are written by the video module.
pub fn init(mem: &GuestMemory, floppy: bool, hard_disks: u8) -> crate::Result<()> {
    mem.write_u16(COM_PORTS, crate::devices::uart::COM1.0)?;
    mem.write_u16(EBDA_SEGMENT, (EBDA >> 4) as u16)?;
    let mut equip = equipment::FPU | equipment::VIDEO_80X25_COLOUR | equipment::ONE_SERIAL_PORT;
    if floppy {
        equip |= equipment::FLOPPY;
    }
    mem.write_u16(EQUIPMENT, equip)?;
    mem.write_u16(MEMORY_KIB, BASE_MEMORY_KIB)?;
    mem.write_u16(KBD_HEAD, KBD_RING)?;
    mem.write_u16(KBD_TAIL, KBD_RING)?;
    mem.write_u16(KBD_START, KBD_RING)?;
    mem.write_u16(KBD_END, KBD_RING_END)?;
    mem.write(KBD_FLAGS2, &[0x10])?; // 101-key keyboard
    mem.write(HARD_DISKS, &[hard_disks])?;
    // The EBDA's first word is its size in KiB.
    mem.write_u16(EBDA, 1)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_writes_the_fields_boot_code_reads() {
        let mem = crate::machine::layout::pc_memory(2).expect("mem");
        init(&mem, true, 1).expect("init");
        assert_eq!(mem.read_u16(COM_PORTS).expect("r"), 0x3F8);
        assert_eq!(mem.read_u16(EBDA_SEGMENT).expect("r"), 0x9FC0);
        assert_eq!(mem.read_u16(EQUIPMENT).expect("r") & 0x31, 0x21);
        assert_eq!(mem.read_u16(MEMORY_KIB).expect("r"), 639);
        assert_eq!(mem.read_u16(KBD_END).expect("r"), 0x3E);
        assert_eq!(mem.read_u8(HARD_DISKS).expect("r"), 1);
        init(&mem, false, 0).expect("init");
        assert_eq!(mem.read_u16(EQUIPMENT).expect("r") & 1, 0);
    }
}
