//! Hypervisor.framework's ABI as hv uses it: every constant, enum value and struct layout
//! taken from Apple's headers, as plain integers.
//!
//! hv declares its own FFI (`sys/ffi.rs`) with these types instead of calling through
//! applevisor-sys, because that binding gets facts wrong and models C enums as Rust enums:
//! `hv_interrupt_type_t` is declared `{ FIQ, IRQ }` (IRQ = 1) where Apple's header has
//! `HV_INTERRUPT_TYPE_IRQ = 0`, so every "IRQ" it injects is an FIQ; and an exit reason
//! Apple adds later would be an invalid Rust enum value (undefined behaviour) rather than
//! a number hv can report. The tests at the bottom pin each value to its header and say
//! where applevisor-sys 1.0.0 agrees and where it does not.
//!
//! Sources (copies read for this module):
//! * `Hypervisor.framework/Headers/hv_vcpu_types.h` (macOS 26 SDK, "Copyright © 2018-2025
//!   Apple"): `hv_exit_reason`, `hv_vcpu_exit_t`, `hv_reg`, `hv_sys_reg` (uint16_t),
//!   `hv_interrupt_type` (uint32_t). `OS_ENUM(name, type, ...)` makes `name_t` that
//!   integer type and the values an anonymous enum.
//! * `hv_vcpu.h` ("2018-2024"): prototypes, `hv_vcpu_set_vtimer_offset` semantics.
//! * `hv_kern_types.h` (xnu `osfmk/arm64/hv/`, included by `Hypervisor/hv_base.h`):
//!   `hv_return_t` codes and `hv_memory_flags_t`.
//! * `hv_gic.h`, `hv_gic_parameters.h`, `hv_gic_types.h` (macOS 15 SDK): GIC prototypes;
//!   "GIC distributor/redistributor register enum values are equal to the device register
//!   offsets defined in the ARM GIC v3 specification", and the ICC values are the system
//!   register encodings.

/// `hv_return_t` (a `mach_error_t`, 32 bits).
pub type HvReturn = i32;
/// `hv_vcpu_t`.
pub type HvVcpuId = u64;

/// `hv_return_t` codes (hv_kern_types.h: `err_local | err_sub(0xba5) | n`).
pub mod ret {
    /// HV_SUCCESS.
    pub const SUCCESS: u32 = 0;
    /// HV_ERROR.
    pub const ERROR: u32 = 0xfae9_4001;
    /// HV_BUSY.
    pub const BUSY: u32 = 0xfae9_4002;
    /// HV_BAD_ARGUMENT.
    pub const BAD_ARGUMENT: u32 = 0xfae9_4003;
    /// HV_ILLEGAL_GUEST_STATE.
    pub const ILLEGAL_GUEST_STATE: u32 = 0xfae9_4004;
    /// HV_NO_RESOURCES.
    pub const NO_RESOURCES: u32 = 0xfae9_4005;
    /// HV_NO_DEVICE.
    pub const NO_DEVICE: u32 = 0xfae9_4006;
    /// HV_DENIED.
    pub const DENIED: u32 = 0xfae9_4007;
    /// HV_EXISTS (applevisor-sys names this value HV_FAULT).
    pub const EXISTS: u32 = 0xfae9_4008;
    /// HV_UNSUPPORTED.
    pub const UNSUPPORTED: u32 = 0xfae9_400f;
}

/// `hv_memory_flags_t` bits (uint64_t).
pub mod memory {
    /// HV_MEMORY_READ.
    pub const READ: u64 = 1 << 0;
    /// HV_MEMORY_WRITE.
    pub const WRITE: u64 = 1 << 1;
    /// HV_MEMORY_EXEC.
    pub const EXEC: u64 = 1 << 2;
}

/// `hv_interrupt_type_t` (uint32_t).
pub mod interrupt {
    /// HV_INTERRUPT_TYPE_IRQ.
    pub const IRQ: u32 = 0;
    /// HV_INTERRUPT_TYPE_FIQ.
    pub const FIQ: u32 = 1;
}

/// `hv_exit_reason_t` (uint32_t).
pub mod exit_reason {
    /// HV_EXIT_REASON_CANCELED: `hv_vcpus_exit`.
    pub const CANCELED: u32 = 0;
    /// HV_EXIT_REASON_EXCEPTION: a synchronous exception to EL2.
    pub const EXCEPTION: u32 = 1;
    /// HV_EXIT_REASON_VTIMER_ACTIVATED: the vtimer became pending (and is now masked).
    pub const VTIMER_ACTIVATED: u32 = 2;
    /// HV_EXIT_REASON_UNKNOWN.
    pub const UNKNOWN: u32 = 3;

    /// The header's name for `reason`.
    pub fn name(reason: u32) -> &'static str {
        match reason {
            CANCELED => "HV_EXIT_REASON_CANCELED",
            EXCEPTION => "HV_EXIT_REASON_EXCEPTION",
            VTIMER_ACTIVATED => "HV_EXIT_REASON_VTIMER_ACTIVATED",
            UNKNOWN => "HV_EXIT_REASON_UNKNOWN",
            _ => "an exit reason this SDK does not define",
        }
    }
}

/// `hv_reg_t` (uint32_t): X0..X30 are 0..30.
pub mod reg {
    /// HV_REG_X0; X`n` is `X0 + n` for n <= 30.
    pub const X0: u32 = 0;
    /// HV_REG_PC.
    pub const PC: u32 = 31;
    /// HV_REG_FPCR.
    pub const FPCR: u32 = 32;
    /// HV_REG_FPSR.
    pub const FPSR: u32 = 33;
    /// HV_REG_CPSR.
    pub const CPSR: u32 = 34;
}

/// `hv_sys_reg_t` (uint16_t) values hv uses: the architectural encoding
/// `op0<<14 | op1<<11 | CRn<<7 | CRm<<3 | op2`.
#[allow(missing_docs)]
pub mod sys_reg {
    pub const MIDR_EL1: u16 = 0xc000;
    pub const MPIDR_EL1: u16 = 0xc005;
    pub const ID_AA64PFR1_EL1: u16 = 0xc021;
    pub const ID_AA64DFR0_EL1: u16 = 0xc028;
    pub const ID_AA64MMFR1_EL1: u16 = 0xc039;
    pub const ID_AA64MMFR2_EL1: u16 = 0xc03a;
    pub const SCTLR_EL1: u16 = 0xc080;
    pub const CPACR_EL1: u16 = 0xc082;
    pub const TTBR0_EL1: u16 = 0xc100;
    pub const TTBR1_EL1: u16 = 0xc101;
    pub const TCR_EL1: u16 = 0xc102;
    pub const SPSR_EL1: u16 = 0xc200;
    pub const ELR_EL1: u16 = 0xc201;
    pub const SP_EL0: u16 = 0xc208;
    pub const ESR_EL1: u16 = 0xc290;
    pub const FAR_EL1: u16 = 0xc300;
    pub const MAIR_EL1: u16 = 0xc510;
    pub const VBAR_EL1: u16 = 0xc600;
    pub const TPIDR_EL1: u16 = 0xc684;
    pub const CNTKCTL_EL1: u16 = 0xc708;
    pub const CNTV_CTL_EL0: u16 = 0xdf19;
    pub const CNTV_CVAL_EL0: u16 = 0xdf1a;
    pub const SP_EL1: u16 = 0xe208;
}

/// `hv_gic_icc_reg_t` values hv uses (the ICC system-register encodings).
#[allow(missing_docs)]
pub mod gic_icc {
    pub const PMR_EL1: u16 = 0xc230;
    pub const BPR0_EL1: u16 = 0xc643;
    pub const AP0R0_EL1: u16 = 0xc644;
    pub const AP1R0_EL1: u16 = 0xc648;
    pub const RPR_EL1: u16 = 0xc65b;
    pub const BPR1_EL1: u16 = 0xc663;
    pub const CTLR_EL1: u16 = 0xc664;
    pub const IGRPEN0_EL1: u16 = 0xc666;
    pub const IGRPEN1_EL1: u16 = 0xc667;
}

/// `hv_gic_distributor_reg_t` values hv uses (GICD register offsets, GICv3 spec 12.9).
#[allow(missing_docs)]
pub mod gicd {
    pub const CTLR: u32 = 0x0000;
    pub const IGROUPR0: u32 = 0x0080;
    pub const ISENABLER0: u32 = 0x0100;
    pub const ISPENDR0: u32 = 0x0200;
    pub const ISACTIVER0: u32 = 0x0300;
    pub const IPRIORITYR0: u32 = 0x0400;
}

/// `hv_gic_redistributor_reg_t` values hv uses (offsets from RD_base; the SGI_base frame
/// starts at 0x10000, GICv3 spec 12.10).
#[allow(missing_docs)]
pub mod gicr {
    pub const IGROUPR0: u32 = 0x1_0080;
    pub const ISENABLER0: u32 = 0x1_0100;
    pub const ISPENDR0: u32 = 0x1_0200;
    pub const ISACTIVER0: u32 = 0x1_0300;
    pub const IPRIORITYR0: u32 = 0x1_0400;
}

/// `hv_vcpu_exit_exception_t`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExitException {
    /// ESR_EL2 (`hv_exception_syndrome_t`).
    pub syndrome: u64,
    /// FAR_EL2 (`hv_exception_address_t`).
    pub virtual_address: u64,
    /// The faulting IPA (`hv_ipa_t`).
    pub physical_address: u64,
}

/// `hv_vcpu_exit_t`: the reason is a uint32_t, then 4 bytes of padding, then the
/// exception (8-aligned).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExitRecord {
    /// `hv_exit_reason_t`.
    pub reason: u32,
    /// Valid for `HV_EXIT_REASON_EXCEPTION`.
    pub exception: ExitException,
}

#[cfg(test)]
mod tests {
    //! Pins: (name, header value, our value, header). Then the same facts against
    //! applevisor-sys 1.0.0, row by row, marking where it is wrong.

    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    const VCPU_TYPES: &str = "hv_vcpu_types.h";
    const KERN_TYPES: &str = "hv_kern_types.h";
    const GIC_TYPES: &str = "hv_gic_types.h";

    /// The architectural encoding of (op0, op1, CRn, CRm, op2).
    fn enc(op0: u16, op1: u16, crn: u16, crm: u16, op2: u16) -> u16 {
        (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
    }

    #[test]
    fn header_values() {
        let rows: &[(&str, u64, u64, &str)] = &[
            ("HV_SUCCESS", 0, ret::SUCCESS.into(), KERN_TYPES),
            ("HV_ERROR", 0xfae9_4001, ret::ERROR.into(), KERN_TYPES),
            ("HV_BUSY", 0xfae9_4002, ret::BUSY.into(), KERN_TYPES),
            (
                "HV_BAD_ARGUMENT",
                0xfae9_4003,
                ret::BAD_ARGUMENT.into(),
                KERN_TYPES,
            ),
            (
                "HV_ILLEGAL_GUEST_STATE",
                0xfae9_4004,
                ret::ILLEGAL_GUEST_STATE.into(),
                KERN_TYPES,
            ),
            (
                "HV_NO_RESOURCES",
                0xfae9_4005,
                ret::NO_RESOURCES.into(),
                KERN_TYPES,
            ),
            (
                "HV_NO_DEVICE",
                0xfae9_4006,
                ret::NO_DEVICE.into(),
                KERN_TYPES,
            ),
            ("HV_DENIED", 0xfae9_4007, ret::DENIED.into(), KERN_TYPES),
            ("HV_EXISTS", 0xfae9_4008, ret::EXISTS.into(), KERN_TYPES),
            (
                "HV_UNSUPPORTED",
                0xfae9_400f,
                ret::UNSUPPORTED.into(),
                KERN_TYPES,
            ),
            ("HV_MEMORY_READ", 1, memory::READ, KERN_TYPES),
            ("HV_MEMORY_WRITE", 2, memory::WRITE, KERN_TYPES),
            ("HV_MEMORY_EXEC", 4, memory::EXEC, KERN_TYPES),
            (
                "HV_INTERRUPT_TYPE_IRQ",
                0,
                interrupt::IRQ.into(),
                VCPU_TYPES,
            ),
            (
                "HV_INTERRUPT_TYPE_FIQ",
                1,
                interrupt::FIQ.into(),
                VCPU_TYPES,
            ),
            (
                "HV_EXIT_REASON_CANCELED",
                0,
                exit_reason::CANCELED.into(),
                VCPU_TYPES,
            ),
            (
                "HV_EXIT_REASON_EXCEPTION",
                1,
                exit_reason::EXCEPTION.into(),
                VCPU_TYPES,
            ),
            (
                "HV_EXIT_REASON_VTIMER_ACTIVATED",
                2,
                exit_reason::VTIMER_ACTIVATED.into(),
                VCPU_TYPES,
            ),
            (
                "HV_EXIT_REASON_UNKNOWN",
                3,
                exit_reason::UNKNOWN.into(),
                VCPU_TYPES,
            ),
            ("HV_REG_X0", 0, reg::X0.into(), VCPU_TYPES),
            ("HV_REG_PC", 31, reg::PC.into(), VCPU_TYPES),
            ("HV_REG_FPCR", 32, reg::FPCR.into(), VCPU_TYPES),
            ("HV_REG_FPSR", 33, reg::FPSR.into(), VCPU_TYPES),
            ("HV_REG_CPSR", 34, reg::CPSR.into(), VCPU_TYPES),
            (
                "HV_SYS_REG_MIDR_EL1",
                0xc000,
                sys_reg::MIDR_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_MPIDR_EL1",
                0xc005,
                sys_reg::MPIDR_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_ID_AA64PFR1_EL1",
                0xc021,
                sys_reg::ID_AA64PFR1_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_ID_AA64DFR0_EL1",
                0xc028,
                sys_reg::ID_AA64DFR0_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_ID_AA64MMFR1_EL1",
                0xc039,
                sys_reg::ID_AA64MMFR1_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_ID_AA64MMFR2_EL1",
                0xc03a,
                sys_reg::ID_AA64MMFR2_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_SCTLR_EL1",
                0xc080,
                sys_reg::SCTLR_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_CPACR_EL1",
                0xc082,
                sys_reg::CPACR_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_TTBR0_EL1",
                0xc100,
                sys_reg::TTBR0_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_TTBR1_EL1",
                0xc101,
                sys_reg::TTBR1_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_TCR_EL1",
                0xc102,
                sys_reg::TCR_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_SPSR_EL1",
                0xc200,
                sys_reg::SPSR_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_ELR_EL1",
                0xc201,
                sys_reg::ELR_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_SP_EL0",
                0xc208,
                sys_reg::SP_EL0.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_ESR_EL1",
                0xc290,
                sys_reg::ESR_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_FAR_EL1",
                0xc300,
                sys_reg::FAR_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_MAIR_EL1",
                0xc510,
                sys_reg::MAIR_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_VBAR_EL1",
                0xc600,
                sys_reg::VBAR_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_TPIDR_EL1",
                0xc684,
                sys_reg::TPIDR_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_CNTKCTL_EL1",
                0xc708,
                sys_reg::CNTKCTL_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_CNTV_CTL_EL0",
                0xdf19,
                sys_reg::CNTV_CTL_EL0.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_CNTV_CVAL_EL0",
                0xdf1a,
                sys_reg::CNTV_CVAL_EL0.into(),
                VCPU_TYPES,
            ),
            (
                "HV_SYS_REG_SP_EL1",
                0xe208,
                sys_reg::SP_EL1.into(),
                VCPU_TYPES,
            ),
            (
                "HV_GIC_ICC_REG_PMR_EL1",
                0xc230,
                gic_icc::PMR_EL1.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_ICC_REG_BPR0_EL1",
                0xc643,
                gic_icc::BPR0_EL1.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_ICC_REG_AP0R0_EL1",
                0xc644,
                gic_icc::AP0R0_EL1.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_ICC_REG_AP1R0_EL1",
                0xc648,
                gic_icc::AP1R0_EL1.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_ICC_REG_RPR_EL1",
                0xc65b,
                gic_icc::RPR_EL1.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_ICC_REG_BPR1_EL1",
                0xc663,
                gic_icc::BPR1_EL1.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_ICC_REG_CTLR_EL1",
                0xc664,
                gic_icc::CTLR_EL1.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_ICC_REG_IGRPEN0_EL1",
                0xc666,
                gic_icc::IGRPEN0_EL1.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_ICC_REG_IGRPEN1_EL1",
                0xc667,
                gic_icc::IGRPEN1_EL1.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_DISTRIBUTOR_REG_GICD_CTLR",
                0x0000,
                gicd::CTLR.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_DISTRIBUTOR_REG_GICD_IGROUPR0",
                0x0080,
                gicd::IGROUPR0.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_DISTRIBUTOR_REG_GICD_ISENABLER0",
                0x0100,
                gicd::ISENABLER0.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_DISTRIBUTOR_REG_GICD_ISPENDR0",
                0x0200,
                gicd::ISPENDR0.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_DISTRIBUTOR_REG_GICD_ISACTIVER0",
                0x0300,
                gicd::ISACTIVER0.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_DISTRIBUTOR_REG_GICD_IPRIORITYR0",
                0x0400,
                gicd::IPRIORITYR0.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_REDISTRIBUTOR_REG_GICR_IGROUPR0",
                0x1_0080,
                gicr::IGROUPR0.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_REDISTRIBUTOR_REG_GICR_ISENABLER0",
                0x1_0100,
                gicr::ISENABLER0.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_REDISTRIBUTOR_REG_GICR_ISPENDR0",
                0x1_0200,
                gicr::ISPENDR0.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_REDISTRIBUTOR_REG_GICR_ISACTIVER0",
                0x1_0300,
                gicr::ISACTIVER0.into(),
                GIC_TYPES,
            ),
            (
                "HV_GIC_REDISTRIBUTOR_REG_GICR_IPRIORITYR0",
                0x1_0400,
                gicr::IPRIORITYR0.into(),
                GIC_TYPES,
            ),
        ];
        for &(name, header, ours, file) in rows {
            assert_eq!(ours, header, "{name}: ours {ours:#x}, {file} {header:#x}");
        }
    }

    #[test]
    fn system_register_codes_are_the_architectural_encodings() {
        let rows: &[(&str, u16, u16)] = &[
            ("MIDR_EL1", sys_reg::MIDR_EL1, enc(3, 0, 0, 0, 0)),
            ("MPIDR_EL1", sys_reg::MPIDR_EL1, enc(3, 0, 0, 0, 5)),
            (
                "ID_AA64PFR1_EL1",
                sys_reg::ID_AA64PFR1_EL1,
                enc(3, 0, 0, 4, 1),
            ),
            (
                "ID_AA64DFR0_EL1",
                sys_reg::ID_AA64DFR0_EL1,
                enc(3, 0, 0, 5, 0),
            ),
            (
                "ID_AA64MMFR1_EL1",
                sys_reg::ID_AA64MMFR1_EL1,
                enc(3, 0, 0, 7, 1),
            ),
            (
                "ID_AA64MMFR2_EL1",
                sys_reg::ID_AA64MMFR2_EL1,
                enc(3, 0, 0, 7, 2),
            ),
            ("SCTLR_EL1", sys_reg::SCTLR_EL1, enc(3, 0, 1, 0, 0)),
            ("CPACR_EL1", sys_reg::CPACR_EL1, enc(3, 0, 1, 0, 2)),
            ("TTBR0_EL1", sys_reg::TTBR0_EL1, enc(3, 0, 2, 0, 0)),
            ("TTBR1_EL1", sys_reg::TTBR1_EL1, enc(3, 0, 2, 0, 1)),
            ("TCR_EL1", sys_reg::TCR_EL1, enc(3, 0, 2, 0, 2)),
            ("SPSR_EL1", sys_reg::SPSR_EL1, enc(3, 0, 4, 0, 0)),
            ("ELR_EL1", sys_reg::ELR_EL1, enc(3, 0, 4, 0, 1)),
            ("SP_EL0", sys_reg::SP_EL0, enc(3, 0, 4, 1, 0)),
            ("ESR_EL1", sys_reg::ESR_EL1, enc(3, 0, 5, 2, 0)),
            ("FAR_EL1", sys_reg::FAR_EL1, enc(3, 0, 6, 0, 0)),
            ("MAIR_EL1", sys_reg::MAIR_EL1, enc(3, 0, 10, 2, 0)),
            ("VBAR_EL1", sys_reg::VBAR_EL1, enc(3, 0, 12, 0, 0)),
            ("TPIDR_EL1", sys_reg::TPIDR_EL1, enc(3, 0, 13, 0, 4)),
            ("CNTKCTL_EL1", sys_reg::CNTKCTL_EL1, enc(3, 0, 14, 1, 0)),
            ("CNTV_CTL_EL0", sys_reg::CNTV_CTL_EL0, enc(3, 3, 14, 3, 1)),
            ("CNTV_CVAL_EL0", sys_reg::CNTV_CVAL_EL0, enc(3, 3, 14, 3, 2)),
            ("SP_EL1", sys_reg::SP_EL1, enc(3, 4, 4, 1, 0)),
            ("ICC_PMR_EL1", gic_icc::PMR_EL1, enc(3, 0, 4, 6, 0)),
            ("ICC_BPR0_EL1", gic_icc::BPR0_EL1, enc(3, 0, 12, 8, 3)),
            ("ICC_AP0R0_EL1", gic_icc::AP0R0_EL1, enc(3, 0, 12, 8, 4)),
            ("ICC_AP1R0_EL1", gic_icc::AP1R0_EL1, enc(3, 0, 12, 9, 0)),
            ("ICC_RPR_EL1", gic_icc::RPR_EL1, enc(3, 0, 12, 11, 3)),
            ("ICC_BPR1_EL1", gic_icc::BPR1_EL1, enc(3, 0, 12, 12, 3)),
            ("ICC_CTLR_EL1", gic_icc::CTLR_EL1, enc(3, 0, 12, 12, 4)),
            (
                "ICC_IGRPEN0_EL1",
                gic_icc::IGRPEN0_EL1,
                enc(3, 0, 12, 12, 6),
            ),
            (
                "ICC_IGRPEN1_EL1",
                gic_icc::IGRPEN1_EL1,
                enc(3, 0, 12, 12, 7),
            ),
        ];
        for &(name, ours, arch) in rows {
            assert_eq!(ours, arch, "{name}");
        }
    }

    #[test]
    fn exit_record_layout() {
        // hv_vcpu_exit_t: uint32_t reason; 4 bytes padding; three uint64_t.
        let rows: &[(&str, usize, usize)] = &[
            ("sizeof(hv_vcpu_exit_t)", 32, size_of::<ExitRecord>()),
            ("alignof(hv_vcpu_exit_t)", 8, align_of::<ExitRecord>()),
            ("offsetof(reason)", 0, offset_of!(ExitRecord, reason)),
            ("offsetof(exception)", 8, offset_of!(ExitRecord, exception)),
            (
                "offsetof(exception.syndrome)",
                8,
                offset_of!(ExitRecord, exception.syndrome),
            ),
            (
                "offsetof(exception.virtual_address)",
                16,
                offset_of!(ExitRecord, exception.virtual_address),
            ),
            (
                "offsetof(exception.physical_address)",
                24,
                offset_of!(ExitRecord, exception.physical_address),
            ),
            ("sizeof(hv_exit_reason_t)", 4, size_of::<u32>()),
        ];
        for &(what, header, ours) in rows {
            assert_eq!(ours, header, "{what}");
        }
        // applevisor-sys agrees on the layout (its reason is a repr(C) enum, 4 bytes).
        use applevisor_sys::hv_vcpu_exit_t as B;
        assert_eq!(size_of::<B>(), size_of::<ExitRecord>());
        assert_eq!(offset_of!(B, exception), offset_of!(ExitRecord, exception));
        assert_eq!(
            offset_of!(B, exception.physical_address),
            offset_of!(ExitRecord, exception.physical_address)
        );
    }

    /// applevisor-sys 1.0.0 against the header, value by value. `agrees = false` rows
    /// are the binding's bugs, and the reason hv declares its own FFI.
    #[test]
    fn applevisor_sys_against_the_headers() {
        use applevisor_sys as b;
        let rows: Vec<(&str, u64, u64, bool)> = vec![
            (
                "HV_INTERRUPT_TYPE_IRQ",
                0,
                b::hv_interrupt_type_t::IRQ as u64,
                false,
            ),
            (
                "HV_INTERRUPT_TYPE_FIQ",
                1,
                b::hv_interrupt_type_t::FIQ as u64,
                false,
            ),
            (
                "HV_EXIT_REASON_CANCELED",
                0,
                b::hv_exit_reason_t::CANCELED as u64,
                true,
            ),
            (
                "HV_EXIT_REASON_EXCEPTION",
                1,
                b::hv_exit_reason_t::EXCEPTION as u64,
                true,
            ),
            (
                "HV_EXIT_REASON_VTIMER_ACTIVATED",
                2,
                b::hv_exit_reason_t::VTIMER_ACTIVATED as u64,
                true,
            ),
            (
                "HV_EXIT_REASON_UNKNOWN",
                3,
                b::hv_exit_reason_t::UNKNOWN as u64,
                true,
            ),
            ("HV_MEMORY_READ", 1, b::HV_MEMORY_READ, true),
            ("HV_MEMORY_WRITE", 2, b::HV_MEMORY_WRITE, true),
            ("HV_MEMORY_EXEC", 4, b::HV_MEMORY_EXEC, true),
            (
                "HV_ERROR",
                0xfae9_4001,
                b::hv_error_t::HV_ERROR as u64,
                true,
            ),
            ("HV_BUSY", 0xfae9_4002, b::hv_error_t::HV_BUSY as u64, true),
            (
                "HV_BAD_ARGUMENT",
                0xfae9_4003,
                b::hv_error_t::HV_BAD_ARGUMENT as u64,
                true,
            ),
            (
                "HV_ILLEGAL_GUEST_STATE",
                0xfae9_4004,
                b::hv_error_t::HV_ILLEGAL_GUEST_STATE as u64,
                true,
            ),
            (
                "HV_NO_RESOURCES",
                0xfae9_4005,
                b::hv_error_t::HV_NO_RESOURCES as u64,
                true,
            ),
            (
                "HV_NO_DEVICE",
                0xfae9_4006,
                b::hv_error_t::HV_NO_DEVICE as u64,
                true,
            ),
            (
                "HV_DENIED",
                0xfae9_4007,
                b::hv_error_t::HV_DENIED as u64,
                true,
            ),
            // Same number; the binding calls it HV_FAULT.
            (
                "HV_EXISTS",
                0xfae9_4008,
                b::hv_error_t::HV_FAULT as u64,
                true,
            ),
            (
                "HV_UNSUPPORTED",
                0xfae9_400f,
                b::hv_error_t::HV_UNSUPPORTED as u64,
                true,
            ),
            ("HV_REG_PC", 31, b::hv_reg_t::PC as u64, true),
            ("HV_REG_FPCR", 32, b::hv_reg_t::FPCR as u64, true),
            ("HV_REG_FPSR", 33, b::hv_reg_t::FPSR as u64, true),
            ("HV_REG_CPSR", 34, b::hv_reg_t::CPSR as u64, true),
            ("HV_REG_X30", 30, b::hv_reg_t::X30 as u64, true),
            (
                "HV_SYS_REG_SCTLR_EL1",
                0xc080,
                b::hv_sys_reg_t::SCTLR_EL1 as u64,
                true,
            ),
            (
                "HV_SYS_REG_VBAR_EL1",
                0xc600,
                b::hv_sys_reg_t::VBAR_EL1 as u64,
                true,
            ),
            (
                "HV_SYS_REG_ELR_EL1",
                0xc201,
                b::hv_sys_reg_t::ELR_EL1 as u64,
                true,
            ),
            (
                "HV_SYS_REG_SPSR_EL1",
                0xc200,
                b::hv_sys_reg_t::SPSR_EL1 as u64,
                true,
            ),
            (
                "HV_SYS_REG_ESR_EL1",
                0xc290,
                b::hv_sys_reg_t::ESR_EL1 as u64,
                true,
            ),
            (
                "HV_SYS_REG_FAR_EL1",
                0xc300,
                b::hv_sys_reg_t::FAR_EL1 as u64,
                true,
            ),
            (
                "HV_SYS_REG_CNTV_CTL_EL0",
                0xdf19,
                b::hv_sys_reg_t::CNTV_CTL_EL0 as u64,
                true,
            ),
            (
                "HV_SYS_REG_CNTV_CVAL_EL0",
                0xdf1a,
                b::hv_sys_reg_t::CNTV_CVAL_EL0 as u64,
                true,
            ),
            (
                "HV_SYS_REG_MPIDR_EL1",
                0xc005,
                b::hv_sys_reg_t::MPIDR_EL1 as u64,
                true,
            ),
            (
                "HV_SYS_REG_ID_AA64DFR0_EL1",
                0xc028,
                b::hv_sys_reg_t::ID_AA64DFR0_EL1 as u64,
                true,
            ),
            (
                "HV_SYS_REG_SP_EL1",
                0xe208,
                b::hv_sys_reg_t::SP_EL1 as u64,
                true,
            ),
            (
                "HV_GIC_ICC_REG_PMR_EL1",
                0xc230,
                b::hv_gic_icc_reg_t::PMR_EL1 as u64,
                true,
            ),
            (
                "HV_GIC_ICC_REG_RPR_EL1",
                0xc65b,
                b::hv_gic_icc_reg_t::RPR_EL1 as u64,
                true,
            ),
            (
                "HV_GIC_ICC_REG_IGRPEN1_EL1",
                0xc667,
                b::hv_gic_icc_reg_t::IGRPEN1_EL1 as u64,
                true,
            ),
            (
                "HV_GIC_DISTRIBUTOR_REG_GICD_ISPENDR0",
                0x0200,
                b::hv_gic_distributor_reg_t::ISPENDR0 as u64,
                true,
            ),
            (
                "HV_GIC_REDISTRIBUTOR_REG_GICR_ISPENDR0",
                0x1_0200,
                b::hv_gic_redistributor_reg_t::ISPENDR0 as u64,
                true,
            ),
        ];
        for (name, header, binding, agrees) in rows {
            assert_eq!(
                header == binding,
                agrees,
                "{name}: header {header:#x}, applevisor-sys {binding:#x}"
            );
        }
    }
}
