//! 16550A UART on an ISA port range, backed by `vm-superio`.
//!
//! vm-superio models the register file and the 64-byte receive FIFO (its threat notes:
//! the FIFO is bounded, so a host that floods input cannot grow memory). This wrapper
//! maps port numbers to register offsets, turns its interrupt trigger into an edge on
//! the ISA IRQ line, and tees transmitted bytes into a bounded [`SerialLog`] so the
//! runner can watch for text (`--until-text`) without owning the output stream.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use vm_superio::{Serial, Trigger};

use crate::bus::BusDevice;
use crate::irq::IrqLine;

/// Standard COM port bases and IRQs.
pub const COM1: (u16, u32) = (0x3F8, 4);
/// COM2.
pub const COM2: (u16, u32) = (0x2F8, 3);

/// How much transmitted output the log keeps for matching.
pub const SERIAL_LOG_CAPACITY: usize = 64 * 1024;

/// The most recent bytes a UART transmitted, shared with the front end.
#[derive(Debug, Default)]
pub struct SerialLog {
    bytes: VecDeque<u8>,
    total: u64,
}

impl SerialLog {
    /// An empty log behind a mutex.
    pub fn shared() -> Arc<Mutex<SerialLog>> {
        Arc::new(Mutex::new(SerialLog::default()))
    }

    fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        for &b in data {
            if self.bytes.len() == SERIAL_LOG_CAPACITY {
                self.bytes.pop_front();
            }
            self.bytes.push_back(b);
        }
    }

    /// Everything still in the log, lossily decoded as UTF-8.
    pub fn text(&self) -> String {
        let (a, b) = self.bytes.as_slices();
        let mut v = Vec::with_capacity(a.len() + b.len());
        v.extend_from_slice(a);
        v.extend_from_slice(b);
        String::from_utf8_lossy(&v).into_owned()
    }

    /// Bytes transmitted since power-on (including those no longer in the log).
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// Where a UART's transmitted bytes go: an optional host stream plus the log.
pub struct SerialOutput {
    sink: Option<Box<dyn Write + Send>>,
    log: Arc<Mutex<SerialLog>>,
}

impl std::fmt::Debug for SerialOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialOutput")
            .field("sink", &self.sink.is_some())
            .finish()
    }
}

impl SerialOutput {
    /// Output to `sink` (stdout, a file, or nothing) and to `log`.
    pub fn new(sink: Option<Box<dyn Write + Send>>, log: Arc<Mutex<SerialLog>>) -> Self {
        Self { sink, log }
    }
}

impl Write for SerialOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).push(buf);
        if let Some(sink) = self.sink.as_mut() {
            // A closed stdout or a full disk must not stop the guest: drop the output
            // (the log still has it) and say so once.
            if let Err(e) = sink.write_all(buf).and_then(|()| sink.flush()) {
                log::warn!("serial output failed ({e}); further output is dropped");
                self.sink = None;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.sink.as_mut() {
            Some(s) => s.flush(),
            None => Ok(()),
        }
    }
}

/// Turns vm-superio's interrupt trigger into an edge on an ISA IRQ line.
#[derive(Debug)]
pub struct IrqTrigger(IrqLine);

impl Trigger for IrqTrigger {
    type E = std::convert::Infallible;

    fn trigger(&self) -> Result<(), Self::E> {
        self.0.pulse();
        Ok(())
    }
}

/// A 16550A at `base`..`base+8`.
pub struct Uart {
    base: u16,
    serial: Serial<IrqTrigger, vm_superio::serial::NoEvents, SerialOutput>,
}

impl std::fmt::Debug for Uart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uart")
            .field("base", &format_args!("{:#x}", self.base))
            .finish()
    }
}

impl Uart {
    /// A UART at `base` raising `irq`, transmitting into `out`.
    pub fn new(base: u16, irq: IrqLine, out: SerialOutput) -> Self {
        Self {
            base,
            serial: Serial::new(IrqTrigger(irq), out),
        }
    }

    /// Queues host input for the guest. Returns how many bytes fit in the receive FIFO;
    /// the caller keeps the rest and retries later (nothing is dropped silently).
    pub fn receive(&mut self, data: &[u8]) -> usize {
        let room = self.serial.fifo_capacity().min(data.len());
        if room == 0 {
            return 0;
        }
        self.serial.enqueue_raw_bytes(&data[..room]).unwrap_or(0)
    }

    /// Gives back the output stream (to carry it across a reset).
    pub fn into_output(self) -> SerialOutput {
        self.serial.into_writer()
    }

    /// Free space in the receive FIFO.
    pub fn receive_capacity(&self) -> usize {
        self.serial.fifo_capacity()
    }

    fn offset(&self, addr: u64) -> Option<u8> {
        let off = addr.checked_sub(u64::from(self.base))?;
        (off < 8).then_some(off as u8)
    }
}

impl BusDevice for Uart {
    fn read(&mut self, addr: u64, data: &mut [u8]) {
        // The 16550 is an 8-bit device: a wider access reads the first register and
        // leaves the other bytes as the bus filled them.
        if let (Some(off), Some(first)) = (self.offset(addr), data.first_mut()) {
            *first = self.serial.read(off);
        }
    }

    fn write(&mut self, addr: u64, data: &[u8]) {
        if let (Some(off), Some(&v)) = (self.offset(addr), data.first()) {
            if let Err(e) = self.serial.write(off, v) {
                log::debug!("uart {:#x}: write failed: {e:?}", self.base);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irq::IrqRecorder;

    const THR: u64 = 0x3F8;
    const IER: u64 = 0x3F9;
    const LSR: u64 = 0x3FD;

    fn uart() -> (Uart, Arc<IrqRecorder>, Arc<Mutex<SerialLog>>) {
        let irq = IrqRecorder::new();
        let log = SerialLog::shared();
        let u = Uart::new(0x3F8, irq.line(4), SerialOutput::new(None, log.clone()));
        (u, irq, log)
    }

    #[test]
    fn transmit_reaches_log_and_thre_interrupt_fires() {
        let (mut u, irq, log) = uart();
        u.write(IER, &[0x02]); // THR empty interrupt
        for &b in b"hi\n" {
            u.write(THR, &[b]);
        }
        assert_eq!(log.lock().expect("lock").text(), "hi\n");
        assert!(irq.rising_edges(4) >= 1);
        let mut lsr = [0u8];
        u.read(LSR, &mut lsr);
        assert_eq!(lsr[0] & 0x60, 0x60, "THR and TSR empty");
    }

    #[test]
    fn receive_is_bounded_by_the_fifo() {
        let (mut u, irq, _) = uart();
        u.write(IER, &[0x01]); // RX data available interrupt
        let big = vec![b'x'; 1000];
        let taken = u.receive(&big);
        assert!(taken > 0 && taken <= 64, "took {taken}");
        assert_eq!(u.receive(&big), 0, "FIFO full");
        assert!(irq.rising_edges(4) >= 1);
        let mut b = [0u8];
        u.read(THR, &mut b);
        assert_eq!(b[0], b'x');
        let mut lsr = [0u8];
        u.read(LSR, &mut lsr);
        assert_eq!(lsr[0] & 1, 1, "more data ready");
    }

    #[test]
    fn log_keeps_only_the_tail() {
        let mut l = SerialLog::default();
        l.push(&vec![b'a'; SERIAL_LOG_CAPACITY]);
        l.push(b"end");
        assert_eq!(l.total(), SERIAL_LOG_CAPACITY as u64 + 3);
        assert!(l.text().ends_with("aend"));
        assert_eq!(l.text().len(), SERIAL_LOG_CAPACITY);
    }

    #[test]
    fn odd_offsets_and_sizes_are_harmless() {
        let (mut u, _, _) = uart();
        let mut wide = [0u8; 4];
        u.read(0x3F8 + 7, &mut wide);
        u.write(0x3F8 + 8, &[1]);
        u.write(0x3F0, &[1]);
        u.read(0x3F8, &mut []);
        u.write(0x3F8, &[]);
    }
}
