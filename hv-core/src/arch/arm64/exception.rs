//! Taking a synchronous exception to EL1 on the guest's behalf.
//!
//! A VMM that emulates an instruction sometimes has to answer "this instruction is
//! UNDEFINED" (an unknown system register) or pass an exception it trapped back to the
//! guest (a `brk` once debug exceptions trap to the host). Hardware does that by the
//! Arm ARM's `AArch64.TakeException` (DDI 0487, J1.1.2): save PSTATE in SPSR_EL1 and
//! the preferred return address in ELR_EL1, write ESR_EL1 (and FAR_EL1 for aborts),
//! switch to EL1h with D, A, I, F masked, and branch to the vector for the source. This
//! module computes those register values; the backend writes them. QEMU's
//! `hvf_raise_exception` (target/arm/hvf/hvf.c) does the same through TCG's
//! `arm_cpu_do_interrupt`.

use super::esr::{EC_SHIFT, IL_BIT};

/// PSTATE/SPSR bits (SPSR_EL1 layout, Arm ARM C5.2.18).
pub mod psr {
    /// N, Z, C, V.
    pub const NZCV: u64 = 0xf << 28;
    /// Tag check override (FEAT_MTE).
    pub const TCO: u64 = 1 << 25;
    /// Data independent timing (FEAT_DIT).
    pub const DIT: u64 = 1 << 24;
    /// User access override (FEAT_UAO).
    pub const UAO: u64 = 1 << 23;
    /// Privileged access never (FEAT_PAN).
    pub const PAN: u64 = 1 << 22;
    /// Software step.
    pub const SS: u64 = 1 << 21;
    /// Illegal execution state.
    pub const IL: u64 = 1 << 20;
    /// Speculative store bypass safe (FEAT_SSBS).
    pub const SSBS: u64 = 1 << 12;
    /// Branch type (FEAT_BTI), bits [11:10].
    pub const BTYPE: u64 = 0b11 << 10;
    /// D, A, I, F: debug, SError, IRQ and FIQ masks.
    pub const DAIF: u64 = 0xf << 6;
    /// The I (IRQ mask) bit.
    pub const I: u64 = 1 << 7;
    /// The F (FIQ mask) bit.
    pub const F: u64 = 1 << 6;
    /// M[4]: the interrupted state was AArch32.
    pub const M_AARCH32: u64 = 1 << 4;
    /// M[3:0] = EL1h (EL1 using SP_EL1).
    pub const M_EL1H: u64 = 0b0101;
}

/// SCTLR_EL1.M: stage-1 MMU on.
pub const SCTLR_M: u64 = 1 << 0;
/// SCTLR_EL1.SPAN: 0 = set PSTATE.PAN on exceptions taken to EL1.
pub const SCTLR_SPAN: u64 = 1 << 23;
/// SCTLR_EL1.DSSBS: PSTATE.SSBS value on exceptions taken to EL1.
pub const SCTLR_DSSBS: u64 = 1 << 44;

/// Exception classes this module raises (ESR_ELx.EC).
pub mod class {
    /// Unknown reason: what an UNDEFINED instruction raises.
    pub const UNKNOWN: u8 = 0x00;
}

/// The optional PSTATE features that change exception entry, from the ID registers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryFeatures {
    /// FEAT_PAN (ID_AA64MMFR1_EL1.PAN != 0).
    pub pan: bool,
    /// FEAT_UAO (ID_AA64MMFR2_EL1.UAO != 0).
    pub uao: bool,
    /// FEAT_SSBS (ID_AA64PFR1_EL1.SSBS != 0).
    pub ssbs: bool,
    /// FEAT_MTE (ID_AA64PFR1_EL1.MTE != 0).
    pub mte: bool,
}

impl EntryFeatures {
    /// Reads the features from ID_AA64MMFR1_EL1, ID_AA64MMFR2_EL1 and ID_AA64PFR1_EL1.
    pub fn from_id_regs(mmfr1: u64, mmfr2: u64, pfr1: u64) -> Self {
        let field = |reg: u64, lsb: u32| (reg >> lsb) & 0xf;
        Self {
            pan: field(mmfr1, 20) != 0,
            uao: field(mmfr2, 4) != 0,
            ssbs: field(pfr1, 4) != 0,
            mte: field(pfr1, 8) != 0,
        }
    }
}

/// The guest state an exception entry starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryState {
    /// PSTATE in SPSR format (HVF's CPSR register).
    pub cpsr: u64,
    /// The preferred return address: for UNDEFINED and `brk`, the instruction itself.
    pub return_address: u64,
    /// VBAR_EL1.
    pub vbar: u64,
    /// SCTLR_EL1.
    pub sctlr: u64,
}

/// The register values after the exception is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// New PC: the vector.
    pub pc: u64,
    /// New PSTATE.
    pub cpsr: u64,
    /// ELR_EL1.
    pub elr: u64,
    /// SPSR_EL1.
    pub spsr: u64,
    /// ESR_EL1.
    pub esr: u64,
    /// Offset of the vector from VBAR_EL1 (0x000, 0x200, 0x400 or 0x600).
    pub vector_offset: u64,
}

/// Why the exception cannot be delivered to EL1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// The guest runs above EL1 (nested virtualization), where EL1 cannot take it.
    #[error("the guest is at EL{0}; an exception cannot be taken to EL1 from there")]
    AboveEl1(u8),
}

/// ESR_ELx for class `ec` with instruction-specific syndrome `iss` (IL = 1: every
/// exception raised here is for a 32-bit A64 instruction or has IL defined as 1).
pub fn syndrome(ec: u8, iss: u32) -> u64 {
    (u64::from(ec & 0x3f) << EC_SHIFT) | IL_BIT | u64::from(iss & 0x1ff_ffff)
}

/// The exception level PSTATE names (M[3:2]); AArch32 states count as EL0 (the only
/// AArch32 level an AArch64 EL1 can host).
pub fn exception_level(cpsr: u64) -> u8 {
    if cpsr & psr::M_AARCH32 != 0 {
        0
    } else {
        ((cpsr >> 2) & 0b11) as u8
    }
}

/// `AArch64.TakeException` to EL1 for a synchronous exception with syndrome `esr`.
pub fn take_sync_to_el1(
    state: &EntryState,
    esr: u64,
    features: EntryFeatures,
) -> Result<Entry, EntryError> {
    let el = exception_level(state.cpsr);
    if el > 1 {
        return Err(EntryError::AboveEl1(el));
    }
    let vector_offset = if state.cpsr & psr::M_AARCH32 != 0 {
        0x600
    } else if el == 0 {
        0x400
    } else if state.cpsr & 1 != 0 {
        // EL1h: current EL with SP_ELx.
        0x200
    } else {
        // EL1t: current EL with SP_EL0.
        0x000
    };

    // Unchanged by exception entry unless the feature rule below changes them.
    let mut cpsr = state.cpsr & (psr::NZCV | psr::DIT | psr::PAN | psr::UAO | psr::TCO | psr::SSBS);
    cpsr |= psr::DAIF | psr::M_EL1H;
    if features.pan && state.sctlr & SCTLR_SPAN == 0 {
        cpsr |= psr::PAN;
    }
    if features.uao {
        cpsr &= !psr::UAO;
    }
    if features.ssbs {
        cpsr &= !psr::SSBS;
        if state.sctlr & SCTLR_DSSBS != 0 {
            cpsr |= psr::SSBS;
        }
    }
    if features.mte {
        cpsr |= psr::TCO;
    }
    Ok(Entry {
        pc: (state.vbar & !0x7ff).wrapping_add(vector_offset),
        cpsr,
        elr: state.return_address,
        spsr: state.cpsr,
        esr,
        vector_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VBAR: u64 = 0x4000_0800;

    fn state(cpsr: u64) -> EntryState {
        EntryState {
            cpsr,
            return_address: 0x4000_1234,
            vbar: VBAR,
            sctlr: 0,
        }
    }

    #[test]
    fn vector_offsets_follow_the_source_state() {
        // (PSTATE, offset): EL1t, EL1h, EL0 AArch64, EL0 AArch32 (Arm ARM D1.3.1).
        for (cpsr, offset) in [
            (0b0100, 0x000),
            (0b0101, 0x200),
            (0b0000, 0x400),
            (0b1_0000, 0x600),
        ] {
            let e = take_sync_to_el1(&state(cpsr), syndrome(0, 0), EntryFeatures::default())
                .expect("EL0/EL1");
            assert_eq!(
                (e.vector_offset, e.pc),
                (offset, VBAR + offset),
                "{cpsr:#b}"
            );
        }
        assert_eq!(
            take_sync_to_el1(&state(0b1001), 0, EntryFeatures::default()),
            Err(EntryError::AboveEl1(2))
        );
    }

    #[test]
    fn entry_saves_state_and_masks_interrupts() {
        // EL1h with NZCV set, I and F clear, SS and IL set (must be cleared).
        let cpsr = (0b1010 << 28) | psr::SS | psr::IL | 0b0101;
        let e = take_sync_to_el1(
            &state(cpsr),
            syndrome(class::UNKNOWN, 0),
            EntryFeatures::default(),
        )
        .expect("EL1");
        assert_eq!(e.spsr, cpsr);
        assert_eq!(e.elr, 0x4000_1234);
        assert_eq!(e.esr, 0x0200_0000, "EC 0, IL 1");
        assert_eq!(e.cpsr, (0b1010 << 28) | psr::DAIF | psr::M_EL1H);
    }

    #[test]
    fn feature_rules() {
        let all = EntryFeatures {
            pan: true,
            uao: true,
            ssbs: true,
            mte: true,
        };
        let cpsr = psr::UAO | psr::SSBS | 0b0101;
        // SPAN = 0 sets PAN; UAO cleared; SSBS from DSSBS (0); TCO set.
        let e = take_sync_to_el1(&state(cpsr), 0, all).expect("EL1");
        assert_eq!(
            e.cpsr & (psr::PAN | psr::UAO | psr::SSBS | psr::TCO),
            psr::PAN | psr::TCO
        );
        // SPAN = 1 leaves PAN as it was; DSSBS = 1 sets SSBS.
        let st = EntryState {
            sctlr: SCTLR_SPAN | SCTLR_DSSBS,
            ..state(0b0101)
        };
        let e = take_sync_to_el1(&st, 0, all).expect("EL1");
        assert_eq!(e.cpsr & (psr::PAN | psr::SSBS), psr::SSBS);
        // Without the features the bits pass through untouched.
        let e = take_sync_to_el1(&state(cpsr), 0, EntryFeatures::default()).expect("EL1");
        assert_eq!(
            e.cpsr & (psr::UAO | psr::SSBS | psr::PAN | psr::TCO),
            psr::UAO | psr::SSBS
        );
    }

    #[test]
    fn features_from_id_registers() {
        let f = EntryFeatures::from_id_regs(1 << 20, 1 << 4, (2 << 8) | (1 << 4));
        assert_eq!(
            f,
            EntryFeatures {
                pan: true,
                uao: true,
                ssbs: true,
                mte: true
            }
        );
        assert_eq!(
            EntryFeatures::from_id_regs(0, 0, 0),
            EntryFeatures::default()
        );
    }

    #[test]
    fn vbar_low_bits_are_ignored_and_syndrome_is_masked() {
        let st = EntryState {
            vbar: VBAR | 0x7ff,
            ..state(0b0101)
        };
        assert_eq!(
            take_sync_to_el1(&st, 0, EntryFeatures::default()).map(|e| e.pc),
            Ok(VBAR + 0x200)
        );
        assert_eq!(syndrome(0x3c, 0x1234), 0xf200_1234);
        assert_eq!(syndrome(0xff, u32::MAX), 0xffff_ffff);
    }
}
