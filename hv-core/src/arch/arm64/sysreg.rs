//! System registers a hypervisor traps and the VMM must emulate.
//!
//! Hypervisor.framework virtualises the EL1 system registers itself and traps (EC 0x18)
//! only the ones it leaves to the VMM. QEMU's `hvf_sysreg_read`/`hvf_sysreg_write`
//! (target/arm/hvf/hvf.c) show which ones an ordinary arm64 kernel reaches: the physical
//! counter, the OS lock and OS double-lock registers (Linux's debug-monitor code clears
//! the OS lock at boot), MDSCR_EL1 and the breakpoint/watchpoint registers (trapped while
//! debug exceptions are routed to the host), and reserved ID registers. Everything else
//! is UNDEFINED here, as on hardware that lacks the register: the caller injects an
//! Undefined Instruction exception (QEMU does the same, `hvf_raise_exception(EXCP_UDEF)`),
//! instead of silently reading zero, which would hide a missing feature from the guest.

use std::fmt;

use super::esr::SysRegAccess;

/// What a trapped access did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysRegOutcome {
    /// A read: write this value to Xt (unless Xt is XZR) and skip the instruction.
    Read(u64),
    /// A write was absorbed: skip the instruction.
    Written,
    /// The access is UNDEFINED: raise an Undefined Instruction exception at the
    /// instruction (do not skip it).
    Undefined,
}

/// `(op0, op1, CRn, CRm, op2)` of an access, for matching.
fn key(a: &SysRegAccess) -> (u8, u8, u8, u8, u8) {
    (a.op0, a.op1, a.crn, a.crm, a.op2)
}

/// CNTPCT_EL0.
pub const CNTPCT_EL0: (u8, u8, u8, u8, u8) = (3, 3, 14, 0, 1);
/// OSLAR_EL1 (write-only).
pub const OSLAR_EL1: (u8, u8, u8, u8, u8) = (2, 0, 1, 0, 4);
/// OSLSR_EL1 (read-only).
pub const OSLSR_EL1: (u8, u8, u8, u8, u8) = (2, 0, 1, 1, 4);
/// OSDLR_EL1.
pub const OSDLR_EL1: (u8, u8, u8, u8, u8) = (2, 0, 1, 3, 4);
/// MDSCR_EL1.
pub const MDSCR_EL1: (u8, u8, u8, u8, u8) = (2, 0, 0, 2, 2);

/// OSLSR_EL1.OSLM = 0b10: the OS lock is implemented (OSLM[1] is bit 3).
const OSLSR_OSLM_IMPLEMENTED: u64 = 1 << 3;
/// OSLSR_EL1.OSLK, bit 1.
const OSLSR_OSLK: u64 = 1 << 1;

/// Breakpoint and watchpoint register banks: value/control pairs per index.
#[derive(Clone, PartialEq, Eq)]
struct DebugBank {
    value: [u64; 16],
    control: [u64; 16],
    implemented: usize,
}

impl DebugBank {
    fn new(implemented: usize) -> Self {
        Self {
            value: [0; 16],
            control: [0; 16],
            implemented: implemented.min(16),
        }
    }
}

impl fmt::Debug for DebugBank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DebugBank")
            .field("implemented", &self.implemented)
            .finish_non_exhaustive()
    }
}

/// The trapped registers' state for one vCPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrappedSysRegs {
    os_lock: bool,
    os_double_lock: bool,
    mdscr: u64,
    breakpoints: DebugBank,
    watchpoints: DebugBank,
}

impl TrappedSysRegs {
    /// Reset state for a CPU with `breakpoints` and `watchpoints` pairs implemented
    /// (ID_AA64DFR0_EL1.BRPs + 1 and WRPs + 1; see [`debug_pairs`]). The OS lock is
    /// locked at reset (Arm ARM D2.5).
    pub fn new(breakpoints: usize, watchpoints: usize) -> Self {
        Self {
            os_lock: true,
            os_double_lock: false,
            mdscr: 0,
            breakpoints: DebugBank::new(breakpoints),
            watchpoints: DebugBank::new(watchpoints),
        }
    }

    /// Performs `access`. `value` is Xt for a write (0 for XZR); `counter` is the
    /// guest's counter now (CNTVCT_EL0 as the guest sees it), which is what the physical
    /// counter reads as in a VM whose virtual offset the guest cannot see.
    pub fn access(&mut self, access: &SysRegAccess, value: u64, counter: u64) -> SysRegOutcome {
        use SysRegOutcome::{Read, Undefined, Written};
        let k = key(access);
        let read = access.read;
        match k {
            CNTPCT_EL0 if read => Read(counter),
            OSLAR_EL1 if !read => {
                self.os_lock = value & 1 != 0;
                Written
            }
            OSLSR_EL1 if read => {
                Read(OSLSR_OSLM_IMPLEMENTED | if self.os_lock { OSLSR_OSLK } else { 0 })
            }
            OSDLR_EL1 if read => Read(u64::from(self.os_double_lock)),
            OSDLR_EL1 => {
                self.os_double_lock = value & 1 != 0;
                Written
            }
            MDSCR_EL1 if read => Read(self.mdscr),
            MDSCR_EL1 => {
                self.mdscr = value;
                Written
            }
            (2, 0, 0, n, op2 @ 4..=7) => {
                let bank = if op2 <= 5 {
                    &mut self.breakpoints
                } else {
                    &mut self.watchpoints
                };
                let n = usize::from(n);
                if n >= bank.implemented {
                    return Undefined;
                }
                let slot = if op2 % 2 == 0 {
                    &mut bank.value[n]
                } else {
                    &mut bank.control[n]
                };
                if read {
                    Read(*slot)
                } else {
                    *slot = value;
                    Written
                }
            }
            // Reserved ID registers (op0 3, op1 0, CRn 0, CRm 1-7) are RAZ (Arm ARM
            // D19.1.3); QEMU answers the same (`is_id_sysreg`).
            (3, 0, 0, 1..=7, _) if read => Read(0),
            _ => Undefined,
        }
    }
}

/// Breakpoint and watchpoint pairs from ID_AA64DFR0_EL1 (BRPs [15:12], WRPs [23:20],
/// each "number minus one").
pub fn debug_pairs(id_aa64dfr0: u64) -> (usize, usize) {
    let brps = ((id_aa64dfr0 >> 12) & 0xf) as usize + 1;
    let wrps = ((id_aa64dfr0 >> 20) & 0xf) as usize + 1;
    (brps, wrps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(k: (u8, u8, u8, u8, u8), read: bool) -> SysRegAccess {
        SysRegAccess {
            read,
            rt: 3,
            op0: k.0,
            op1: k.1,
            crn: k.2,
            crm: k.3,
            op2: k.4,
        }
    }

    #[test]
    fn counter_reads_the_guest_counter_and_is_read_only() {
        let mut r = TrappedSysRegs::new(6, 4);
        assert_eq!(
            r.access(&access(CNTPCT_EL0, true), 0, 1234),
            SysRegOutcome::Read(1234)
        );
        assert_eq!(
            r.access(&access(CNTPCT_EL0, false), 5, 1234),
            SysRegOutcome::Undefined
        );
    }

    #[test]
    fn os_lock_round_trip() {
        let mut r = TrappedSysRegs::new(6, 4);
        // Locked at reset.
        assert_eq!(
            r.access(&access(OSLSR_EL1, true), 0, 0),
            SysRegOutcome::Read(0b1010)
        );
        assert_eq!(
            r.access(&access(OSLAR_EL1, false), 0, 0),
            SysRegOutcome::Written
        );
        assert_eq!(
            r.access(&access(OSLSR_EL1, true), 0, 0),
            SysRegOutcome::Read(0b1000)
        );
        assert_eq!(
            r.access(&access(OSLAR_EL1, false), 1, 0),
            SysRegOutcome::Written
        );
        assert_eq!(
            r.access(&access(OSLSR_EL1, true), 0, 0),
            SysRegOutcome::Read(0b1010)
        );
        // OSLAR is write-only, OSLSR read-only.
        assert_eq!(
            r.access(&access(OSLAR_EL1, true), 0, 0),
            SysRegOutcome::Undefined
        );
        assert_eq!(
            r.access(&access(OSLSR_EL1, false), 0, 0),
            SysRegOutcome::Undefined
        );
        assert_eq!(
            r.access(&access(OSDLR_EL1, false), 3, 0),
            SysRegOutcome::Written
        );
        assert_eq!(
            r.access(&access(OSDLR_EL1, true), 0, 0),
            SysRegOutcome::Read(1)
        );
    }

    #[test]
    fn debug_registers_hold_values_up_to_the_implemented_count() {
        let mut r = TrappedSysRegs::new(2, 1);
        assert_eq!(
            r.access(&access(MDSCR_EL1, false), 0x1000, 0),
            SysRegOutcome::Written
        );
        assert_eq!(
            r.access(&access(MDSCR_EL1, true), 0, 0),
            SysRegOutcome::Read(0x1000)
        );
        // DBGBVR1 / DBGBCR1 are separate slots.
        assert_eq!(
            r.access(&access((2, 0, 0, 1, 4), false), 0xaa, 0),
            SysRegOutcome::Written
        );
        assert_eq!(
            r.access(&access((2, 0, 0, 1, 5), false), 0xbb, 0),
            SysRegOutcome::Written
        );
        assert_eq!(
            r.access(&access((2, 0, 0, 1, 4), true), 0, 0),
            SysRegOutcome::Read(0xaa)
        );
        assert_eq!(
            r.access(&access((2, 0, 0, 1, 5), true), 0, 0),
            SysRegOutcome::Read(0xbb)
        );
        // Breakpoint 2 and watchpoint 1 do not exist.
        assert_eq!(
            r.access(&access((2, 0, 0, 2, 4), true), 0, 0),
            SysRegOutcome::Undefined
        );
        assert_eq!(
            r.access(&access((2, 0, 0, 0, 6), false), 7, 0),
            SysRegOutcome::Written
        );
        assert_eq!(
            r.access(&access((2, 0, 0, 1, 7), true), 0, 0),
            SysRegOutcome::Undefined
        );
        assert_eq!(debug_pairs((5 << 12) | (3 << 20)), (6, 4));
        assert_eq!(debug_pairs(0), (1, 1));
    }

    #[test]
    fn unknown_registers_are_undefined_and_reserved_id_registers_raz() {
        let mut r = TrappedSysRegs::new(6, 4);
        // PMCR_EL0 (3,3,9,12,0), an IMPLEMENTATION DEFINED register, CNTP_CTL_EL0.
        for k in [(3, 3, 9, 12, 0), (3, 0, 15, 0, 0), (3, 3, 14, 2, 1)] {
            assert_eq!(
                r.access(&access(k, true), 0, 0),
                SysRegOutcome::Undefined,
                "{k:?}"
            );
            assert_eq!(
                r.access(&access(k, false), 0, 0),
                SysRegOutcome::Undefined,
                "{k:?}"
            );
        }
        assert_eq!(
            r.access(&access((3, 0, 0, 7, 7), true), 0, 0),
            SysRegOutcome::Read(0)
        );
        assert_eq!(
            r.access(&access((3, 0, 0, 7, 7), false), 0, 0),
            SysRegOutcome::Undefined
        );
        // CRm 0 (MIDR, MPIDR, ...) is not reserved space.
        assert_eq!(
            r.access(&access((3, 0, 0, 0, 5), true), 0, 0),
            SysRegOutcome::Undefined
        );
    }
}
