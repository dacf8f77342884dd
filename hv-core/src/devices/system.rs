//! Requests from devices to the machine: reset, power off, A20.
//!
//! Several devices can reset the PC (i8042 command 0xFE, port 0x92 bit 0, port 0xCF9) or
//! end the run (the debug-exit port). They post a request here; the vCPU loop takes it
//! after the current exit, so a device never reaches into the machine.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// What a device asks the machine to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemRequest {
    /// Reset the machine (guest-initiated). The text says who asked.
    Reset(&'static str),
    /// End the run with this process exit status.
    Exit(i32),
}

/// Shared between devices and the machine.
#[derive(Debug)]
pub struct SystemControl {
    request: Mutex<Option<SystemRequest>>,
    pending: AtomicBool,
    a20: AtomicBool,
}

impl Default for SystemControl {
    fn default() -> Self {
        Self {
            request: Mutex::new(None),
            pending: AtomicBool::new(false),
            a20: AtomicBool::new(true),
        }
    }
}

impl SystemControl {
    /// No request, A20 enabled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Posts a request. An `Exit` is never replaced by a later `Reset`.
    pub fn request(&self, req: SystemRequest) {
        let mut slot = self.request.lock().unwrap_or_else(|e| e.into_inner());
        if !matches!(*slot, Some(SystemRequest::Exit(_))) {
            *slot = Some(req);
        }
        self.pending.store(true, Ordering::Release);
    }

    /// Takes the pending request, if any. Cheap when there is none.
    pub fn take(&self) -> Option<SystemRequest> {
        if !self.pending.swap(false, Ordering::Acquire) {
            return None;
        }
        self.request
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Sets the A20 gate as the guest programmed it. hv keeps A20 enabled in the memory
    /// map (every guest it targets wants it on); the value is reported back to the guest.
    pub fn set_a20(&self, on: bool) {
        self.a20.store(on, Ordering::Relaxed);
    }

    /// The A20 gate as last programmed.
    pub fn a20(&self) -> bool {
        self.a20.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_wins_over_reset_and_take_clears() {
        let s = SystemControl::new();
        assert_eq!(s.take(), None);
        s.request(SystemRequest::Exit(3));
        s.request(SystemRequest::Reset("i8042"));
        assert_eq!(s.take(), Some(SystemRequest::Exit(3)));
        assert_eq!(s.take(), None);
        s.request(SystemRequest::Reset("port 0x92"));
        assert_eq!(s.take(), Some(SystemRequest::Reset("port 0x92")));
        assert!(s.a20());
        s.set_a20(false);
        assert!(!s.a20());
    }
}
