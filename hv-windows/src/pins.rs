//! Every constant, bit position and layout hv-windows takes from the Windows headers,
//! pinned to the header's value.
//!
//! A row is (name, header value, windows-sys value, value hv-windows uses, header).
//! "Header" is the Windows SDK file (WinHvPlatformDefs.h and WinHvEmulation.h are
//! published in MicrosoftDocs/Virtualization-Documentation,
//! `virtualization/api/hypervisor-platform/headers/`; the WHV_E_* codes are in
//! winerror.h). The header column is typed in from those files; it was also printed by
//! `scripts/wine/whp-header-probe.c`, compiled against the mingw-w64 10 copies of the
//! same headers and run under Wine. The windows-sys column is what windows-sys 0.61
//! declares (`None` where it has only a raw `_bitfield` word). The used column is what
//! this crate hands to WHP: the windows-sys constant, or its own constant from
//! `defs.rs` where windows-sys has none.
//!
//! windows-sys is known to differ from the SDK in one way that matters: it declares
//! `WHV_UINT128` (and with it `WHV_REGISTER_VALUE` and `WHV_RUN_VP_EXIT_CONTEXT`) with
//! 8-byte alignment instead of `DECLSPEC_ALIGN(16)` (microsoft/win32metadata#2278).
//! Those rows are listed in [`KNOWN_WINDOWS_SYS_DEVIATIONS`] and the crate's wrapper is
//! checked instead; any other mismatch fails.

use std::mem::{align_of, offset_of, size_of};

use windows_sys::Win32::Foundation::*;
use windows_sys::Win32::System::Hypervisor::*;

use crate::decode::exit_reason_name;
use crate::defs;
use crate::emulator::EmulatorStatus;
use crate::layout::{ExitContext, RegValue};

const DEFS: &str = "WinHvPlatformDefs.h";
const EMU: &str = "WinHvEmulation.h";
const WINERROR: &str = "winerror.h";

/// One pinned fact.
#[derive(Debug, Clone, Copy)]
struct Pin {
    name: &'static str,
    header: u64,
    windows_sys: Option<u64>,
    used: u64,
    file: &'static str,
}

/// A header constant the crate takes from windows-sys.
macro_rules! sys {
    ($file:expr, $header:expr, $name:ident) => {
        Pin {
            name: stringify!($name),
            header: $header,
            windows_sys: Some($name as u32 as u64),
            used: $name as u32 as u64,
            file: $file,
        }
    };
}

/// A header bit the crate defines itself (windows-sys has only the raw word).
macro_rules! own {
    ($file:expr, $name:expr, $header:expr, $used:expr) => {
        Pin {
            name: $name,
            header: $header,
            windows_sys: None,
            used: $used as u64,
            file: $file,
        }
    };
}

/// A size, offset or alignment: header value, windows-sys value, and what the crate
/// uses (the windows-sys type itself unless a wrapper replaces it).
macro_rules! layout {
    ($name:expr, $header:expr, $sys:expr) => {
        layout!($name, $header, $sys, $sys)
    };
    ($name:expr, $header:expr, $sys:expr, $used:expr) => {
        Pin {
            name: $name,
            header: $header,
            windows_sys: Some($sys as u64),
            used: $used as u64,
            file: DEFS,
        }
    };
}

/// Rows where windows-sys disagrees with the SDK and the crate compensates.
const KNOWN_WINDOWS_SYS_DEVIATIONS: [&str; 3] = [
    "align WHV_UINT128",
    "align WHV_REGISTER_VALUE",
    "align WHV_RUN_VP_EXIT_CONTEXT",
];

fn check(rows: &[Pin]) {
    let mut failures = Vec::new();
    for r in rows {
        if r.used != r.header {
            failures.push(format!(
                "{} ({}): header {:#x}, hv-windows uses {:#x}",
                r.name, r.file, r.header, r.used
            ));
        }
        match r.windows_sys {
            Some(sys) if sys != r.header && !KNOWN_WINDOWS_SYS_DEVIATIONS.contains(&r.name) => {
                failures.push(format!(
                    "{} ({}): header {:#x}, windows-sys {sys:#x}",
                    r.name, r.file, r.header
                ))
            }
            Some(sys) if sys == r.header && KNOWN_WINDOWS_SYS_DEVIATIONS.contains(&r.name) => {
                failures.push(format!(
                    "{}: windows-sys now matches the header ({sys:#x}); the workaround can go",
                    r.name
                ))
            }
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
#[rustfmt::skip]
fn register_names() {
    check(&[
        sys!(DEFS, 0x0000_0000, WHvX64RegisterRax),
        sys!(DEFS, 0x0000_0001, WHvX64RegisterRcx),
        sys!(DEFS, 0x0000_0002, WHvX64RegisterRdx),
        sys!(DEFS, 0x0000_0003, WHvX64RegisterRbx),
        sys!(DEFS, 0x0000_0004, WHvX64RegisterRsp),
        sys!(DEFS, 0x0000_0005, WHvX64RegisterRbp),
        sys!(DEFS, 0x0000_0006, WHvX64RegisterRsi),
        sys!(DEFS, 0x0000_0007, WHvX64RegisterRdi),
        sys!(DEFS, 0x0000_0008, WHvX64RegisterR8),
        sys!(DEFS, 0x0000_0009, WHvX64RegisterR9),
        sys!(DEFS, 0x0000_000A, WHvX64RegisterR10),
        sys!(DEFS, 0x0000_000B, WHvX64RegisterR11),
        sys!(DEFS, 0x0000_000C, WHvX64RegisterR12),
        sys!(DEFS, 0x0000_000D, WHvX64RegisterR13),
        sys!(DEFS, 0x0000_000E, WHvX64RegisterR14),
        sys!(DEFS, 0x0000_000F, WHvX64RegisterR15),
        sys!(DEFS, 0x0000_0010, WHvX64RegisterRip),
        sys!(DEFS, 0x0000_0011, WHvX64RegisterRflags),
        sys!(DEFS, 0x0000_0012, WHvX64RegisterEs),
        sys!(DEFS, 0x0000_0013, WHvX64RegisterCs),
        sys!(DEFS, 0x0000_0014, WHvX64RegisterSs),
        sys!(DEFS, 0x0000_0015, WHvX64RegisterDs),
        sys!(DEFS, 0x0000_0016, WHvX64RegisterFs),
        sys!(DEFS, 0x0000_0017, WHvX64RegisterGs),
        sys!(DEFS, 0x0000_0018, WHvX64RegisterLdtr),
        sys!(DEFS, 0x0000_0019, WHvX64RegisterTr),
        sys!(DEFS, 0x0000_001A, WHvX64RegisterIdtr),
        sys!(DEFS, 0x0000_001B, WHvX64RegisterGdtr),
        sys!(DEFS, 0x0000_001C, WHvX64RegisterCr0),
        sys!(DEFS, 0x0000_001D, WHvX64RegisterCr2),
        sys!(DEFS, 0x0000_001E, WHvX64RegisterCr3),
        sys!(DEFS, 0x0000_001F, WHvX64RegisterCr4),
        sys!(DEFS, 0x0000_0020, WHvX64RegisterCr8),
        sys!(DEFS, 0x0000_2001, WHvX64RegisterEfer),
        sys!(DEFS, 0x8000_0000, WHvRegisterPendingInterruption),
        sys!(DEFS, 0x8000_0001, WHvRegisterInterruptState),
        sys!(DEFS, 0x8000_0002, WHvRegisterPendingEvent),
        sys!(DEFS, 0x8000_0004, WHvX64RegisterDeliverabilityNotifications),
    ]);
}

#[test]
#[rustfmt::skip]
fn exit_reasons() {
    let rows = [
        sys!(DEFS, 0x0000_0000, WHvRunVpExitReasonNone),
        sys!(DEFS, 0x0000_0001, WHvRunVpExitReasonMemoryAccess),
        sys!(DEFS, 0x0000_0002, WHvRunVpExitReasonX64IoPortAccess),
        sys!(DEFS, 0x0000_0004, WHvRunVpExitReasonUnrecoverableException),
        sys!(DEFS, 0x0000_0005, WHvRunVpExitReasonInvalidVpRegisterValue),
        sys!(DEFS, 0x0000_0006, WHvRunVpExitReasonUnsupportedFeature),
        sys!(DEFS, 0x0000_0007, WHvRunVpExitReasonX64InterruptWindow),
        sys!(DEFS, 0x0000_0008, WHvRunVpExitReasonX64Halt),
        sys!(DEFS, 0x0000_0009, WHvRunVpExitReasonX64ApicEoi),
        sys!(DEFS, 0x0000_000A, WHvRunVpExitReasonSynicSintDeliverable),
        sys!(DEFS, 0x0000_1000, WHvRunVpExitReasonX64MsrAccess),
        sys!(DEFS, 0x0000_1001, WHvRunVpExitReasonX64Cpuid),
        sys!(DEFS, 0x0000_1002, WHvRunVpExitReasonException),
        sys!(DEFS, 0x0000_1003, WHvRunVpExitReasonX64Rdtsc),
        sys!(DEFS, 0x0000_1004, WHvRunVpExitReasonX64ApicSmiTrap),
        sys!(DEFS, 0x0000_1005, WHvRunVpExitReasonHypercall),
        sys!(DEFS, 0x0000_1006, WHvRunVpExitReasonX64ApicInitSipiTrap),
        sys!(DEFS, 0x0000_1007, WHvRunVpExitReasonX64ApicWriteTrap),
        sys!(DEFS, 0x0000_2001, WHvRunVpExitReasonCanceled),
    ];
    check(&rows);
    for r in rows {
        let suffix = r.name.trim_start_matches("WHvRunVpExitReason");
        assert_eq!(exit_reason_name(r.header as i32), suffix, "{}", r.name);
    }
}

#[test]
#[rustfmt::skip]
fn capability_and_property_codes() {
    check(&[
        sys!(DEFS, 0x0000_0000, WHvCapabilityCodeHypervisorPresent),
        sys!(DEFS, 0x0000_0001, WHvCapabilityCodeFeatures),
        sys!(DEFS, 0x0000_0001, WHvPartitionPropertyCodeExtendedVmExits),
        sys!(DEFS, 0x0000_1003, WHvPartitionPropertyCodeCpuidExitList),
        sys!(DEFS, 0x0000_1005, WHvPartitionPropertyCodeLocalApicEmulationMode),
        sys!(DEFS, 0x0000_1FFF, WHvPartitionPropertyCodeProcessorCount),
        sys!(DEFS, 0, WHvX64LocalApicEmulationModeNone),
        own!(DEFS, "WHV_EXTENDED_VM_EXITS.X64CpuidExit", 0x1, defs::EXTENDED_VM_EXITS_X64_CPUID),
    ]);
}

#[test]
#[rustfmt::skip]
fn enums() {
    check(&[
        sys!(DEFS, 0x1, WHvMapGpaRangeFlagRead),
        sys!(DEFS, 0x2, WHvMapGpaRangeFlagWrite),
        sys!(DEFS, 0x4, WHvMapGpaRangeFlagExecute),
        sys!(DEFS, 0, WHvMemoryAccessRead),
        sys!(DEFS, 1, WHvMemoryAccessWrite),
        sys!(DEFS, 2, WHvMemoryAccessExecute),
        sys!(DEFS, 1, WHvUnsupportedFeatureIntercept),
        sys!(DEFS, 2, WHvUnsupportedFeatureTaskSwitchTss),
        sys!(DEFS, 0, WHvX64PendingInterrupt),
        sys!(DEFS, 0, WHvTranslateGvaResultSuccess),
        sys!(DEFS, 1, WHvTranslateGvaResultPageNotPresent),
        sys!(DEFS, 1, WHvTranslateGvaFlagValidateRead),
    ]);
}

#[test]
#[rustfmt::skip]
fn bitfields() {
    use defs::{exec_state as es, interrupt_state as is, io_access as io, memory_access as ma};
    use defs::{pending_interruption as pi, segment};
    check(&[
        own!(DEFS, "WHV_X64_VP_EXECUTION_STATE.Cpl", 0x0003, es::CPL_MASK),
        own!(DEFS, "WHV_X64_VP_EXECUTION_STATE.Cr0Pe", 0x0004, es::CR0_PE),
        own!(DEFS, "WHV_X64_VP_EXECUTION_STATE.EferLma", 0x0010, es::EFER_LMA),
        own!(DEFS, "WHV_X64_VP_EXECUTION_STATE.InterruptionPending", 0x0040, es::INTERRUPTION_PENDING),
        own!(DEFS, "WHV_X64_VP_EXECUTION_STATE.InterruptShadow", 0x1000, es::INTERRUPT_SHADOW),
        own!(DEFS, "WHV_VP_EXIT_CONTEXT.InstructionLength", 0x0F, defs::VP_CONTEXT_INSTRUCTION_LENGTH_MASK),
        own!(DEFS, "WHV_MEMORY_ACCESS_INFO.AccessType", 0x3, ma::ACCESS_TYPE_MASK),
        own!(DEFS, "WHV_MEMORY_ACCESS_INFO.GpaUnmapped", 0x4, ma::GPA_UNMAPPED),
        own!(DEFS, "WHV_MEMORY_ACCESS_INFO.GvaValid", 0x8, ma::GVA_VALID),
        own!(DEFS, "WHV_X64_IO_PORT_ACCESS_INFO.IsWrite", 0x01, io::IS_WRITE),
        own!(DEFS, "WHV_X64_IO_PORT_ACCESS_INFO.AccessSize", 0x0E, io::ACCESS_SIZE_MASK << io::ACCESS_SIZE_SHIFT),
        own!(DEFS, "WHV_X64_IO_PORT_ACCESS_INFO.StringOp", 0x10, io::STRING_OP),
        own!(DEFS, "WHV_X64_IO_PORT_ACCESS_INFO.RepPrefix", 0x20, io::REP_PREFIX),
        own!(DEFS, "WHV_X64_MSR_ACCESS_INFO.IsWrite", 0x1, defs::MSR_ACCESS_IS_WRITE),
        own!(DEFS, "WHV_X64_PENDING_INTERRUPTION_REGISTER.InterruptionPending", 0x1, pi::PENDING),
        own!(DEFS, "WHV_X64_PENDING_INTERRUPTION_REGISTER.InterruptionType", 0xE, 0b111u64 << pi::TYPE_SHIFT),
        own!(DEFS, "WHV_X64_PENDING_INTERRUPTION_REGISTER.InterruptionVector", 0xFFFF_0000, 0xFFFFu64 << pi::VECTOR_SHIFT),
        own!(DEFS, "WHV_X64_DELIVERABILITY_NOTIFICATIONS_REGISTER.InterruptNotification", 0x2, defs::DELIVERABILITY_INTERRUPT_NOTIFICATION),
        own!(DEFS, "WHV_X64_INTERRUPT_STATE_REGISTER.InterruptShadow", 0x1, is::INTERRUPT_SHADOW),
        own!(DEFS, "WHV_X64_INTERRUPT_STATE_REGISTER.NmiMasked", 0x2, is::NMI_MASKED),
        own!(DEFS, "WHV_X64_SEGMENT_REGISTER.Long", 0x2000, segment::LONG),
        own!(DEFS, "WHV_X64_SEGMENT_REGISTER.Default", 0x4000, segment::DEFAULT),
    ]);
}

#[test]
fn emulator_status_bits() {
    // WHV_EMULATOR_STATUS, in declaration order from bit 0.
    let header = [
        "EmulationSuccessful",
        "InternalEmulationFailure",
        "IoPortCallbackFailed",
        "MemoryCallbackFailed",
        "TranslateGvaPageCallbackFailed",
        "TranslateGvaPageCallbackGpaIsNotAligned",
        "GetVirtualProcessorRegistersCallbackFailed",
        "SetVirtualProcessorRegistersCallbackFailed",
        "InterruptCausedIntercept",
        "GuestCannotBeFaulted",
    ];
    let rows: Vec<Pin> = header
        .iter()
        .enumerate()
        .map(|(bit, &name)| Pin {
            name,
            header: bit as u64,
            windows_sys: None,
            used: EmulatorStatus::BITS
                .iter()
                .position(|&n| n == name)
                .map_or(u64::MAX, |p| p as u64),
            file: EMU,
        })
        .collect();
    check(&rows);
    assert_eq!(EmulatorStatus::BITS.len(), header.len());
}

#[test]
#[rustfmt::skip]
fn hresults() {
    check(&[
        sys!(WINERROR, 0x8037_0300, WHV_E_UNKNOWN_CAPABILITY),
        sys!(WINERROR, 0x8037_0301, WHV_E_INSUFFICIENT_BUFFER),
        sys!(WINERROR, 0x8037_0302, WHV_E_UNKNOWN_PROPERTY),
        sys!(WINERROR, 0x8037_0303, WHV_E_UNSUPPORTED_HYPERVISOR_CONFIG),
        sys!(WINERROR, 0x8037_0304, WHV_E_INVALID_PARTITION_CONFIG),
        sys!(WINERROR, 0x8037_0305, WHV_E_GPA_RANGE_NOT_FOUND),
        sys!(WINERROR, 0x8037_0306, WHV_E_VP_ALREADY_EXISTS),
        sys!(WINERROR, 0x8037_0307, WHV_E_VP_DOES_NOT_EXIST),
        sys!(WINERROR, 0x8037_0308, WHV_E_INVALID_VP_STATE),
        sys!(WINERROR, 0x8037_0309, WHV_E_INVALID_VP_REGISTER_NAME),
        sys!(WINERROR, 0x8037_0310, WHV_E_UNSUPPORTED_PROCESSOR_CONFIG),
        sys!(WINERROR, 0x8007_0057, E_INVALIDARG),
        sys!(WINERROR, 0x8000_FFFF, E_UNEXPECTED),
        sys!(WINERROR, 0x8000_4005, E_FAIL),
    ]);
}

/// Offsets the exit decoder and the emulator callbacks read through windows-sys.
#[test]
#[rustfmt::skip]
fn struct_layouts() {
    type Run = WHV_RUN_VP_EXIT_CONTEXT;
    type Vp = WHV_VP_EXIT_CONTEXT;
    type Seg = WHV_X64_SEGMENT_REGISTER;
    type Table = WHV_X64_TABLE_REGISTER;
    type Mem = WHV_MEMORY_ACCESS_CONTEXT;
    type Io = WHV_X64_IO_PORT_ACCESS_CONTEXT;
    type Msr = WHV_X64_MSR_ACCESS_CONTEXT;
    type Cpuid = WHV_X64_CPUID_ACCESS_CONTEXT;
    type Exc = WHV_VP_EXCEPTION_CONTEXT;
    type Unsup = WHV_X64_UNSUPPORTED_FEATURE_CONTEXT;
    check(&[
        layout!("size WHV_RUN_VP_EXIT_CONTEXT", 224, size_of::<Run>()),
        layout!("WHV_RUN_VP_EXIT_CONTEXT.ExitReason", 0, offset_of!(Run, ExitReason)),
        layout!("WHV_RUN_VP_EXIT_CONTEXT.VpContext", 8, offset_of!(Run, VpContext)),
        layout!("WHV_RUN_VP_EXIT_CONTEXT.<union>", 48, offset_of!(Run, Anonymous)),
        layout!("size WHV_VP_EXIT_CONTEXT", 40, size_of::<Vp>()),
        layout!("WHV_VP_EXIT_CONTEXT.ExecutionState", 0, offset_of!(Vp, ExecutionState)),
        layout!("WHV_VP_EXIT_CONTEXT.InstructionLength:4,Cr8:4", 2, offset_of!(Vp, _bitfield)),
        layout!("WHV_VP_EXIT_CONTEXT.Cs", 8, offset_of!(Vp, Cs)),
        layout!("WHV_VP_EXIT_CONTEXT.Rip", 24, offset_of!(Vp, Rip)),
        layout!("WHV_VP_EXIT_CONTEXT.Rflags", 32, offset_of!(Vp, Rflags)),
        layout!("size WHV_X64_SEGMENT_REGISTER", 16, size_of::<Seg>()),
        layout!("WHV_X64_SEGMENT_REGISTER.Base", 0, offset_of!(Seg, Base)),
        layout!("WHV_X64_SEGMENT_REGISTER.Limit", 8, offset_of!(Seg, Limit)),
        layout!("WHV_X64_SEGMENT_REGISTER.Selector", 12, offset_of!(Seg, Selector)),
        layout!("WHV_X64_SEGMENT_REGISTER.Attributes", 14, offset_of!(Seg, Anonymous)),
        layout!("size WHV_X64_TABLE_REGISTER", 16, size_of::<Table>()),
        layout!("WHV_X64_TABLE_REGISTER.Limit", 6, offset_of!(Table, Limit)),
        layout!("WHV_X64_TABLE_REGISTER.Base", 8, offset_of!(Table, Base)),
        layout!("size WHV_MEMORY_ACCESS_CONTEXT", 40, size_of::<Mem>()),
        layout!("WHV_MEMORY_ACCESS_CONTEXT.InstructionByteCount", 0, offset_of!(Mem, InstructionByteCount)),
        layout!("WHV_MEMORY_ACCESS_CONTEXT.InstructionBytes", 4, offset_of!(Mem, InstructionBytes)),
        layout!("WHV_MEMORY_ACCESS_CONTEXT.AccessInfo", 20, offset_of!(Mem, AccessInfo)),
        layout!("WHV_MEMORY_ACCESS_CONTEXT.Gpa", 24, offset_of!(Mem, Gpa)),
        layout!("WHV_MEMORY_ACCESS_CONTEXT.Gva", 32, offset_of!(Mem, Gva)),
        layout!("size WHV_X64_IO_PORT_ACCESS_CONTEXT", 96, size_of::<Io>()),
        layout!("WHV_X64_IO_PORT_ACCESS_CONTEXT.InstructionByteCount", 0, offset_of!(Io, InstructionByteCount)),
        layout!("WHV_X64_IO_PORT_ACCESS_CONTEXT.InstructionBytes", 4, offset_of!(Io, InstructionBytes)),
        layout!("WHV_X64_IO_PORT_ACCESS_CONTEXT.AccessInfo", 20, offset_of!(Io, AccessInfo)),
        layout!("WHV_X64_IO_PORT_ACCESS_CONTEXT.PortNumber", 24, offset_of!(Io, PortNumber)),
        layout!("WHV_X64_IO_PORT_ACCESS_CONTEXT.Rax", 32, offset_of!(Io, Rax)),
        layout!("WHV_X64_IO_PORT_ACCESS_CONTEXT.Rcx", 40, offset_of!(Io, Rcx)),
        layout!("WHV_X64_IO_PORT_ACCESS_CONTEXT.Rsi", 48, offset_of!(Io, Rsi)),
        layout!("WHV_X64_IO_PORT_ACCESS_CONTEXT.Rdi", 56, offset_of!(Io, Rdi)),
        layout!("WHV_X64_IO_PORT_ACCESS_CONTEXT.Ds", 64, offset_of!(Io, Ds)),
        layout!("WHV_X64_IO_PORT_ACCESS_CONTEXT.Es", 80, offset_of!(Io, Es)),
        layout!("size WHV_X64_MSR_ACCESS_CONTEXT", 24, size_of::<Msr>()),
        layout!("WHV_X64_MSR_ACCESS_CONTEXT.AccessInfo", 0, offset_of!(Msr, AccessInfo)),
        layout!("WHV_X64_MSR_ACCESS_CONTEXT.MsrNumber", 4, offset_of!(Msr, MsrNumber)),
        layout!("WHV_X64_MSR_ACCESS_CONTEXT.Rax", 8, offset_of!(Msr, Rax)),
        layout!("WHV_X64_MSR_ACCESS_CONTEXT.Rdx", 16, offset_of!(Msr, Rdx)),
        layout!("size WHV_X64_CPUID_ACCESS_CONTEXT", 64, size_of::<Cpuid>()),
        layout!("WHV_X64_CPUID_ACCESS_CONTEXT.Rax", 0, offset_of!(Cpuid, Rax)),
        layout!("WHV_X64_CPUID_ACCESS_CONTEXT.Rcx", 8, offset_of!(Cpuid, Rcx)),
        layout!("WHV_X64_CPUID_ACCESS_CONTEXT.Rdx", 16, offset_of!(Cpuid, Rdx)),
        layout!("WHV_X64_CPUID_ACCESS_CONTEXT.Rbx", 24, offset_of!(Cpuid, Rbx)),
        layout!("WHV_X64_CPUID_ACCESS_CONTEXT.DefaultResultRax", 32, offset_of!(Cpuid, DefaultResultRax)),
        layout!("WHV_X64_CPUID_ACCESS_CONTEXT.DefaultResultRcx", 40, offset_of!(Cpuid, DefaultResultRcx)),
        layout!("WHV_X64_CPUID_ACCESS_CONTEXT.DefaultResultRdx", 48, offset_of!(Cpuid, DefaultResultRdx)),
        layout!("WHV_X64_CPUID_ACCESS_CONTEXT.DefaultResultRbx", 56, offset_of!(Cpuid, DefaultResultRbx)),
        layout!("size WHV_VP_EXCEPTION_CONTEXT", 40, size_of::<Exc>()),
        layout!("WHV_VP_EXCEPTION_CONTEXT.InstructionByteCount", 0, offset_of!(Exc, InstructionByteCount)),
        layout!("WHV_VP_EXCEPTION_CONTEXT.InstructionBytes", 4, offset_of!(Exc, InstructionBytes)),
        layout!("WHV_VP_EXCEPTION_CONTEXT.ExceptionInfo", 20, offset_of!(Exc, ExceptionInfo)),
        layout!("WHV_VP_EXCEPTION_CONTEXT.ExceptionType", 24, offset_of!(Exc, ExceptionType)),
        layout!("WHV_VP_EXCEPTION_CONTEXT.ErrorCode", 28, offset_of!(Exc, ErrorCode)),
        layout!("size WHV_X64_UNSUPPORTED_FEATURE_CONTEXT", 16, size_of::<Unsup>()),
        layout!("WHV_X64_UNSUPPORTED_FEATURE_CONTEXT.FeatureCode", 0, offset_of!(Unsup, FeatureCode)),
        layout!("WHV_X64_UNSUPPORTED_FEATURE_CONTEXT.FeatureParameter", 8, offset_of!(Unsup, FeatureParameter)),
        layout!("size WHV_CAPABILITY", 24, size_of::<WHV_CAPABILITY>()),
        layout!("size WHV_PARTITION_PROPERTY", 48, size_of::<WHV_PARTITION_PROPERTY>()),
        layout!("size WHV_TRANSLATE_GVA_RESULT", 8, size_of::<WHV_TRANSLATE_GVA_RESULT>()),
        layout!("size WHV_REGISTER_VALUE", 16, size_of::<WHV_REGISTER_VALUE>(), size_of::<RegValue>()),
    ]);
}

#[test]
#[rustfmt::skip]
fn emulator_layouts() {
    type Cb = WHV_EMULATOR_CALLBACKS;
    type EmuIo = WHV_EMULATOR_IO_ACCESS_INFO;
    type EmuMem = WHV_EMULATOR_MEMORY_ACCESS_INFO;
    let emu = |mut p: Pin| {
        p.file = EMU;
        p
    };
    check(&[
        emu(layout!("size WHV_EMULATOR_CALLBACKS", 48, size_of::<Cb>())),
        emu(layout!("WHV_EMULATOR_CALLBACKS.Size", 0, offset_of!(Cb, Size))),
        emu(layout!("WHV_EMULATOR_CALLBACKS.Reserved", 4, offset_of!(Cb, Reserved))),
        emu(layout!("WHV_EMULATOR_CALLBACKS.WHvEmulatorIoPortCallback", 8, offset_of!(Cb, WHvEmulatorIoPortCallback))),
        emu(layout!("WHV_EMULATOR_CALLBACKS.WHvEmulatorMemoryCallback", 16, offset_of!(Cb, WHvEmulatorMemoryCallback))),
        emu(layout!("WHV_EMULATOR_CALLBACKS.WHvEmulatorGetVirtualProcessorRegisters", 24, offset_of!(Cb, WHvEmulatorGetVirtualProcessorRegisters))),
        emu(layout!("WHV_EMULATOR_CALLBACKS.WHvEmulatorSetVirtualProcessorRegisters", 32, offset_of!(Cb, WHvEmulatorSetVirtualProcessorRegisters))),
        emu(layout!("WHV_EMULATOR_CALLBACKS.WHvEmulatorTranslateGvaPage", 40, offset_of!(Cb, WHvEmulatorTranslateGvaPage))),
        emu(layout!("size WHV_EMULATOR_IO_ACCESS_INFO", 12, size_of::<EmuIo>())),
        emu(layout!("WHV_EMULATOR_IO_ACCESS_INFO.Direction", 0, offset_of!(EmuIo, Direction))),
        emu(layout!("WHV_EMULATOR_IO_ACCESS_INFO.Port", 2, offset_of!(EmuIo, Port))),
        emu(layout!("WHV_EMULATOR_IO_ACCESS_INFO.AccessSize", 4, offset_of!(EmuIo, AccessSize))),
        emu(layout!("WHV_EMULATOR_IO_ACCESS_INFO.Data", 8, offset_of!(EmuIo, Data))),
        emu(layout!("size WHV_EMULATOR_MEMORY_ACCESS_INFO", 24, size_of::<EmuMem>())),
        emu(layout!("WHV_EMULATOR_MEMORY_ACCESS_INFO.GpaAddress", 0, offset_of!(EmuMem, GpaAddress))),
        emu(layout!("WHV_EMULATOR_MEMORY_ACCESS_INFO.Direction", 8, offset_of!(EmuMem, Direction))),
        emu(layout!("WHV_EMULATOR_MEMORY_ACCESS_INFO.AccessSize", 9, offset_of!(EmuMem, AccessSize))),
        emu(layout!("WHV_EMULATOR_MEMORY_ACCESS_INFO.Data", 10, offset_of!(EmuMem, Data))),
        emu(layout!("size WHV_EMULATOR_STATUS", 4, size_of::<WHV_EMULATOR_STATUS>())),
        emu(layout!("WHV_EMULATOR_CALLBACKS.Size as hv-windows fills it", 48, size_of::<Cb>(), crate::emulator::CALLBACKS.Size)),
    ]);
}

/// `DECLSPEC_ALIGN(16)` in the SDK; windows-sys says 8. The crate passes every register
/// array and the exit context through `Aligned16`.
#[test]
#[rustfmt::skip]
fn alignments() {
    check(&[
        layout!("align WHV_UINT128", 16, align_of::<WHV_UINT128>(), align_of::<RegValue>()),
        layout!("align WHV_REGISTER_VALUE", 16, align_of::<WHV_REGISTER_VALUE>(), align_of::<RegValue>()),
        layout!("align WHV_RUN_VP_EXIT_CONTEXT", 16, align_of::<WHV_RUN_VP_EXIT_CONTEXT>(), align_of::<ExitContext>()),
        layout!("size of the exit context hv-windows passes", 224, size_of::<WHV_RUN_VP_EXIT_CONTEXT>(), size_of::<ExitContext>()),
        layout!("stride of a register array hv-windows passes", 16, size_of::<WHV_REGISTER_VALUE>(), size_of::<RegValue>()),
    ]);
}

/// The check itself: a wrong header value, or an unlisted windows-sys mismatch, fails.
#[test]
fn the_check_catches_mismatches() {
    let wrong = [sys!(DEFS, 0x0000_0011, WHvX64RegisterRip)];
    assert!(std::panic::catch_unwind(|| check(&wrong)).is_err());
    let unlisted = [layout!("align something", 16, 8usize, 16usize)];
    assert!(std::panic::catch_unwind(|| check(&unlisted)).is_err());
    let stale = [layout!("align WHV_UINT128", 16, 16usize, 16usize)];
    assert!(std::panic::catch_unwind(|| check(&stale)).is_err());
}
