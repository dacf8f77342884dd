//! The keyboard: int 09h (IRQ1) turns set-1 scancodes into BIOS keycodes in the BDA ring,
//! int 16h hands them to programs.
//!
//! A keycode is `scan << 8 | ascii`. Keys of the grey cluster (arrows, Home, ..., keypad
//! Enter and /) are stored with ASCII 0xE0 (or scan 0xE0) so the extended calls (AH=10h,
//! 11h) can tell them apart; the classic calls (AH=00h, 01h) translate them back and skip
//! keys the 84-key keyboard did not have, as SeaBIOS `src/kbd.c` does.
//!
//! The ring, its head/tail and the shift flags live in guest-writable BDA memory: they
//! are validated on every use and a corrupt ring is reset rather than trusted.

use super::bda;
use super::cpu_view::{Completion, CpuView, write_guest};
use crate::bus::BusDevice;
use crate::devices::system::SystemRequest;
use crate::machine::pc::PcBoard;
use crate::memory::GuestMemory;

/// i8042 status: output buffer full.
const STATUS_OBF: u8 = 0x01;
/// i8042 status: the byte came from the aux (mouse) port.
const STATUS_AUX: u8 = 0x20;

/// BDA 0x417 bits.
mod flags0 {
    pub const RSHIFT: u8 = 0x01;
    pub const LSHIFT: u8 = 0x02;
    pub const CTRL: u8 = 0x04;
    pub const ALT: u8 = 0x08;
    pub const SCROLL: u8 = 0x10;
    pub const NUM: u8 = 0x20;
    pub const CAPS: u8 = 0x40;
    pub const INSERT: u8 = 0x80;
}

/// BDA 0x418 bits.
mod flags1 {
    pub const LCTRL: u8 = 0x01;
    pub const LALT: u8 = 0x02;
    pub const SYSRQ: u8 = 0x04;
    pub const SCROLL_HELD: u8 = 0x10;
    pub const NUM_HELD: u8 = 0x20;
    pub const CAPS_HELD: u8 = 0x40;
    pub const INSERT_HELD: u8 = 0x80;
}

/// BDA 0x496 bits.
mod flags2 {
    pub const LAST_E1: u8 = 0x01;
    pub const LAST_E0: u8 = 0x02;
    pub const RCTRL: u8 = 0x04;
    pub const RALT: u8 = 0x08;
}

/// Keycodes of set-1 codes 0x01-0x58: normal, shifted, with Ctrl, with Alt (0 = none).
/// Values are the IBM PC/AT BIOS keycodes (as listed in Ralf Brown's interrupt list).
#[rustfmt::skip]
const KEYCODES: [[u16; 4]; 0x59] = [
    [0, 0, 0, 0],                                   // 00
    [0x011B, 0x011B, 0x011B, 0x0100],               // 01 Esc
    [0x0231, 0x0221, 0x0000, 0x7800],               // 02 1 !
    [0x0332, 0x0340, 0x0300, 0x7900],               // 03 2 @
    [0x0433, 0x0423, 0x0000, 0x7A00],               // 04 3 #
    [0x0534, 0x0524, 0x0000, 0x7B00],               // 05 4 $
    [0x0635, 0x0625, 0x0000, 0x7C00],               // 06 5 %
    [0x0736, 0x075E, 0x071E, 0x7D00],               // 07 6 ^
    [0x0837, 0x0826, 0x0000, 0x7E00],               // 08 7 &
    [0x0938, 0x092A, 0x0000, 0x7F00],               // 09 8 *
    [0x0A39, 0x0A28, 0x0000, 0x8000],               // 0A 9 (
    [0x0B30, 0x0B29, 0x0000, 0x8100],               // 0B 0 )
    [0x0C2D, 0x0C5F, 0x0C1F, 0x8200],               // 0C - _
    [0x0D3D, 0x0D2B, 0x0000, 0x8300],               // 0D = +
    [0x0E08, 0x0E08, 0x0E7F, 0x0E00],               // 0E Backspace
    [0x0F09, 0x0F00, 0x9400, 0xA500],               // 0F Tab
    [0x1071, 0x1051, 0x1011, 0x1000],               // 10 q
    [0x1177, 0x1157, 0x1117, 0x1100],               // 11 w
    [0x1265, 0x1245, 0x1205, 0x1200],               // 12 e
    [0x1372, 0x1352, 0x1312, 0x1300],               // 13 r
    [0x1474, 0x1454, 0x1414, 0x1400],               // 14 t
    [0x1579, 0x1559, 0x1519, 0x1500],               // 15 y
    [0x1675, 0x1655, 0x1615, 0x1600],               // 16 u
    [0x1769, 0x1749, 0x1709, 0x1700],               // 17 i
    [0x186F, 0x184F, 0x180F, 0x1800],               // 18 o
    [0x1970, 0x1950, 0x1910, 0x1900],               // 19 p
    [0x1A5B, 0x1A7B, 0x1A1B, 0x1A00],               // 1A [ {
    [0x1B5D, 0x1B7D, 0x1B1D, 0x1B00],               // 1B ] }
    [0x1C0D, 0x1C0D, 0x1C0A, 0x1C00],               // 1C Enter
    [0, 0, 0, 0],                                   // 1D Ctrl
    [0x1E61, 0x1E41, 0x1E01, 0x1E00],               // 1E a
    [0x1F73, 0x1F53, 0x1F13, 0x1F00],               // 1F s
    [0x2064, 0x2044, 0x2004, 0x2000],               // 20 d
    [0x2166, 0x2146, 0x2106, 0x2100],               // 21 f
    [0x2267, 0x2247, 0x2207, 0x2200],               // 22 g
    [0x2368, 0x2348, 0x2308, 0x2300],               // 23 h
    [0x246A, 0x244A, 0x240A, 0x2400],               // 24 j
    [0x256B, 0x254B, 0x250B, 0x2500],               // 25 k
    [0x266C, 0x264C, 0x260C, 0x2600],               // 26 l
    [0x273B, 0x273A, 0x0000, 0x2700],               // 27 ; :
    [0x2827, 0x2822, 0x0000, 0x2800],               // 28 ' "
    [0x2960, 0x297E, 0x0000, 0x2900],               // 29 ` ~
    [0, 0, 0, 0],                                   // 2A LShift
    [0x2B5C, 0x2B7C, 0x2B1C, 0x2B00],               // 2B \ |
    [0x2C7A, 0x2C5A, 0x2C1A, 0x2C00],               // 2C z
    [0x2D78, 0x2D58, 0x2D18, 0x2D00],               // 2D x
    [0x2E63, 0x2E43, 0x2E03, 0x2E00],               // 2E c
    [0x2F76, 0x2F56, 0x2F16, 0x2F00],               // 2F v
    [0x3062, 0x3042, 0x3002, 0x3000],               // 30 b
    [0x316E, 0x314E, 0x310E, 0x3100],               // 31 n
    [0x326D, 0x324D, 0x320D, 0x3200],               // 32 m
    [0x332C, 0x333C, 0x0000, 0x3300],               // 33 , <
    [0x342E, 0x343E, 0x0000, 0x3400],               // 34 . >
    [0x352F, 0x353F, 0x0000, 0x3500],               // 35 / ?
    [0, 0, 0, 0],                                   // 36 RShift
    [0x372A, 0x372A, 0x9600, 0x3700],               // 37 Keypad *
    [0, 0, 0, 0],                                   // 38 Alt
    [0x3920, 0x3920, 0x3920, 0x3920],               // 39 Space
    [0, 0, 0, 0],                                   // 3A Caps Lock
    [0x3B00, 0x5400, 0x5E00, 0x6800],               // 3B F1
    [0x3C00, 0x5500, 0x5F00, 0x6900],               // 3C F2
    [0x3D00, 0x5600, 0x6000, 0x6A00],               // 3D F3
    [0x3E00, 0x5700, 0x6100, 0x6B00],               // 3E F4
    [0x3F00, 0x5800, 0x6200, 0x6C00],               // 3F F5
    [0x4000, 0x5900, 0x6300, 0x6D00],               // 40 F6
    [0x4100, 0x5A00, 0x6400, 0x6E00],               // 41 F7
    [0x4200, 0x5B00, 0x6500, 0x6F00],               // 42 F8
    [0x4300, 0x5C00, 0x6600, 0x7000],               // 43 F9
    [0x4400, 0x5D00, 0x6700, 0x7100],               // 44 F10
    [0, 0, 0, 0],                                   // 45 Num Lock
    [0, 0, 0, 0],                                   // 46 Scroll Lock
    [0x4700, 0x4737, 0x7700, 0x0000],               // 47 Keypad 7 / Home
    [0x4800, 0x4838, 0x8D00, 0x0000],               // 48 Keypad 8 / Up
    [0x4900, 0x4939, 0x8400, 0x0000],               // 49 Keypad 9 / PgUp
    [0x4A2D, 0x4A2D, 0x8E00, 0x4A00],               // 4A Keypad -
    [0x4B00, 0x4B34, 0x7300, 0x0000],               // 4B Keypad 4 / Left
    [0x4C00, 0x4C35, 0x8F00, 0x0000],               // 4C Keypad 5
    [0x4D00, 0x4D36, 0x7400, 0x0000],               // 4D Keypad 6 / Right
    [0x4E2B, 0x4E2B, 0x9000, 0x4E00],               // 4E Keypad +
    [0x4F00, 0x4F31, 0x7500, 0x0000],               // 4F Keypad 1 / End
    [0x5000, 0x5032, 0x9100, 0x0000],               // 50 Keypad 2 / Down
    [0x5100, 0x5133, 0x7600, 0x0000],               // 51 Keypad 3 / PgDn
    [0x5200, 0x5230, 0x9200, 0x0000],               // 52 Keypad 0 / Ins
    [0x5300, 0x532E, 0x9300, 0x0000],               // 53 Keypad . / Del
    [0, 0, 0, 0],                                   // 54 SysRq
    [0, 0, 0, 0],                                   // 55
    [0x565C, 0x567C, 0x0000, 0x0000],               // 56 102nd key \ |
    [0x8500, 0x8700, 0x8900, 0x8B00],               // 57 F11
    [0x8600, 0x8800, 0x8A00, 0x8C00],               // 58 F12
];

/// Grey-cluster keys (E0-prefixed set-1 codes 0x47-0x53): with Ctrl, with Alt.
fn grey_key(code: u8, ctrl: bool, alt: bool) -> Option<u16> {
    let (ctrl_code, alt_code) = match code {
        0x47 => (0x77E0, 0x9700), // Home
        0x48 => (0x8DE0, 0x9800), // Up
        0x49 => (0x84E0, 0x9900), // PgUp
        0x4B => (0x73E0, 0x9B00), // Left
        0x4D => (0x74E0, 0x9D00), // Right
        0x4F => (0x75E0, 0x9F00), // End
        0x50 => (0x91E0, 0xA000), // Down
        0x51 => (0x76E0, 0xA100), // PgDn
        0x52 => (0x92E0, 0xA200), // Insert
        0x53 => (0x93E0, 0xA300), // Delete
        0x1C => {
            return Some(if alt {
                0xA600
            } else if ctrl {
                0xE00A
            } else {
                0xE00D
            });
        }
        0x35 => {
            return Some(if alt {
                0xA400
            } else if ctrl {
                0x9500
            } else {
                0xE02F
            });
        }
        _ => return None,
    };
    Some(if alt {
        alt_code
    } else if ctrl {
        ctrl_code
    } else {
        u16::from(code) << 8 | 0xE0
    })
}

fn is_letter(code: u8) -> bool {
    matches!(code, 0x10..=0x19 | 0x1E..=0x26 | 0x2C..=0x32)
}

fn is_keypad(code: u8) -> bool {
    matches!(code, 0x47..=0x53) && code != 0x4A && code != 0x4E
}

/// The BIOS keyboard ring in the BDA (offsets relative to segment 0x40).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ring {
    start: u16,
    end: u16,
    head: u16,
    tail: u16,
}

impl Ring {
    /// Reads the ring's pointers. Bounds the guest has corrupted fall back to the
    /// standard ring, and a head or tail outside the ring empties it.
    fn load(mem: &GuestMemory) -> Self {
        let word = |a| mem.read_u16(a).unwrap_or(0);
        let (mut start, mut end) = (word(bda::KBD_START), word(bda::KBD_END));
        if start % 2 != 0 || end % 2 != 0 || end < start.saturating_add(4) {
            (start, end) = (bda::KBD_RING, bda::KBD_RING_END);
        }
        let (mut head, mut tail) = (word(bda::KBD_HEAD), word(bda::KBD_TAIL));
        let valid = |p: u16| (start..end).contains(&p) && (p - start) % 2 == 0;
        if !valid(head) || !valid(tail) {
            log::debug!("keyboard: ring pointers {head:#x}/{tail:#x} invalid; emptied");
            (head, tail) = (start, start);
        }
        Self {
            start,
            end,
            head,
            tail,
        }
    }

    fn store(&self, mem: &GuestMemory) {
        write_guest(mem, bda::KBD_HEAD, &self.head.to_le_bytes());
        write_guest(mem, bda::KBD_TAIL, &self.tail.to_le_bytes());
    }

    fn advance(&self, p: u16) -> u16 {
        let next = p + 2;
        if next >= self.end { self.start } else { next }
    }

    fn slot(p: u16) -> u64 {
        bda::BASE + u64::from(p)
    }

    fn peek(&self, mem: &GuestMemory) -> Option<u16> {
        (self.head != self.tail).then(|| mem.read_u16(Self::slot(self.head)).unwrap_or(0))
    }

    /// Appends a keycode; false (and nothing stored) when the ring is full.
    fn push(&mut self, mem: &GuestMemory, key: u16) -> bool {
        let next = self.advance(self.tail);
        if next == self.head {
            return false;
        }
        write_guest(mem, Self::slot(self.tail), &key.to_le_bytes());
        self.tail = next;
        true
    }

    fn pop(&mut self, mem: &GuestMemory) -> Option<u16> {
        let key = self.peek(mem)?;
        self.head = self.advance(self.head);
        Some(key)
    }
}

/// Stores `key` in the ring; false when it is full (the key is dropped).
fn enqueue(mem: &GuestMemory, key: u16) -> bool {
    let mut ring = Ring::load(mem);
    let stored = ring.push(mem, key);
    ring.store(mem);
    if !stored {
        log::debug!("keyboard: buffer full, key {key:#06x} dropped");
    }
    stored
}

/// int 09h: one byte from the i8042, read as the guest's `in al, 0x60` would be.
pub fn irq1(board: &mut PcBoard) -> Completion {
    let mut status = [0u8];
    board.i8042.read(0x64, &mut status);
    if status[0] & STATUS_OBF == 0 || status[0] & STATUS_AUX != 0 {
        return Completion::Done;
    }
    let mut byte = [0u8];
    board.i8042.read(0x60, &mut byte);
    process_scancode(board, byte[0]);
    Completion::Done
}

/// Decodes one set-1 byte: prefixes, shift state, and keycodes into the ring.
fn process_scancode(board: &PcBoard, byte: u8) {
    let mem = &board.shared.memory;
    let get = |a| mem.read_u8(a).unwrap_or(0);
    let (mut f0, mut f1, mut f2) = (
        get(bda::KBD_FLAGS0),
        get(bda::KBD_FLAGS1),
        get(bda::KBD_FLAGS2),
    );
    let save = |f0: u8, f1: u8, f2: u8| {
        write_guest(mem, bda::KBD_FLAGS0, &[f0]);
        write_guest(mem, bda::KBD_FLAGS1, &[f1]);
        write_guest(mem, bda::KBD_FLAGS2, &[f2]);
    };
    match byte {
        0xE0 => return save(f0, f1, f2 | flags2::LAST_E0),
        0xE1 => return save(f0, f1, f2 | flags2::LAST_E1),
        // Keyboard overrun / error: nothing to decode.
        0x00 | 0xFF => return,
        _ => {}
    }
    if f2 & flags2::LAST_E1 != 0 {
        // Pause: E1 1D 45 (E1 9D C5): swallow the sequence.
        if byte & 0x7F != 0x1D {
            f2 &= !flags2::LAST_E1;
        }
        return save(f0, f1, f2);
    }
    let e0 = f2 & flags2::LAST_E0 != 0;
    f2 &= !flags2::LAST_E0;
    let released = byte & 0x80 != 0;
    let code = byte & 0x7F;
    let set = |flags: &mut u8, bit: u8, on: bool| {
        if on {
            *flags |= bit;
        } else {
            *flags &= !bit;
        }
    };
    match (code, e0) {
        // E0 2A / E0 36: the "fake shifts" around grey keys; ignore.
        (0x2A | 0x36, true) => {}
        (0x2A, false) => set(&mut f0, flags0::LSHIFT, !released),
        (0x36, false) => set(&mut f0, flags0::RSHIFT, !released),
        (0x1D, _) => {
            if e0 {
                set(&mut f2, flags2::RCTRL, !released);
            } else {
                set(&mut f1, flags1::LCTRL, !released);
            }
            let any = f1 & flags1::LCTRL != 0 || f2 & flags2::RCTRL != 0;
            set(&mut f0, flags0::CTRL, any);
        }
        (0x38, _) => {
            if e0 {
                set(&mut f2, flags2::RALT, !released);
            } else {
                set(&mut f1, flags1::LALT, !released);
            }
            let any = f1 & flags1::LALT != 0 || f2 & flags2::RALT != 0;
            set(&mut f0, flags0::ALT, any);
        }
        (0x3A, false) => toggle(&mut f0, &mut f1, flags0::CAPS, flags1::CAPS_HELD, released),
        (0x45, false) => toggle(&mut f0, &mut f1, flags0::NUM, flags1::NUM_HELD, released),
        (0x46, false) => toggle(
            &mut f0,
            &mut f1,
            flags0::SCROLL,
            flags1::SCROLL_HELD,
            released,
        ),
        (0x54, false) => set(&mut f1, flags1::SYSRQ, !released),
        _ if released => {
            if code == 0x52 {
                f1 &= !flags1::INSERT_HELD;
            }
        }
        _ => {
            let ctrl = f0 & flags0::CTRL != 0;
            let alt = f0 & flags0::ALT != 0;
            if code == 0x53 && ctrl && alt {
                log::info!("keyboard: Ctrl+Alt+Del");
                write_guest(mem, bda::SOFT_RESET, &0x1234u16.to_le_bytes());
                board
                    .shared
                    .system
                    .request(SystemRequest::Reset("Ctrl+Alt+Del"));
                return save(f0, f1, f2);
            }
            let shift = f0 & (flags0::LSHIFT | flags0::RSHIFT) != 0;
            let key = if e0 {
                grey_key(code, ctrl, alt)
            } else {
                keycode(code, shift, ctrl, alt, f0)
            };
            let insert = code == 0x52 && (e0 || key.is_some_and(|k| k & 0xFF == 0));
            if insert {
                if f1 & flags1::INSERT_HELD == 0 {
                    f0 ^= flags0::INSERT;
                }
                f1 |= flags1::INSERT_HELD;
            }
            match key {
                Some(k) if k != 0 => {
                    enqueue(mem, k);
                }
                _ => log::trace!("keyboard: no keycode for {byte:#04x} (e0={e0})"),
            }
        }
    }
    save(f0, f1, f2);
}

/// Caps/Num/Scroll Lock: toggles on the first make (not on typematic repeats).
fn toggle(f0: &mut u8, f1: &mut u8, state: u8, held: u8, released: bool) {
    if released {
        *f1 &= !held;
    } else {
        if *f1 & held == 0 {
            *f0 ^= state;
        }
        *f1 |= held;
    }
}

fn keycode(code: u8, shift: bool, ctrl: bool, alt: bool, f0: u8) -> Option<u16> {
    let row = KEYCODES.get(usize::from(code))?;
    let shifted = if is_letter(code) {
        shift ^ (f0 & flags0::CAPS != 0)
    } else if is_keypad(code) {
        shift ^ (f0 & flags0::NUM != 0)
    } else {
        shift
    };
    Some(if alt {
        row[3]
    } else if ctrl {
        row[2]
    } else if shifted {
        row[1]
    } else {
        row[0]
    })
}

/// What the classic (84-key) calls make of a stored keycode: `None` for keys they do
/// not report, else the keycode with the E0 markers translated away.
fn classic(key: u16) -> Option<u16> {
    let [ascii, scan] = key.to_le_bytes();
    if scan > 0x84 && scan != 0xE0 {
        return None;
    }
    let scan = if scan == 0xE0 {
        if matches!(ascii, 0x0D | 0x0A) {
            0x1C
        } else {
            0x35
        }
    } else {
        scan
    };
    let ascii = if ascii == 0xE0 && scan != 0 { 0 } else { ascii };
    Some(u16::from_le_bytes([ascii, scan]))
}

/// The next key for the caller, removing it when `remove`. Classic calls drop (remove)
/// keys they cannot report, as SeaBIOS does.
fn next_key(mem: &GuestMemory, extended: bool, remove: bool) -> Option<u16> {
    let mut ring = Ring::load(mem);
    let found = loop {
        let Some(key) = ring.peek(mem) else {
            break None;
        };
        let key = if extended { Some(key) } else { classic(key) };
        match key {
            Some(k) => {
                if remove {
                    ring.pop(mem);
                }
                break Some(k);
            }
            None => {
                ring.pop(mem);
            }
        }
    };
    ring.store(mem);
    found
}

/// int 16h.
pub fn int16(cpu: &mut CpuView, board: &mut PcBoard) -> Completion {
    let mem = &board.shared.memory;
    let extended = cpu.ah() & 0x10 != 0;
    match cpu.ah() {
        0x00 | 0x10 => match next_key(mem, extended, true) {
            Some(k) => cpu.set_ax(k),
            None => return Completion::Wait,
        },
        0x01 | 0x11 => match next_key(mem, extended, false) {
            Some(k) => {
                cpu.set_ax(k);
                cpu.set_zero(false);
            }
            None => cpu.set_zero(true),
        },
        0x02 => cpu.set_al(mem.read_u8(bda::KBD_FLAGS0).unwrap_or(0)),
        0x03 => {} // typematic rate: the PS/2 keyboard's defaults stay
        0x05 => {
            let stored = enqueue(mem, cpu.cx());
            cpu.set_al(u8::from(!stored));
        }
        0x12 => {
            let get = |a| mem.read_u8(a).unwrap_or(0);
            let (f0, f1, f2) = (
                get(bda::KBD_FLAGS0),
                get(bda::KBD_FLAGS1),
                get(bda::KBD_FLAGS2),
            );
            cpu.set_al(f0);
            let sysrq = if f1 & flags1::SYSRQ != 0 { 0x80 } else { 0 };
            cpu.set_ah((f1 & 0x73) | (f2 & 0x0C) | sysrq);
        }
        other => log::debug!("int 16h: AH={other:#04x} not supported"),
    }
    Completion::Done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::keymap::Key;
    use crate::firmware::test_util::{board, cpu};

    fn feed(b: &PcBoard, bytes: &[u8]) {
        for &x in bytes {
            process_scancode(b, x);
        }
    }

    fn get_key(b: &mut PcBoard, ah: u8) -> (Completion, CpuView) {
        let mut c = cpu(u16::from(ah) << 8, 0, 0, 0);
        let done = int16(&mut c, b);
        (done, c)
    }

    #[test]
    fn irq1_reads_the_controller_and_queues_the_key() {
        let mut b = board();
        b.i8042.key_event(Key::A, true);
        irq1(&mut b);
        b.i8042.key_event(Key::A, false);
        irq1(&mut b);
        irq1(&mut b); // nothing pending: harmless
        let (done, c) = get_key(&mut b, 0x00);
        assert_eq!((done, c.ax()), (Completion::Done, 0x1E61));
        let (done, _) = get_key(&mut b, 0x00);
        assert_eq!(done, Completion::Wait, "empty buffer waits");
    }

    #[test]
    fn shift_caps_ctrl_and_alt_select_the_keycode() {
        let mut b = board();
        feed(&b, &[0x2A, 0x1E, 0x9E, 0xAA]); // Shift+a
        feed(&b, &[0x3A, 0xBA, 0x1E, 0x02]); // Caps, a, 1
        feed(&b, &[0x2A, 0x1E, 0xAA]); // Caps+Shift+a
        feed(&b, &[0x1D, 0x2E, 0x9D]); // Ctrl+c
        feed(&b, &[0xE0, 0x38, 0x1E, 0xE0, 0xB8]); // AltGr+a
        let keys: Vec<u16> = (0..6).map(|_| get_key(&mut b, 0x00).1.ax()).collect();
        assert_eq!(keys, [0x1E41, 0x1E41, 0x0231, 0x1E61, 0x2E03, 0x1E00]);
        assert_eq!(get_key(&mut b, 0x02).1.al(), flags0::CAPS);
        feed(&b, &[0x3A, 0x3A, 0xBA]); // typematic repeat toggles once
        assert_eq!(get_key(&mut b, 0x02).1.al(), 0);
    }

    #[test]
    fn grey_keys_are_marked_and_translated_for_classic_calls() {
        let mut b = board();
        feed(&b, &[0xE0, 0x48, 0xE0, 0xC8, 0xE0, 0x1C, 0x57, 0x48]);
        let (_, c) = get_key(&mut b, 0x11);
        assert_eq!((c.ax(), c.zero()), (0x48E0, false));
        assert_eq!(get_key(&mut b, 0x00).1.ax(), 0x4800);
        assert_eq!(get_key(&mut b, 0x10).1.ax(), 0xE00D);
        // F11 is not reported by AH=00h: it is skipped.
        assert_eq!(
            get_key(&mut b, 0x00).1.ax(),
            0x4800,
            "keypad 8 (NumLock off)"
        );
        let (_, c) = get_key(&mut b, 0x01);
        assert!(c.zero(), "empty");
    }

    #[test]
    fn pause_sequence_is_swallowed_and_ctrl_alt_del_resets() {
        let mut b = board();
        feed(&b, &[0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5]);
        assert!(get_key(&mut b, 0x01).1.zero());
        assert_eq!(
            get_key(&mut b, 0x02).1.al() & flags0::NUM,
            0,
            "not Num Lock"
        );
        feed(&b, &[0x1D, 0x38, 0xE0, 0x53]);
        assert_eq!(
            b.shared.system.take(),
            Some(SystemRequest::Reset("Ctrl+Alt+Del"))
        );
        assert_eq!(
            b.shared.memory.read_u16(bda::SOFT_RESET).expect("r"),
            0x1234
        );
        let (_, c) = get_key(&mut b, 0x12);
        assert_eq!(
            c.al() & (flags0::CTRL | flags0::ALT),
            flags0::CTRL | flags0::ALT
        );
        assert_eq!(c.ah() & 0x03, 0x03, "left Ctrl and left Alt held");
    }

    #[test]
    fn full_ring_drops_and_push_key_reports_it() {
        let mut b = board();
        for i in 0..15 {
            let mut c = cpu(0x0500, 0, 0x3900 + i, 0);
            int16(&mut c, &mut b);
            assert_eq!(c.al(), 0);
        }
        let mut c = cpu(0x0500, 0, 0x1234, 0);
        int16(&mut c, &mut b);
        assert_eq!(c.al(), 1, "15 keys fill a 16-slot ring");
        feed(&b, &[0x1E]);
        assert_eq!(get_key(&mut b, 0x10).1.ax(), 0x3900);
    }

    #[test]
    fn corrupt_ring_pointers_are_not_trusted() {
        let mut b = board();
        let mem = b.shared.memory.clone();
        mem.write_u16(bda::KBD_HEAD, 0xFFF1).expect("w");
        mem.write_u16(bda::KBD_START, 0x0100).expect("w");
        mem.write_u16(bda::KBD_END, 0x0080).expect("w");
        assert!(get_key(&mut b, 0x01).1.zero());
        feed(&b, &[0x1E]);
        assert_eq!(mem.read_u16(bda::KBD_TAIL).expect("r"), bda::KBD_RING + 2);
        assert_eq!(get_key(&mut b, 0x00).1.ax(), 0x1E61);
        // A valid custom ring at the end of segment 0x40 stays inside RAM.
        mem.write_u16(bda::KBD_START, 0xFFF0).expect("w");
        mem.write_u16(bda::KBD_END, 0xFFFE).expect("w");
        feed(&b, &[0x1E]);
        assert_eq!(get_key(&mut b, 0x00).1.ax(), 0x1E61);
    }
}
