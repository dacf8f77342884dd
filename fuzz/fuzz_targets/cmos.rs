//! The CMOS/RTC: arbitrary index and data accesses on 0x70/0x71 against a wall clock the
//! input moves anywhere (including beyond year 9999 and past `i64::MAX` seconds), with
//! the guest setting the time in BCD or binary, 12- or 24-hour mode.
//!
//! Invariants: no arithmetic overflow whatever the clock and the guest's writes; the
//! time registers always read as valid values in the current encoding (seconds and
//! minutes < 60, hours < 24 or 1-12 with a PM bit, month 1-12, day 1-31); the index port
//! is write-only; the NMI mask follows bit 7 of the last index write; a valid time value
//! written with the clock standing still (before year 10000) reads back unchanged.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use hv_core::bus::BusDevice;
use hv_core::devices::cmos::Cmos;
use hv_fuzz::SettableWallClock;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Op {
    Index(u8),
    Read,
    Write(u8),
    /// Select a register and write it in one go (the common guest pattern).
    Set(u8, u8),
    Clock(u64, u32),
    ReadIndexPort,
}

fn reg(cmos: &mut Cmos, i: u8) -> u8 {
    cmos.write(0x70, &[i]);
    let mut b = [0];
    cmos.read(0x71, &mut b);
    b[0]
}

fn decode(cmos: &mut Cmos, v: u8) -> u8 {
    if reg(cmos, 0x0B) & 0x04 != 0 {
        v
    } else {
        (v >> 4) * 10 + (v & 0x0F)
    }
}

fn valid_bcd(v: u8) -> bool {
    v >> 4 <= 9 && v & 0x0F <= 9
}

fn check_time(cmos: &mut Cmos) {
    let binary = reg(cmos, 0x0B) & 0x04 != 0;
    let h24 = reg(cmos, 0x0B) & 0x02 != 0;
    for (r, lo, hi) in [
        (0u8, 0u8, 59u8),
        (2, 0, 59),
        (6, 1, 7),
        (7, 1, 31),
        (8, 1, 12),
        (9, 0, 99),
        (0x32, 0, 99),
    ] {
        let raw = reg(cmos, r);
        assert!(
            binary || valid_bcd(raw),
            "reg {r:#x} = {raw:#04x} is not BCD"
        );
        let v = decode(cmos, raw);
        assert!(
            (lo..=hi).contains(&v),
            "reg {r:#x} = {v} outside {lo}..={hi}"
        );
    }
    let raw = reg(cmos, 4);
    let v = decode(cmos, raw & 0x7F);
    if h24 {
        assert!(raw & 0x80 == 0 && v < 24, "24h hour {raw:#04x}");
    } else {
        assert!((1..=12).contains(&v), "12h hour {raw:#04x}");
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let clock = SettableWallClock::default();
    clock.set(Duration::from_secs(1_700_000_000));
    let mut cmos = Cmos::new(64 << 20, Box::new(clock.clone()));
    // Round trips are only promised while the host clock is before year 10000; beyond
    // that the time saturates (and must merely not overflow).
    let mut sane_clock = true;
    for op in ops.into_iter().take(1024) {
        match op {
            Op::Index(i) => {
                cmos.write(0x70, &[i]);
                assert_eq!(cmos.nmi_disabled(), i & 0x80 != 0);
            }
            Op::Read => cmos.read(0x71, &mut [0]),
            Op::Write(v) => cmos.write(0x71, &[v]),
            Op::Set(i, v) => {
                let before = reg(&mut cmos, 0x0B);
                cmos.write(0x70, &[i]);
                cmos.write(0x71, &[v]);
                let r = i & 0x7F;
                // Seconds and minutes round-trip when valid in the current encoding.
                let binary = before & 0x04 != 0;
                if sane_clock
                    && (r == 0 || r == 2)
                    && (binary || valid_bcd(v))
                    && decode(&mut cmos, v) < 60
                {
                    assert_eq!(reg(&mut cmos, r), v, "reg {r} did not keep {v:#04x}");
                }
            }
            Op::Clock(secs, nanos) => {
                sane_clock = secs < 253_402_300_799;
                clock.set(Duration::new(secs, nanos % 1_000_000_000));
            }
            Op::ReadIndexPort => {
                let mut b = [0];
                cmos.read(0x70, &mut b);
                assert_eq!(b[0], 0xFF, "index port is write-only");
            }
        }
        check_time(&mut cmos);
    }
});
