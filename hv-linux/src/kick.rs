//! Kicking a vCPU out of `KVM_RUN` from another thread.
//!
//! A thread inside `KVM_RUN` only comes back to userspace for an exit or a signal, so a
//! kick is a signal. The protocol (Firecracker's, see notes/backends.md §3):
//!
//! 1. Once per process, a no-op handler is installed for `SIGRTMIN` *without*
//!    `SA_RESTART`, so the signal makes `KVM_RUN` return `-EINTR` instead of dying or
//!    being restarted.
//! 2. [`KvmKicker::kick`] sets `pending`, stores 1 into `kvm_run.immediate_exit` through
//!    a pointer to the vCPU's `kvm_run` mapping, fences, and sends `SIGRTMIN` to the vCPU
//!    thread with `pthread_kill`.
//! 3. If the vCPU was inside the guest, the signal forces it out (`-EINTR`). If it was
//!    anywhere else, the signal is harmless and `immediate_exit` makes the *next*
//!    `KVM_RUN` return `-EINTR` without entering the guest. That is what makes a kick
//!    sticky: no window exists in which it can be lost.
//! 4. After `-EINTR`, the vCPU thread calls [`KvmKicker::acknowledge`]: it clears
//!    `immediate_exit`, then takes `pending`. A pending kick is reported as `Kicked`; an
//!    `-EINTR` with nothing pending (some other signal, or the tail of a kick already
//!    reported) is `Spurious`.
//!
//! Teardown: the `kvm_run` mapping dies with the vCPU. The vCPU's `Drop` calls
//! [`KvmKicker::disarm`], which clears the pointer under the same lock `kick` holds while
//! it writes through it and signals, so a kick can never touch freed memory or signal a
//! thread that has moved on.
//!
//! `immediate_exit` is accessed with atomic byte stores on both sides, since the kicker
//! and the vCPU thread may write it at the same time (KVM only reads it).

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering, fence};
use std::sync::{Mutex, OnceLock};

use hv_core::{HvError, Kicker, Result};
use kvm_bindings::kvm_run;

/// Where a kick goes: the vCPU's `kvm_run` mapping and its thread.
#[derive(Debug)]
struct Target {
    /// `None` once the vCPU is gone.
    run: Option<NonNull<kvm_run>>,
    thread: libc::pthread_t,
}

// SAFETY: the pointer is only dereferenced under the `Mutex` in `KvmKicker`, and only
// while the vCPU that owns the mapping is alive (it clears the pointer before unmapping).
unsafe impl Send for Target {}

/// Forces one KVM vCPU out of the guest. Cheap to clone through its `Arc`.
#[derive(Debug)]
pub struct KvmKicker {
    target: Mutex<Target>,
    pending: AtomicBool,
}

/// The kick signal.
fn kick_signal() -> libc::c_int {
    libc::SIGRTMIN()
}

extern "C" fn on_kick_signal(_: libc::c_int) {
    // Nothing to do: the signal's only job is to make KVM_RUN return -EINTR.
}

/// Installs the no-op `SIGRTMIN` handler once per process.
fn install_handler() -> Result<()> {
    static INSTALLED: OnceLock<std::result::Result<(), i32>> = OnceLock::new();
    let result = INSTALLED.get_or_init(|| {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the handler
        // is async-signal-safe (it does nothing), and sa_flags has no SA_RESTART so
        // KVM_RUN returns -EINTR.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_kick_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = 0;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(kick_signal(), &action, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
            }
        }
        Ok(())
    });
    result.map_err(|errno| HvError::Os {
        op: "installing the SIGRTMIN kick handler",
        source: std::io::Error::from_raw_os_error(errno),
    })
}

/// Atomic view of `immediate_exit`.
///
/// # Safety
/// `run` must point to a live `kvm_run` mapping.
unsafe fn immediate_exit(run: NonNull<kvm_run>) -> &'static AtomicU8 {
    // SAFETY: the caller guarantees the mapping is live; the byte is aligned for AtomicU8
    // (alignment 1) and only ever accessed atomically by hv. The 'static lifetime never
    // escapes the caller's short use.
    unsafe { AtomicU8::from_ptr(&raw mut (*run.as_ptr()).immediate_exit) }
}

impl KvmKicker {
    /// A kicker for the vCPU whose `kvm_run` is at `run`, running on the calling thread.
    pub(crate) fn new(run: NonNull<kvm_run>) -> Result<Self> {
        install_handler()?;
        Ok(Self {
            target: Mutex::new(Target {
                run: Some(run),
                // SAFETY: pthread_self has no preconditions.
                thread: unsafe { libc::pthread_self() },
            }),
            pending: AtomicBool::new(false),
        })
    }

    /// vCPU side, after `KVM_RUN` returned `-EINTR`: re-arms `KVM_RUN` and reports
    /// whether a kick was pending.
    pub(crate) fn acknowledge(&self) -> bool {
        let target = self.lock();
        if let Some(run) = target.run {
            // SAFETY: `run` is live while it is set, and it is read under the lock.
            unsafe { immediate_exit(run) }.store(0, Ordering::SeqCst);
        }
        drop(target);
        self.pending.swap(false, Ordering::SeqCst)
    }

    /// vCPU side, before the `kvm_run` mapping goes away: later kicks do nothing.
    pub(crate) fn disarm(&self) {
        self.lock().run = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Target> {
        // A poisoned lock only means another kick panicked; the target is still valid.
        self.target.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Kicker for KvmKicker {
    fn kick(&self) {
        let target = self.lock();
        let Some(run) = target.run else {
            return;
        };
        self.pending.store(true, Ordering::SeqCst);
        // SAFETY: `run` is live while it is set, and we hold the lock that disarm takes.
        unsafe { immediate_exit(run) }.store(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        // SAFETY: the thread is alive: the vCPU is dropped on its own thread and disarms
        // this kicker first, under the lock we hold.
        let rc = unsafe { libc::pthread_kill(target.thread, kick_signal()) };
        if rc != 0 {
            log::warn!(
                "kick: pthread_kill failed: {}",
                std::io::Error::from_raw_os_error(rc)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn fake_run() -> Box<kvm_run> {
        Box::new(kvm_run::default())
    }

    #[test]
    fn kick_sets_immediate_exit_and_is_acknowledged_once() {
        let mut run = fake_run();
        let ptr = NonNull::from(&mut *run);
        let kicker = KvmKicker::new(ptr).expect("handler installs");
        kicker.kick(); // signals this thread: the no-op handler must absorb it
        // SAFETY: `run` is alive for the whole test.
        let flag = unsafe { immediate_exit(ptr) };
        assert_eq!(flag.load(Ordering::SeqCst), 1);
        assert!(kicker.acknowledge());
        assert!(!kicker.acknowledge(), "a kick is reported once");
        kicker.disarm();
        assert_eq!(run.immediate_exit, 0);
    }

    #[test]
    fn kick_after_disarm_touches_nothing() {
        let mut run = fake_run();
        let kicker = Arc::new(KvmKicker::new(NonNull::from(&mut *run)).expect("handler"));
        kicker.disarm();
        drop(run);
        // Must neither write to the freed kvm_run nor mark a kick pending.
        kicker.kick();
        assert!(!kicker.acknowledge());
    }

    #[test]
    fn kicks_from_other_threads_are_not_lost() {
        let mut run = fake_run();
        let kicker = Arc::new(KvmKicker::new(NonNull::from(&mut *run)).expect("handler"));
        let k = Arc::clone(&kicker);
        std::thread::spawn(move || k.kick())
            .join()
            .expect("kicker thread");
        assert!(kicker.acknowledge());
        kicker.disarm();
    }
}
