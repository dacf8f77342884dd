//! Time as devices see it: a monotonic clock that tests can drive by hand.
//!
//! Timers (PIT, typematic repeat, RTC updates) compute their state from "now" instead of
//! running threads, and tell the vCPU loop their next deadline. With [`FakeClock`] every
//! timer test is deterministic.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic clock measured from the machine's start.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Time since the machine started.
    fn now(&self) -> Duration;
}

/// The host's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct HostClock {
    start: Instant,
}

impl HostClock {
    /// A clock whose zero is now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }

    /// The host instant that corresponds to `t` on this clock.
    pub fn instant_at(&self, t: Duration) -> Instant {
        self.start + t
    }
}

impl Default for HostClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for HostClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct FakeClock {
    nanos: Arc<AtomicU64>,
}

impl FakeClock {
    /// A clock at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let n = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(n, Ordering::SeqCst);
    }

    /// Sets the time to `t` (may not go backwards).
    pub fn set(&self, t: Duration) {
        let n = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_max(n, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_clock_is_shared_and_monotonic() {
        let c = FakeClock::new();
        let d = c.clone();
        c.advance(Duration::from_millis(5));
        assert_eq!(d.now(), Duration::from_millis(5));
        d.set(Duration::from_millis(1));
        assert_eq!(c.now(), Duration::from_millis(5));
        d.set(Duration::from_millis(9));
        assert_eq!(c.now(), Duration::from_millis(9));
        assert!(HostClock::new().now() < Duration::from_secs(5));
    }
}
