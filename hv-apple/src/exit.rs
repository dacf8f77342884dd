//! What to do with an `EXCEPTION` exit, written against a small register interface so
//! the whole decision (MMIO completion, PC rules, PSCI, WFx) is tested without a Mac.

use hv_core::arch::arm64::esr::{Exception, MmioAccess};
use hv_core::arch::arm64::psci::{self, PsciAction, PsciCall};
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
    /// This vCPU's MPIDR_EL1, for PSCI.
    fn mpidr(&self) -> u64;
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

/// Handles the exception in `syndrome` (ESR_EL2) at faulting IPA `ipa`.
pub fn handle_exception(
    regs: &mut dyn GuestRegs,
    syndrome: u64,
    ipa: u64,
    io: &mut dyn IoHandler,
) -> Result<Outcome> {
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
            // HVF only traps registers it does not virtualise (debug, PMU, physical
            // counter). Read-as-zero / write-ignored keeps hostile or curious guests going.
            log::debug!(
                "guest {} {access} (x{}): read-as-zero/write-ignored",
                if access.read { "read" } else { "wrote" },
                access.rt
            );
            if access.read && access.rt != 31 {
                regs.set_x(access.rt, 0)?;
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
            return Err(regs.guest_failure(
                format!("brk #{comment:#x}"),
                "the guest hit a breakpoint (panic or assertion in guest code)".into(),
            ));
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
    use hv_core::arch::arm64::esr::{EC_SHIFT, IL_BIT, ec};

    struct FakeRegs {
        x: [u64; 31],
        pc: u64,
    }

    impl FakeRegs {
        fn new() -> Self {
            Self {
                x: [0; 31],
                pc: 0x4000_0000,
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
        fn mpidr(&self) -> u64 {
            0x8000_0000
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
        let out = handle_exception(
            &mut r,
            data_abort(1, false, 3, false, true),
            0x900_0000,
            &mut bus,
        );
        assert_eq!(out.expect("store"), Outcome::Exit(VcpuExit::Io));
        assert_eq!(bus.last_write, Some((0x900_0000, vec![0xf0, 0xde])));
        assert_eq!(r.pc, 0x4000_0004);

        // ldrsb x5, [..]: 0x80 sign-extends to 64 bits.
        handle_exception(
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
        handle_exception(
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
        let err = handle_exception(&mut r, raw, 0x900_0000, &mut bus).expect_err("ISV=0");
        assert!(err.to_string().contains("plain ldr/str"), "{err}");
        assert_eq!(r.pc, 0x4000_0000);
    }

    #[test]
    fn psci_over_hvc_and_smc() {
        let (mut r, mut bus) = (FakeRegs::new(), Bus::default());
        r.x[0] = 0x8400_0000;
        let out = handle_exception(&mut r, esr(ec::HVC64, 0), 0, &mut bus).expect("version");
        assert_eq!(
            (out, r.x[0], r.pc),
            (Outcome::Resume, 0x10000, 0x4000_0000),
            "HVC: no PC advance"
        );

        r.x[0] = 0x8400_0000;
        handle_exception(&mut r, esr(ec::SMC64, 0), 0, &mut bus).expect("version");
        assert_eq!((r.x[0], r.pc), (0x10000, 0x4000_0004), "SMC: PC += 4");

        r.x[0] = 0x8400_0008;
        let out = handle_exception(&mut r, esr(ec::HVC64, 0), 0, &mut bus).expect("off");
        assert_eq!(out, Outcome::Exit(VcpuExit::Shutdown));
        r.x[0] = 0x8400_0009;
        let out = handle_exception(&mut r, esr(ec::HVC64, 0), 0, &mut bus).expect("reset");
        assert_eq!(out, Outcome::Exit(VcpuExit::Reset));
        r.x[0] = 0x1234;
        handle_exception(&mut r, esr(ec::HVC64, 0), 0, &mut bus).expect("unknown");
        assert_eq!(r.x[0], u64::MAX);
    }

    #[test]
    fn wfi_wfe_sysreg_and_faults() {
        let (mut r, mut bus) = (FakeRegs::new(), Bus::default());
        assert_eq!(
            handle_exception(&mut r, esr(ec::WFX, 0), 0, &mut bus).expect("wfi"),
            Outcome::WaitForInterrupt
        );
        assert_eq!(
            handle_exception(&mut r, esr(ec::WFX, 1), 0, &mut bus).expect("wfe"),
            Outcome::Resume
        );
        assert_eq!(r.pc, 0x4000_0008);

        // mrs x7, <trapped>: reads as zero.
        r.x[7] = 99;
        let iss = (3 << 20) | (1 << 17) | (3 << 14) | (14 << 10) | (7 << 5) | 1;
        handle_exception(&mut r, esr(ec::SYS_REG, iss), 0, &mut bus).expect("sysreg");
        assert_eq!((r.x[7], r.pc), (0, 0x4000_000c));

        let pc = r.pc;
        assert!(matches!(
            handle_exception(
                &mut r,
                esr(ec::INSTRUCTION_ABORT_LOWER, 0x06),
                0x1_0000_0000,
                &mut bus
            ),
            Err(HvError::Guest(_))
        ));
        assert!(matches!(
            handle_exception(&mut r, esr(ec::BRK64, 1), 0, &mut bus),
            Err(HvError::Guest(_))
        ));
        assert!(matches!(
            handle_exception(&mut r, esr(0x07, 0), 0, &mut bus),
            Err(HvError::UnknownExit { .. })
        ));
        assert_eq!(r.pc, pc, "failures leave PC at the faulting instruction");

        // Cache maintenance on MMIO is skipped.
        let cm = esr(ec::DATA_ABORT_LOWER, (1 << 8) | (1 << 6) | 0x07);
        assert_eq!(
            handle_exception(&mut r, cm, 0x900_0000, &mut bus).expect("dc"),
            Outcome::Resume
        );
        assert_eq!(r.pc, pc + 4);
    }
}
