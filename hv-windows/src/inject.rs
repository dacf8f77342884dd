//! External-interrupt injection for the userspace 8259 PIC (notes/backends.md §1.6).
//!
//! The vCPU keeps the interrupt-relevant state from the last exit context. An interrupt
//! goes into `WHvRegisterPendingInterruption` only when the guest takes it on the next
//! entry; otherwise the VMM asks for an interrupt-window exit through
//! `WHvX64RegisterDeliverabilityNotifications`. Writing PendingInterruption while an
//! earlier event is still pending would overwrite that event, so "nothing pending" is
//! part of the rule.

use hv_core::arch::x86::regs::RFLAGS_IF;
use windows_sys::Win32::System::Hypervisor::WHvX64PendingInterrupt;

use crate::decode::VpState;
use crate::defs::DELIVERABILITY_INTERRUPT_NOTIFICATION;

/// What decides whether an interrupt can be injected now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventState {
    /// RFLAGS at the last exit (or as last set by the VMM).
    pub rflags: u64,
    /// An event is already queued (ExecutionState.InterruptionPending, or our own
    /// injection since the last exit).
    pub interruption_pending: bool,
    /// `sti`/`mov ss` shadow (ExecutionState.InterruptShadow).
    pub interrupt_shadow: bool,
}

impl Default for EventState {
    /// A fresh VP: RFLAGS = 0x2 (IF clear), nothing pending.
    fn default() -> Self {
        Self {
            rflags: 0x2,
            interruption_pending: false,
            interrupt_shadow: false,
        }
    }
}

impl EventState {
    /// The state an exit reports.
    pub(crate) fn at_exit(state: &VpState) -> Self {
        Self {
            rflags: state.rflags,
            interruption_pending: state.interruption_pending,
            interrupt_shadow: state.interrupt_shadow,
        }
    }
}

/// The injection rule: IF set, no interrupt shadow, nothing already pending.
pub(crate) fn ready_for_interrupt(s: &EventState) -> bool {
    s.rflags & RFLAGS_IF != 0 && !s.interrupt_shadow && !s.interruption_pending
}

/// `WHV_X64_PENDING_INTERRUPTION_REGISTER.AsUINT64` for external interrupt `vector`:
/// InterruptionPending, InterruptionType 0 (`WHvX64PendingInterrupt`), no error code,
/// InterruptionVector.
pub(crate) fn pending_interruption(vector: u8) -> u64 {
    use crate::defs::pending_interruption::{PENDING, TYPE_SHIFT, VECTOR_SHIFT};
    let kind = WHvX64PendingInterrupt as u64;
    PENDING | kind << TYPE_SHIFT | u64::from(vector) << VECTOR_SHIFT
}

/// `WHV_X64_DELIVERABILITY_NOTIFICATIONS_REGISTER.AsUINT64`: InterruptNotification asks
/// for an X64InterruptWindow exit.
pub(crate) fn deliverability_notifications(window: bool) -> u64 {
    if window {
        DELIVERABILITY_INTERRUPT_NOTIFICATION
    } else {
        0
    }
}

/// The interrupt-window request: what the VMM asked for, and what
/// `WHvX64RegisterDeliverabilityNotifications` is known to hold.
///
/// Hyper-V drops the request by itself: QEMU treats it as one-shot (it forgets its
/// `window_registered` at each window exit) and VirtualBox rewrites it before every
/// entry while it wants a window ("Hyper-V seems to be forgetful",
/// NEMAllNativeTemplate-win.cpp.h). So after *any* exit a set request counts as
/// unknown, and while the VMM wants a window it is written again before the next entry
/// (one register write per entry, only while an interrupt waits for the guest). A clear
/// register stays clear: WHP never sets it on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WindowRequest {
    wanted: bool,
    /// `Some(v)`: the register holds `v`; `None`: unknown.
    armed: Option<bool>,
}

impl Default for WindowRequest {
    /// A fresh (or reset) VP: no request, register clear.
    fn default() -> Self {
        Self {
            wanted: false,
            armed: Some(false),
        }
    }
}

impl WindowRequest {
    /// `request_interrupt_window(on)`: the value to write now, if the register may not
    /// hold it yet. Call [`Self::written`] once the write succeeded.
    pub(crate) fn request(&mut self, on: bool) -> Option<u64> {
        self.wanted = on;
        (self.armed != Some(on)).then(|| deliverability_notifications(on))
    }

    /// The value to write before entering the guest, if a wanted request may have been
    /// dropped.
    pub(crate) fn before_entry(&self) -> Option<u64> {
        (self.wanted && self.armed != Some(true)).then(|| deliverability_notifications(true))
    }

    /// The register now holds `on`.
    pub(crate) fn written(&mut self, on: bool) {
        self.armed = Some(on);
    }

    /// After an exit, a set request may have been consumed.
    pub(crate) fn after_exit(&mut self) {
        if self.armed == Some(true) {
            self.armed = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injection_decision_table() {
        // (IF, shadow, pending) -> ready
        let table = [
            (false, false, false, false),
            (false, false, true, false),
            (false, true, false, false),
            (false, true, true, false),
            (true, false, false, true),
            (true, false, true, false),
            (true, true, false, false),
            (true, true, true, false),
        ];
        for (iflag, shadow, pending, ready) in table {
            let s = EventState {
                rflags: 0x2 | if iflag { RFLAGS_IF } else { 0 },
                interruption_pending: pending,
                interrupt_shadow: shadow,
            };
            assert_eq!(ready_for_interrupt(&s), ready, "{s:?}");
        }
        assert!(!ready_for_interrupt(&EventState::default()));
    }

    #[test]
    fn register_encodings() {
        assert_eq!(pending_interruption(0x08), 0x0008_0001);
        assert_eq!(pending_interruption(0xff), 0x00ff_0001);
        assert_eq!(pending_interruption(0), 1);
        assert_eq!(deliverability_notifications(true), 0b10);
        assert_eq!(deliverability_notifications(false), 0);
    }

    #[test]
    fn a_window_request_is_written_once_and_rearmed_after_every_exit() {
        let mut w = WindowRequest::default();
        assert_eq!(w.request(false), None, "a fresh register is clear");
        assert_eq!(w.before_entry(), None);
        assert_eq!(w.request(true), Some(2));
        w.written(true);
        assert_eq!(w.request(true), None, "already armed");
        assert_eq!(w.before_entry(), None, "armed since the last exit");
        w.after_exit();
        assert_eq!(w.before_entry(), Some(2), "Hyper-V may have dropped it");
        w.written(true);
        w.after_exit();
        assert_eq!(w.request(false), Some(0), "unknown, so cleared explicitly");
        w.written(false);
        w.after_exit();
        assert_eq!(w.before_entry(), None, "a clear register stays clear");
        assert_eq!(w.request(false), None);
    }

    #[test]
    fn a_failed_write_is_retried_before_entry() {
        let mut w = WindowRequest::default();
        assert_eq!(w.request(true), Some(2));
        // The write failed: `written` was not called.
        assert_eq!(w.before_entry(), Some(2));
    }
}
