//! What to do with an `EXCEPTION` exit, written against a small register interface so
//! the whole decision (MMIO completion, PC rules, PSCI, WFx, trapped system registers,
//! exceptions passed back to the guest) is tested without a Mac.

use hv_core::arch::arm64::Arm64SysReg;
use hv_core::arch::arm64::esr::{Exception, MmioAccess, ec};
use hv_core::arch::arm64::exception::{
    self, EntryFeatures, EntryState, SCTLR_M, class, exception_level,
};
use hv_core::arch::arm64::psci::{self, PsciAction, PsciCall};
use hv_core::arch::arm64::sysreg::{SysRegOutcome, TrappedSysRegs};
use hv_core::{HvError, IoHandler, Result, VcpuExit};

/// The vCPU state an exception handler touches.
pub trait GuestRegs {
    /// X`n`, n <= 30.
    fn x(&self, n: u8) -> Result<u64>;
    /// Sets X`n`, n <= 30.
    fn set_x(&mut self, n: u8, value: u64) -> Result<()>;
    /// PC.
    fn pc(&self) -> Result<u64>;
    /// Sets PC.
    fn set_pc(&mut self, value: u64) -> Result<()>;
    /// PSTATE (SPSR format).
    fn cpsr(&self) -> Result<u64>;
    /// Sets PSTATE.
    fn set_cpsr(&mut self, value: u64) -> Result<()>;
    /// A system register.
    fn sys(&self, reg: Arm64SysReg) -> Result<u64>;
    /// Sets a system register.
    fn set_sys(&mut self, reg: Arm64SysReg, value: u64) -> Result<()>;
    /// This vCPU's MPIDR_EL1, for PSCI.
    fn mpidr(&self) -> u64;
    /// The guest's CNTVCT_EL0 now (what a trapped CNTPCT_EL0 read returns).
    fn guest_counter(&self) -> u64;
    /// The emulated trapped system registers.
    fn trapped_sysregs(&mut self) -> &mut TrappedSysRegs;
    /// The PSTATE features exception entry depends on.
    fn entry_features(&self) -> EntryFeatures;
    /// True when the 4 bytes at guest-physical `gpa` are RAM (can hold a vector).
    fn is_ram(&self, gpa: u64) -> bool;
    /// An error describing a guest fault at the current PC.
    fn guest_failure(&self, what: String, explanation: String) -> HvError;
}

/// What the run loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Return this exit to the caller.
    Exit(VcpuExit),
    /// Re-enter the guest.
    Resume,
    /// The guest executed WFI: wait for an interrupt (the caller knows the timer).
    WaitForInterrupt,
}

/// The exit record fields an exception handler reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExceptionExit {
    /// ESR_EL2.
    pub syndrome: u64,
    /// FAR_EL2 (the faulting virtual address, for watchpoints).
    pub virtual_address: u64,
    /// The faulting IPA (for data aborts).
    pub physical_address: u64,
}

/// Handles the exception `exit` reports.
pub fn handle_exception(
    regs: &mut dyn GuestRegs,
    exit: &ExceptionExit,
    io: &mut dyn IoHandler,
) -> Result<Outcome> {
    let (syndrome, ipa) = (exit.syndrome, exit.physical_address);
    let exception = hv_core::arch::arm64::Syndrome(syndrome).decode();
    let outcome = match exception {
        Exception::DataAbort(da) if da.cm => {
            // Cache maintenance by VA on an MMIO address: nothing to maintain.
            Outcome::Resume
        }
        Exception::DataAbort(da) => {
            let access = da.mmio_access(ipa).map_err(|e| {
                regs.guest_failure("unemulatable MMIO access".into(), e.to_string())
            })?;
            complete_mmio(regs, &access, io)?;
            Outcome::Exit(VcpuExit::Io)
        }
        Exception::Wfx(kind) if kind.waits_for_interrupt() => Outcome::WaitForInterrupt,
        // WFE waits for an event another CPU would send; with one vCPU, go on at once.
        Exception::Wfx(_) => Outcome::Resume,
        Exception::Hvc { .. } | Exception::Smc { .. } => psci_call(regs)?,
        Exception::SysReg(access) => {
            let value = if access.read || access.rt == 31 {
                0
            } else {
                regs.x(access.rt)?
            };
            let counter = regs.guest_counter();
            match regs.trapped_sysregs().access(&access, value, counter) {
                SysRegOutcome::Read(v) => {
                    if access.rt != 31 {
                        regs.set_x(access.rt, v)?;
                    }
                }
                SysRegOutcome::Written => {}
                SysRegOutcome::Undefined => {
                    log::debug!(
                        "guest {} {access}: UNDEFINED, raising an Undefined Instruction exception",
                        if access.read { "read" } else { "wrote" },
                    );
                    let what = format!(
                        "{} of system register {access} (UNDEFINED here)",
                        if access.read { "mrs" } else { "msr" }
                    );
                    inject(regs, exception::syndrome(class::UNKNOWN, 0), None, what)?;
                    return Ok(Outcome::Resume);
                }
            }
            Outcome::Resume
        }
        Exception::InstructionAbort(ia) => {
            return Err(regs.guest_failure(
                format!("instruction fetch from unmapped IPA {ipa:#x}"),
                format!(
                    "the guest jumped outside RAM/ROM (IFSC {:#x}{})",
                    ia.ifsc,
                    if ia.s1ptw {
                        ", during a stage-1 table walk"
                    } else {
                        ""
                    }
                ),
            ));
        }
        Exception::Brk { comment } => {
            // Debug exceptions trap to the host (so a guest without vectors fails
            // clearly); a guest that has vectors handles its own `brk` (Linux BUG/WARN).
            let esr = exception::syndrome(ec::BRK64, u32::from(comment));
            inject(regs, esr, None, format!("brk #{comment:#x}"))?;
            return Ok(Outcome::Resume);
        }
        Exception::Debug(d) => {
            let el = exception_level(regs.cpsr()?);
            let far = (d.ec & !1 == ec::WATCHPOINT_LOWER).then_some(exit.virtual_address);
            let esr = exception::syndrome(d.class_for_el1(el), d.iss);
            inject(regs, esr, far, format!("debug exception (EC {:#x})", d.ec))?;
            return Ok(Outcome::Resume);
        }
        Exception::Unknown { ec } => {
            return Err(HvError::UnknownExit {
                backend: crate::error::BACKEND,
                code: syndrome,
                what: format!("exception class {ec:#x} (ESR_EL2 {syndrome:#x})"),
            });
        }
    };
    let advance = exception.pc_advance();
    if advance != 0 {
        let pc = regs.pc()?;
        regs.set_pc(pc.wrapping_add(advance))?;
    }
    Ok(outcome)
}

/// Takes a synchronous exception with syndrome `esr` to the guest's EL1 at the current
/// PC (the preferred return address of UNDEFINED and of `brk`). With the MMU off the
/// vector address is physical; if it is not RAM the guest has no vectors and the
/// exception would only become an instruction abort at a meaningless address, so the
/// guest fails here, naming `what`.
fn inject(regs: &mut dyn GuestRegs, esr: u64, far: Option<u64>, what: String) -> Result<()> {
    let state = EntryState {
        cpsr: regs.cpsr()?,
        return_address: regs.pc()?,
        vbar: regs.sys(Arm64SysReg::VBAR_EL1)?,
        sctlr: regs.sys(Arm64SysReg::SCTLR_EL1)?,
    };
    let entry = exception::take_sync_to_el1(&state, esr, regs.entry_features())
        .map_err(|e| regs.guest_failure(what.clone(), e.to_string()))?;
    if state.sctlr & SCTLR_M == 0 && !regs.is_ram(entry.pc) {
        return Err(regs.guest_failure(
            what,
            format!(
                "the guest has no exception vectors to take it: VBAR_EL1 {:#x} + {:#x} = {:#x} \
                 is not RAM (MMU off); install a vector table (msr vbar_el1) first",
                state.vbar, entry.vector_offset, entry.pc
            ),
        ));
    }
    regs.set_sys(Arm64SysReg::SPSR_EL1, entry.spsr)?;
    regs.set_sys(Arm64SysReg::ELR_EL1, entry.elr)?;
    regs.set_sys(Arm64SysReg::ESR_EL1, entry.esr)?;
    if let Some(far) = far {
        regs.set_sys(Arm64SysReg::FAR_EL1, far)?;
    }
    regs.set_cpsr(entry.cpsr)?;
    regs.set_pc(entry.pc)
}

fn complete_mmio(
    regs: &mut dyn GuestRegs,
    access: &MmioAccess,
    io: &mut dyn IoHandler,
) -> Result<()> {
    let reg_value = match (access.write, access.reg) {
        (true, Some(r)) => regs.x(r)?,
        _ => 0,
    };
    if let (Some(value), Some(r)) = (access.complete(reg_value, io), access.reg) {
        regs.set_x(r, value)?;
    }
    Ok(())
}

fn psci_call(regs: &mut dyn GuestRegs) -> Result<Outcome> {
    let call = PsciCall {
        x0: regs.x(0)?,
        args: [regs.x(1)?, regs.x(2)?, regs.x(3)?],
    };
    Ok(match psci::dispatch(&call, regs.mpidr()) {
        PsciAction::Return(v) => {
            regs.set_x(0, v)?;
            Outcome::Resume
        }
        PsciAction::Shutdown => Outcome::Exit(VcpuExit::Shutdown),
        PsciAction::Reset => Outcome::Exit(VcpuExit::Reset),
        PsciAction::CpuOff => {
            log::info!("PSCI CPU_OFF on the only vCPU: powering the machine off");
            Outcome::Exit(VcpuExit::Shutdown)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hv_core::arch::arm64::esr::{EC_SHIFT, IL_BIT};
    use hv_core::arch::arm64::exception::psr;
    use std::collections::HashMap;

    const VBAR: u64 = 0x4000_0800;
    const EL1H_MASKED: u64 = 0x3c5;

    struct FakeRegs {
        x: [u64; 31],
        pc: u64,
        cpsr: u64,
        sys: HashMap<Arm64SysReg, u64>,
        trapped: TrappedSysRegs,
        counter: u64,
    }

    impl FakeRegs {
        fn new() -> Self {
            Self {
                x: [0; 31],
                pc: 0x4000_0000,
                cpsr: EL1H_MASKED,
                sys: HashMap::from([(Arm64SysReg::VBAR_EL1, VBAR)]),
                trapped: TrappedSysRegs::new(6, 4),
                counter: 0x1234_5678,
            }
        }
    }

    impl GuestRegs for FakeRegs {
        fn x(&self, n: u8) -> Result<u64> {
            self.x
                .get(usize::from(n))
                .copied()
                .ok_or_else(|| HvError::InvalidArgument("x".into()))
        }
        fn set_x(&mut self, n: u8, value: u64) -> Result<()> {
            let slot = self
                .x
                .get_mut(usize::from(n))
                .ok_or_else(|| HvError::InvalidArgument("x".into()))?;
            *slot = value;
            Ok(())
        }
        fn pc(&self) -> Result<u64> {
            Ok(self.pc)
        }
        fn set_pc(&mut self, value: u64) -> Result<()> {
            self.pc = value;
            Ok(())
        }
        fn cpsr(&self) -> Result<u64> {
            Ok(self.cpsr)
        }
        fn set_cpsr(&mut self, value: u64) -> Result<()> {
            self.cpsr = value;
            Ok(())
        }
        fn sys(&self, reg: Arm64SysReg) -> Result<u64> {
            Ok(self.sys.get(&reg).copied().unwrap_or(0))
        }
        fn set_sys(&mut self, reg: Arm64SysReg, value: u64) -> Result<()> {
            self.sys.insert(reg, value);
            Ok(())
        }
        fn mpidr(&self) -> u64 {
            0x8000_0000
        }
        fn guest_counter(&self) -> u64 {
            self.counter
        }
        fn trapped_sysregs(&mut self) -> &mut TrappedSysRegs {
            &mut self.trapped
        }
        fn entry_features(&self) -> EntryFeatures {
            EntryFeatures::default()
        }
        fn is_ram(&self, gpa: u64) -> bool {
            (0x4000_0000..0x4001_0000).contains(&gpa)
        }
        fn guest_failure(&self, what: String, explanation: String) -> HvError {
            HvError::Guest(Box::new(hv_core::GuestFailure {
                what,
                pc: self.pc,
                privilege: Some(1),
                bytes: Vec::new(),
                explanation,
            }))
        }
    }

    fn handle(
        regs: &mut FakeRegs,
        syndrome: u64,
        ipa: u64,
        io: &mut dyn IoHandler,
    ) -> Result<Outcome> {
        let exit = ExceptionExit {
            syndrome,
            virtual_address: 0xffff_0000_dead_0000,
            physical_address: ipa,
        };
        handle_exception(regs, &exit, io)
    }

    #[derive(Default)]
    struct Bus {
        last_write: Option<(u64, Vec<u8>)>,
    }

    impl IoHandler for Bus {
        fn pio_read(&mut self, _port: u16, _data: &mut [u8]) {}
        fn pio_write(&mut self, _port: u16, _data: &[u8]) {}
        fn mmio_read(&mut self, _gpa: u64, data: &mut [u8]) {
            data.fill(0x80);
        }
        fn mmio_write(&mut self, gpa: u64, data: &[u8]) {
            self.last_write = Some((gpa, data.to_vec()));
        }
    }

    fn esr(class: u8, iss: u32) -> u64 {
        (u64::from(class) << EC_SHIFT) | IL_BIT | u64::from(iss)
    }

    fn data_abort(sas: u32, sse: bool, srt: u32, sf: bool, wnr: bool) -> u64 {
        let iss = (1 << 24)
            | (sas << 22)
            | (u32::from(sse) << 21)
            | (srt << 16)
            | (u32::from(sf) << 15)
            | (u32::from(wnr) << 6)
            | 0x07;
        esr(ec::DATA_ABORT_LOWER, iss)
    }

    #[test]
    fn mmio_store_and_load_complete_and_advance_pc() {
        let (mut r, mut bus) = (FakeRegs::new(), Bus::default());
        r.x[3] = 0x1234_5678_9abc_def0;
        let out = handle(
            &mut r,
            data_abort(1, false, 3, false, true),
            0x900_0000,
            &mut bus,
        );
        assert_eq!(out.expect("store"), Outcome::Exit(VcpuExit::Io));
        assert_eq!(bus.last_write, Some((0x900_0000, vec![0xf0, 0xde])));
        assert_eq!(r.pc, 0x4000_0004);

        // ldrsb x5, [..]: 0x80 sign-extends to 64 bits.
        handle(
            &mut r,
            data_abort(0, true, 5, true, false),
            0x900_0000,
            &mut bus,
        )
        .expect("load");
        assert_eq!(r.x[5], 0xffff_ffff_ffff_ff80);
        assert_eq!(r.pc, 0x4000_0008);

        // ldr wzr: the value is discarded, no register changes.
        let before = r.x;
        handle(
            &mut r,
            data_abort(2, false, 31, false, false),
            0x900_0000,
            &mut bus,
        )
        .expect("xzr");
        assert_eq!(r.x, before);
    }

    #[test]
    fn no_syndrome_is_a_guest_failure_and_pc_stays() {
        let (mut r, mut bus) = (FakeRegs::new(), Bus::default());
        let raw = esr(ec::DATA_ABORT_LOWER, (1 << 6) | 0x07);
        let err = handle(&mut r, raw, 0x900_0000, &mut bus).expect_err("ISV=0");
        assert!(err.to_string().contains("plain ldr/str"), "{err}");
        assert_eq!(r.pc, 0x4000_0000);
    }

    #[test]
    fn psci_over_hvc_and_smc() {
        let (mut r, mut bus) = (FakeRegs::new(), Bus::default());
        r.x[0] = 0x8400_0000;
        let out = handle(&mut r, esr(ec::HVC64, 0), 0, &mut bus).expect("version");
        assert_eq!(
            (out, r.x[0], r.pc),
            (Outcome::Resume, 0x10000, 0x4000_0000),
            "HVC: no PC advance"
        );

        r.x[0] = 0x8400_0000;
        handle(&mut r, esr(ec::SMC64, 0), 0, &mut bus).expect("version");
        assert_eq!((r.x[0], r.pc), (0x10000, 0x4000_0004), "SMC: PC += 4");

        r.x[0] = 0x8400_0008;
        let out = handle(&mut r, esr(ec::HVC64, 0), 0, &mut bus).expect("off");
        assert_eq!(out, Outcome::Exit(VcpuExit::Shutdown));
        r.x[0] = 0x8400_0009;
        let out = handle(&mut r, esr(ec::HVC64, 0), 0, &mut bus).expect("reset");
        assert_eq!(out, Outcome::Exit(VcpuExit::Reset));
        r.x[0] = 0x1234;
        handle(&mut r, esr(ec::HVC64, 0), 0, &mut bus).expect("unknown");
        assert_eq!(r.x[0], u64::MAX);
    }

    #[test]
    fn wfi_wfe_sysreg_and_faults() {
        let (mut r, mut bus) = (FakeRegs::new(), Bus::default());
        assert_eq!(
            handle(&mut r, esr(ec::WFX, 0), 0, &mut bus).expect("wfi"),
            Outcome::WaitForInterrupt
        );
        assert_eq!(
            handle(&mut r, esr(ec::WFX, 1), 0, &mut bus).expect("wfe"),
            Outcome::Resume
        );
        assert_eq!(r.pc, 0x4000_0008);

        // mrs x7, cntpct_el0: the guest's counter, PC past the instruction.
        r.x[7] = 99;
        let iss = (3 << 20) | (1 << 17) | (3 << 14) | (14 << 10) | (7 << 5) | 1;
        handle(&mut r, esr(ec::SYS_REG, iss), 0, &mut bus).expect("sysreg");
        assert_eq!((r.x[7], r.pc), (0x1234_5678, 0x4000_000c));

        let pc = r.pc;
        assert!(matches!(
            handle(
                &mut r,
                esr(ec::INSTRUCTION_ABORT_LOWER, 0x06),
                0x1_0000_0000,
                &mut bus
            ),
            Err(HvError::Guest(_))
        ));
        assert!(matches!(
            handle(&mut r, esr(0x07, 0), 0, &mut bus),
            Err(HvError::UnknownExit { .. })
        ));
        assert_eq!(r.pc, pc, "failures leave PC at the faulting instruction");

        // Cache maintenance on MMIO is skipped.
        let cm = esr(ec::DATA_ABORT_LOWER, (1 << 8) | (1 << 6) | 0x07);
        assert_eq!(
            handle(&mut r, cm, 0x900_0000, &mut bus).expect("dc"),
            Outcome::Resume
        );
        assert_eq!(r.pc, pc + 4);
    }

    /// `msr`/`mrs` syndrome for (op0, op1, CRn, CRm, op2), Xt = `rt`.
    fn sysreg(k: (u32, u32, u32, u32, u32), rt: u32, read: bool) -> u64 {
        let iss = (k.0 << 20) | (k.4 << 17) | (k.1 << 14) | (k.2 << 10) | (k.3 << 1) | (rt << 5);
        esr(ec::SYS_REG, iss | u32::from(read))
    }

    #[test]
    fn unknown_system_registers_raise_undefined_in_the_guest() {
        let (mut r, mut bus) = (FakeRegs::new(), Bus::default());
        r.x[3] = 77;
        r.cpsr = EL1H_MASKED & !psr::I | (0b0110 << 28);
        let before_cpsr = r.cpsr;
        // mrs x3, pmcr_el0 (3,3,9,12,0): not emulated.
        let out = handle(&mut r, sysreg((3, 3, 9, 12, 0), 3, true), 0, &mut bus).expect("undef");
        assert_eq!(out, Outcome::Resume);
        assert_eq!(r.x[3], 77, "no value written");
        assert_eq!(r.pc, VBAR + 0x200, "EL1h synchronous vector");
        assert_eq!(
            r.sys[&Arm64SysReg::ELR_EL1],
            0x4000_0000,
            "returns to the mrs itself"
        );
        assert_eq!(
            r.sys[&Arm64SysReg::ESR_EL1],
            0x0200_0000,
            "EC 0 (unknown), IL"
        );
        assert_eq!(r.sys[&Arm64SysReg::SPSR_EL1], before_cpsr);
        assert_eq!(r.cpsr, (0b0110 << 28) | psr::DAIF | psr::M_EL1H);
    }

    #[test]
    fn emulated_registers_keep_state_and_writes_skip_the_instruction() {
        let (mut r, mut bus) = (FakeRegs::new(), Bus::default());
        // msr oslar_el1, xzr; mrs x5, oslsr_el1.
        handle(&mut r, sysreg((2, 0, 1, 0, 4), 31, false), 0, &mut bus).expect("oslar");
        handle(&mut r, sysreg((2, 0, 1, 1, 4), 5, true), 0, &mut bus).expect("oslsr");
        assert_eq!(
            (r.x[5], r.pc),
            (0b1000, 0x4000_0008),
            "unlocked, OSLM = 0b10"
        );
        // mrs xzr, cntpct_el0 changes nothing but PC.
        let before = r.x;
        handle(&mut r, sysreg((3, 3, 14, 0, 1), 31, true), 0, &mut bus).expect("xzr");
        assert_eq!((r.x, r.pc), (before, 0x4000_000c));
    }

    #[test]
    fn without_vectors_the_guest_fails_naming_the_instruction() {
        let (mut r, mut bus) = (FakeRegs::new(), Bus::default());
        r.sys.insert(Arm64SysReg::VBAR_EL1, 0);
        let err =
            handle(&mut r, sysreg((3, 3, 9, 12, 0), 3, true), 0, &mut bus).expect_err("no vectors");
        let text = err.to_string();
        assert!(
            text.contains("no exception vectors") && text.contains("S3_3_C9_C12_0"),
            "{text}"
        );
        assert_eq!(r.pc, 0x4000_0000, "PC stays at the instruction");

        let err = handle(&mut r, esr(ec::BRK64, 0x800), 0, &mut bus).expect_err("no vectors");
        assert!(err.to_string().contains("brk #0x800"), "{err}");

        // With the MMU on the vector is virtual and cannot be checked: it is taken.
        r.sys.insert(Arm64SysReg::SCTLR_EL1, 1);
        r.sys.insert(Arm64SysReg::VBAR_EL1, 0xffff_8000_0001_0000);
        handle(&mut r, esr(ec::BRK64, 0x800), 0, &mut bus).expect("taken");
        assert_eq!(r.pc, 0xffff_8000_0001_0200);
    }

    #[test]
    fn brk_goes_to_the_guests_vector_with_its_comment() {
        let (mut r, mut bus) = (FakeRegs::new(), Bus::default());
        r.pc = 0x4000_0100;
        let out = handle(&mut r, esr(ec::BRK64, 0x1234), 0, &mut bus).expect("brk");
        assert_eq!(out, Outcome::Resume);
        assert_eq!(r.pc, VBAR + 0x200);
        assert_eq!(r.sys[&Arm64SysReg::ESR_EL1], 0xf200_1234);
        assert_eq!(r.sys[&Arm64SysReg::ELR_EL1], 0x4000_0100);
        // From EL0 the lower-EL vector is used.
        let (mut r, mut bus) = (FakeRegs::new(), Bus::default());
        r.cpsr = 0;
        handle(&mut r, esr(ec::BRK64, 1), 0, &mut bus).expect("brk");
        assert_eq!(r.pc, VBAR + 0x400);
    }

    #[test]
    fn watchpoints_are_passed_on_with_far_and_the_el1_class() {
        let (mut r, mut bus) = (FakeRegs::new(), Bus::default());
        // Taken to EL2 as "watchpoint from a lower EL" while the guest ran at EL1.
        handle(&mut r, esr(ec::WATCHPOINT_LOWER, 0x22), 0, &mut bus).expect("wp");
        assert_eq!(
            r.sys[&Arm64SysReg::ESR_EL1] >> EC_SHIFT,
            0x35,
            "same-EL watchpoint"
        );
        assert_eq!(r.sys[&Arm64SysReg::ESR_EL1] & 0x1ff_ffff, 0x22);
        assert_eq!(r.sys[&Arm64SysReg::FAR_EL1], 0xffff_0000_dead_0000);
        let (mut r, mut bus) = (FakeRegs::new(), Bus::default());
        handle(&mut r, esr(ec::BREAKPOINT_LOWER, 0), 0, &mut bus).expect("bp");
        assert!(
            !r.sys.contains_key(&Arm64SysReg::FAR_EL1),
            "FAR only for watchpoints"
        );
    }
}
