//! Time: the IRQ0 tick count (int 08h), int 1Ah (ticks and the RTC), and the user timer
//! behind int 15h AH=83h/86h.
//!
//! The tick count at BDA 0x46C advances at the PIT's 18.2 Hz and wraps at midnight
//! (0x1800B0 ticks, as SeaBIOS `src/clock.c` counts a day), setting the rollover flag.
//! RTC functions read and write the CMOS clock through its index/data ports, in the BCD
//! the hardware keeps, and leave the NMI mask bit as the guest set it.
//!
//! [`UserTimer`] is the one interval a BIOS runs for int 15h (SeaBIOS counts it down in
//! the RTC's 1024 Hz periodic interrupt). Here it is a machine deadline: the board polls
//! it with the other device timers, so the vCPU loop wakes or kicks exactly then, whatever
//! the guest has masked.

use std::time::Duration;

use super::bda;
use super::cpu_view::{Completion, CpuView, write_guest};
use crate::bus::BusDevice;
use crate::machine::pc::PcBoard;
use crate::memory::GuestMemory;

/// Ticks in a day at 1193182 / 65536 Hz.
pub const TICKS_PER_DAY: u32 = 0x18_00B0;

const RTC_SECONDS: u8 = 0x00;
const RTC_MINUTES: u8 = 0x02;
const RTC_HOURS: u8 = 0x04;
const RTC_DAY: u8 = 0x07;
const RTC_MONTH: u8 = 0x08;
const RTC_YEAR: u8 = 0x09;
const RTC_STATUS_B: u8 = 0x0B;
const RTC_CENTURY: u8 = 0x32;
/// Status B bit 0: daylight saving enabled.
const STATUS_B_DST: u8 = 0x01;
/// Port 0x70 bit 7: NMI disabled.
const NMI_DISABLE: u8 = 0x80;

/// int 08h: one timer tick.
pub fn irq0(board: &mut PcBoard) -> Completion {
    let mem = &board.shared.memory;
    let ticks = mem.read_u32(bda::TICKS).unwrap_or(0).wrapping_add(1);
    if ticks >= TICKS_PER_DAY {
        write_guest(mem, bda::TICKS, &0u32.to_le_bytes());
        write_guest(mem, bda::MIDNIGHT, &[1]);
    } else {
        write_guest(mem, bda::TICKS, &ticks.to_le_bytes());
    }
    Completion::Done
}

fn rtc_select(board: &mut PcBoard, reg: u8) {
    let nmi = if board.cmos.nmi_disabled() {
        NMI_DISABLE
    } else {
        0
    };
    board.cmos.write(0x70, &[reg | nmi]);
}

fn rtc_read(board: &mut PcBoard, reg: u8) -> u8 {
    rtc_select(board, reg);
    let mut v = [0u8];
    board.cmos.read(0x71, &mut v);
    v[0]
}

fn rtc_write(board: &mut PcBoard, reg: u8, value: u8) {
    rtc_select(board, reg);
    board.cmos.write(0x71, &[value]);
}

/// int 1Ah.
pub fn int1a(cpu: &mut CpuView, board: &mut PcBoard) -> Completion {
    let mem = board.shared.memory.clone();
    match cpu.ah() {
        0x00 => {
            let ticks = mem.read_u32(bda::TICKS).unwrap_or(0);
            cpu.set_cx((ticks >> 16) as u16);
            cpu.set_dx(ticks as u16);
            cpu.set_al(mem.read_u8(bda::MIDNIGHT).unwrap_or(0));
            write_guest(&mem, bda::MIDNIGHT, &[0]);
            cpu.set_carry(false);
        }
        0x01 => {
            let ticks = (u32::from(cpu.cx()) << 16 | u32::from(cpu.dx())) % TICKS_PER_DAY;
            write_guest(&mem, bda::TICKS, &ticks.to_le_bytes());
            write_guest(&mem, bda::MIDNIGHT, &[0]);
            cpu.ok();
        }
        0x02 => {
            cpu.set_ch(rtc_read(board, RTC_HOURS));
            cpu.set_cl(rtc_read(board, RTC_MINUTES));
            cpu.set_dh(rtc_read(board, RTC_SECONDS));
            cpu.set_dl(rtc_read(board, RTC_STATUS_B) & STATUS_B_DST);
            cpu.ok();
        }
        0x03 => {
            rtc_write(board, RTC_HOURS, cpu.ch());
            rtc_write(board, RTC_MINUTES, cpu.cl());
            rtc_write(board, RTC_SECONDS, cpu.dh());
            let b = rtc_read(board, RTC_STATUS_B);
            rtc_write(
                board,
                RTC_STATUS_B,
                (b & !STATUS_B_DST) | (cpu.dl() & STATUS_B_DST),
            );
            cpu.ok();
        }
        0x04 => {
            cpu.set_ch(rtc_read(board, RTC_CENTURY));
            cpu.set_cl(rtc_read(board, RTC_YEAR));
            cpu.set_dh(rtc_read(board, RTC_MONTH));
            cpu.set_dl(rtc_read(board, RTC_DAY));
            cpu.ok();
        }
        0x05 => {
            rtc_write(board, RTC_CENTURY, cpu.ch());
            rtc_write(board, RTC_YEAR, cpu.cl());
            rtc_write(board, RTC_MONTH, cpu.dh());
            rtc_write(board, RTC_DAY, cpu.dl());
            cpu.ok();
        }
        other => {
            log::debug!("int 1Ah: AH={other:#04x} not supported");
            cpu.fail(0x86);
        }
    }
    Completion::Done
}

/// What an interval does when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// int 15h AH=86h: the caller's stub is halted until the interval has elapsed.
    Sleep { elapsed: bool },
    /// int 15h AH=83h: set bit 7 of the byte at this linear address.
    Event { flag: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Interval {
    deadline: Duration,
    ending: Ending,
}

/// The BIOS user timer: at most one interval at a time (int 15h AH=83h or AH=86h), as on
/// a BIOS that runs both on the RTC. The state is the VMM's; the BDA fields SeaBIOS keeps
/// (0x498 flag pointer, 0x49C count, 0x4A0 bit 0 "in progress") are mirrored for guests
/// that look, and never read back.
#[derive(Debug, Default)]
pub struct UserTimer {
    interval: Option<Interval>,
}

/// Bit 7 of the caller's flag byte: the AH=83h interval has ended.
pub const EVENT_FLAG_DONE: u8 = 0x80;

impl UserTimer {
    /// An interval is running. An AH=86h sleep that has elapsed but whose caller has not
    /// come back for its answer does not count.
    pub fn busy(&self) -> bool {
        self.interval
            .is_some_and(|i| i.ending != Ending::Sleep { elapsed: true })
    }

    fn start(&mut self, now: Duration, us: u32, ending: Ending, mem: &GuestMemory) {
        let deadline = now.saturating_add(Duration::from_micros(u64::from(us)));
        self.interval = Some(Interval { deadline, ending });
        write_guest(mem, bda::WAIT_COUNT, &us.to_le_bytes());
        write_guest(mem, bda::WAIT_ACTIVE, &[1]);
    }

    /// Starts an AH=86h sleep of `us` microseconds.
    pub fn start_sleep(&mut self, now: Duration, us: u32, mem: &GuestMemory) {
        self.start(now, us, Ending::Sleep { elapsed: false }, mem);
    }

    /// Starts an AH=83h interval of `us` microseconds that ends by setting bit 7 of the
    /// byte at `seg:off`.
    pub fn start_event(&mut self, now: Duration, us: u32, seg: u16, off: u16, mem: &GuestMemory) {
        let flag = super::cpu_view::linear(seg, off);
        let ptr = u32::from(seg) << 16 | u32::from(off);
        write_guest(mem, bda::WAIT_FLAG_PTR, &ptr.to_le_bytes());
        self.start(now, us, Ending::Event { flag }, mem);
    }

    /// Ends whatever interval runs, without setting any flag (AH=83h AL=01h, and the
    /// sleeping caller collecting its answer).
    pub fn cancel(&mut self, mem: &GuestMemory) {
        if self.interval.take().is_some() {
            write_guest(mem, bda::WAIT_ACTIVE, &[0]);
        }
    }

    /// The state of an AH=86h sleep at `now`: `Some(true)` once it has elapsed, `None`
    /// when no sleep runs (it was cancelled, or an AH=83h interval replaced it).
    pub fn sleep_elapsed_at(&self, now: Duration) -> Option<bool> {
        match self.interval? {
            Interval {
                ending: Ending::Sleep { elapsed },
                deadline,
            } => Some(elapsed || deadline <= now),
            _ => None,
        }
    }

    /// A sleep has elapsed (seen by [`poll`](Self::poll)) and its stub can wake.
    pub fn sleep_elapsed(&self) -> bool {
        self.interval
            .is_some_and(|i| i.ending == Ending::Sleep { elapsed: true })
    }

    /// When the board must poll the timer next.
    pub fn deadline(&self) -> Option<Duration> {
        match self.interval? {
            Interval {
                ending: Ending::Sleep { elapsed: true },
                ..
            } => None,
            i => Some(i.deadline),
        }
    }

    /// Ends an interval whose deadline has passed: an AH=83h one sets the caller's flag
    /// bit 7 (if the byte is in guest RAM) and frees the timer; a sleep is marked elapsed
    /// for its stub to collect.
    pub fn poll(&mut self, now: Duration, mem: &GuestMemory) {
        let Some(interval) = self.interval.as_mut() else {
            return;
        };
        if interval.deadline > now {
            return;
        }
        match interval.ending {
            Ending::Sleep { .. } => interval.ending = Ending::Sleep { elapsed: true },
            Ending::Event { flag } => {
                if let Ok(old) = mem.read_u8(flag) {
                    if !write_guest(mem, flag, &[old | EVENT_FLAG_DONE]) {
                        log::debug!("int 15h AH=83h: flag byte at {flag:#x} is not in RAM");
                    }
                }
                self.cancel(mem);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firmware::test_util::{board, cpu};

    #[test]
    fn ticks_count_and_roll_over_at_midnight() {
        let mut b = board();
        for _ in 0..3 {
            irq0(&mut b);
        }
        let mut c = cpu(0x0000, 0, 0, 0);
        int1a(&mut c, &mut b);
        assert_eq!((c.cx(), c.dx(), c.al()), (0, 3, 0));
        // Set the count to the last tick of the day; the next tick wraps.
        let last = TICKS_PER_DAY - 1;
        let mut c = cpu(0x0100, 0, (last >> 16) as u16, last as u16);
        int1a(&mut c, &mut b);
        irq0(&mut b);
        let mut c = cpu(0x0000, 0, 0, 0);
        int1a(&mut c, &mut b);
        assert_eq!((c.cx(), c.dx(), c.al()), (0, 0, 1));
        let mut c = cpu(0x0000, 0, 0, 0);
        int1a(&mut c, &mut b);
        assert_eq!(c.al(), 0, "flag cleared by reading");
        // A hostile count is reduced modulo a day.
        let mut c = cpu(0x0100, 0, 0xFFFF, 0xFFFF);
        int1a(&mut c, &mut b);
        assert!(b.shared.memory.read_u32(bda::TICKS).expect("r") < TICKS_PER_DAY);
    }

    #[test]
    fn rtc_time_and_date_are_bcd_and_settable() {
        let mut b = board();
        let mut c = cpu(0x0200, 0, 0, 0);
        int1a(&mut c, &mut b);
        assert!(!c.carry());
        let bcd = |v: u8| v >> 4 <= 9 && v & 0xF <= 9;
        assert!(bcd(c.ch()) && bcd(c.cl()) && bcd(c.dh()));
        assert!(c.ch() < 0x24);
        let mut c = cpu(0x0500, 0, 0x2024, 0x1231);
        int1a(&mut c, &mut b);
        let mut c = cpu(0x0400, 0, 0, 0);
        int1a(&mut c, &mut b);
        assert_eq!((c.ch(), c.cl(), c.dh()), (0x20, 0x24, 0x12));
        let mut c = cpu(0x0900, 0, 0, 0);
        int1a(&mut c, &mut b);
        assert!(c.carry());
    }
}
