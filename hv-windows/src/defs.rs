//! Bit layouts from WinHvPlatformDefs.h and WinHvEmulation.h that windows-sys exposes
//! only as raw words (`_bitfield`, `AsUINT16/32/64`), plus the few architectural bits the
//! backend tests at exits.
//!
//! Every value here is pinned against the header in `pins.rs`; the code uses these
//! names instead of inline shifts so the pins cover what actually runs.

/// `WHV_X64_VP_EXECUTION_STATE.AsUINT16` (`VpContext.ExecutionState`).
pub(crate) mod exec_state {
    /// `Cpl : 2`.
    pub(crate) const CPL_MASK: u16 = 0b11;
    /// `Cr0Pe : 1`.
    pub(crate) const CR0_PE: u16 = 1 << 2;
    /// `EferLma : 1`.
    pub(crate) const EFER_LMA: u16 = 1 << 4;
    /// `InterruptionPending : 1`: an event is queued for the next entry.
    pub(crate) const INTERRUPTION_PENDING: u16 = 1 << 6;
    /// `InterruptShadow : 1`: `sti` / `mov ss` blocks interrupts for one instruction.
    pub(crate) const INTERRUPT_SHADOW: u16 = 1 << 12;
}

/// `WHV_VP_EXIT_CONTEXT`: `UINT8 InstructionLength : 4; UINT8 Cr8 : 4;` (windows-sys
/// `_bitfield`).
pub(crate) const VP_CONTEXT_INSTRUCTION_LENGTH_MASK: u8 = 0x0F;

/// `WHV_MEMORY_ACCESS_INFO.AsUINT32`.
pub(crate) mod memory_access {
    /// `AccessType : 2` (`WHV_MEMORY_ACCESS_TYPE`: 0 read, 1 write, 2 execute).
    pub(crate) const ACCESS_TYPE_MASK: u32 = 0b11;
    /// `GpaUnmapped : 1`: no `WHvMapGpaRange` covers the GPA.
    pub(crate) const GPA_UNMAPPED: u32 = 1 << 2;
    /// `GvaValid : 1`.
    pub(crate) const GVA_VALID: u32 = 1 << 3;
}

/// `WHV_X64_IO_PORT_ACCESS_INFO.AsUINT32`.
pub(crate) mod io_access {
    /// `IsWrite : 1`.
    pub(crate) const IS_WRITE: u32 = 1 << 0;
    /// `AccessSize : 3`, in bytes.
    pub(crate) const ACCESS_SIZE_SHIFT: u32 = 1;
    /// The width of `AccessSize`, as a mask after shifting.
    pub(crate) const ACCESS_SIZE_MASK: u32 = 0b111;
    /// `StringOp : 1`.
    pub(crate) const STRING_OP: u32 = 1 << 4;
    /// `RepPrefix : 1`.
    pub(crate) const REP_PREFIX: u32 = 1 << 5;
}

/// `WHV_X64_MSR_ACCESS_INFO.AsUINT32`: `IsWrite : 1`.
pub(crate) const MSR_ACCESS_IS_WRITE: u32 = 1 << 0;

/// `WHV_X64_PENDING_INTERRUPTION_REGISTER.AsUINT64`.
pub(crate) mod pending_interruption {
    /// `InterruptionPending : 1`.
    pub(crate) const PENDING: u64 = 1 << 0;
    /// `InterruptionType : 3` (`WHV_X64_PENDING_INTERRUPTION_TYPE`).
    pub(crate) const TYPE_SHIFT: u32 = 1;
    /// `InterruptionVector : 16`.
    pub(crate) const VECTOR_SHIFT: u32 = 16;
}

/// `WHV_X64_DELIVERABILITY_NOTIFICATIONS_REGISTER.AsUINT64`: `InterruptNotification : 1`
/// asks for a `WHvRunVpExitReasonX64InterruptWindow` exit.
pub(crate) const DELIVERABILITY_INTERRUPT_NOTIFICATION: u64 = 1 << 1;

/// `WHV_X64_INTERRUPT_STATE_REGISTER.AsUINT64`.
pub(crate) mod interrupt_state {
    /// `InterruptShadow : 1`.
    pub(crate) const INTERRUPT_SHADOW: u64 = 1 << 0;
    /// `NmiMasked : 1` (kept when hv clears the shadow; the tests check that).
    #[cfg(test)]
    pub(crate) const NMI_MASKED: u64 = 1 << 1;
}

/// `WHV_EXTENDED_VM_EXITS.AsUINT64`: `X64CpuidExit : 1`.
pub(crate) const EXTENDED_VM_EXITS_X64_CPUID: u64 = 1 << 0;

/// `WHV_X64_SEGMENT_REGISTER.Attributes` bits the IP width depends on.
pub(crate) mod segment {
    /// `Long : 1` (CS.L).
    pub(crate) const LONG: u16 = 1 << 13;
    /// `Default : 1` (CS.D/B).
    pub(crate) const DEFAULT: u16 = 1 << 14;
}

/// Architectural bits (Intel SDM vol. 3 §2.3, vol. 1 §3.4.3; not from the WHP headers).
pub(crate) mod arch {
    /// CR4.OSXSAVE, bit 18: the OS enabled XSAVE; CPUID.1:ECX.OSXSAVE mirrors it.
    pub(crate) const CR4_OSXSAVE: u64 = 1 << 18;
    /// CPUID.1:ECX.OSXSAVE, bit 27.
    pub(crate) const CPUID1_ECX_OSXSAVE: u32 = 1 << 27;
    /// RFLAGS.RF, bit 16: suppresses instruction breakpoints for one instruction; the CPU
    /// clears it when an instruction completes.
    pub(crate) const RFLAGS_RF: u64 = 1 << 16;
}
