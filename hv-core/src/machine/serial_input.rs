//! Host serial input waiting for room in a UART's receive FIFO.
//!
//! Both boards take bytes from the front end faster than a guest drains its UART (a
//! pasted file, `--serial-input`), so the bytes wait here and are fed into the FIFO at
//! every poll. The queue is bounded: a guest that never reads its console must not grow
//! the VMM's memory without limit.

use std::collections::VecDeque;

/// Most bytes of host serial input waiting for room in the UART FIFO.
pub const SERIAL_INPUT_LIMIT: usize = 64 * 1024;

/// Bytes from the host on their way into a UART.
#[derive(Debug)]
pub struct SerialInput {
    queue: VecDeque<u8>,
    /// The UART's name for the "dropped" warning ("COM1", "the PL011").
    uart: &'static str,
}

impl SerialInput {
    /// An empty queue feeding the UART called `uart`.
    pub fn new(uart: &'static str) -> Self {
        Self {
            queue: VecDeque::new(),
            uart,
        }
    }

    /// Queues `data` (bounded; excess is dropped with a warning).
    pub fn push(&mut self, data: &[u8]) {
        let room = SERIAL_INPUT_LIMIT.saturating_sub(self.queue.len());
        if data.len() > room {
            log::warn!(
                "serial input: {} bytes dropped (guest is not reading {})",
                data.len() - room,
                self.uart
            );
        }
        self.queue.extend(&data[..data.len().min(room)]);
    }

    /// Offers the queued bytes to `receive`, which takes what fits in the FIFO and says
    /// how many it took.
    pub fn feed(&mut self, receive: impl FnOnce(&[u8]) -> usize) {
        if !self.queue.is_empty() {
            let (a, _) = self.queue.as_slices();
            let n = receive(a);
            self.queue.drain(..n);
        }
    }
}
