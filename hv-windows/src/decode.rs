//! `WHV_RUN_VP_EXIT_CONTEXT` -> [`Exit`] plus the [`VpState`] every exit carries.
//!
//! Pure: nothing here calls WHP. Every union read is guarded by `ExitReason`, and every
//! length the context reports is clamped before it is used as a slice bound.

// Matching on the SDK constant names keeps the code greppable against the headers.
#![allow(non_upper_case_globals)]

use hv_core::arch::x86::Segment;
use hv_core::arch::x86::cpuid::CpuidResult;
use windows_sys::Win32::System::Hypervisor::*;

use crate::defs::{
    MSR_ACCESS_IS_WRITE, VP_CONTEXT_INSTRUCTION_LENGTH_MASK, exec_state, memory_access,
};
use crate::io::{CodeSize, PortAccess};
use crate::regs::segment_from_whv;

/// The processor state WHP reports with every exit (`WHV_VP_EXIT_CONTEXT`). Using it
/// saves a register read per exit (notes/backends.md §1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct VpState {
    /// RIP of the intercepted instruction.
    pub rip: u64,
    /// RFLAGS at the exit.
    pub rflags: u64,
    /// CS with its cached descriptor.
    pub cs: Segment,
    /// ExecutionState bits 0-1.
    pub cpl: u8,
    /// ExecutionState bit 2 (CR0.PE).
    pub protected_mode: bool,
    /// ExecutionState bit 4 (EFER.LMA).
    pub long_mode_active: bool,
    /// Length of the intercepted instruction (bits 0-3 of the bitfield byte); only
    /// meaningful for I/O, MSR and CPUID exits.
    pub instruction_len: u8,
    /// ExecutionState bit 6: an event is already queued for injection.
    pub interruption_pending: bool,
    /// ExecutionState bit 12: `sti` or `mov ss` shadow blocks interrupts.
    pub interrupt_shadow: bool,
}

impl VpState {
    /// Reads the VP context.
    pub(crate) fn from_whv(vp: &WHV_VP_EXIT_CONTEXT) -> Self {
        // SAFETY: the union is a u16 either way (bitfield struct or AsUINT16).
        let es = unsafe { vp.ExecutionState.AsUINT16 };
        Self {
            rip: vp.Rip,
            rflags: vp.Rflags,
            cs: segment_from_whv(&vp.Cs),
            cpl: (es & exec_state::CPL_MASK) as u8,
            protected_mode: es & exec_state::CR0_PE != 0,
            long_mode_active: es & exec_state::EFER_LMA != 0,
            instruction_len: vp._bitfield & VP_CONTEXT_INSTRUCTION_LENGTH_MASK,
            interruption_pending: es & exec_state::INTERRUPTION_PENDING != 0,
            interrupt_shadow: es & exec_state::INTERRUPT_SHADOW != 0,
        }
    }

    /// The instruction-pointer width at the exit.
    pub(crate) fn code_size(&self) -> CodeSize {
        CodeSize::from_cs(self.long_mode_active, self.cs.attributes())
    }
}

/// Up to 16 instruction bytes fetched by the hypervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct InsnBytes {
    bytes: [u8; 16],
    len: u8,
}

impl InsnBytes {
    fn new(count: u8, bytes: [u8; 16]) -> Self {
        Self {
            bytes,
            len: count.min(16),
        }
    }

    /// The valid bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// What kind of memory access trapped (`WHV_MEMORY_ACCESS_INFO` bits 0-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccessKind {
    Read,
    Write,
    Execute,
    /// The reserved value 3.
    Reserved,
}

impl AccessKind {
    /// "read", "write", "instruction fetch" (for reports).
    pub(crate) fn describe(self) -> &'static str {
        match self {
            AccessKind::Read => "read",
            AccessKind::Write => "write",
            AccessKind::Execute => "instruction fetch",
            AccessKind::Reserved => "access of reserved type 3",
        }
    }
}

/// A `WHvRunVpExitReasonMemoryAccess` payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MemoryExit {
    pub gpa: u64,
    pub gva: u64,
    pub kind: AccessKind,
    /// Bit 2: no mapping at all (as opposed to a permission fault on a mapping).
    pub gpa_unmapped: bool,
    /// Bit 3: `gva` is meaningful.
    pub gva_valid: bool,
    pub bytes: InsnBytes,
}

/// One exit, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// IN/OUT/INS/OUTS.
    Io {
        access: PortAccess,
        rax: u64,
        bytes: InsnBytes,
    },
    /// An I/O exit whose size field is not 1, 2 or 4.
    IoMalformed { port: u16, access_info: u32 },
    /// A guest access to unmapped or protected guest-physical memory.
    Memory(MemoryExit),
    /// HLT (only reaches userspace without an in-hypervisor APIC).
    Halt,
    /// The interrupt window requested via DeliverabilityNotifications is open.
    InterruptWindow,
    /// `WHvCancelRunVirtualProcessor`.
    Canceled,
    /// Triple fault.
    UnrecoverableException,
    /// The register state set by the VMM is inconsistent.
    InvalidVpRegisterValue,
    /// `FeatureCode` 1 = intercept, 2 = task switch through a TSS.
    UnsupportedFeature { code: i32, parameter: u64 },
    /// RDMSR/WRMSR (only with the X64MsrExit extended exit).
    Msr {
        number: u32,
        is_write: bool,
        rax: u64,
        rdx: u64,
    },
    /// CPUID (only with the X64CpuidExit extended exit and a listed leaf).
    Cpuid {
        leaf: u32,
        subleaf: u32,
        default: CpuidResult,
    },
    /// An exception intercepted through the exception bitmap.
    Exception {
        vector: u8,
        error_code: u32,
        bytes: InsnBytes,
    },
    /// Anything else, with the raw `ExitReason`.
    Unknown { reason: i32 },
}

/// Classifies an exit context.
pub(crate) fn decode(ctx: &WHV_RUN_VP_EXIT_CONTEXT) -> (VpState, Exit) {
    let state = VpState::from_whv(&ctx.VpContext);
    let u = &ctx.Anonymous;
    // SAFETY (all union reads below): each arm reads the variant `ExitReason` names, and
    // every variant is plain integer data, so even a wrong reason yields only bad
    // numbers, never invalid values.
    let exit = match ctx.ExitReason {
        WHvRunVpExitReasonX64IoPortAccess => {
            // SAFETY: see above.
            let io = unsafe { &u.IoPortAccess };
            // SAFETY: see above.
            let info = unsafe { io.AccessInfo.AsUINT32 };
            match PortAccess::decode(io.PortNumber, info) {
                Some(access) => Exit::Io {
                    access,
                    rax: io.Rax,
                    bytes: InsnBytes::new(io.InstructionByteCount, io.InstructionBytes),
                },
                None => Exit::IoMalformed {
                    port: io.PortNumber,
                    access_info: info,
                },
            }
        }
        WHvRunVpExitReasonMemoryAccess => {
            // SAFETY: see above.
            let m = unsafe { &u.MemoryAccess };
            // SAFETY: see above.
            let info = unsafe { m.AccessInfo.AsUINT32 };
            Exit::Memory(MemoryExit {
                gpa: m.Gpa,
                gva: m.Gva,
                kind: match (info & memory_access::ACCESS_TYPE_MASK) as i32 {
                    WHvMemoryAccessRead => AccessKind::Read,
                    WHvMemoryAccessWrite => AccessKind::Write,
                    WHvMemoryAccessExecute => AccessKind::Execute,
                    _ => AccessKind::Reserved,
                },
                gpa_unmapped: info & memory_access::GPA_UNMAPPED != 0,
                gva_valid: info & memory_access::GVA_VALID != 0,
                bytes: InsnBytes::new(m.InstructionByteCount, m.InstructionBytes),
            })
        }
        WHvRunVpExitReasonX64Halt => Exit::Halt,
        WHvRunVpExitReasonX64InterruptWindow => Exit::InterruptWindow,
        WHvRunVpExitReasonCanceled => Exit::Canceled,
        WHvRunVpExitReasonUnrecoverableException => Exit::UnrecoverableException,
        WHvRunVpExitReasonInvalidVpRegisterValue => Exit::InvalidVpRegisterValue,
        WHvRunVpExitReasonUnsupportedFeature => {
            // SAFETY: see above.
            let f = unsafe { &u.UnsupportedFeature };
            Exit::UnsupportedFeature {
                code: f.FeatureCode,
                parameter: f.FeatureParameter,
            }
        }
        WHvRunVpExitReasonX64MsrAccess => {
            // SAFETY: see above.
            let m = unsafe { &u.MsrAccess };
            Exit::Msr {
                number: m.MsrNumber,
                // SAFETY: see above.
                is_write: unsafe { m.AccessInfo.AsUINT32 } & MSR_ACCESS_IS_WRITE != 0,
                rax: m.Rax,
                rdx: m.Rdx,
            }
        }
        WHvRunVpExitReasonX64Cpuid => {
            // SAFETY: see above.
            let c = unsafe { &u.CpuidAccess };
            Exit::Cpuid {
                leaf: c.Rax as u32,
                subleaf: c.Rcx as u32,
                default: CpuidResult {
                    eax: c.DefaultResultRax as u32,
                    ebx: c.DefaultResultRbx as u32,
                    ecx: c.DefaultResultRcx as u32,
                    edx: c.DefaultResultRdx as u32,
                },
            }
        }
        WHvRunVpExitReasonException => {
            // SAFETY: see above.
            let e = unsafe { &u.VpException };
            Exit::Exception {
                vector: e.ExceptionType,
                error_code: e.ErrorCode,
                bytes: InsnBytes::new(e.InstructionByteCount, e.InstructionBytes),
            }
        }
        reason => Exit::Unknown { reason },
    };
    (state, exit)
}

/// A name for an exit reason code, for errors and logs.
pub(crate) fn exit_reason_name(reason: i32) -> &'static str {
    match reason {
        WHvRunVpExitReasonNone => "None",
        WHvRunVpExitReasonMemoryAccess => "MemoryAccess",
        WHvRunVpExitReasonX64IoPortAccess => "X64IoPortAccess",
        WHvRunVpExitReasonUnrecoverableException => "UnrecoverableException",
        WHvRunVpExitReasonInvalidVpRegisterValue => "InvalidVpRegisterValue",
        WHvRunVpExitReasonUnsupportedFeature => "UnsupportedFeature",
        WHvRunVpExitReasonX64InterruptWindow => "X64InterruptWindow",
        WHvRunVpExitReasonX64Halt => "X64Halt",
        WHvRunVpExitReasonX64ApicEoi => "X64ApicEoi",
        WHvRunVpExitReasonSynicSintDeliverable => "SynicSintDeliverable",
        WHvRunVpExitReasonX64MsrAccess => "X64MsrAccess",
        WHvRunVpExitReasonX64Cpuid => "X64Cpuid",
        WHvRunVpExitReasonException => "Exception",
        WHvRunVpExitReasonX64Rdtsc => "X64Rdtsc",
        WHvRunVpExitReasonX64ApicSmiTrap => "X64ApicSmiTrap",
        WHvRunVpExitReasonHypercall => "Hypercall",
        WHvRunVpExitReasonX64ApicInitSipiTrap => "X64ApicInitSipiTrap",
        WHvRunVpExitReasonX64ApicWriteTrap => "X64ApicWriteTrap",
        WHvRunVpExitReasonCanceled => "Canceled",
        _ => "unknown",
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Exit contexts built byte by byte from the documented layout (WinHvPlatformDefs.h),
    //! independent of the windows-sys struct definitions they are checked against.

    use windows_sys::Win32::System::Hypervisor::WHV_RUN_VP_EXIT_CONTEXT;

    /// Offset of the exit-specific union.
    pub const PAYLOAD: usize = 48;

    /// A 224-byte exit context image.
    pub struct Fixture(pub [u8; 224]);

    impl Fixture {
        /// Reason, RIP, RFLAGS, ExecutionState, instruction length and CS attributes.
        pub fn new(
            reason: i32,
            rip: u64,
            rflags: u64,
            exec_state: u16,
            len: u8,
            cs_attr: u16,
        ) -> Self {
            let mut f = Fixture([0; 224]);
            f.put(0, &reason.to_le_bytes());
            f.put(8, &exec_state.to_le_bytes());
            f.put(10, &[len & 0xF]);
            // CS: base 0, limit 0xffff, selector 0, attributes.
            f.put(16 + 8, &0xffffu32.to_le_bytes());
            f.put(16 + 14, &cs_attr.to_le_bytes());
            f.put(32, &rip.to_le_bytes());
            f.put(40, &rflags.to_le_bytes());
            f
        }

        /// Writes `bytes` at absolute offset `at`.
        pub fn put(&mut self, at: usize, bytes: &[u8]) -> &mut Self {
            self.0[at..at + bytes.len()].copy_from_slice(bytes);
            self
        }

        /// Writes `bytes` at offset `at` inside the exit-specific payload.
        pub fn payload(&mut self, at: usize, bytes: &[u8]) -> &mut Self {
            self.put(PAYLOAD + at, bytes)
        }

        /// The image as the windows-sys struct.
        pub fn context(&self) -> WHV_RUN_VP_EXIT_CONTEXT {
            // SAFETY: the struct is 224 bytes of plain integers and unions of integers;
            // every bit pattern is valid, and read_unaligned has no alignment demand.
            unsafe { std::ptr::read_unaligned(self.0.as_ptr().cast()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::Fixture;
    use super::*;

    const REAL_CS: u16 = 0x9b;

    #[test]
    fn vp_state_bits() {
        // CPL 3, LMA, InterruptionPending, InterruptShadow; length 2; 64-bit CS.
        let es = 3 | 1 << 4 | 1 << 6 | 1 << 12;
        let f = Fixture::new(WHvRunVpExitReasonX64Halt, 0xdead_beef, 0x246, es, 2, 0xa09b);
        let (s, exit) = decode(&f.context());
        assert_eq!(exit, Exit::Halt);
        assert_eq!(s.rip, 0xdead_beef);
        assert_eq!(s.rflags, 0x246);
        assert_eq!(s.cpl, 3);
        assert!(s.long_mode_active && s.interruption_pending && s.interrupt_shadow);
        assert_eq!(s.instruction_len, 2);
        assert_eq!(s.cs.attributes(), 0xa09b);
        assert_eq!(s.code_size(), CodeSize::Bits64);

        let f = Fixture::new(WHvRunVpExitReasonX64Halt, 0x7c00, 0x2, 0, 1, REAL_CS);
        let (s, _) = decode(&f.context());
        assert_eq!(s.cpl, 0);
        assert!(!s.long_mode_active && !s.interruption_pending && !s.interrupt_shadow);
        assert_eq!(s.code_size(), CodeSize::Bits16);
    }

    #[test]
    fn io_port_exit() {
        let mut f = Fixture::new(
            WHvRunVpExitReasonX64IoPortAccess,
            0x7c10,
            0x2,
            0,
            1,
            REAL_CS,
        );
        f.payload(0, &[1]) // InstructionByteCount
            .payload(4, &[0xee]) // out dx, al
            .payload(20, &0b00_0011u32.to_le_bytes()) // write, size 1
            .payload(24, &0x3f8u16.to_le_bytes())
            .payload(32, &0x41u64.to_le_bytes());
        let (s, exit) = decode(&f.context());
        assert_eq!(s.instruction_len, 1);
        match exit {
            Exit::Io { access, rax, bytes } => {
                assert_eq!(access.port, 0x3f8);
                assert_eq!(access.size, 1);
                assert!(access.is_write && !access.string && !access.rep);
                assert_eq!(rax, 0x41);
                assert_eq!(bytes.as_slice(), &[0xee]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn string_io_and_malformed_io() {
        let mut f = Fixture::new(WHvRunVpExitReasonX64IoPortAccess, 0, 0x2, 0, 2, REAL_CS);
        f.payload(20, &0b11_0100u32.to_le_bytes())
            .payload(24, &0x1f0u16.to_le_bytes());
        match decode(&f.context()).1 {
            Exit::Io { access, .. } => assert!(access.string && access.rep && access.size == 2),
            other => panic!("{other:?}"),
        }
        f.payload(20, &(3u32 << 1).to_le_bytes());
        assert_eq!(
            decode(&f.context()).1,
            Exit::IoMalformed {
                port: 0x1f0,
                access_info: 6
            }
        );
    }

    #[test]
    fn memory_exit_and_byte_count_clamp() {
        let mut f = Fixture::new(WHvRunVpExitReasonMemoryAccess, 0x100, 0x2, 0, 0, 0xc09b);
        f.payload(0, &[200]) // hostile count: clamped to 16
            .payload(4, &[0x89, 0x08])
            .payload(20, &(1u32 | 1 << 2 | 1 << 3).to_le_bytes())
            .payload(24, &0xfee0_0000u64.to_le_bytes())
            .payload(32, &0xffff_8000_0000_0000u64.to_le_bytes());
        match decode(&f.context()).1 {
            Exit::Memory(m) => {
                assert_eq!(m.gpa, 0xfee0_0000);
                assert_eq!(m.gva, 0xffff_8000_0000_0000);
                assert_eq!(m.kind, AccessKind::Write);
                assert!(m.gpa_unmapped && m.gva_valid);
                assert_eq!(m.bytes.as_slice().len(), 16);
                assert_eq!(&m.bytes.as_slice()[..2], &[0x89, 0x08]);
            }
            other => panic!("{other:?}"),
        }
        for (bits, kind) in [
            (0u32, AccessKind::Read),
            (2, AccessKind::Execute),
            (3, AccessKind::Reserved),
        ] {
            f.payload(20, &bits.to_le_bytes());
            match decode(&f.context()).1 {
                Exit::Memory(m) => {
                    assert_eq!(m.kind, kind);
                    assert!(!m.gpa_unmapped && !m.gva_valid);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn payload_free_exits() {
        for (reason, exit) in [
            (WHvRunVpExitReasonX64Halt, Exit::Halt),
            (WHvRunVpExitReasonX64InterruptWindow, Exit::InterruptWindow),
            (WHvRunVpExitReasonCanceled, Exit::Canceled),
            (
                WHvRunVpExitReasonUnrecoverableException,
                Exit::UnrecoverableException,
            ),
            (
                WHvRunVpExitReasonInvalidVpRegisterValue,
                Exit::InvalidVpRegisterValue,
            ),
        ] {
            let f = Fixture::new(reason, 0, 0x2, 0, 0, REAL_CS);
            assert_eq!(decode(&f.context()).1, exit, "reason {reason:#x}");
        }
    }

    #[test]
    fn unsupported_feature_msr_cpuid_exception() {
        let mut f = Fixture::new(WHvRunVpExitReasonUnsupportedFeature, 0, 0x2, 0, 0, REAL_CS);
        f.payload(0, &2i32.to_le_bytes())
            .payload(8, &0x28u64.to_le_bytes());
        assert_eq!(
            decode(&f.context()).1,
            Exit::UnsupportedFeature {
                code: 2,
                parameter: 0x28
            }
        );

        let mut f = Fixture::new(WHvRunVpExitReasonX64MsrAccess, 0, 0x2, 0, 2, REAL_CS);
        f.payload(0, &1u32.to_le_bytes())
            .payload(4, &0xc000_0080u32.to_le_bytes())
            .payload(8, &0x500u64.to_le_bytes())
            .payload(16, &7u64.to_le_bytes());
        assert_eq!(
            decode(&f.context()).1,
            Exit::Msr {
                number: 0xc000_0080,
                is_write: true,
                rax: 0x500,
                rdx: 7
            }
        );

        let mut f = Fixture::new(WHvRunVpExitReasonX64Cpuid, 0, 0x2, 0, 2, REAL_CS);
        f.payload(0, &1u64.to_le_bytes())
            .payload(8, &0u64.to_le_bytes())
            .payload(32, &0xaau64.to_le_bytes()) // DefaultResultRax
            .payload(40, &0xccu64.to_le_bytes()) // Rcx
            .payload(48, &0xddu64.to_le_bytes()) // Rdx
            .payload(56, &0xbbu64.to_le_bytes()); // Rbx
        assert_eq!(
            decode(&f.context()).1,
            Exit::Cpuid {
                leaf: 1,
                subleaf: 0,
                default: CpuidResult {
                    eax: 0xaa,
                    ebx: 0xbb,
                    ecx: 0xcc,
                    edx: 0xdd
                }
            }
        );

        let mut f = Fixture::new(WHvRunVpExitReasonException, 0, 0x2, 0, 0, REAL_CS);
        f.payload(0, &[2])
            .payload(4, &[0x0f, 0x0b])
            .payload(24, &[6])
            .payload(28, &0u32.to_le_bytes());
        match decode(&f.context()).1 {
            Exit::Exception {
                vector,
                error_code,
                bytes,
            } => {
                assert_eq!((vector, error_code), (6, 0));
                assert_eq!(bytes.as_slice(), &[0x0f, 0x0b]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_reasons_are_reported_not_guessed() {
        for reason in [0, 3, 9, 0x1003, 0x7fff_ffff, -1] {
            let f = Fixture::new(reason, 0, 0x2, 0, 0, REAL_CS);
            assert_eq!(decode(&f.context()).1, Exit::Unknown { reason });
        }
        assert_eq!(exit_reason_name(9), "X64ApicEoi");
        assert_eq!(exit_reason_name(0x1234), "unknown");
    }
}
