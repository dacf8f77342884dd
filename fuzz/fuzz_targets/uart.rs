//! COM1 (vm-superio's 16550A behind hv's bus adapter): arbitrary register accesses at
//! 0x3F8-0x3FF of any width (including offsets beyond the 8 registers), host input of
//! any length, and output that the guest can make as large as it likes.
//!
//! Invariants: the receive FIFO never holds more than its 64 bytes (vm-superio's bound,
//! the fix for CVE-2020-27173); `receive` never claims more bytes than it was offered or
//! than there was room for; the retained serial log stays within its capacity however
//! much the guest transmits; IRQ4 is an edge (pulsed), never left high.
#![no_main]

use arbitrary::Arbitrary;
use hv_core::bus::BusDevice;
use hv_core::devices::uart::{COM1, SERIAL_LOG_CAPACITY, SerialLog, SerialOutput, Uart};
use hv_core::irq::IrqRecorder;
use hv_fuzz::Width;
use libfuzzer_sys::fuzz_target;

/// vm-superio's receive FIFO size.
const FIFO: usize = 64;

#[derive(Debug, Arbitrary)]
enum Op {
    /// Offset from 0x3F8 (0-9, so the two ports after the UART are hit too).
    Write(u8, Width, u32),
    Read(u8, Width),
    Receive(Vec<u8>),
    /// Transmit this byte many times (THR at offset 0), the way a chatty guest does.
    Flood(u8, u16),
}

fuzz_target!(|ops: Vec<Op>| {
    let irqs = IrqRecorder::new();
    let log = SerialLog::shared();
    let base = u64::from(COM1.0);
    let mut uart = Uart::new(COM1.0, irqs.line(4), SerialOutput::new(None, log.clone()));
    for op in ops.into_iter().take(1024) {
        match op {
            Op::Write(off, w, v) => {
                uart.write(base + u64::from(off % 10), &v.to_le_bytes()[..w.len()])
            }
            Op::Read(off, w) => uart.read(base + u64::from(off % 10), &mut vec![0; w.len()]),
            Op::Receive(bytes) => {
                let room = uart.receive_capacity();
                let n = uart.receive(&bytes);
                assert!(
                    n <= bytes.len() && n <= room,
                    "took {n} of {} with room {room}",
                    bytes.len()
                );
            }
            Op::Flood(b, n) => {
                for _ in 0..n.min(4096) {
                    uart.write(base, &[b]);
                }
            }
        }
        assert!(uart.receive_capacity() <= FIFO);
        assert!(!irqs.level(4), "IRQ4 left high");
        let l = log.lock().unwrap();
        assert!(
            l.text().chars().count() <= SERIAL_LOG_CAPACITY,
            "serial log grew past its capacity"
        );
    }
});
