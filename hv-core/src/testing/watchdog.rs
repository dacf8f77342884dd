//! Stops a guest that runs too long, so a broken backend fails a case instead of hanging
//! the test binary.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::Kicker;

/// How often an expired watchdog kicks again (a kick can land between two runs).
const REKICK: Duration = Duration::from_millis(10);

/// Kicks a vCPU repeatedly once `limit` has passed, and records that it did.
#[derive(Debug)]
pub struct Watchdog {
    expired: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts the timer for the vCPU behind `kicker`.
    pub fn start(kicker: Arc<dyn Kicker>, limit: Duration) -> Self {
        let expired = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel::<()>();
        let flag = Arc::clone(&expired);
        let thread = std::thread::spawn(move || {
            let mut wait = limit;
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
                flag.store(true, Ordering::SeqCst);
                kicker.kick();
                wait = REKICK;
            }
        });
        Self {
            expired,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// True once the limit has passed.
    pub fn expired(&self) -> bool {
        self.expired.load(Ordering::SeqCst)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Debug, Default)]
    struct CountingKicker(AtomicUsize);

    impl Kicker for CountingKicker {
        fn kick(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn kicks_only_after_the_limit() {
        let kicker = Arc::new(CountingKicker::default());
        let dog = Watchdog::start(kicker.clone(), Duration::from_secs(60));
        assert!(!dog.expired());
        drop(dog); // stops promptly, without kicking
        assert_eq!(kicker.0.load(Ordering::SeqCst), 0);

        let dog = Watchdog::start(kicker.clone(), Duration::from_millis(1));
        while kicker.0.load(Ordering::SeqCst) < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(dog.expired());
    }
}
