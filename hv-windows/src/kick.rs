//! Kicking a running vCPU from another thread, safely against vCPU teardown.
//!
//! `WHvCancelRunVirtualProcessor` may be called from any thread (MSDocs). Two hazards:
//! * **Teardown.** A kick after the VP (or partition) is deleted must not touch it. The
//!   kick holds a read lock on the target while it cancels; the vCPU's drop takes the
//!   write lock and clears the target *before* deleting the VP.
//! * **Lost kicks.** Whether a cancel issued while the VP is outside
//!   `WHvRunVirtualProcessor` is latched into the next run is undocumented
//!   (notes/backends.md §1.7). So a kick first sets a sticky flag, which the vCPU checks
//!   before every entry, then cancels.

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

    /// Marks a kick pending, then forces the VP out if it still exists.
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

    /// Consumes a pending kick.
    pub(crate) fn take_pending(&self) -> bool {
        self.pending.swap(false, Ordering::SeqCst)
    }

    /// Disconnects kickers; after this returns no cancel is in flight or can start.
    pub(crate) fn close(&self) {
        *self.target.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
}
