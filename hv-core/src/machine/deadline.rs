//! Kicks the vCPU when a timer deadline passes while the guest runs without exits.
//!
//! Device timers (PIT channel 0, typematic repeat) are computed from "now" at each exit.
//! A guest that spins without exits would never let the loop look at the clock, so a
//! small thread sleeps until the earliest deadline and kicks the vCPU then. While the
//! vCPU thread itself waits (on `hlt`), it disarms this thread and sleeps with a timeout.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::clock::Clock;
use crate::hypervisor::Kicker;

#[derive(Debug, Default)]
struct State {
    /// On the machine clock.
    deadline: Option<Duration>,
    stop: bool,
}

/// The deadline thread. Dropping it stops and joins the thread.
#[derive(Debug)]
pub struct DeadlineKicker {
    shared: Arc<(Mutex<State>, Condvar)>,
    armed: Option<Duration>,
    thread: Option<JoinHandle<()>>,
}

impl DeadlineKicker {
    /// Starts the thread; it kicks through `kicker` when `clock` reaches the deadline.
    pub fn spawn(kicker: Arc<dyn Kicker>, clock: Arc<dyn Clock>) -> std::io::Result<Self> {
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("hv-deadline".into())
            .spawn(move || Self::run(&s, kicker.as_ref(), clock.as_ref()))?;
        Ok(Self {
            shared,
            armed: None,
            thread: Some(thread),
        })
    }

    fn run(shared: &(Mutex<State>, Condvar), kicker: &dyn Kicker, clock: &dyn Clock) {
        let (lock, cv) = shared;
        let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if st.stop {
                return;
            }
            match st.deadline {
                None => st = cv.wait(st).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = clock.now();
                    if now >= d {
                        st.deadline = None;
                        kicker.kick();
                    } else {
                        st = cv
                            .wait_timeout(st, d - now)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                }
            }
        }
    }

    /// Arms the thread for `deadline` on the machine clock (or disarms it with `None`).
    /// Device deadlines are exact instants that move only when a timer fires or is
    /// reprogrammed, so on most exits this compares and returns without taking the lock.
    pub fn arm(&mut self, deadline: Option<Duration>) {
        if self.armed == deadline {
            return;
        }
        self.armed = deadline;
        let (lock, cv) = &*self.shared;
        lock.lock().unwrap_or_else(|e| e.into_inner()).deadline = deadline;
        cv.notify_one();
    }

    /// Forgets the armed deadline after the vCPU saw it pass (so the next `arm` with the
    /// same instant is not skipped).
    pub fn fired(&mut self) {
        self.armed = None;
    }
}

impl Drop for DeadlineKicker {
    fn drop(&mut self) {
        let (lock, cv) = &*self.shared;
        lock.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        cv.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Instant;

    #[derive(Debug, Default)]
    struct Count(AtomicU32);
    impl Kicker for Count {
        fn kick(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn kicks_once_per_armed_deadline_and_not_when_disarmed() {
        let c = Arc::new(Count::default());
        let clock = Arc::new(crate::clock::HostClock::new());
        let mut d = DeadlineKicker::spawn(c.clone(), clock.clone()).expect("thread");
        d.arm(Some(clock.now() + Duration::from_millis(20)));
        let give_up = Instant::now() + Duration::from_secs(10);
        while c.0.load(Ordering::SeqCst) == 0 && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            c.0.load(Ordering::SeqCst),
            1,
            "exactly one kick for one deadline"
        );
        d.fired();
        d.arm(Some(clock.now() + Duration::from_millis(100)));
        d.arm(None);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(c.0.load(Ordering::SeqCst), 1);
        drop(d);
    }
}
