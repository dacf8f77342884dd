//! The 8259A pair: arbitrary ICW/OCW sequences on 0x20/0x21/0xA0/0xA1/0x4D0/0x4D1,
//! device lines going up and down, and INTA cycles, in any order.
//!
//! Invariants: `acknowledge` answers exactly when `has_interrupt` said there was
//! something (the vCPU loop relies on that to decide between injecting and asking for an
//! interrupt window); every vector it returns lies in the 8-vector block of the master or
//! of the slave as the guest programmed them (the pair never invents a vector); the
//! ELCR bits for IRQ 0, 1, 2, 8 and 13 stay edge-triggered; and the notifier fires only
//! when a line change makes the INT output rise.
#![no_main]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use arbitrary::Arbitrary;
use hv_core::bus::BusDevice;
use hv_core::devices::pic::{ELCR_MASTER, ELCR_SLAVE, Pic, PicPorts};
use hv_core::irq::IrqSink;
use hv_fuzz::Width;
use libfuzzer_sys::fuzz_target;

const PORTS: [u16; 6] = [0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1];

#[derive(Debug, Arbitrary)]
enum Op {
    Write(u8, Width, u32),
    Read(u8, Width),
    /// Any line number, including ones that do not exist.
    Line(u8, bool),
    Acknowledge,
    RawInta,
    Reset,
}

/// The vector bases the guest last wrote with ICW2 (the top five bits).
#[derive(Debug, Default)]
struct Bases {
    master: Option<u8>,
    slave: Option<u8>,
    /// Next data write to this chip is ICW2.
    expect_icw2: [bool; 2],
}

impl Bases {
    fn observe_write(&mut self, port: u16, v: u8) {
        let chip = usize::from(port >= 0xA0);
        match port {
            0x20 | 0xA0 if v & 0x10 != 0 => {
                // Until ICW2 arrives the chip's base is whatever it was: unknown here.
                self.expect_icw2[chip] = true;
                if chip == 0 {
                    self.master = None
                } else {
                    self.slave = None
                }
            }
            0x21 | 0xA1 if self.expect_icw2[chip] => {
                self.expect_icw2[chip] = false;
                let base = Some(v & 0xF8);
                if chip == 0 {
                    self.master = base
                } else {
                    self.slave = base
                }
            }
            _ => {}
        }
    }

    fn allows(&self, vector: u8) -> bool {
        // Power-on bases: the model starts at the BIOS's 0x08 / 0x70 or at 0; accept any
        // base the guest never overrode, but require the chip's block when it did.
        let block = vector & 0xF8;
        match (self.master, self.slave) {
            (Some(m), Some(s)) => block == m || block == s,
            _ => true,
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let pic = Pic::new();
    let kicks = Arc::new(AtomicU32::new(0));
    let k = kicks.clone();
    pic.set_notifier(move || {
        k.fetch_add(1, Ordering::SeqCst);
    });
    let mut ports = PicPorts::new(pic.clone());
    let mut bases = Bases::default();
    for op in ops.into_iter().take(4096) {
        match op {
            Op::Write(p, w, v) => {
                let port = PORTS[usize::from(p) % PORTS.len()];
                let bytes = &v.to_le_bytes()[..w.len()];
                for (i, &b) in bytes.iter().enumerate() {
                    bases.observe_write(port.wrapping_add(i as u16), b);
                }
                ports.write(u64::from(port), bytes);
            }
            Op::Read(p, w) => ports.read(
                u64::from(PORTS[usize::from(p) % PORTS.len()]),
                &mut vec![0; w.len()],
            ),
            Op::Line(n, level) => {
                let before = kicks.load(Ordering::SeqCst);
                pic.set_level(u32::from(n), level);
                if kicks.load(Ordering::SeqCst) != before {
                    assert!(
                        pic.has_interrupt(),
                        "notifier fired without a pending interrupt"
                    );
                }
            }
            Op::Acknowledge => {
                let pending = pic.has_interrupt();
                let v = pic.acknowledge();
                assert_eq!(
                    pending,
                    v.is_some(),
                    "has_interrupt and acknowledge disagree"
                );
                if let Some(v) = v {
                    assert!(bases.allows(v), "vector {v:#04x} outside {bases:?}");
                }
            }
            Op::RawInta => {
                let v = pic.interrupt_acknowledge();
                assert!(bases.allows(v), "vector {v:#04x} outside {bases:?}");
            }
            Op::Reset => {
                pic.reset();
                bases = Bases::default();
            }
        }
        let mut elcr = [0u8; 1];
        ports.read(u64::from(ELCR_MASTER), &mut elcr);
        assert_eq!(elcr[0] & 0x07, 0, "IRQ 0-2 must stay edge-triggered");
        ports.read(u64::from(ELCR_SLAVE), &mut elcr);
        assert_eq!(elcr[0] & 0x21, 0, "IRQ 8 and 13 must stay edge-triggered");
    }
});
