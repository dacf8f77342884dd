//! int 11h (equipment), int 12h (conventional memory) and int 15h (system services:
//! memory map, A20, configuration table, waiting and event intervals), after SeaBIOS
//! `src/system.c` and `src/clock.c`.

use super::bda;
use super::cpu_view::{Completion, CpuView, linear, write_guest};
use super::rom;
use crate::machine::layout::{BIOS_ROM_SIZE, BIOS_ROM_START, EBDA_START, HIGH_MEMORY_START};
use crate::machine::pc::PcBoard;
use crate::memory::GuestMemory;

/// 'SMAP', the signature E820 callers pass in EDX and get back in EAX.
pub const SMAP: u32 = 0x534D_4150;
/// Bytes of an E820 entry (without the ACPI 3.0 attributes).
const E820_ENTRY: u32 = 20;
/// E820 type: usable RAM.
pub const E820_RAM: u32 = 1;
/// E820 type: reserved.
pub const E820_RESERVED: u32 = 2;
/// int 15h "function not supported".
const UNSUPPORTED: u8 = 0x86;
/// int 15h status for an argument the call cannot use (an E820 buffer outside RAM).
const INVALID: u8 = 0x01;
/// int 15h AH=86h status: the user timer is running an interval already (SeaBIOS
/// `RET_ECLOCKINUSE`).
const CLOCK_IN_USE: u8 = 0x83;

/// int 11h: AX = the equipment word.
pub fn int11(cpu: &mut CpuView, board: &mut PcBoard) -> Completion {
    cpu.set_ax(board.shared.memory.read_u16(bda::EQUIPMENT).unwrap_or(0));
    Completion::Done
}

/// int 12h: AX = KiB of conventional memory.
pub fn int12(cpu: &mut CpuView, board: &mut PcBoard) -> Completion {
    cpu.set_ax(board.shared.memory.read_u16(bda::MEMORY_KIB).unwrap_or(0));
    Completion::Done
}

/// One E820 range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct E820Entry {
    /// Start.
    pub base: u64,
    /// Length.
    pub len: u64,
    /// [`E820_RAM`] or [`E820_RESERVED`].
    pub kind: u32,
}

/// The memory map: conventional memory below the EBDA, the EBDA, the BIOS ROM, and
/// extended memory from 1 MiB to the top of RAM.
pub fn e820_map(mem: &GuestMemory) -> Vec<E820Entry> {
    let mut map = vec![
        E820Entry {
            base: 0,
            len: EBDA_START,
            kind: E820_RAM,
        },
        E820Entry {
            base: EBDA_START,
            len: 0xA_0000 - EBDA_START,
            kind: E820_RESERVED,
        },
        E820Entry {
            base: BIOS_ROM_START,
            len: BIOS_ROM_SIZE,
            kind: E820_RESERVED,
        },
    ];
    let top = mem
        .regions()
        .filter(|r| !r.read_only)
        .map(|r| r.gpa + r.size)
        .max()
        .unwrap_or(0);
    if top > HIGH_MEMORY_START {
        map.push(E820Entry {
            base: HIGH_MEMORY_START,
            len: top - HIGH_MEMORY_START,
            kind: E820_RAM,
        });
    }
    map
}

/// Bytes of RAM above 1 MiB.
fn extended_bytes(mem: &GuestMemory) -> u64 {
    e820_map(mem)
        .iter()
        .filter(|e| e.kind == E820_RAM && e.base >= HIGH_MEMORY_START)
        .map(|e| e.len)
        .sum()
}

/// int 15h.
pub fn int15(cpu: &mut CpuView, board: &mut PcBoard) -> Completion {
    let mem = board.shared.memory.clone();
    match cpu.ah() {
        0x24 => a20(cpu, board),
        0x83 => event_wait(cpu, board),
        0x86 => return wait(cpu, board),
        0x88 => {
            // KiB above 1 MiB, at most 63 MiB (what a 16-bit count allows here).
            let kib = (extended_bytes(&mem) / 1024).min(0xFC00);
            cpu.set_ax(kib as u16);
            cpu.set_carry(false);
        }
        0xC0 => {
            cpu.es = rom::SEGMENT;
            cpu.set_bx(rom::CONFIG_TABLE);
            cpu.ok();
        }
        0xC1 => {
            cpu.es = (bda::EBDA >> 4) as u16;
            cpu.set_carry(false);
        }
        0xE8 if cpu.al() == 0x01 => {
            let ext = extended_bytes(&mem);
            let below16 = (ext.min(15 << 20) / 1024) as u16;
            let above16 = (ext.saturating_sub(15 << 20) >> 16).min(0xFFFF) as u16;
            cpu.set_ax(below16);
            cpu.set_cx(below16);
            cpu.set_bx(above16);
            cpu.set_dx(above16);
            cpu.set_carry(false);
        }
        0xE8 if cpu.al() == 0x20 => e820(cpu, &mem),
        0xEC if cpu.al() == 0x00 => cpu.ok(), // "target operating mode": noted, no effect
        0x53 => cpu.fail(UNSUPPORTED),        // no APM
        other => {
            log::debug!(
                "int 15h: AX={:#06x} not supported",
                u16::from(other) << 8 | u16::from(cpu.al())
            );
            cpu.fail(UNSUPPORTED);
        }
    }
    Completion::Done
}

/// AX=2400h-2403h: A20 gate off/on/status/support.
fn a20(cpu: &mut CpuView, board: &PcBoard) {
    let system = &board.shared.system;
    match cpu.al() {
        0x00 => {
            system.set_a20(false);
            cpu.ok();
        }
        0x01 => {
            system.set_a20(true);
            cpu.ok();
        }
        0x02 => {
            cpu.set_al(u8::from(system.a20()));
            cpu.ok();
        }
        0x03 => {
            cpu.set_bx(0x0003); // keyboard controller and port 0x92
            cpu.ok();
        }
        _ => cpu.fail(UNSUPPORTED),
    }
}

/// AX=E820h: one map entry per call; EBX is the continuation (entry index).
fn e820(cpu: &mut CpuView, mem: &GuestMemory) {
    let map = e820_map(mem);
    let index = cpu.ebx() as usize;
    if cpu.edx() != SMAP || cpu.ecx() < E820_ENTRY || index >= map.len() {
        cpu.fail(UNSUPPORTED);
        return;
    }
    let e = map[index];
    let mut entry = Vec::with_capacity(E820_ENTRY as usize);
    entry.extend(e.base.to_le_bytes());
    entry.extend(e.len.to_le_bytes());
    entry.extend(e.kind.to_le_bytes());
    if !write_guest(mem, linear(cpu.es, cpu.di()), &entry) {
        cpu.fail(INVALID);
        return;
    }
    cpu.set_eax(SMAP);
    cpu.set_ecx(E820_ENTRY);
    let next = index + 1;
    cpu.set_ebx(if next < map.len() { next as u32 } else { 0 });
    cpu.set_carry(false);
}

/// CX:DX, the microseconds int 15h AH=83h/86h take.
fn interval_us(cpu: &CpuView) -> u32 {
    u32::from(cpu.cx()) << 16 | u32::from(cpu.dx())
}

/// AH=83h: AL=00h starts an interval of CX:DX microseconds at whose end bit 7 of the byte
/// at ES:BX is set (Ralf Brown's list; SeaBIOS `handle_1583`); AL=01h cancels it. The
/// caller returns at once and polls its flag.
fn event_wait(cpu: &mut CpuView, board: &mut PcBoard) {
    let now = board.shared.clock.now();
    let mem = &board.shared.memory;
    match cpu.al() {
        0x00 if board.user_timer.busy() => cpu.fail(UNSUPPORTED),
        0x00 => {
            let us = interval_us(cpu);
            board.user_timer.start_event(now, us, cpu.es, cpu.bx(), mem);
            cpu.ok();
        }
        0x01 => {
            board.user_timer.cancel(mem);
            cpu.ok();
        }
        _ => cpu.fail(UNSUPPORTED),
    }
}

/// AH=86h: wait CX:DX microseconds. The first call starts the user timer and has the
/// stub halt; the stub wakes at every interrupt and when the timer's deadline passes
/// (that deadline is the machine's, so the wait ends on time even with every IRQ
/// masked), and each retry checks whether the interval has elapsed.
fn wait(cpu: &mut CpuView, board: &mut PcBoard) -> Completion {
    let now = board.shared.clock.now();
    let mem = &board.shared.memory;
    if !cpu.retry() {
        let us = interval_us(cpu);
        if us == 0 {
            cpu.ok();
            return Completion::Done;
        }
        if board.user_timer.busy() {
            cpu.fail(CLOCK_IN_USE);
            return Completion::Done;
        }
        board.user_timer.start_sleep(now, us, mem);
        return Completion::Wait;
    }
    match board.user_timer.sleep_elapsed_at(now) {
        Some(false) => Completion::Wait,
        Some(true) => {
            board.user_timer.cancel(mem);
            cpu.ok();
            Completion::Done
        }
        // Cancelled under the caller (AH=83h AL=01h from an interrupt handler): done.
        None => {
            cpu.ok();
            Completion::Done
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::firmware::cpu_view::Attempt;
    use crate::firmware::test_util::{board, board_with_clock, cpu};
    use std::sync::Arc;
    use std::time::Duration;

    fn e820_call(b: &mut PcBoard, ebx: u32, ecx: u32, edx: u32, di: u16) -> CpuView {
        let mut c = cpu(0xE820, 0, 0, 0);
        c.set_ebx(ebx);
        c.set_ecx(ecx);
        c.set_edx(edx);
        c.set_di(di);
        int15(&mut c, b);
        c
    }

    #[test]
    fn e820_walks_the_map_and_ends_with_ebx_zero() {
        let mut b = board();
        let mut ebx = 0;
        let mut entries = vec![];
        loop {
            let c = e820_call(&mut b, ebx, 24, SMAP, 0x600);
            assert!(!c.carry());
            assert_eq!((c.eax(), c.ecx()), (SMAP, 20));
            let m = &b.shared.memory;
            entries.push((
                m.read_u64(0x600).expect("r"),
                m.read_u64(0x608).expect("r"),
                m.read_u32(0x610).expect("r"),
            ));
            ebx = c.ebx();
            if ebx == 0 {
                break;
            }
        }
        assert_eq!(
            entries,
            [
                (0, 0x9FC00, 1),
                (0x9FC00, 0x400, 2),
                (0xF0000, 0x10000, 2),
                (0x100000, (4 << 20) - 0x100000, 1)
            ]
        );
    }

    #[test]
    fn e820_rejects_bad_arguments() {
        let mut b = board();
        assert!(e820_call(&mut b, 0, 20, 0x1234, 0x600).carry(), "no SMAP");
        assert!(
            e820_call(&mut b, 0, 19, SMAP, 0x600).carry(),
            "short buffer"
        );
        assert!(
            e820_call(&mut b, 4, 20, SMAP, 0x600).carry(),
            "past the end"
        );
        assert!(e820_call(&mut b, u32::MAX, 20, SMAP, 0x600).carry());
        let mut c = cpu(0xE820, 0, 0, 0);
        c.set_ecx(20);
        c.set_edx(SMAP);
        c.es = 0xF000; // the ROM
        int15(&mut c, &mut b);
        assert!(c.carry());
    }

    #[test]
    fn memory_sizes() {
        let mut b = board();
        let mut c = cpu(0xE801, 0, 0, 0);
        int15(&mut c, &mut b);
        assert_eq!((c.ax(), c.cx(), c.bx(), c.dx()), (3072, 3072, 0, 0));
        let mut c = cpu(0x8800, 0, 0, 0);
        int15(&mut c, &mut b);
        assert_eq!(c.ax(), 3072);
        let mut c = cpu(0, 0, 0, 0);
        int12(&mut c, &mut b);
        assert_eq!(c.ax(), 639);
        int11(&mut c, &mut b);
        assert_eq!(c.ax() & 0x30, 0x20);
    }

    #[test]
    fn config_table_a20_and_unsupported_calls() {
        let mut b = board();
        let mut c = cpu(0xC000, 0, 0, 0);
        int15(&mut c, &mut b);
        assert_eq!(
            (c.es, c.bx(), c.carry()),
            (0xF000, rom::CONFIG_TABLE, false)
        );
        let table = linear(c.es, c.bx());
        assert_eq!(b.shared.memory.read_u16(table).expect("r"), 8);
        let mut c = cpu(0x2400, 0, 0, 0);
        int15(&mut c, &mut b);
        assert!(!b.shared.system.a20());
        let mut c = cpu(0x2402, 0, 0, 0);
        int15(&mut c, &mut b);
        assert_eq!(c.al(), 0);
        let mut c = cpu(0x2401, 0, 0, 0);
        int15(&mut c, &mut b);
        assert!(b.shared.system.a20());
        for ax in [0x5300, 0x4F00, 0xE980, 0x2404] {
            let mut c = cpu(ax, 0, 0, 0);
            int15(&mut c, &mut b);
            assert!(c.carry() && c.ah() == 0x86, "AX={ax:#x}");
        }
    }

    #[test]
    fn wait_halts_until_the_deadline_passes() {
        let clock = Arc::new(FakeClock::new());
        let mut b = board_with_clock(clock.clone());
        let mut c = cpu(0x8600, 0, 0x0001, 0x0000); // 65.536 ms
        assert_eq!(int15(&mut c, &mut b), Completion::Wait);
        let deadline = Duration::from_micros(65_536);
        assert_eq!(b.user_timer.deadline(), Some(deadline));
        assert_eq!(b.shared.memory.read_u8(bda::WAIT_ACTIVE).expect("r"), 1);
        c.attempt = Attempt::Retry;
        clock.advance(Duration::from_millis(50));
        assert_eq!(int15(&mut c, &mut b), Completion::Wait);
        // A nested wait (from an interrupt handler) finds the clock in use.
        let mut nested = cpu(0x8600, 0, 0, 1000);
        assert_eq!(int15(&mut nested, &mut b), Completion::Done);
        assert!(nested.carry() && nested.ah() == CLOCK_IN_USE);
        // Past the PIT's tick at 54.9 ms the machine's next deadline is the wait's.
        clock.advance(Duration::from_millis(10));
        b.poll();
        assert_eq!(b.next_deadline(), Some(deadline));
        clock.advance(Duration::from_millis(10));
        b.poll();
        assert!(
            b.user_timer.sleep_elapsed(),
            "the board's poll ends the interval"
        );
        assert_eq!(b.user_timer.deadline(), None, "nothing more to wake for");
        assert_eq!(int15(&mut c, &mut b), Completion::Done);
        assert!(!c.carry());
        assert!(!b.user_timer.busy());
        assert_eq!(b.shared.memory.read_u8(bda::WAIT_ACTIVE).expect("r"), 0);
        let mut c = cpu(0x8600, 0, 0, 0);
        assert_eq!(int15(&mut c, &mut b), Completion::Done, "zero wait");
    }

    #[test]
    fn a_retry_after_the_deadline_is_done_even_before_a_poll() {
        let clock = Arc::new(FakeClock::new());
        let mut b = board_with_clock(clock.clone());
        let mut c = cpu(0x8600, 0, 0, 500);
        assert_eq!(int15(&mut c, &mut b), Completion::Wait);
        c.attempt = Attempt::Retry;
        clock.advance(Duration::from_micros(500));
        assert_eq!(int15(&mut c, &mut b), Completion::Done);
    }

    #[test]
    fn event_wait_sets_the_flag_bit_at_the_deadline_and_can_be_cancelled() {
        let clock = Arc::new(FakeClock::new());
        let mut b = board_with_clock(clock.clone());
        let mem = b.shared.memory.clone();
        mem.write(0x1234 * 16 + 0x10, &[0x05]).expect("w");
        let mut c = cpu(0x8300, 0x0010, 0x0000, 2000); // 2 ms, flag at 1234:0010
        c.es = 0x1234;
        assert_eq!(int15(&mut c, &mut b), Completion::Done, "returns at once");
        assert!(!c.carry());
        assert_eq!(mem.read_u32(bda::WAIT_FLAG_PTR).expect("r"), 0x1234_0010);
        assert_eq!(b.next_deadline(), Some(Duration::from_millis(2)));
        // Busy: a second interval and a sleep are refused.
        let mut again = cpu(0x8300, 0, 0, 10);
        int15(&mut again, &mut b);
        assert!(again.carry());
        let mut sleep = cpu(0x8600, 0, 0, 10);
        int15(&mut sleep, &mut b);
        assert!(sleep.carry() && sleep.ah() == CLOCK_IN_USE);
        clock.advance(Duration::from_micros(1999));
        b.poll();
        assert_eq!(mem.read_u8(0x1234 * 16 + 0x10).expect("r"), 0x05);
        clock.advance(Duration::from_micros(1));
        b.poll();
        assert_eq!(
            mem.read_u8(0x1234 * 16 + 0x10).expect("r"),
            0x85,
            "bit 7 set"
        );
        assert!(!b.user_timer.busy());
        assert_eq!(mem.read_u8(bda::WAIT_ACTIVE).expect("r"), 0);

        // Cancelled before its end: the flag stays clear.
        mem.write(0x600, &[0]).expect("w");
        let mut c = cpu(0x8300, 0x0600, 0, 1000);
        int15(&mut c, &mut b);
        let mut cancel = cpu(0x8301, 0, 0, 0);
        int15(&mut cancel, &mut b);
        assert!(!cancel.carry());
        clock.advance(Duration::from_millis(5));
        b.poll();
        assert_eq!(mem.read_u8(0x600).expect("r"), 0);
        assert_eq!(b.user_timer.deadline(), None);
        let mut bad = cpu(0x8302, 0, 0, 0);
        int15(&mut bad, &mut b);
        assert!(bad.carry() && bad.ah() == UNSUPPORTED);
    }

    #[test]
    fn event_flag_outside_ram_is_not_written() {
        let clock = Arc::new(FakeClock::new());
        let mut b = board_with_clock(clock.clone());
        let rom_byte = b.shared.memory.read_u8(0xF_0010).expect("r");
        let mut c = cpu(0x8300, 0x0010, 0, 1);
        c.es = 0xF000;
        int15(&mut c, &mut b);
        clock.advance(Duration::from_millis(1));
        b.poll();
        assert_eq!(b.shared.memory.read_u8(0xF_0010).expect("r"), rom_byte);
        assert!(!b.user_timer.busy(), "the interval ended all the same");
    }
}
