//! hv-core register names to HVF's `hv_reg_t` / `hv_sys_reg_t`.

use applevisor_sys::{hv_reg_t, hv_sys_reg_t};
use hv_core::arch::arm64::{Arm64Reg, Arm64SysReg};

/// X0..X30 in order (`hv_reg_t` has no numeric constructor).
const X_REGS: [hv_reg_t; 31] = {
    use hv_reg_t::*;
    [
        X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12, X13, X14, X15, X16, X17, X18, X19,
        X20, X21, X22, X23, X24, X25, X26, X27, X28, X29, X30,
    ]
};

/// The HVF register for `reg`; `None` for `X(n)` with n > 30 (31 is XZR/SP, not a
/// register).
pub fn hv_reg(reg: Arm64Reg) -> Option<hv_reg_t> {
    match reg {
        Arm64Reg::X(n) => X_REGS.get(usize::from(n)).copied(),
        Arm64Reg::Pc => Some(hv_reg_t::PC),
        Arm64Reg::Cpsr => Some(hv_reg_t::CPSR),
        Arm64Reg::Fpcr => Some(hv_reg_t::FPCR),
        Arm64Reg::Fpsr => Some(hv_reg_t::FPSR),
    }
}

/// The HVF system register for `reg`.
pub fn hv_sys_reg(reg: Arm64SysReg) -> hv_sys_reg_t {
    use Arm64SysReg as R;
    match reg {
        R::SCTLR_EL1 => hv_sys_reg_t::SCTLR_EL1,
        R::TCR_EL1 => hv_sys_reg_t::TCR_EL1,
        R::TTBR0_EL1 => hv_sys_reg_t::TTBR0_EL1,
        R::TTBR1_EL1 => hv_sys_reg_t::TTBR1_EL1,
        R::MAIR_EL1 => hv_sys_reg_t::MAIR_EL1,
        R::VBAR_EL1 => hv_sys_reg_t::VBAR_EL1,
        R::CPACR_EL1 => hv_sys_reg_t::CPACR_EL1,
        R::SPSR_EL1 => hv_sys_reg_t::SPSR_EL1,
        R::ELR_EL1 => hv_sys_reg_t::ELR_EL1,
        R::ESR_EL1 => hv_sys_reg_t::ESR_EL1,
        R::FAR_EL1 => hv_sys_reg_t::FAR_EL1,
        R::SP_EL0 => hv_sys_reg_t::SP_EL0,
        R::SP_EL1 => hv_sys_reg_t::SP_EL1,
        R::TPIDR_EL1 => hv_sys_reg_t::TPIDR_EL1,
        R::CNTV_CTL_EL0 => hv_sys_reg_t::CNTV_CTL_EL0,
        R::CNTV_CVAL_EL0 => hv_sys_reg_t::CNTV_CVAL_EL0,
        R::CNTKCTL_EL1 => hv_sys_reg_t::CNTKCTL_EL1,
        R::MPIDR_EL1 => hv_sys_reg_t::MPIDR_EL1,
        R::MIDR_EL1 => hv_sys_reg_t::MIDR_EL1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_registers_map_in_order_and_31_is_refused() {
        for n in 0..=30u8 {
            assert_eq!(hv_reg(Arm64Reg::X(n)).map(|r| r as u32), Some(u32::from(n)));
        }
        for n in 31..=255u8 {
            assert_eq!(hv_reg(Arm64Reg::X(n)), None);
        }
        assert_eq!(hv_reg(Arm64Reg::Pc), Some(hv_reg_t::PC));
        assert_eq!(hv_reg(Arm64Reg::Cpsr), Some(hv_reg_t::CPSR));
    }

    #[test]
    fn sys_regs_use_the_architectural_encoding() {
        // hv_sys_reg_t values are op0<<14 | op1<<11 | CRn<<7 | CRm<<3 | op2.
        let enc = |op0: u32, op1: u32, crn: u32, crm: u32, op2: u32| {
            (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
        };
        assert_eq!(
            hv_sys_reg(Arm64SysReg::SCTLR_EL1) as u32,
            enc(3, 0, 1, 0, 0)
        );
        assert_eq!(
            hv_sys_reg(Arm64SysReg::CNTV_CTL_EL0) as u32,
            enc(3, 3, 14, 3, 1)
        );
        assert_eq!(
            hv_sys_reg(Arm64SysReg::CNTV_CVAL_EL0) as u32,
            enc(3, 3, 14, 3, 2)
        );
        assert_eq!(
            hv_sys_reg(Arm64SysReg::MPIDR_EL1) as u32,
            enc(3, 0, 0, 0, 5)
        );
        assert_eq!(hv_sys_reg(Arm64SysReg::SP_EL1) as u32, enc(3, 4, 4, 1, 0));
    }
}
