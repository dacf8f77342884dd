//! MC146818 CMOS RAM and real-time clock at ports 0x70/0x71.
//!
//! Time comes from the host's wall clock plus an offset the guest may set by writing the
//! time registers. The memory-size bytes are filled in the layout SeaBIOS and Linux read.
//! Port 0x70 bit 7 is the NMI mask (hv has no NMI sources; the bit is only remembered).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::bus::BusDevice;

const REG_SECONDS: usize = 0x00;
const REG_MINUTES: usize = 0x02;
const REG_HOURS: usize = 0x04;
const REG_WEEKDAY: usize = 0x06;
const REG_DAY: usize = 0x07;
const REG_MONTH: usize = 0x08;
const REG_YEAR: usize = 0x09;
const REG_A: usize = 0x0A;
const REG_B: usize = 0x0B;
const REG_C: usize = 0x0C;
const REG_D: usize = 0x0D;
const REG_CENTURY: usize = 0x32;

const B_24H: u8 = 1 << 1;
const B_BINARY: u8 = 1 << 2;
const A_UIP: u8 = 1 << 7;

/// Source of wall-clock time (seconds since the Unix epoch, with fraction).
pub trait WallClock: Send + std::fmt::Debug {
    /// Now.
    fn now(&self) -> Duration;
}

/// The host's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostWallClock;

impl WallClock for HostWallClock {
    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }
}

/// A calendar time, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// Full year (e.g. 2026).
    pub year: i64,
    /// 1-12.
    pub month: u8,
    /// 1-31.
    pub day: u8,
    /// 0-23.
    pub hour: u8,
    /// 0-59.
    pub minute: u8,
    /// 0-59.
    pub second: u8,
    /// 1 = Sunday .. 7 = Saturday, as the RTC counts.
    pub weekday: u8,
}

impl DateTime {
    /// Converts seconds since 1970-01-01 UTC (days-from-civil algorithm, proleptic
    /// Gregorian calendar).
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + i64::from(month <= 2);
        DateTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
            // 1970-01-01 was a Thursday (RTC weekday 5).
            weekday: ((days + 4).rem_euclid(7) + 1) as u8,
        }
    }

    /// Seconds since 1970-01-01 UTC.
    pub fn to_unix(&self) -> i64 {
        let m = i64::from(self.month.clamp(1, 12));
        let y = self.year - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day.clamp(1, 31)) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        // Saturating: a date near the end of `from_unix`'s range (a host clock past
        // year 292 billion) must not overflow (found by fuzz/fuzz_targets/cmos.rs).
        days.saturating_mul(86_400).saturating_add(
            i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second),
        )
    }
}

fn to_bcd(v: u8) -> u8 {
    ((v / 10) << 4) | (v % 10)
}

fn from_bcd(v: u8) -> u8 {
    (v >> 4).min(9) * 10 + (v & 0xF).min(9)
}

/// The CMOS/RTC.
#[derive(Debug)]
pub struct Cmos {
    index: u8,
    nmi_disabled: bool,
    ram: [u8; 128],
    clock: Box<dyn WallClock>,
    /// Guest time minus host time, in seconds (the guest may set its clock).
    offset: i64,
}

impl Cmos {
    /// A CMOS reporting `mem_size` bytes of RAM, time from `clock`.
    pub fn new(mem_size: u64, clock: Box<dyn WallClock>) -> Self {
        let mut ram = [0u8; 128];
        ram[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz rate
        ram[REG_B] = B_24H; // BCD, 24-hour
        ram[REG_D] = 0x80; // RAM and time valid (battery good)
        ram[0x10] = 0x00; // no floppy drives described
        ram[0x14] = 0x06; // equipment: VGA/EGA, FPU present
        // Base memory in KiB.
        ram[0x15] = (640u16 & 0xFF) as u8;
        ram[0x16] = (640u16 >> 8) as u8;
        // Extended memory between 1 MiB and 64 MiB, in KiB.
        let ext_kib = (mem_size.saturating_sub(1 << 20) / 1024).min(0xFFFF) as u16;
        for base in [0x17, 0x30] {
            ram[base] = ext_kib as u8;
            ram[base + 1] = (ext_kib >> 8) as u8;
        }
        // Memory above 16 MiB in 64 KiB blocks (SeaBIOS/Bochs convention).
        let above16 = (mem_size.saturating_sub(16 << 20) >> 16).min(0xFFFF) as u16;
        ram[0x34] = above16 as u8;
        ram[0x35] = (above16 >> 8) as u8;
        Self {
            index: 0,
            nmi_disabled: false,
            ram,
            clock,
            offset: 0,
        }
    }

    /// Whether the guest has masked NMIs through port 0x70 bit 7.
    pub fn nmi_disabled(&self) -> bool {
        self.nmi_disabled
    }

    fn guest_time(&self) -> (DateTime, Duration) {
        let now = self.clock.now();
        let secs = i64::try_from(now.as_secs())
            .unwrap_or(i64::MAX)
            .saturating_add(self.offset);
        (
            DateTime::from_unix(secs),
            Duration::from_nanos(u64::from(now.subsec_nanos())),
        )
    }

    fn encode(&self, v: u8) -> u8 {
        if self.ram[REG_B] & B_BINARY != 0 {
            v
        } else {
            to_bcd(v)
        }
    }

    fn decode(&self, v: u8) -> u8 {
        if self.ram[REG_B] & B_BINARY != 0 {
            v
        } else {
            from_bcd(v)
        }
    }

    fn encode_hour(&self, hour: u8) -> u8 {
        if self.ram[REG_B] & B_24H != 0 {
            return self.encode(hour);
        }
        let pm = hour >= 12;
        let h12 = match hour % 12 {
            0 => 12,
            h => h,
        };
        self.encode(h12) | if pm { 0x80 } else { 0 }
    }

    fn decode_hour(&self, v: u8) -> u8 {
        if self.ram[REG_B] & B_24H != 0 {
            return self.decode(v).min(23);
        }
        let h12 = self.decode(v & 0x7F) % 12;
        (h12 + if v & 0x80 != 0 { 12 } else { 0 }).min(23)
    }

    fn read_reg(&mut self, reg: usize) -> u8 {
        let (t, frac) = self.guest_time();
        match reg {
            REG_SECONDS => self.encode(t.second),
            REG_MINUTES => self.encode(t.minute),
            REG_HOURS => self.encode_hour(t.hour),
            REG_WEEKDAY => self.encode(t.weekday),
            REG_DAY => self.encode(t.day),
            REG_MONTH => self.encode(t.month),
            REG_YEAR => self.encode(t.year.rem_euclid(100) as u8),
            REG_CENTURY => self.encode(t.year.div_euclid(100).clamp(0, 99) as u8),
            REG_A => {
                // UIP is set during the last 244 µs before the seconds roll over; guests
                // poll it to read a consistent time.
                let uip = frac >= Duration::from_micros(1_000_000 - 244);
                (self.ram[REG_A] & !A_UIP) | if uip { A_UIP } else { 0 }
            }
            REG_C => std::mem::take(&mut self.ram[REG_C]),
            r => self.ram[r],
        }
    }

    fn write_reg(&mut self, reg: usize, v: u8) {
        match reg {
            REG_SECONDS | REG_MINUTES | REG_HOURS | REG_DAY | REG_MONTH | REG_YEAR
            | REG_CENTURY => {
                let (mut t, _) = self.guest_time();
                match reg {
                    REG_SECONDS => t.second = self.decode(v).min(59),
                    REG_MINUTES => t.minute = self.decode(v).min(59),
                    REG_HOURS => t.hour = self.decode_hour(v),
                    REG_DAY => t.day = self.decode(v).clamp(1, 31),
                    REG_MONTH => t.month = self.decode(v).clamp(1, 12),
                    REG_YEAR => {
                        t.year = t.year.div_euclid(100) * 100 + i64::from(self.decode(v).min(99))
                    }
                    _ => t.year = i64::from(self.decode(v).min(99)) * 100 + t.year.rem_euclid(100),
                }
                let host = i64::try_from(self.clock.now().as_secs()).unwrap_or(i64::MAX);
                self.offset = t.to_unix().saturating_sub(host);
            }
            REG_WEEKDAY => {} // derived from the date
            REG_A => self.ram[REG_A] = v & !A_UIP,
            REG_B => self.ram[REG_B] = v,
            REG_C | REG_D => {} // read-only
            r => self.ram[r] = v,
        }
    }
}

impl BusDevice for Cmos {
    fn read(&mut self, addr: u64, data: &mut [u8]) {
        let Some(first) = data.first_mut() else {
            return;
        };
        *first = match addr {
            0x70 => 0xFF, // the index port is write-only
            0x71 => {
                let reg = usize::from(self.index & 0x7F);
                self.read_reg(reg)
            }
            _ => 0xFF,
        };
    }

    fn write(&mut self, addr: u64, data: &[u8]) {
        let Some(&v) = data.first() else { return };
        match addr {
            0x70 => {
                self.nmi_disabled = v & 0x80 != 0;
                self.index = v & 0x7F;
            }
            0x71 => {
                let reg = usize::from(self.index & 0x7F);
                self.write_reg(reg, v);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[derive(Debug, Clone)]
    struct Fixed(Arc<AtomicU64>);
    impl WallClock for Fixed {
        fn now(&self) -> Duration {
            Duration::from_millis(self.0.load(Ordering::SeqCst))
        }
    }

    // 2026-11-24 21:30:05 UTC, a Tuesday.
    const T0: i64 = 1_795_555_805;

    fn cmos(mem: u64) -> (Cmos, Arc<AtomicU64>) {
        let ms = Arc::new(AtomicU64::new(T0 as u64 * 1000));
        (Cmos::new(mem, Box::new(Fixed(ms.clone()))), ms)
    }

    fn rd(c: &mut Cmos, reg: u8) -> u8 {
        c.write(0x70, &[reg]);
        let mut b = [0u8];
        c.read(0x71, &mut b);
        b[0]
    }

    fn wr(c: &mut Cmos, reg: u8, v: u8) {
        c.write(0x70, &[reg]);
        c.write(0x71, &[v]);
    }

    #[test]
    fn civil_date_conversion_round_trips() {
        let t = DateTime::from_unix(T0);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2026, 11, 24, 21, 30, 5)
        );
        assert_eq!(t.weekday, 3, "Tuesday");
        assert_eq!(t.to_unix(), T0);
        for s in [
            0i64,
            951_782_400,   /* 2000-02-29 */
            4_107_542_400, /* 2100-03-01 */
            -86_400,
        ] {
            assert_eq!(DateTime::from_unix(s).to_unix(), s);
        }
        assert_eq!(DateTime::from_unix(951_782_400).day, 29);
    }

    #[test]
    fn reads_bcd_time_and_status() {
        let (mut c, _) = cmos(64 << 20);
        assert_eq!(rd(&mut c, 0x00), 0x05);
        assert_eq!(rd(&mut c, 0x02), 0x30);
        assert_eq!(rd(&mut c, 0x04), 0x21);
        assert_eq!(rd(&mut c, 0x07), 0x24);
        assert_eq!(rd(&mut c, 0x08), 0x11);
        assert_eq!(rd(&mut c, 0x09), 0x26);
        assert_eq!(rd(&mut c, 0x32), 0x20);
        assert_eq!(rd(&mut c, 0x0D), 0x80);
        assert_eq!(rd(&mut c, 0x0A) & 0x7F, 0x26);
    }

    #[test]
    fn binary_and_12_hour_modes() {
        let (mut c, _) = cmos(64 << 20);
        wr(&mut c, 0x0B, B_BINARY);
        assert_eq!(rd(&mut c, 0x04), 0x80 | 9, "9 PM in binary 12-hour");
        assert_eq!(rd(&mut c, 0x02), 30);
    }

    #[test]
    fn guest_can_set_the_clock_and_it_keeps_running() {
        let (mut c, ms) = cmos(64 << 20);
        wr(&mut c, 0x04, 0x08); // 08 BCD
        wr(&mut c, 0x09, 0x99); // year 2099
        assert_eq!(rd(&mut c, 0x04), 0x08);
        assert_eq!(rd(&mut c, 0x09), 0x99);
        ms.fetch_add(60_000, Ordering::SeqCst);
        assert_eq!(rd(&mut c, 0x02), 0x31);
        assert_eq!(rd(&mut c, 0x09), 0x99);
    }

    #[test]
    fn memory_size_fields() {
        let (mut c, _) = cmos(64 << 20);
        let ext = u16::from(rd(&mut c, 0x17)) | u16::from(rd(&mut c, 0x18)) << 8;
        assert_eq!(ext, 63 * 1024);
        let above16 = u16::from(rd(&mut c, 0x34)) | u16::from(rd(&mut c, 0x35)) << 8;
        assert_eq!(above16, (48 << 20 >> 16) as u16);
        let (mut big, _) = cmos(3 << 30);
        assert_eq!(rd(&mut big, 0x17), 0xFF);
        assert_eq!(rd(&mut big, 0x18), 0xFF);
    }

    #[test]
    fn nmi_bit_index_masking_and_scratch_ram() {
        let (mut c, _) = cmos(1 << 20);
        c.write(0x70, &[0x80 | 0x40]);
        assert!(c.nmi_disabled());
        c.write(0x71, &[0x5A]);
        assert_eq!(rd(&mut c, 0x40), 0x5A);
        assert!(!c.nmi_disabled());
        let mut b = [0u8; 4];
        c.read(0x70, &mut b);
        assert_eq!(b[0], 0xFF);
        c.write(0x71, &[]);
        c.read(0x72, &mut b);
        // Register C clears on read.
        c.ram[REG_C] = 0x90;
        assert_eq!(rd(&mut c, 0x0C), 0x90);
        assert_eq!(rd(&mut c, 0x0C), 0);
    }

    #[test]
    fn uip_is_set_just_before_the_second_rolls_over() {
        let (mut c, ms) = cmos(1 << 20);
        assert_eq!(rd(&mut c, 0x0A) & A_UIP, 0);
        ms.fetch_add(999, Ordering::SeqCst);
        // 999 ms into the second is not yet the last 244 µs.
        assert_eq!(rd(&mut c, 0x0A) & A_UIP, 0);
    }
}
