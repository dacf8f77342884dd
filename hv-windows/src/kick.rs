//! Kicking a running vCPU from another thread, safely against vCPU teardown.
//!
//! `WHvCancelRunVirtualProcessor` may be called from any thread (MSDocs). WHP latches
//! it: the call sets a cancel-pending flag on the VP that the next (or the current)
//! `WHvRunVirtualProcessor` consumes by returning `WHvRunVpExitReasonCanceled`, so a
//! cancel issued while the VP is outside the run call cancels the next run
//! (hyperlight `docs/cancellation.md`, "Windows Platform Differences"; QEMU's whpx
//! relies on the same latch when it cancels before entering). Two things follow:
//!
//! * **Exactly one `Kicked` per kick.** A kick sets `pending` and then cancels. The
//!   vCPU reports `Kicked` only when it consumes `pending`: before entering (the kick
//!   landed between two runs) or at a `Canceled` exit. A kick consumed before entry
//!   leaves its latched cancel behind; the next run returns `Canceled` at once with
//!   `pending` clear, and the vCPU re-enters instead of reporting that kick twice.
//!   Several kicks before one consumption coalesce into one `Kicked`, as the trait
//!   documents. A kick is never lost: `pending` is set before the cancel, and the vCPU
//!   checks it before every entry and at every `Canceled` exit.
//! * **Teardown.** A kick after the VP (or partition) is deleted must not touch it. The
//!   kick holds a read lock on the target while it cancels; the vCPU's drop takes the
//!   write lock and clears the target *before* deleting the VP.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock};

use windows_sys::Win32::System::Hypervisor::WHV_PARTITION_HANDLE;

use crate::api::WhpApi;
use crate::hresult::{describe, succeeded};

/// The VP a kick cancels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CancelTarget {
    pub api: &'static WhpApi,
    pub partition: WHV_PARTITION_HANDLE,
    pub vp: u32,
}

/// State shared by a vCPU and its kickers.
#[derive(Debug)]
pub(crate) struct KickGate {
    pending: AtomicBool,
    target: RwLock<Option<CancelTarget>>,
}

impl KickGate {
    pub(crate) fn new(target: CancelTarget) -> Self {
        Self {
            pending: AtomicBool::new(false),
            target: RwLock::new(Some(target)),
        }
    }

    /// Marks a kick pending, then forces the VP out (or makes its next run return at
    /// once) if it still exists.
    pub(crate) fn kick(&self) {
        self.pending.store(true, Ordering::SeqCst);
        let target = self.target.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = *target {
            // SAFETY: the read lock keeps the vCPU's drop (which clears `target` under the
            // write lock before deleting the VP) from running, so the partition and VP
            // are alive for the whole call. Flags must be 0.
            let hr = unsafe { (t.api.cancel_run_virtual_processor)(t.partition, t.vp, 0) };
            if !succeeded(hr) {
                log::debug!("WHvCancelRunVirtualProcessor: {}", describe(hr));
            }
        }
    }

    /// Consumes a pending kick: true if one was pending (report `Kicked`), false if a
    /// `Canceled` exit is the latched echo of a kick already reported.
    pub(crate) fn take_pending(&self) -> bool {
        self.pending.swap(false, Ordering::SeqCst)
    }

    /// Disconnects kickers; after this returns no cancel is in flight or can start.
    pub(crate) fn close(&self) {
        *self.target.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
}
