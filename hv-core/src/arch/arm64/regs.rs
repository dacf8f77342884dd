//! arm64 register names, independent of any backend's numbering.

/// A general-purpose or special register reachable through `VcpuArm64::reg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arm64Reg {
    /// X0..X30 (`X(31)` is not a register: 31 encodes XZR/SP in instructions).
    X(u8),
    /// Program counter.
    Pc,
    /// PSTATE as saved in SPSR format.
    Cpsr,
    /// Floating-point control register.
    Fpcr,
    /// Floating-point status register.
    Fpsr,
}

impl Arm64Reg {
    /// X`n` if `n <= 30`.
    pub fn x(n: u8) -> Option<Self> {
        (n <= 30).then_some(Arm64Reg::X(n))
    }
}

/// System registers hv reads or writes on arm64 guests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs, non_camel_case_types)]
pub enum Arm64SysReg {
    SCTLR_EL1,
    TCR_EL1,
    TTBR0_EL1,
    TTBR1_EL1,
    MAIR_EL1,
    VBAR_EL1,
    CPACR_EL1,
    SPSR_EL1,
    ELR_EL1,
    ESR_EL1,
    FAR_EL1,
    SP_EL0,
    SP_EL1,
    TPIDR_EL1,
    CNTV_CTL_EL0,
    CNTV_CVAL_EL0,
    CNTKCTL_EL1,
    MPIDR_EL1,
    MIDR_EL1,
}
