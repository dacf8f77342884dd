//! Exit statistics, shared with the front end (the overlay shows exits per second by
//! kind). Counters are relaxed atomics written only by the vCPU thread.

use std::sync::atomic::{AtomicU64, Ordering};

/// The kinds of exit the overlay distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// Port I/O.
    Pio,
    /// MMIO (including ROM writes).
    Mmio,
    /// `hlt`.
    Halt,
    /// Interrupt window opened.
    Window,
    /// Kicked by another thread (input, timer deadline).
    Kick,
    /// Anything else.
    Other,
}

impl ExitKind {
    /// All kinds, in display order.
    pub const ALL: [ExitKind; 6] = [
        ExitKind::Pio,
        ExitKind::Mmio,
        ExitKind::Halt,
        ExitKind::Window,
        ExitKind::Kick,
        ExitKind::Other,
    ];

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            ExitKind::Pio => "port I/O",
            ExitKind::Mmio => "MMIO",
            ExitKind::Halt => "hlt",
            ExitKind::Window => "irq window",
            ExitKind::Kick => "kick",
            ExitKind::Other => "other",
        }
    }
}

/// Counters since power-on.
#[derive(Debug, Default)]
pub struct ExitStats {
    counts: [AtomicU64; 6],
    injected: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Exits per [`ExitKind::ALL`] entry.
    pub exits: [u64; 6],
    /// Interrupts injected.
    pub injected: u64,
}

impl StatsSnapshot {
    /// Total exits.
    pub fn total(&self) -> u64 {
        self.exits.iter().sum()
    }

    /// Exits of `kind`.
    pub fn get(&self, kind: ExitKind) -> u64 {
        self.exits[kind as usize]
    }

    /// Per-kind differences `self - earlier` (saturating).
    pub fn since(&self, earlier: &StatsSnapshot) -> StatsSnapshot {
        let mut d = StatsSnapshot::default();
        for i in 0..6 {
            d.exits[i] = self.exits[i].saturating_sub(earlier.exits[i]);
        }
        d.injected = self.injected.saturating_sub(earlier.injected);
        d
    }
}

impl ExitStats {
    /// Counts one exit.
    pub fn count(&self, kind: ExitKind) {
        self.counts[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one injected interrupt.
    pub fn count_injection(&self) {
        self.injected.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads all counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let mut s = StatsSnapshot::default();
        for (i, c) in self.counts.iter().enumerate() {
            s.exits[i] = c.load(Ordering::Relaxed);
        }
        s.injected = self.injected.load(Ordering::Relaxed);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_and_delta() {
        let s = ExitStats::default();
        let a = s.snapshot();
        s.count(ExitKind::Pio);
        s.count(ExitKind::Pio);
        s.count(ExitKind::Kick);
        s.count_injection();
        let b = s.snapshot();
        let d = b.since(&a);
        assert_eq!(d.get(ExitKind::Pio), 2);
        assert_eq!(d.get(ExitKind::Kick), 1);
        assert_eq!(d.total(), 3);
        assert_eq!(d.injected, 1);
        assert_eq!(a.since(&b).total(), 0);
    }
}
