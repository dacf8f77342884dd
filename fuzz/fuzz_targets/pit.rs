//! The 8254 PIT and port 0x61, on a fake clock the input advances: arbitrary control
//! words, counts (including 0 = 65536 and 1, the degenerate cases), read-backs and latch
//! commands, interleaved with time steps from microseconds to hours.
//!
//! Polls tell the PIT what the PIC would make of another IRQ0 edge (free, latched,
//! masked), as the board does.
//!
//! Invariants: after `poll`, the next IRQ0 deadline is strictly in the future (a deadline
//! at or before "now" would make the vCPU loop spin); one poll raises IRQ0 at most once
//! and never while the request is latched (late periods wait in a backlog of at most
//! `MAX_BACKLOG` and leave it one per poll, so a guest cannot make the VMM loop over
//! missed ticks); a speaker frequency, when reported, is finite and within the PIT's
//! range.
#![no_main]

use std::sync::Arc;

use arbitrary::Arbitrary;
use hv_core::bus::BusDevice;
use hv_core::clock::{Clock, FakeClock};
use hv_core::devices::pit::{Irq0Input, MAX_BACKLOG, PIT_FREQUENCY_HZ, Pit};
use hv_core::irq::IrqRecorder;
use hv_fuzz::{Step, Width};
use libfuzzer_sys::fuzz_target;

const PORTS: [u16; 5] = [0x40, 0x41, 0x42, 0x43, 0x61];

#[derive(Debug, Arbitrary)]
enum Op {
    Write(u8, Width, u32),
    Read(u8, Width),
    Advance(Step),
    Poll(u8),
    Reset,
}

fuzz_target!(|ops: Vec<Op>| {
    let clock = Arc::new(FakeClock::new());
    let irqs = IrqRecorder::new();
    let mut pit = Pit::new(clock.clone(), irqs.line(0));
    for op in ops.into_iter().take(4096) {
        match op {
            Op::Write(p, w, v) => pit.write(
                u64::from(PORTS[usize::from(p) % 5]),
                &v.to_le_bytes()[..w.len()],
            ),
            Op::Read(p, w) => pit.read(u64::from(PORTS[usize::from(p) % 5]), &mut vec![0; w.len()]),
            Op::Advance(s) => clock.advance(s.duration()),
            Op::Poll(state) => {
                let irq0 = [Irq0Input::Free, Irq0Input::Latched, Irq0Input::Masked]
                    [usize::from(state) % 3];
                let before = irqs.rising_edges(0);
                pit.poll(irq0);
                let edges = irqs.rising_edges(0) - before;
                assert!(edges <= 1, "one poll, several IRQ0 edges");
                assert!(
                    edges == 0 || irq0 != Irq0Input::Latched,
                    "an edge onto a latched request"
                );
                assert!(pit.irq0_backlog() <= MAX_BACKLOG, "backlog over its limit");
                if let Some(d) = pit.next_deadline() {
                    assert!(
                        d > clock.now(),
                        "deadline {d:?} not after now {:?}",
                        clock.now()
                    );
                }
            }
            Op::Reset => pit.reset(),
        }
        if let Some(f) = pit.speaker_frequency_hz() {
            assert!(
                f.is_finite() && f > 0.0 && f <= PIT_FREQUENCY_HZ as f64,
                "speaker {f}"
            );
        }
    }
});
