//! Interrupt lines: how a device tells the interrupt controller about its output.
//!
//! A device holds an [`IrqLine`] and drives it like a wire (`set_level`). The line is
//! connected to an [`IrqSink`] — the 8259 PIC pair on a PC, the GIC on arm64 — which
//! decides edge versus level and when the vCPU sees it. Devices never know which.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Something that receives interrupt line levels.
pub trait IrqSink: Send + Sync {
    /// Line `line` now has `level`.
    fn set_level(&self, line: u32, level: bool);
}

/// One interrupt output of a device.
#[derive(Clone)]
pub struct IrqLine {
    sink: Arc<dyn IrqSink>,
    line: u32,
}

impl fmt::Debug for IrqLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IrqLine({})", self.line)
    }
}

impl IrqLine {
    /// Line `line` of `sink`.
    pub fn new(sink: Arc<dyn IrqSink>, line: u32) -> Self {
        Self { sink, line }
    }

    /// The line number at the controller.
    pub fn line(&self) -> u32 {
        self.line
    }

    /// Drives the line.
    pub fn set_level(&self, level: bool) {
        self.sink.set_level(self.line, level);
    }

    /// Drives the line high.
    pub fn raise(&self) {
        self.set_level(true);
    }

    /// Drives the line low.
    pub fn lower(&self) {
        self.set_level(false);
    }

    /// A rising then falling edge (for edge-triggered inputs).
    pub fn pulse(&self) {
        self.set_level(true);
        self.set_level(false);
    }
}

/// An [`IrqSink`] that only records levels and rising edges: for device unit tests, and
/// for machines that poll lines.
#[derive(Debug, Default)]
pub struct IrqRecorder {
    levels: AtomicU32,
    edges: [AtomicU64; 32],
}

impl IrqRecorder {
    /// A recorder with every line low.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A line connected to this recorder. Lines above 31 are accepted and ignored.
    pub fn line(self: &Arc<Self>, line: u32) -> IrqLine {
        IrqLine::new(self.clone(), line)
    }

    /// The current level of `line`.
    pub fn level(&self, line: u32) -> bool {
        line < 32 && self.levels.load(Ordering::SeqCst) & (1 << line) != 0
    }

    /// How many rising edges `line` has seen.
    pub fn rising_edges(&self, line: u32) -> u64 {
        self.edges
            .get(line as usize)
            .map_or(0, |e| e.load(Ordering::SeqCst))
    }
}

impl IrqSink for IrqRecorder {
    fn set_level(&self, line: u32, level: bool) {
        if line >= 32 {
            return;
        }
        let bit = 1u32 << line;
        let old = if level {
            self.levels.fetch_or(bit, Ordering::SeqCst)
        } else {
            self.levels.fetch_and(!bit, Ordering::SeqCst)
        };
        if level && old & bit == 0 {
            self.edges[line as usize].fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_counts_rising_edges_only() {
        let r = IrqRecorder::new();
        let l = r.line(1);
        l.raise();
        l.raise();
        assert!(r.level(1));
        l.lower();
        l.pulse();
        assert!(!r.level(1));
        assert_eq!(r.rising_edges(1), 2);
        assert_eq!(r.rising_edges(2), 0);
        r.line(40).raise();
        assert!(!r.level(40));
    }
}
