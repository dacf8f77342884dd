//! hv-core register names to HVF's `hv_reg_t` / `hv_sys_reg_t` codes (see [`crate::abi`]).

use hv_core::arch::arm64::{Arm64Reg, Arm64SysReg};

use crate::abi::{reg, sys_reg};

/// The `hv_reg_t` for `reg`; `None` for `X(n)` with n > 30 (31 is XZR/SP in encodings,
/// not a register).
pub fn hv_reg(r: Arm64Reg) -> Option<u32> {
    match r {
        Arm64Reg::X(n) if n <= 30 => Some(reg::X0 + u32::from(n)),
        Arm64Reg::X(_) => None,
        Arm64Reg::Pc => Some(reg::PC),
        Arm64Reg::Cpsr => Some(reg::CPSR),
        Arm64Reg::Fpcr => Some(reg::FPCR),
        Arm64Reg::Fpsr => Some(reg::FPSR),
    }
}

/// The `hv_sys_reg_t` for `r`.
pub fn hv_sys_reg(r: Arm64SysReg) -> u16 {
    use Arm64SysReg as R;
    match r {
        R::SCTLR_EL1 => sys_reg::SCTLR_EL1,
        R::TCR_EL1 => sys_reg::TCR_EL1,
        R::TTBR0_EL1 => sys_reg::TTBR0_EL1,
        R::TTBR1_EL1 => sys_reg::TTBR1_EL1,
        R::MAIR_EL1 => sys_reg::MAIR_EL1,
        R::VBAR_EL1 => sys_reg::VBAR_EL1,
        R::CPACR_EL1 => sys_reg::CPACR_EL1,
        R::SPSR_EL1 => sys_reg::SPSR_EL1,
        R::ELR_EL1 => sys_reg::ELR_EL1,
        R::ESR_EL1 => sys_reg::ESR_EL1,
        R::FAR_EL1 => sys_reg::FAR_EL1,
        R::SP_EL0 => sys_reg::SP_EL0,
        R::SP_EL1 => sys_reg::SP_EL1,
        R::TPIDR_EL1 => sys_reg::TPIDR_EL1,
        R::CNTV_CTL_EL0 => sys_reg::CNTV_CTL_EL0,
        R::CNTV_CVAL_EL0 => sys_reg::CNTV_CVAL_EL0,
        R::CNTKCTL_EL1 => sys_reg::CNTKCTL_EL1,
        R::MPIDR_EL1 => sys_reg::MPIDR_EL1,
        R::MIDR_EL1 => sys_reg::MIDR_EL1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_registers_map_in_order_and_31_is_refused() {
        for n in 0..=30u8 {
            assert_eq!(hv_reg(Arm64Reg::X(n)), Some(u32::from(n)));
        }
        for n in 31..=255u8 {
            assert_eq!(hv_reg(Arm64Reg::X(n)), None);
        }
        assert_eq!(hv_reg(Arm64Reg::Pc), Some(31));
        assert_eq!(hv_reg(Arm64Reg::Fpcr), Some(32));
        assert_eq!(hv_reg(Arm64Reg::Fpsr), Some(33));
        assert_eq!(hv_reg(Arm64Reg::Cpsr), Some(34));
    }

    #[test]
    fn every_sys_reg_has_the_binding_value_too() {
        // The abi pins test our codes against the header; this checks the mapping picks
        // the right code for each name, using applevisor-sys's (correct) sysreg table.
        use Arm64SysReg as R;
        use applevisor_sys::hv_sys_reg_t as B;
        for (r, b) in [
            (R::SCTLR_EL1, B::SCTLR_EL1),
            (R::TCR_EL1, B::TCR_EL1),
            (R::TTBR0_EL1, B::TTBR0_EL1),
            (R::TTBR1_EL1, B::TTBR1_EL1),
            (R::MAIR_EL1, B::MAIR_EL1),
            (R::VBAR_EL1, B::VBAR_EL1),
            (R::CPACR_EL1, B::CPACR_EL1),
            (R::SPSR_EL1, B::SPSR_EL1),
            (R::ELR_EL1, B::ELR_EL1),
            (R::ESR_EL1, B::ESR_EL1),
            (R::FAR_EL1, B::FAR_EL1),
            (R::SP_EL0, B::SP_EL0),
            (R::SP_EL1, B::SP_EL1),
            (R::TPIDR_EL1, B::TPIDR_EL1),
            (R::CNTV_CTL_EL0, B::CNTV_CTL_EL0),
            (R::CNTV_CVAL_EL0, B::CNTV_CVAL_EL0),
            (R::CNTKCTL_EL1, B::CNTKCTL_EL1),
            (R::MPIDR_EL1, B::MPIDR_EL1),
            (R::MIDR_EL1, B::MIDR_EL1),
        ] {
            assert_eq!(u32::from(hv_sys_reg(r)), b as u32, "{r:?}");
        }
    }
}
