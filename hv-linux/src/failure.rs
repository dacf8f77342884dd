//! The report for a guest KVM cannot run (`KVM_EXIT_INTERNAL_ERROR`, `KVM_EXIT_FAIL_ENTRY`).
//!
//! On hosts where KVM emulates kernel-mode guest code, an emulation failure is the common
//! way a guest dies (x87/SSE at CPL 0, or a jump into garbage), so the report names RIP,
//! the CPL, the instruction bytes and what they most likely are.

use hv_core::arch::x86::insn::explain_emulation_failure;
use hv_core::arch::x86::regs::{CR0_PE, CR0_PG, EFER_LMA};
use hv_core::arch::x86::{Regs, Sregs};
use hv_core::{GuestFailure, GuestMemory};
use kvm_bindings::{
    KVM_INTERNAL_ERROR_DELIVERY_EV, KVM_INTERNAL_ERROR_EMULATION, KVM_INTERNAL_ERROR_SIMUL_EX,
    KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
};

/// The longest x86 instruction.
pub(crate) const MAX_INSN_LEN: usize = 15;

const PAGE_SIZE: u64 = 0x1000;

/// Why KVM stopped the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// `KVM_EXIT_INTERNAL_ERROR` with this suberror.
    Internal(u32),
    /// `KVM_EXIT_FAIL_ENTRY` with this hardware reason.
    FailEntry(u64),
}

impl Failure {
    fn what(self) -> String {
        match self {
            Failure::Internal(KVM_INTERNAL_ERROR_EMULATION) => "KVM emulation failure".into(),
            Failure::Internal(KVM_INTERNAL_ERROR_SIMUL_EX) => {
                "KVM internal error: exception while delivering an exception".into()
            }
            Failure::Internal(KVM_INTERNAL_ERROR_DELIVERY_EV) => {
                "KVM internal error: event delivery failed".into()
            }
            Failure::Internal(KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON) => {
                "KVM internal error: unexpected hardware exit".into()
            }
            Failure::Internal(sub) => format!("KVM internal error (suberror {sub})"),
            Failure::FailEntry(reason) => {
                format!("KVM could not enter the guest (hardware reason {reason:#x})")
            }
        }
    }

    fn explanation(self, bytes: &[u8], sregs: &Sregs) -> String {
        let long_mode = sregs.efer & EFER_LMA != 0 && sregs.cs.l;
        match self {
            Failure::Internal(KVM_INTERNAL_ERROR_EMULATION) => {
                explain_emulation_failure(bytes, sregs.cpl(), sregs.cr0 & CR0_PE != 0, long_mode)
            }
            Failure::Internal(KVM_INTERNAL_ERROR_SIMUL_EX | KVM_INTERNAL_ERROR_DELIVERY_EV) => {
                "the guest faulted while handling a fault; check its IDT, GDT and stack".into()
            }
            Failure::FailEntry(_) => format!(
                "the register state is invalid for the CPU ({}); check the segment and \
                 control registers the loader set",
                sregs.mode_name()
            ),
            Failure::Internal(_) => String::new(),
        }
    }
}

/// Reads up to [`MAX_INSN_LEN`] bytes at linear address `linear`, page by page through
/// `translate` (linear -> guest-physical). Stops at the first byte it cannot read, so a
/// RIP at the end of RAM still yields the bytes that exist.
pub(crate) fn fetch_code(
    mem: &GuestMemory,
    linear: u64,
    translate: impl Fn(u64) -> Option<u64>,
) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(MAX_INSN_LEN);
    let mut page_base = None;
    for i in 0..MAX_INSN_LEN as u64 {
        let Some(addr) = linear.checked_add(i) else {
            break;
        };
        let page = addr & !(PAGE_SIZE - 1);
        let phys_page = match page_base {
            Some((p, phys)) if p == page => phys,
            _ => match translate(page) {
                Some(phys) => {
                    page_base = Some((page, phys));
                    phys
                }
                None => break,
            },
        };
        match mem.read_u8(phys_page + (addr - page)) {
            Ok(b) => bytes.push(b),
            Err(_) => break,
        }
    }
    bytes
}

/// True when guest linear addresses go through page tables.
pub(crate) fn paging_enabled(sregs: &Sregs) -> bool {
    sregs.cr0 & CR0_PG != 0
}

/// Builds the report for `failure` from the registers and the code bytes at CS:RIP.
pub(crate) fn report(failure: Failure, regs: &Regs, sregs: &Sregs, bytes: Vec<u8>) -> GuestFailure {
    GuestFailure {
        what: format!("{} in {}", failure.what(), sregs.mode_name()),
        pc: regs.rip,
        privilege: Some(sregs.cpl()),
        explanation: failure.explanation(&bytes, sregs),
        bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hv_core::arch::x86::{protected_mode, real_mode};

    #[test]
    fn fetch_stops_at_the_end_of_memory() {
        let mem = GuestMemory::ram(0x4000).expect("ram");
        mem.write(0x3ffc, &[0xD9, 0xE8, 0xF4, 0x90])
            .expect("in range");
        assert_eq!(fetch_code(&mem, 0x3ffc, Some), vec![0xD9, 0xE8, 0xF4, 0x90]);
        assert_eq!(fetch_code(&mem, 0x1000, Some).len(), MAX_INSN_LEN);
        assert!(fetch_code(&mem, u64::MAX - 2, Some).is_empty());
    }

    #[test]
    fn fetch_translates_each_page_separately() {
        let mem = GuestMemory::ram(0x4000).expect("ram");
        mem.write(0x1ffe, &[1, 2]).expect("in range");
        mem.write(0x3000, &[3, 4]).expect("in range");
        // Linear page 0x7000 -> 0x1000, 0x8000 -> 0x3000, anything else unmapped.
        let translate = |page: u64| match page {
            0x7000 => Some(0x1000),
            0x8000 => Some(0x3000),
            _ => None,
        };
        let bytes = fetch_code(&mem, 0x7ffe, translate);
        assert_eq!(&bytes[..4], &[1, 2, 3, 4]);
        assert!(fetch_code(&mem, 0x9000, translate).is_empty());
    }

    #[test]
    fn emulation_failure_report_names_rip_cpl_bytes_and_cause() {
        let mem = GuestMemory::ram(0x4000).expect("ram");
        let entry = protected_mode(&mem, 0x500, 0x1000, 0x2000).expect("fits");
        let regs = Regs {
            rip: 0x1234,
            ..entry.regs
        };
        let f = report(
            Failure::Internal(KVM_INTERNAL_ERROR_EMULATION),
            &regs,
            &entry.sregs,
            vec![0xD9, 0xE8],
        );
        let text = f.to_string();
        assert!(
            text.contains("KVM emulation failure in 32-bit protected mode at 0x1234"),
            "{text}"
        );
        assert!(
            text.contains("(CPL 0)") && text.contains("bytes d9 e8"),
            "{text}"
        );
        assert!(text.contains("x87"), "{text}");
    }

    #[test]
    fn fail_entry_report_points_at_register_state() {
        let e = real_mode(0, 0x7c00, 0);
        let f = report(Failure::FailEntry(0x21), &e.regs, &e.sregs, vec![]);
        let text = f.to_string();
        assert!(text.contains("hardware reason 0x21"), "{text}");
        assert!(
            text.contains("real mode") && text.contains("instruction bytes unreadable"),
            "{text}"
        );
        assert!(f.explanation.contains("segment and control registers"));
    }

    #[test]
    fn unknown_suberror_still_reports_its_number() {
        let e = real_mode(0, 0x7c00, 0);
        let f = report(Failure::Internal(99), &e.regs, &e.sregs, vec![0x90]);
        assert!(f.what.contains("suberror 99"));
    }
}
