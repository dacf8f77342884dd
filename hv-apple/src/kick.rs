//! Kicking a vCPU from other threads, safely against vCPU teardown, and forcing an exit
//! to re-sample an interrupt line.
//!
//! `hv_vcpus_exit` is the one HVF call allowed from any thread, and Apple documents that a
//! request for a vCPU that is not running is latched into its next `hv_vcpu_run`
//! (hv_vcpu.h). We add: a pending flag, so a kick also wakes a vCPU sleeping in WFI
//! (where no `hv_vcpu_run` is in progress) and is reported as [`VcpuExit::Kicked`]; a
//! lock around the vCPU id, so no exit is requested for an id that was destroyed (and
//! possibly reused); and a [`Resampler`], which ends a run after a bound without a kick.
//!
//! [`VcpuExit::Kicked`]: hv_core::VcpuExit::Kicked

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hv_core::Kicker;

use crate::abi::{HvReturn, HvVcpuId};

/// Forces vCPU `id` out of `hv_vcpu_run`.
pub type ExitFn = fn(HvVcpuId) -> HvReturn;

/// State shared by a vCPU and its kickers.
#[derive(Debug)]
pub struct KickState {
    pending: AtomicBool,
    /// The vCPU id while it exists. Exit requests hold the read lock across
    /// `hv_vcpus_exit`; teardown takes the write lock to clear it before
    /// `hv_vcpu_destroy`.
    vcpu: RwLock<Option<HvVcpuId>>,
    sleep_lock: Mutex<()>,
    wake: Condvar,
    exit_fn: ExitFn,
}

impl KickState {
    /// State for live vCPU `id`.
    pub fn new(id: HvVcpuId, exit_fn: ExitFn) -> Arc<Self> {
        Arc::new(Self {
            pending: AtomicBool::new(false),
            vcpu: RwLock::new(Some(id)),
            sleep_lock: Mutex::new(()),
            wake: Condvar::new(),
            exit_fn,
        })
    }

    /// Requests an exit: sets the flag, wakes a WFI sleep, interrupts a running guest.
    pub fn kick(&self) {
        self.pending.store(true, Ordering::SeqCst);
        // Taking the lock orders the store before a sleeper's check-then-wait.
        drop(
            self.sleep_lock
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        self.wake.notify_all();
        self.force_exit();
    }

    /// Makes the running (or next) `hv_vcpu_run` return `HV_EXIT_REASON_CANCELED`
    /// without a pending kick: the vCPU re-samples its state and re-enters.
    pub fn force_exit(&self) {
        let vcpu = self.vcpu.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(id) = *vcpu {
            let ret = (self.exit_fn)(id);
            if ret != 0 {
                log::warn!("hv_vcpus_exit({id}) failed with {:#x}", ret as u32);
            }
        }
    }

    /// Consumes a pending kick.
    pub fn take_pending(&self) -> bool {
        self.pending.swap(false, Ordering::SeqCst)
    }

    /// Sleeps up to `timeout` or until kicked. Returns true if a kick is pending (it is
    /// left pending for [`take_pending`](Self::take_pending)).
    pub fn sleep(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut guard = self
            .sleep_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            if self.pending.load(Ordering::SeqCst) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = self
                .wake
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Marks the vCPU destroyed. After this returns no thread is inside `hv_vcpus_exit`
    /// for it and none will enter, so the id may be destroyed.
    pub fn retire(&self) {
        *self.vcpu.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// The [`Kicker`] handed to other threads.
#[derive(Debug, Clone)]
pub struct HvfKicker(pub(crate) Arc<KickState>);

impl Kicker for HvfKicker {
    fn kick(&self) {
        self.0.kick();
    }
}

#[derive(Debug, Default)]
struct ResampleState {
    deadline: Option<Instant>,
    stop: bool,
}

#[derive(Debug, Default)]
struct ResampleShared {
    state: Mutex<ResampleState>,
    changed: Condvar,
}

/// Ends a run `after` it started unless disarmed first, through
/// [`KickState::force_exit`].
///
/// Why: without a GIC the only interrupt input is `hv_vcpu_set_pending_interrupt`, a
/// level HVF holds for the whole `hv_vcpu_run` (it is cleared only when the run
/// returns). A device's interrupt is acknowledged by an MMIO access, which exits, so its
/// line is re-sampled at once. The virtual timer's is acknowledged by writing CNTV_CTL or
/// CNTV_CVAL, which does not trap: the guest's handler returns, the still-asserted line
/// takes it straight back into the handler, and without a bound that repeats until some
/// unrelated exit. The resampler is that bound.
#[derive(Debug)]
pub struct Resampler {
    shared: Arc<ResampleShared>,
    thread: Option<JoinHandle<()>>,
    armed: bool,
}

impl Resampler {
    /// Starts the helper thread for `kick`'s vCPU.
    pub fn spawn(kick: Arc<KickState>) -> std::io::Result<Self> {
        let shared = Arc::new(ResampleShared::default());
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("hv-hvf-resample".into())
            .spawn(move || resample_loop(&s, &kick))?;
        Ok(Self {
            shared,
            thread: Some(thread),
            armed: false,
        })
    }

    /// Requests an exit `after` from now (replacing an earlier request).
    pub fn arm(&mut self, after: Duration) {
        self.set(Some(Instant::now() + after));
        self.armed = true;
    }

    /// Cancels the request (cheap when nothing is armed).
    pub fn disarm(&mut self) {
        if self.armed {
            self.set(None);
            self.armed = false;
        }
    }

    fn set(&self, deadline: Option<Instant>) {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .deadline = deadline;
        self.shared.changed.notify_all();
    }
}

fn resample_loop(shared: &ResampleShared, kick: &KickState) {
    let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if state.stop {
            return;
        }
        match state.deadline {
            None => {
                state = shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    state.deadline = None;
                    drop(state);
                    kick.force_exit();
                    state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
                } else {
                    state = shared
                        .changed
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
    }
}

impl Drop for Resampler {
    fn drop(&mut self) {
        {
            let mut state = self
                .shared
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            state.stop = true;
            state.deadline = None;
        }
        self.shared.changed.notify_all();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::error!("the HVF resample thread panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    static EXITS: AtomicU64 = AtomicU64::new(0);

    fn fake_exit(id: HvVcpuId) -> HvReturn {
        assert_eq!(id, 7);
        EXITS.fetch_add(1, Ordering::SeqCst);
        0
    }

    static RESAMPLES: AtomicU64 = AtomicU64::new(0);

    fn fake_resample_exit(id: HvVcpuId) -> HvReturn {
        assert_eq!(id, 9);
        RESAMPLES.fetch_add(1, Ordering::SeqCst);
        0
    }

    #[test]
    fn kick_is_sticky_wakes_sleepers_and_stops_after_retire() {
        let s = KickState::new(7, fake_exit);
        let before = EXITS.load(Ordering::SeqCst);
        assert!(!s.take_pending());
        s.kick();
        assert_eq!(EXITS.load(Ordering::SeqCst), before + 1);
        assert!(
            s.sleep(Duration::from_secs(10)),
            "a pending kick ends the sleep at once"
        );
        assert!(s.take_pending());
        assert!(!s.take_pending(), "consumed once");

        let t = Instant::now();
        assert!(!s.sleep(Duration::from_millis(20)));
        assert!(t.elapsed() >= Duration::from_millis(20));

        let kicker = HvfKicker(s.clone());
        let sleeper = {
            let s = s.clone();
            std::thread::spawn(move || s.sleep(Duration::from_secs(30)))
        };
        std::thread::sleep(Duration::from_millis(20));
        kicker.kick();
        assert!(sleeper.join().expect("sleeper"), "woken by the kick");

        s.retire();
        let after = EXITS.load(Ordering::SeqCst);
        kicker.kick();
        assert_eq!(
            EXITS.load(Ordering::SeqCst),
            after,
            "no hv_vcpus_exit after retire"
        );
        assert!(s.take_pending(), "the flag still works");
    }

    #[test]
    fn resampler_forces_one_exit_after_the_bound_unless_disarmed() {
        let s = KickState::new(9, fake_resample_exit);
        let mut r = Resampler::spawn(s.clone()).expect("thread");
        let base = RESAMPLES.load(Ordering::SeqCst);

        // Disarmed before the deadline: nothing happens.
        r.arm(Duration::from_millis(50));
        r.disarm();
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(RESAMPLES.load(Ordering::SeqCst), base);

        // Armed: exactly one forced exit, and it is not a kick.
        let start = Instant::now();
        r.arm(Duration::from_millis(10));
        while RESAMPLES.load(Ordering::SeqCst) == base {
            assert!(start.elapsed() < Duration::from_secs(10), "no forced exit");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(start.elapsed() >= Duration::from_millis(10));
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(RESAMPLES.load(Ordering::SeqCst), base + 1, "one per arm");
        assert!(!s.take_pending(), "a resample is not a kick");

        // After retire the thread cannot reach the destroyed id; drop joins it.
        s.retire();
        r.arm(Duration::ZERO);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(RESAMPLES.load(Ordering::SeqCst), base + 1);
        drop(r);
    }
}
