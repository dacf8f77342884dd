//! Exit statistics, shared with the front end (the overlay shows exits per second by
//! kind, and interrupts raised against interrupts delivered). Counters are relaxed
//! atomics written only by the vCPU thread.
//!
//! *Raised* counts interrupt requests the devices made; *injected* counts the vectors
//! the vCPU loop handed the guest. The difference is what was merged (a request that
//! found the previous one still latched), dropped (masked lines, a tick backlog over its
//! limit) or is still waiting; a board that counts requests says so with
//! [`ExitStats::count_raised`], others report `None`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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
    raised: AtomicU64,
    counts_raised: AtomicBool,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Exits per [`ExitKind::ALL`] entry.
    pub exits: [u64; 6],
    /// Interrupts injected.
    pub injected: u64,
    /// Interrupt requests raised by devices, if the board counts them.
    pub raised: Option<u64>,
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
        d.raised = self
            .raised
            .map(|r| r.saturating_sub(earlier.raised.unwrap_or(0)));
        d
    }

    /// Requests raised and not delivered (merged, dropped or still waiting):
    /// `raised - injected`, if the board counts requests. Negative in a window where a
    /// backlog raised earlier was delivered.
    pub fn coalesced(&self) -> Option<i64> {
        let raised = i64::try_from(self.raised?).unwrap_or(i64::MAX);
        Some(raised.saturating_sub(i64::try_from(self.injected).unwrap_or(i64::MAX)))
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

    /// Counts `n` interrupt requests raised by devices (and marks these statistics as
    /// counting them).
    pub fn count_raised(&self, n: u64) {
        self.counts_raised.store(true, Ordering::Relaxed);
        self.raised.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads all counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let mut s = StatsSnapshot::default();
        for (i, c) in self.counts.iter().enumerate() {
            s.exits[i] = c.load(Ordering::Relaxed);
        }
        s.injected = self.injected.load(Ordering::Relaxed);
        s.raised = self
            .counts_raised
            .load(Ordering::Relaxed)
            .then(|| self.raised.load(Ordering::Relaxed));
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
        assert_eq!(d.raised, None, "nothing counts requests yet");
        assert_eq!(d.coalesced(), None);
        s.count_raised(5);
        s.count_injection();
        let c = s.snapshot();
        assert_eq!(c.raised, Some(5));
        let d = c.since(&b);
        assert_eq!((d.raised, d.injected, d.coalesced()), (Some(5), 1, Some(4)));
        assert_eq!(b.since(&c).coalesced(), None);
    }
}
