//! Kicking a vCPU from other threads, safely against vCPU teardown.
//!
//! `hv_vcpus_exit` is the one HVF call allowed from any thread, and Apple documents that a
//! request for a vCPU that is not running is latched into its next `hv_vcpu_run`. We add
//! two things on top: a pending flag, so a kick also wakes a vCPU sleeping in WFI (where no
//! `hv_vcpu_run` is in progress) and is reported as [`VcpuExit::Kicked`]; and a lock around
//! the vCPU id, so no kick is sent to an id that was destroyed (and possibly reused).
//!
//! [`VcpuExit::Kicked`]: hv_core::VcpuExit::Kicked

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use applevisor_sys::{hv_return_t, hv_vcpu_t};
use hv_core::Kicker;

/// Forces vCPU `id` out of `hv_vcpu_run`.
pub type ExitFn = fn(hv_vcpu_t) -> hv_return_t;

/// State shared by a vCPU and its kickers.
#[derive(Debug)]
pub struct KickState {
    pending: AtomicBool,
    /// The vCPU id while it exists. Kickers hold the read lock across `hv_vcpus_exit`;
    /// teardown takes the write lock to clear it before `hv_vcpu_destroy`.
    vcpu: RwLock<Option<hv_vcpu_t>>,
    sleep_lock: Mutex<()>,
    wake: Condvar,
    exit_fn: ExitFn,
}

impl KickState {
    /// State for live vCPU `id`.
    pub fn new(id: hv_vcpu_t, exit_fn: ExitFn) -> Arc<Self> {
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

    /// Marks the vCPU destroyed. After this returns no kicker is inside `hv_vcpus_exit`
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    static EXITS: AtomicU64 = AtomicU64::new(0);

    fn fake_exit(id: hv_vcpu_t) -> hv_return_t {
        assert_eq!(id, 7);
        EXITS.fetch_add(1, Ordering::SeqCst);
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
}
