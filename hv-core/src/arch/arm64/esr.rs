//! ESR_EL2 (exception syndrome) decoding for exits that reach the VMM.
//!
//! Field positions are from the Arm ARM (DDI 0487, "ESR_EL2"), the same ones QEMU's
//! `target/arm/hvf/hvf.c` uses. Every value here comes from the guest, so decoding is
//! total: any 64-bit syndrome yields an [`Exception`], never a panic.

use std::fmt;

use crate::hypervisor::IoHandler;

/// Exception class: ESR bits [31:26].
pub const EC_SHIFT: u32 = 26;
/// ESR bit 25: the trapped instruction was 32 bits long (always 1 for A64).
pub const IL_BIT: u64 = 1 << 25;
/// Instruction-specific syndrome: ESR bits [24:0].
pub const ISS_MASK: u64 = (1 << 25) - 1;

/// Exception class values the VMM handles (Arm ARM, ESR_ELx.EC).
pub mod ec {
    /// WFI/WFE (and WFIT/WFET) trapped.
    pub const WFX: u8 = 0x01;
    /// HVC from AArch64.
    pub const HVC64: u8 = 0x16;
    /// SMC from AArch64.
    pub const SMC64: u8 = 0x17;
    /// MSR/MRS/system instruction trapped.
    pub const SYS_REG: u8 = 0x18;
    /// Instruction abort from a lower exception level.
    pub const INSTRUCTION_ABORT_LOWER: u8 = 0x20;
    /// Instruction abort from the same exception level.
    pub const INSTRUCTION_ABORT_SAME: u8 = 0x21;
    /// Data abort from a lower exception level (guest MMIO lands here).
    pub const DATA_ABORT_LOWER: u8 = 0x24;
    /// Data abort from the same exception level.
    pub const DATA_ABORT_SAME: u8 = 0x25;
    /// Hardware breakpoint from a lower exception level (0x31: same level).
    pub const BREAKPOINT_LOWER: u8 = 0x30;
    /// Software step from a lower exception level (0x33: same level).
    pub const SOFTWARE_STEP_LOWER: u8 = 0x32;
    /// Watchpoint from a lower exception level (0x35: same level).
    pub const WATCHPOINT_LOWER: u8 = 0x34;
    /// BRK instruction from AArch64.
    pub const BRK64: u8 = 0x3C;
}

/// Size of every A64 instruction; the PC advance for instructions the VMM completes.
pub const A64_INSN_LEN: u64 = 4;

/// A raw ESR_EL2 value with accessors for the common fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syndrome(pub u64);

impl Syndrome {
    /// Exception class, bits [31:26].
    pub fn ec(self) -> u8 {
        ((self.0 >> EC_SHIFT) & 0x3f) as u8
    }

    /// Instruction length bit: true for a 32-bit instruction.
    pub fn il(self) -> bool {
        self.0 & IL_BIT != 0
    }

    /// Instruction-specific syndrome, bits [24:0].
    pub fn iss(self) -> u32 {
        (self.0 & ISS_MASK) as u32
    }

    /// Decodes the exception this syndrome describes.
    pub fn decode(self) -> Exception {
        let iss = self.iss();
        match self.ec() {
            ec::WFX => Exception::Wfx(WfxKind::from_ti(iss & 0b11)),
            ec::HVC64 => Exception::Hvc { imm: iss as u16 },
            ec::SMC64 => Exception::Smc { imm: iss as u16 },
            ec::SYS_REG => Exception::SysReg(SysRegAccess::from_iss(iss)),
            ec::INSTRUCTION_ABORT_LOWER | ec::INSTRUCTION_ABORT_SAME => {
                Exception::InstructionAbort(InstructionAbort {
                    same_el: self.ec() == ec::INSTRUCTION_ABORT_SAME,
                    fnv: bit(iss, 10),
                    ea: bit(iss, 9),
                    s1ptw: bit(iss, 7),
                    ifsc: (iss & 0x3f) as u8,
                })
            }
            ec::DATA_ABORT_LOWER | ec::DATA_ABORT_SAME => {
                Exception::DataAbort(DataAbort::from_iss(iss, self.ec() == ec::DATA_ABORT_SAME))
            }
            ec::BRK64 => Exception::Brk {
                comment: iss as u16,
            },
            0x30..=0x35 => Exception::Debug(DebugException { ec: self.ec(), iss }),
            other => Exception::Unknown { ec: other },
        }
    }
}

fn bit(v: u32, n: u32) -> bool {
    (v >> n) & 1 != 0
}

/// What a syndrome says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exception {
    /// A data abort: MMIO when it hits an unmapped or read-only IPA.
    DataAbort(DataAbort),
    /// WFI/WFE and their timeout variants.
    Wfx(WfxKind),
    /// `hvc #imm`. The reported PC already points past the instruction.
    Hvc {
        /// The 16-bit immediate.
        imm: u16,
    },
    /// `smc #imm`. The reported PC points at the instruction.
    Smc {
        /// The 16-bit immediate.
        imm: u16,
    },
    /// A trapped MSR/MRS.
    SysReg(SysRegAccess),
    /// The guest fetched an instruction from an unmapped IPA.
    InstructionAbort(InstructionAbort),
    /// `brk #comment` (only with debug exceptions trapped).
    Brk {
        /// The 16-bit comment field.
        comment: u16,
    },
    /// A hardware breakpoint, software step or watchpoint (only with debug exceptions
    /// trapped), which the guest's own debugger armed.
    Debug(DebugException),
    /// Any class the VMM does not handle.
    Unknown {
        /// The exception class.
        ec: u8,
    },
}

impl Exception {
    /// How far to move PC after the VMM completed this exception.
    ///
    /// HVF reports the trapping instruction's own address for everything except HVC, whose
    /// exit PC is already the preferred return address (as for a real exception taken to
    /// EL2 by HVC). So data aborts, WFx, SMC and sysreg traps skip one A64 instruction and
    /// HVC does not (qemu `hvf_vcpu_exec`: no `advance_pc` for `EC_AA64_HVC`). Faults the
    /// VMM cannot complete do not move PC.
    pub fn pc_advance(&self) -> u64 {
        match self {
            Exception::DataAbort(_)
            | Exception::Wfx(_)
            | Exception::Smc { .. }
            | Exception::SysReg(_) => A64_INSN_LEN,
            Exception::Hvc { .. }
            | Exception::InstructionAbort(_)
            | Exception::Brk { .. }
            | Exception::Debug(_)
            | Exception::Unknown { .. } => 0,
        }
    }
}

/// A debug exception trapped to the hypervisor (EC 0x30-0x35).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebugException {
    /// The class as the hypervisor saw it.
    pub ec: u8,
    /// The instruction-specific syndrome, passed on unchanged.
    pub iss: u32,
}

impl DebugException {
    /// The class the guest's EL1 must see: the "same EL" variant (odd) when the guest
    /// was at EL1, the "lower EL" variant (even) when it was at EL0.
    pub fn class_for_el1(&self, from_el: u8) -> u8 {
        if from_el >= 1 {
            self.ec | 1
        } else {
            self.ec & !1
        }
    }
}

/// Which wait-for instruction trapped (ISS TI, bits [1:0]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WfxKind {
    /// Wait for interrupt.
    Wfi,
    /// Wait for event.
    Wfe,
    /// WFI with timeout (FEAT_WFxT); treated as WFI.
    Wfit,
    /// WFE with timeout (FEAT_WFxT); treated as WFE.
    Wfet,
}

impl WfxKind {
    fn from_ti(ti: u32) -> Self {
        match ti {
            0 => WfxKind::Wfi,
            1 => WfxKind::Wfe,
            2 => WfxKind::Wfit,
            _ => WfxKind::Wfet,
        }
    }

    /// True for the interrupt-waiting forms (the vCPU may sleep).
    pub fn waits_for_interrupt(self) -> bool {
        matches!(self, WfxKind::Wfi | WfxKind::Wfit)
    }
}

/// A trapped system-register access (EC 0x18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SysRegAccess {
    /// MRS (read into `rt`) rather than MSR.
    pub read: bool,
    /// Transfer register; 31 is XZR.
    pub rt: u8,
    /// Op0, bits [21:20].
    pub op0: u8,
    /// Op1, bits [16:14].
    pub op1: u8,
    /// CRn, bits [13:10].
    pub crn: u8,
    /// CRm, bits [4:1].
    pub crm: u8,
    /// Op2, bits [19:17].
    pub op2: u8,
}

impl SysRegAccess {
    fn from_iss(iss: u32) -> Self {
        Self {
            read: bit(iss, 0),
            rt: ((iss >> 5) & 0x1f) as u8,
            op0: ((iss >> 20) & 0x3) as u8,
            op1: ((iss >> 14) & 0x7) as u8,
            crn: ((iss >> 10) & 0xf) as u8,
            crm: ((iss >> 1) & 0xf) as u8,
            op2: ((iss >> 17) & 0x7) as u8,
        }
    }
}

impl fmt::Display for SysRegAccess {
    /// The assembler's generic name, `S<op0>_<op1>_C<n>_C<m>_<op2>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "S{}_{}_C{}_C{}_{}",
            self.op0, self.op1, self.crn, self.crm, self.op2
        )
    }
}

/// An instruction abort (EC 0x20/0x21).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstructionAbort {
    /// Taken from the same EL (EC 0x21).
    pub same_el: bool,
    /// FAR is not valid.
    pub fnv: bool,
    /// External abort.
    pub ea: bool,
    /// Fault during a stage-1 page-table walk.
    pub s1ptw: bool,
    /// Instruction fault status code.
    pub ifsc: u8,
}

/// A data abort (EC 0x24/0x25) with every ISS field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataAbort {
    /// Taken from the same EL (EC 0x25).
    pub same_el: bool,
    /// Instruction syndrome valid: SAS..AR below mean something.
    pub isv: bool,
    /// Access size as log2 bytes.
    pub sas: u8,
    /// Sign-extend the loaded value.
    pub sse: bool,
    /// Transfer register; 31 is XZR.
    pub srt: u8,
    /// The transfer register is 64 bits wide (Xn rather than Wn).
    pub sf: bool,
    /// Acquire/release semantics.
    pub ar: bool,
    /// FAR is not valid.
    pub fnv: bool,
    /// External abort.
    pub ea: bool,
    /// Cache maintenance or address translation instruction.
    pub cm: bool,
    /// Fault during a stage-1 page-table walk.
    pub s1ptw: bool,
    /// Write (store) rather than read.
    pub wnr: bool,
    /// Data fault status code.
    pub dfsc: u8,
}

impl DataAbort {
    fn from_iss(iss: u32, same_el: bool) -> Self {
        Self {
            same_el,
            isv: bit(iss, 24),
            sas: ((iss >> 22) & 0x3) as u8,
            sse: bit(iss, 21),
            srt: ((iss >> 16) & 0x1f) as u8,
            sf: bit(iss, 15),
            ar: bit(iss, 14),
            fnv: bit(iss, 10),
            ea: bit(iss, 9),
            cm: bit(iss, 8),
            s1ptw: bit(iss, 7),
            wnr: bit(iss, 6),
            dfsc: (iss & 0x3f) as u8,
        }
    }

    /// Access size in bytes (1, 2, 4 or 8).
    pub fn size(&self) -> u8 {
        1 << self.sas
    }

    /// Turns the abort at guest-physical `gpa` into an MMIO access the VMM can complete.
    ///
    /// Cache maintenance (`CM`) aborts are not accesses; callers skip them first.
    pub fn mmio_access(&self, gpa: u64) -> Result<MmioAccess, MmioDecodeError> {
        if self.s1ptw {
            return Err(MmioDecodeError::PageTableWalk { gpa });
        }
        if !self.isv {
            return Err(MmioDecodeError::NoSyndrome {
                gpa,
                write: self.wnr,
                dfsc: self.dfsc,
            });
        }
        Ok(MmioAccess {
            gpa,
            size: self.size(),
            write: self.wnr,
            reg: (self.srt != 31).then_some(self.srt),
            sign_extend: self.sse,
            sixty_four: self.sf,
        })
    }
}

/// Why a data abort cannot be completed as MMIO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MmioDecodeError {
    /// ISV = 0: the hardware gave no register or size for the access.
    #[error(
        "{} at {gpa:#x} with no instruction syndrome (ISV=0, DFSC {dfsc:#x}): the guest used a \
         load/store pair, a pre/post-indexed (writeback) address, a SIMD/FP register, or an \
         atomic on MMIO; guests must use plain ldr/str (w/x registers, no writeback) for device \
         registers",
        if *write { "MMIO store" } else { "MMIO load" }
    )]
    NoSyndrome {
        /// The faulting IPA.
        gpa: u64,
        /// The access was a store.
        write: bool,
        /// The data fault status code.
        dfsc: u8,
    },
    /// S1PTW = 1: the guest's own page tables point outside RAM.
    #[error(
        "stage-1 page-table walk touched {gpa:#x}, which is not RAM: the guest's page tables \
         (TTBRn_EL1) must live in guest RAM"
    )]
    PageTableWalk {
        /// The faulting IPA.
        gpa: u64,
    },
}

/// A decoded MMIO access: what to send to the device and what to write back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MmioAccess {
    /// Guest-physical address.
    pub gpa: u64,
    /// Size in bytes (1, 2, 4 or 8).
    pub size: u8,
    /// Store rather than load.
    pub write: bool,
    /// X register moved to/from the device; `None` for XZR (stores write 0, loads are
    /// discarded).
    pub reg: Option<u8>,
    /// Loads sign-extend (`ldrsb`/`ldrsh`/`ldrsw`).
    pub sign_extend: bool,
    /// The register is an X register (SF=1); a W destination zeroes bits [63:32].
    pub sixty_four: bool,
}

impl MmioAccess {
    /// Mask of the `size` low bytes.
    fn size_mask(&self) -> u64 {
        match self.size {
            8.. => u64::MAX,
            n => (1u64 << (u32::from(n) * 8)) - 1,
        }
    }

    /// The value a store sends to the device, given the current value of `reg`
    /// (ignored for XZR).
    pub fn store_value(&self, reg_value: u64) -> u64 {
        match self.reg {
            Some(_) => reg_value & self.size_mask(),
            None => 0,
        }
    }

    /// The value a load writes to `reg`, given the `size` bytes the device returned
    /// (little-endian, in the low bits of `raw`).
    pub fn load_value(&self, raw: u64) -> u64 {
        let mut v = raw & self.size_mask();
        if self.sign_extend && self.size < 8 {
            let shift = 64 - u32::from(self.size) * 8;
            v = (((v << shift) as i64) >> shift) as u64;
        }
        if !self.sixty_four {
            v &= 0xffff_ffff;
        }
        v
    }

    /// Performs the access on `io`. `reg_value` is the current value of [`reg`](Self::reg)
    /// (ignored for stores from XZR and for loads). Returns the value to write back to
    /// `reg` for a load into a real register, `None` otherwise.
    pub fn complete(&self, reg_value: u64, io: &mut dyn IoHandler) -> Option<u64> {
        let mut buf = [0u8; 8];
        let len = self.len().min(buf.len());
        let data = &mut buf[..len];
        if self.write {
            data.copy_from_slice(&self.store_value(reg_value).to_le_bytes()[..len]);
            io.mmio_write(self.gpa, data);
            None
        } else {
            io.mmio_read(self.gpa, data);
            let loaded = self.load_value(u64::from_le_bytes(buf));
            self.reg.map(|_| loaded)
        }
    }

    /// The access size as a `usize`, for slicing a data buffer.
    pub fn len(&self) -> usize {
        usize::from(self.size)
    }

    /// Never true: accesses are at least one byte. Present for clippy's `len` convention.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a data-abort syndrome from its fields.
    #[allow(clippy::too_many_arguments)]
    fn data_abort(isv: bool, sas: u32, sse: bool, srt: u32, sf: bool, wnr: bool) -> u64 {
        let iss = (u32::from(isv) << 24)
            | (sas << 22)
            | (u32::from(sse) << 21)
            | (srt << 16)
            | (u32::from(sf) << 15)
            | (u32::from(wnr) << 6)
            | 0x07; // DFSC: translation fault, level 3
        (u64::from(ec::DATA_ABORT_LOWER) << EC_SHIFT) | IL_BIT | u64::from(iss)
    }

    #[test]
    fn every_data_abort_field_combination_round_trips() {
        for sas in 0..4u32 {
            for sse in [false, true] {
                for srt in 0..32u32 {
                    for sf in [false, true] {
                        for wnr in [false, true] {
                            let s = Syndrome(data_abort(true, sas, sse, srt, sf, wnr));
                            assert_eq!(s.ec(), ec::DATA_ABORT_LOWER);
                            assert!(s.il());
                            let Exception::DataAbort(da) = s.decode() else {
                                panic!("not a data abort: {s:?}");
                            };
                            assert!(da.isv && !da.same_el && !da.cm && !da.s1ptw);
                            assert_eq!(da.size(), 1 << sas);
                            assert_eq!((da.sse, da.srt, da.sf, da.wnr), (sse, srt as u8, sf, wnr));
                            assert_eq!(da.dfsc, 0x07);
                            let m = da.mmio_access(0x900_0000).expect("ISV=1 decodes");
                            assert_eq!(m.gpa, 0x900_0000);
                            assert_eq!(m.len(), 1 << sas);
                            assert_eq!(m.write, wnr);
                            assert_eq!(m.reg, (srt != 31).then_some(srt as u8));
                            assert_eq!((m.sign_extend, m.sixty_four), (sse, sf));
                            check_values(&m);
                        }
                    }
                }
            }
        }
    }

    /// Checks store masking and load extension against an independent model.
    fn check_values(m: &MmioAccess) {
        let bits = u32::from(m.size) * 8;
        let reg = 0xfedc_ba98_8765_4321u64;
        let expected_store = if m.reg.is_none() {
            0
        } else if bits == 64 {
            reg
        } else {
            reg & ((1 << bits) - 1)
        };
        assert_eq!(m.store_value(reg), expected_store, "{m:?}");

        for raw in [
            0u64,
            0x7f,
            0x80,
            0xff,
            0x8000,
            0xffff,
            0x8000_0000,
            u64::MAX,
        ] {
            let data = if bits == 64 {
                raw
            } else {
                raw & ((1 << bits) - 1)
            };
            let negative = (data >> (bits - 1)) & 1 == 1;
            let mut want = data;
            if m.sign_extend && negative && bits < 64 {
                want |= !((1u64 << bits) - 1);
            }
            if !m.sixty_four {
                want &= 0xffff_ffff;
            }
            assert_eq!(m.load_value(raw), want, "{m:?} raw {raw:#x}");
        }
    }

    #[test]
    fn sign_extension_examples() {
        let ldrsb_w = MmioAccess {
            gpa: 0,
            size: 1,
            write: false,
            reg: Some(0),
            sign_extend: true,
            sixty_four: false,
        };
        assert_eq!(ldrsb_w.load_value(0x80), 0xffff_ff80);
        let ldrsh_x = MmioAccess {
            size: 2,
            sixty_four: true,
            ..ldrsb_w
        };
        assert_eq!(ldrsh_x.load_value(0x1234_8001), 0xffff_ffff_ffff_8001);
        let ldr_w = MmioAccess {
            size: 4,
            sign_extend: false,
            ..ldrsb_w
        };
        assert_eq!(ldr_w.load_value(u64::MAX), 0xffff_ffff);
    }

    #[test]
    fn no_syndrome_error_names_the_causes_and_the_fix() {
        let s = Syndrome(data_abort(false, 2, false, 3, false, true));
        let Exception::DataAbort(da) = s.decode() else {
            panic!("not a data abort");
        };
        let err = da.mmio_access(0x900_0000).expect_err("ISV=0 is refused");
        let text = err.to_string();
        for needle in [
            "pair",
            "writeback",
            "SIMD",
            "atomic",
            "plain ldr/str",
            "0x9000000",
        ] {
            assert!(text.contains(needle), "{text}");
        }
    }

    #[test]
    fn page_table_walk_fault_is_not_mmio() {
        let raw = data_abort(true, 3, false, 0, true, false) | (1 << 7);
        let Exception::DataAbort(da) = Syndrome(raw).decode() else {
            panic!("not a data abort");
        };
        assert!(matches!(
            da.mmio_access(0x1000),
            Err(MmioDecodeError::PageTableWalk { gpa: 0x1000 })
        ));
    }

    #[test]
    fn data_abort_flag_bits() {
        let iss: u64 = (1 << 14) | (1 << 10) | (1 << 9) | (1 << 8);
        let raw = (u64::from(ec::DATA_ABORT_SAME) << EC_SHIFT) | iss;
        let Exception::DataAbort(da) = Syndrome(raw).decode() else {
            panic!("not a data abort");
        };
        assert!(da.same_el && da.ar && da.fnv && da.ea && da.cm && !da.isv);
    }

    fn syndrome(ec: u8, iss: u32) -> Syndrome {
        Syndrome((u64::from(ec) << EC_SHIFT) | IL_BIT | u64::from(iss))
    }

    #[test]
    fn other_classes_decode() {
        assert_eq!(syndrome(ec::WFX, 0).decode(), Exception::Wfx(WfxKind::Wfi));
        assert_eq!(syndrome(ec::WFX, 1).decode(), Exception::Wfx(WfxKind::Wfe));
        assert_eq!(syndrome(ec::WFX, 2).decode(), Exception::Wfx(WfxKind::Wfit));
        assert_eq!(syndrome(ec::WFX, 3).decode(), Exception::Wfx(WfxKind::Wfet));
        // `hvc #0` as HVF reports it.
        assert_eq!(Syndrome(0x5a00_0000).decode(), Exception::Hvc { imm: 0 });
        assert_eq!(
            syndrome(ec::HVC64, 0x1234).decode(),
            Exception::Hvc { imm: 0x1234 }
        );
        assert_eq!(syndrome(ec::SMC64, 7).decode(), Exception::Smc { imm: 7 });
        assert_eq!(
            syndrome(ec::BRK64, 0xf000).decode(),
            Exception::Brk { comment: 0xf000 }
        );
        let ia = syndrome(ec::INSTRUCTION_ABORT_LOWER, (1 << 7) | 0x06).decode();
        assert_eq!(
            ia,
            Exception::InstructionAbort(InstructionAbort {
                same_el: false,
                fnv: false,
                ea: false,
                s1ptw: true,
                ifsc: 0x06
            })
        );
        assert!(matches!(
            syndrome(ec::INSTRUCTION_ABORT_SAME, 0).decode(),
            Exception::InstructionAbort(InstructionAbort { same_el: true, .. })
        ));
        for ec in 0..64u8 {
            let known = [
                ec::WFX,
                ec::HVC64,
                ec::SMC64,
                ec::SYS_REG,
                ec::INSTRUCTION_ABORT_LOWER,
                ec::INSTRUCTION_ABORT_SAME,
                ec::DATA_ABORT_LOWER,
                ec::DATA_ABORT_SAME,
                ec::BRK64,
                0x30,
                0x31,
                0x32,
                0x33,
                0x34,
                0x35,
            ];
            if !known.contains(&ec) {
                assert_eq!(syndrome(ec, 0x1ff_ffff).decode(), Exception::Unknown { ec });
            }
        }
        // Bits above ESR[31] (ISS2 on newer cores) never change the decoding.
        assert_eq!(
            Syndrome(0xffff_ffff_0000_0000 | 0x5a00_0000).decode(),
            Exception::Hvc { imm: 0 }
        );
    }

    #[test]
    fn sysreg_trap_fields() {
        // mrs x5, cntpct_el0: op0=3 op1=3 CRn=14 CRm=0 op2=1, read.
        let iss = (3 << 20) | (1 << 17) | (3 << 14) | (14 << 10) | (5 << 5) | 1;
        let Exception::SysReg(a) = syndrome(ec::SYS_REG, iss).decode() else {
            panic!("not a sysreg trap");
        };
        assert_eq!(
            (a.read, a.rt, a.op0, a.op1, a.crn, a.crm, a.op2),
            (true, 5, 3, 3, 14, 0, 1)
        );
        assert_eq!(a.to_string(), "S3_3_C14_C0_1");
        // msr oslar_el1, xzr: op0=2 op1=0 CRn=1 CRm=0 op2=4, write.
        let iss = (2 << 20) | (4 << 17) | (1 << 10) | (31 << 5);
        let Exception::SysReg(a) = syndrome(ec::SYS_REG, iss).decode() else {
            panic!("not a sysreg trap");
        };
        assert_eq!(
            (a.read, a.rt, a.op0, a.crn, a.crm, a.op2),
            (false, 31, 2, 1, 0, 4)
        );
        // CRm sits in bits [4:1].
        let Exception::SysReg(a) = syndrome(ec::SYS_REG, 0xf << 1).decode() else {
            panic!("not a sysreg trap");
        };
        assert_eq!(a.crm, 15);
    }

    /// Records MMIO calls and answers loads with a fixed pattern.
    #[derive(Default)]
    struct Recorder {
        writes: Vec<(u64, Vec<u8>)>,
        reads: Vec<(u64, usize)>,
    }

    impl IoHandler for Recorder {
        fn pio_read(&mut self, _port: u16, _data: &mut [u8]) {}
        fn pio_write(&mut self, _port: u16, _data: &[u8]) {}
        fn mmio_read(&mut self, gpa: u64, data: &mut [u8]) {
            self.reads.push((gpa, data.len()));
            for (i, b) in data.iter_mut().enumerate() {
                *b = 0xf0 | i as u8;
            }
        }
        fn mmio_write(&mut self, gpa: u64, data: &[u8]) {
            self.writes.push((gpa, data.to_vec()));
        }
    }

    #[test]
    fn complete_moves_exactly_size_bytes() {
        for size in [1u8, 2, 4, 8] {
            let store = MmioAccess {
                gpa: 0x900_0000,
                size,
                write: true,
                reg: Some(1),
                sign_extend: false,
                sixty_four: true,
            };
            let mut io = Recorder::default();
            assert_eq!(store.complete(0x1122_3344_5566_7788, &mut io), None);
            let expect = 0x1122_3344_5566_7788u64.to_le_bytes()[..usize::from(size)].to_vec();
            assert_eq!(io.writes, vec![(0x900_0000, expect)]);

            let xzr = MmioAccess { reg: None, ..store };
            let mut io = Recorder::default();
            xzr.complete(u64::MAX, &mut io);
            assert_eq!(io.writes[0].1, vec![0; usize::from(size)]);

            let load = MmioAccess {
                write: false,
                sign_extend: true,
                ..store
            };
            let mut io = Recorder::default();
            let v = load.complete(0, &mut io).expect("load into x1");
            assert_eq!(io.reads, vec![(0x900_0000, usize::from(size))]);
            let pattern = u64::from_le_bytes([0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7]);
            let bits = u32::from(size) * 8;
            let raw = if size == 8 {
                pattern
            } else {
                pattern & ((1 << bits) - 1)
            };
            // Top byte 0xf? is negative: sign-extended to 64 bits.
            let want = if size == 8 {
                raw
            } else {
                raw | !((1u64 << bits) - 1)
            };
            assert_eq!(v, want);
            assert_eq!(MmioAccess { reg: None, ..load }.complete(0, &mut io), None);
        }
    }

    #[test]
    fn pc_advance_rules() {
        let da = syndrome(ec::DATA_ABORT_LOWER, 1 << 24).decode();
        assert_eq!(da.pc_advance(), 4);
        assert_eq!(syndrome(ec::WFX, 0).decode().pc_advance(), 4);
        assert_eq!(syndrome(ec::WFX, 1).decode().pc_advance(), 4);
        assert_eq!(syndrome(ec::SMC64, 0).decode().pc_advance(), 4);
        assert_eq!(syndrome(ec::SYS_REG, 0).decode().pc_advance(), 4);
        assert_eq!(syndrome(ec::HVC64, 0).decode().pc_advance(), 0);
        assert_eq!(syndrome(ec::BRK64, 0).decode().pc_advance(), 0);
        assert_eq!(
            syndrome(ec::INSTRUCTION_ABORT_LOWER, 0)
                .decode()
                .pc_advance(),
            0
        );
        assert_eq!(syndrome(0x3f, 0).decode().pc_advance(), 0);
        assert_eq!(syndrome(ec::WATCHPOINT_LOWER, 0).decode().pc_advance(), 0);
    }

    #[test]
    fn debug_classes_decode_and_convert_for_el1() {
        for class in 0x30..=0x35u8 {
            let Exception::Debug(d) = syndrome(class, 0x1_2345).decode() else {
                panic!("{class:#x} is a debug exception");
            };
            assert_eq!((d.ec, d.iss), (class, 0x1_2345));
            assert_eq!(d.class_for_el1(1), class | 1, "same EL");
            assert_eq!(d.class_for_el1(0), class & !1, "lower EL");
        }
    }
}
