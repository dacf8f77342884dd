//! The guest's virtual timer (CNTV_*) when no in-kernel GIC delivers it.
//!
//! Hypervisor.framework exits with `VTIMER_ACTIVATED` when the vtimer fires and masks it
//! itself, so it does not exit again while the guest handles the interrupt. The VMM must
//! then drive the IRQ line and unmask once the guest has dealt with the timer (Apple
//! `hv_vcpu.h`, `hv_vcpu_set_vtimer_mask`; qemu `hvf_sync_vtimer`). [`Vtimer`] is that
//! protocol without any API calls, so it can be tested anywhere.

use std::time::Duration;

/// CNTV_CTL_EL0.ENABLE.
pub const CTL_ENABLE: u64 = 1 << 0;
/// CNTV_CTL_EL0.IMASK.
pub const CTL_IMASK: u64 = 1 << 1;
/// CNTV_CTL_EL0.ISTATUS.
pub const CTL_ISTATUS: u64 = 1 << 2;

/// A WFI sleep shorter than this is not worth a host sleep: waking takes about as long.
/// QEMU measured the sweet spot on M1 at ~2 ms (`hvf_wfi`).
pub const MIN_WFI_SLEEP: Duration = Duration::from_millis(2);

/// True when CNTV_CTL says the timer interrupt is raised: enabled, not masked, fired.
pub fn ctl_asserts_irq(ctl: u64) -> bool {
    ctl & (CTL_ENABLE | CTL_IMASK | CTL_ISTATUS) == CTL_ENABLE | CTL_ISTATUS
}

/// What the backend must do after [`Vtimer::sync`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VtimerSync {
    /// Nothing changed.
    Unchanged,
    /// The guest handled the timer: the IRQ is now low; unmask the vtimer in the hypervisor.
    Unmask,
}

/// Vtimer interrupt state of one vCPU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vtimer {
    irq: bool,
    masked: bool,
}

impl Vtimer {
    /// A timer that has not fired (the hypervisor's mask is clear at vCPU creation).
    pub fn new() -> Self {
        Self::default()
    }

    /// The hypervisor reported `VTIMER_ACTIVATED` (and masked the timer): raise the IRQ.
    pub fn on_activated(&mut self) {
        self.irq = true;
        self.masked = true;
    }

    /// Whether the backend must read CNTV_CTL_EL0 and call [`sync`](Self::sync) after an
    /// exit. Only a masked timer can have been handled by the guest.
    pub fn needs_sync(&self) -> bool {
        self.masked
    }

    /// After an exit, with the guest's current CNTV_CTL_EL0: lower the IRQ and ask for an
    /// unmask once the guest reprogrammed, masked or disabled the timer.
    pub fn sync(&mut self, ctl: u64) -> VtimerSync {
        if !self.masked || ctl_asserts_irq(ctl) {
            return VtimerSync::Unchanged;
        }
        self.irq = false;
        self.masked = false;
        VtimerSync::Unmask
    }

    /// The timer's contribution to the vCPU's IRQ line.
    pub fn irq_asserted(&self) -> bool {
        self.irq
    }

    /// True while the hypervisor holds the vtimer masked.
    pub fn is_masked(&self) -> bool {
        self.masked
    }
}

/// The guest's virtual counter as Hypervisor.framework defines it.
///
/// `hv_vcpu_set_vtimer_offset` (hv_vcpu.h): "CNTVCT_EL0 = mach_absolute_time() -
/// vtimer_offset". `mach_absolute_time()` stops while the Mac sleeps; the raw
/// CNTVCT_EL0 register a host thread reads keeps counting, so after a host sleep the two
/// differ by the time slept. The offset and every "now" the VMM computes must therefore
/// come from `mach_absolute_time()`, as in QEMU (`hvf_arch_init` sets the offset from
/// it, `hvf_vtimer_val_raw` subtracts it again). Mixing the clocks makes the guest
/// counter start near 2^64 and every WFI deadline look ~2^64 ticks away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestCounter {
    offset: u64,
}

impl GuestCounter {
    /// A counter that reads 0 at host time `host_now` (a freshly reset board).
    pub fn starting_at(host_now: u64) -> Self {
        Self { offset: host_now }
    }

    /// The value for `hv_vcpu_set_vtimer_offset`.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The guest's CNTVCT_EL0 at host time `host_now` (same clock as the offset).
    pub fn at(&self, host_now: u64) -> u64 {
        host_now.wrapping_sub(self.offset)
    }
}

/// The guest's timer registers and counter when it executed WFI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerSnapshot {
    /// CNTV_CTL_EL0.
    pub ctl: u64,
    /// CNTV_CVAL_EL0, the compare value.
    pub cval: u64,
    /// The guest's CNTVCT_EL0 now.
    pub cntvct: u64,
    /// CNTFRQ_EL0, counter ticks per second.
    pub cntfrq: u64,
}

/// How a vCPU that executed WFI should wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WfiWait {
    /// The timer is off or masked: only a device interrupt or a kick can wake the guest.
    Indefinitely,
    /// The timer fires now or within [`MIN_WFI_SLEEP`]: re-enter the guest at once.
    NoSleep,
    /// Sleep this long (waking early on a kick), then re-enter.
    Sleep(Duration),
}

/// Computes the WFI wait from the guest's timer state.
pub fn wfi_wait(t: &TimerSnapshot) -> WfiWait {
    if t.ctl & (CTL_ENABLE | CTL_IMASK) != CTL_ENABLE {
        return WfiWait::Indefinitely;
    }
    if t.cval <= t.cntvct || t.cntfrq == 0 {
        // Already due (or a nonsensical frequency): never sleep on a guess.
        return WfiWait::NoSleep;
    }
    let ticks = u128::from(t.cval - t.cntvct);
    let nanos = ticks * 1_000_000_000 / u128::from(t.cntfrq);
    let sleep = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
    if sleep < MIN_WFI_SLEEP {
        WfiWait::NoSleep
    } else {
        WfiWait::Sleep(sleep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assertion_needs_enable_unmasked_and_status() {
        for ctl in 0..8u64 {
            assert_eq!(ctl_asserts_irq(ctl), ctl == 0b101, "{ctl:#b}");
            // Bits above ISTATUS are RES0 and ignored.
            assert_eq!(ctl_asserts_irq(ctl | 0xf0), ctl == 0b101);
        }
    }

    #[test]
    fn mask_protocol() {
        let mut t = Vtimer::new();
        assert!(!t.irq_asserted() && !t.needs_sync());
        assert_eq!(
            t.sync(0),
            VtimerSync::Unchanged,
            "not masked: nothing to do"
        );

        t.on_activated();
        assert!(t.irq_asserted() && t.is_masked() && t.needs_sync());
        // The guest has not handled it yet.
        assert_eq!(t.sync(0b101), VtimerSync::Unchanged);
        assert!(t.irq_asserted());

        // The guest set a new compare value: ISTATUS drops.
        assert_eq!(t.sync(0b001), VtimerSync::Unmask);
        assert!(!t.irq_asserted() && !t.is_masked() && !t.needs_sync());
        assert_eq!(t.sync(0b001), VtimerSync::Unchanged, "unmask is sent once");
    }

    #[test]
    fn masking_or_disabling_in_the_guest_also_unmasks() {
        for ctl in [0b111, 0b100, 0b000, 0b011] {
            let mut t = Vtimer::new();
            t.on_activated();
            assert_eq!(t.sync(ctl), VtimerSync::Unmask, "{ctl:#b}");
        }
    }

    fn snap(ctl: u64, cval: u64, cntvct: u64) -> TimerSnapshot {
        TimerSnapshot {
            ctl,
            cval,
            cntvct,
            cntfrq: 24_000_000,
        }
    }

    /// A model of the host-sleep failure: HVF computes the guest counter from
    /// `mach_absolute_time()`, which lags the raw counter by the time the Mac slept.
    #[test]
    fn offset_and_now_must_share_hvf_clock() {
        const FREQ: u64 = 24_000_000;
        let slept = 3600 * FREQ; // one hour asleep since boot
        let mach_at_creation = 10_000 * FREQ;
        let raw_at_creation = mach_at_creation + slept;
        // What HVF's guest sees 5 s later, and the deadline it programs 10 ms ahead.
        let guest_counter = |offset: u64| (mach_at_creation + 5 * FREQ).wrapping_sub(offset);
        let wait = |counter: GuestCounter, host_now: u64| {
            let cval = guest_counter(counter.offset()).wrapping_add(FREQ / 100);
            wfi_wait(&TimerSnapshot {
                ctl: CTL_ENABLE,
                cval,
                cntvct: counter.at(host_now),
                cntfrq: FREQ,
            })
        };

        // Right: offset and "now" from mach_absolute_time.
        let good = GuestCounter::starting_at(mach_at_creation);
        assert_eq!(guest_counter(good.offset()), 5 * FREQ, "starts near zero");
        assert_eq!(
            wait(good, mach_at_creation + 5 * FREQ),
            WfiWait::Sleep(Duration::from_millis(10))
        );

        // Wrong (the old code): both from the raw register. The guest counter wraps and
        // the 10 ms deadline looks ~2^64 ticks away.
        let bad = GuestCounter::starting_at(raw_at_creation);
        assert!(
            guest_counter(bad.offset()) > u64::MAX / 2,
            "starts near 2^64"
        );
        match wait(bad, raw_at_creation + 5 * FREQ) {
            WfiWait::Sleep(d) => assert!(d > Duration::from_secs(86_400 * 365), "{d:?}"),
            other => panic!("expected an endless sleep, got {other:?}"),
        }
    }

    #[test]
    fn wfi_wait_from_timer_state() {
        assert_eq!(wfi_wait(&snap(0, 100, 0)), WfiWait::Indefinitely);
        assert_eq!(wfi_wait(&snap(0b011, 100, 0)), WfiWait::Indefinitely);
        assert_eq!(wfi_wait(&snap(0b001, 100, 200)), WfiWait::NoSleep);
        assert_eq!(wfi_wait(&snap(0b001, 200, 200)), WfiWait::NoSleep);
        // 1 ms at 24 MHz: under the threshold.
        assert_eq!(wfi_wait(&snap(0b001, 24_000, 0)), WfiWait::NoSleep);
        // 10 ms.
        assert_eq!(
            wfi_wait(&snap(0b001, 1_240_000, 1_000_000)),
            WfiWait::Sleep(Duration::from_millis(10))
        );
        // A far deadline does not overflow.
        assert!(matches!(
            wfi_wait(&snap(0b001, u64::MAX, 0)),
            WfiWait::Sleep(_)
        ));
        let zero_freq = TimerSnapshot {
            cntfrq: 0,
            ..snap(0b001, 100, 0)
        };
        assert_eq!(wfi_wait(&zero_freq), WfiWait::NoSleep);
    }
}
