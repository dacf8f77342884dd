//! An [`IoHandler`] that records every access and answers reads from a queue of bytes.

use std::collections::VecDeque;

use crate::IoHandler;

/// Most events kept; a runaway guest cannot grow the log without bound.
pub const MAX_EVENTS: usize = 4096;

/// One completed access, with the bytes written or returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoEvent {
    /// `in` from a port.
    PioIn { port: u16, data: Vec<u8> },
    /// `out` to a port.
    PioOut { port: u16, data: Vec<u8> },
    /// Load from unmapped guest-physical memory.
    MmioRead { gpa: u64, data: Vec<u8> },
    /// Store to unmapped or read-only guest-physical memory.
    MmioWrite { gpa: u64, data: Vec<u8> },
}

/// Records accesses; reads take bytes from [`read_bytes`](Self::read_bytes) in order
/// (0xFF once it is empty, like an unmapped bus).
#[derive(Debug, Default)]
pub struct RecordingIo {
    /// Completed accesses, oldest first (at most [`MAX_EVENTS`]).
    pub events: Vec<IoEvent>,
    /// Accesses dropped because the log was full.
    pub dropped: usize,
    /// Bytes returned by port and MMIO reads.
    pub read_bytes: VecDeque<u8>,
}

impl RecordingIo {
    /// A recorder whose reads return `bytes` in order.
    pub fn with_reads(bytes: &[u8]) -> Self {
        Self {
            read_bytes: bytes.iter().copied().collect(),
            ..Default::default()
        }
    }

    /// The `out` data written to `port`, in order.
    pub fn outs(&self, port: u16) -> Vec<Vec<u8>> {
        self.events
            .iter()
            .filter_map(|e| match e {
                IoEvent::PioOut { port: p, data } if *p == port => Some(data.clone()),
                _ => None,
            })
            .collect()
    }

    fn fill(&mut self, data: &mut [u8]) {
        for b in data {
            *b = self.read_bytes.pop_front().unwrap_or(0xFF);
        }
    }

    fn record(&mut self, event: IoEvent) {
        if self.events.len() < MAX_EVENTS {
            self.events.push(event);
        } else {
            self.dropped += 1;
        }
    }
}

impl IoHandler for RecordingIo {
    fn pio_read(&mut self, port: u16, data: &mut [u8]) {
        self.fill(data);
        self.record(IoEvent::PioIn {
            port,
            data: data.to_vec(),
        });
    }

    fn pio_write(&mut self, port: u16, data: &[u8]) {
        self.record(IoEvent::PioOut {
            port,
            data: data.to_vec(),
        });
    }

    fn mmio_read(&mut self, gpa: u64, data: &mut [u8]) {
        self.fill(data);
        self.record(IoEvent::MmioRead {
            gpa,
            data: data.to_vec(),
        });
    }

    fn mmio_write(&mut self, gpa: u64, data: &[u8]) {
        self.record(IoEvent::MmioWrite {
            gpa,
            data: data.to_vec(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_come_from_the_queue_then_float_high() {
        let mut io = RecordingIo::with_reads(&[1, 2, 3]);
        let mut word = [0u8; 2];
        io.pio_read(0x60, &mut word);
        let mut dword = [0u8; 4];
        io.mmio_read(0x1000, &mut dword);
        assert_eq!(word, [1, 2]);
        assert_eq!(dword, [3, 0xFF, 0xFF, 0xFF]);
        assert_eq!(
            io.events[1],
            IoEvent::MmioRead {
                gpa: 0x1000,
                data: vec![3, 0xFF, 0xFF, 0xFF]
            }
        );
    }

    #[test]
    fn log_is_bounded_and_outs_filter_by_port() {
        let mut io = RecordingIo::default();
        for i in 0..MAX_EVENTS + 10 {
            io.pio_write(if i % 2 == 0 { 0x80 } else { 0x81 }, &[i as u8]);
        }
        assert_eq!(io.events.len(), MAX_EVENTS);
        assert_eq!(io.dropped, 10);
        assert_eq!(io.outs(0x81)[0], vec![1]);
        assert_eq!(io.outs(0x80).len(), MAX_EVENTS / 2);
    }
}
