//! External-interrupt injection for the userspace 8259 PIC (notes/backends.md §1.6).
//!
//! The vCPU keeps the interrupt-relevant state from the last exit context. An interrupt
//! goes into `WHvRegisterPendingInterruption` only when the guest takes it on the next
//! entry; otherwise the VMM asks for an interrupt-window exit through
//! `WHvX64RegisterDeliverabilityNotifications`. Writing PendingInterruption while an
//! earlier event is still pending would overwrite that event, so "nothing pending" is
//! part of the rule.

use hv_core::arch::x86::regs::RFLAGS_IF;

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

/// The injection rule: IF set, no interrupt shadow, nothing already pending.
pub(crate) fn ready_for_interrupt(s: &EventState) -> bool {
    s.rflags & RFLAGS_IF != 0 && !s.interrupt_shadow && !s.interruption_pending
}

/// `WHV_X64_PENDING_INTERRUPTION_REGISTER.AsUINT64` for external interrupt `vector`:
/// bit 0 InterruptionPending, bits 1-3 InterruptionType (0 = WHvX64PendingInterrupt),
/// bit 4 DeliverErrorCode (0), bits 16-31 InterruptionVector.
pub(crate) fn pending_interruption(vector: u8) -> u64 {
    1 | u64::from(vector) << 16
}

/// `WHV_X64_DELIVERABILITY_NOTIFICATIONS_REGISTER.AsUINT64`: bit 1
/// InterruptNotification asks for an X64InterruptWindow exit.
pub(crate) fn deliverability_notifications(window: bool) -> u64 {
    u64::from(window) << 1
}

/// The value to write for `request_interrupt_window(on)`, or `None` when the register
/// already holds it. `known` is what we last wrote, or `None` when unknown: after an
/// interrupt-window exit, since whether WHP clears the request itself is not documented
/// (QEMU assumes one-shot), an explicit request is always written through.
pub(crate) fn window_register_write(known: Option<bool>, on: bool) -> Option<u64> {
    (known != Some(on)).then(|| deliverability_notifications(on))
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
    fn window_writes_only_on_change_or_unknown() {
        assert_eq!(window_register_write(Some(false), false), None);
        assert_eq!(window_register_write(Some(true), true), None);
        assert_eq!(window_register_write(Some(false), true), Some(2));
        assert_eq!(window_register_write(Some(true), false), Some(0));
        assert_eq!(window_register_write(None, true), Some(2));
        assert_eq!(window_register_write(None, false), Some(0));
    }
}
