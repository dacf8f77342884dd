//! Kicks the vCPU when a timer deadline passes while the guest runs without exits.
//!
//! Device timers (PIT channel 0, typematic repeat) are computed from "now" at each exit.
//! A guest that spins without exits would never let the loop look at the clock, so a
//! small thread sleeps until the earliest deadline and kicks the vCPU then. While the
//! vCPU thread itself waits (on `hlt`), it disarms this thread and sleeps with a timeout.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::hypervisor::Kicker;

/// Deadlines closer than this are the same deadline (timer emulation tolerates a kick
/// this late; the guest sees the tick at its next exit either way).
const SLACK: std::time::Duration = std::time::Duration::from_micros(50);

#[derive(Debug, Default)]
struct State {
    deadline: Option<Instant>,
    stop: bool,
}

/// The deadline thread. Dropping it stops and joins the thread.
#[derive(Debug)]
pub struct DeadlineKicker {
    shared: Arc<(Mutex<State>, Condvar)>,
    armed: Option<Instant>,
    thread: Option<JoinHandle<()>>,
}

impl DeadlineKicker {
    /// Starts the thread; it kicks through `kicker`.
    pub fn spawn(kicker: Arc<dyn Kicker>) -> std::io::Result<Self> {
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("hv-deadline".into())
            .spawn(move || Self::run(&s, kicker.as_ref()))?;
        Ok(Self {
            shared,
            armed: None,
            thread: Some(thread),
        })
    }

    fn run(shared: &(Mutex<State>, Condvar), kicker: &dyn Kicker) {
        let (lock, cv) = shared;
        let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if st.stop {
                return;
            }
            match st.deadline {
                None => st = cv.wait(st).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
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

    /// Arms the thread for `deadline` (or disarms it with `None`). Cheap when the
    /// deadline did not change.
    pub fn arm(&mut self, deadline: Option<Instant>) {
        if self.armed == deadline {
            return;
        }
        // The loop converts a machine-clock deadline to an Instant at every exit, so the
        // same deadline comes back a few nanoseconds off each time. Re-arming for that
        // woke this thread (futex + context switch) on every exit; within SLACK it is
        // the same deadline.
        if let (Some(a), Some(d)) = (self.armed, deadline) {
            if a.max(d) - a.min(d) < SLACK {
                return;
            }
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
    use std::time::Duration;

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
        let mut d = DeadlineKicker::spawn(c.clone()).expect("thread");
        d.arm(Some(Instant::now() + Duration::from_millis(20)));
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
        d.arm(Some(Instant::now() + Duration::from_millis(100)));
        d.arm(None);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(c.0.load(Ordering::SeqCst), 1);
        drop(d);
    }
}
