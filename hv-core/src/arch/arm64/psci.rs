//! PSCI (Power State Coordination Interface) for a one-vCPU machine, as a pure dispatch.
//!
//! Guests reach it with `hvc #0` or `smc #0`, function ID in W0 and arguments in X1..X3
//! (SMC Calling Convention, Arm DEN 0028). Function IDs and return codes are from the
//! PSCI specification (Arm DEN 0022). We report PSCI 1.0 and implement what 1.0 makes
//! mandatory for a single-core system, plus MIGRATE_INFO_TYPE which Linux probes.

/// PSCI_VERSION.
pub const PSCI_VERSION: u32 = 0x8400_0000;
/// CPU_SUSPEND, SMC32 and SMC64.
pub const CPU_SUSPEND_32: u32 = 0x8400_0001;
/// CPU_SUSPEND, SMC64.
pub const CPU_SUSPEND_64: u32 = 0xC400_0001;
/// CPU_OFF.
pub const CPU_OFF: u32 = 0x8400_0002;
/// CPU_ON, SMC32.
pub const CPU_ON_32: u32 = 0x8400_0003;
/// CPU_ON, SMC64.
pub const CPU_ON_64: u32 = 0xC400_0003;
/// AFFINITY_INFO, SMC32.
pub const AFFINITY_INFO_32: u32 = 0x8400_0004;
/// AFFINITY_INFO, SMC64.
pub const AFFINITY_INFO_64: u32 = 0xC400_0004;
/// MIGRATE_INFO_TYPE.
pub const MIGRATE_INFO_TYPE: u32 = 0x8400_0006;
/// SYSTEM_OFF.
pub const SYSTEM_OFF: u32 = 0x8400_0008;
/// SYSTEM_RESET.
pub const SYSTEM_RESET: u32 = 0x8400_0009;
/// PSCI_FEATURES.
pub const PSCI_FEATURES: u32 = 0x8400_000A;

/// The version we report: major 1, minor 0.
pub const VERSION_1_0: u64 = 0x1_0000;

/// PSCI return codes (signed 32-bit, sign-extended into X0).
pub mod ret {
    /// Success.
    pub const SUCCESS: i64 = 0;
    /// Unknown function (also SMCCC's "unknown function identifier").
    pub const NOT_SUPPORTED: i64 = -1;
    /// A parameter (e.g. a target MPIDR) is invalid.
    pub const INVALID_PARAMETERS: i64 = -2;
    /// CPU_ON for a CPU that is already on.
    pub const ALREADY_ON: i64 = -4;
}

/// AFFINITY_INFO: the target is on.
const AFFINITY_ON: i64 = 0;
/// MIGRATE_INFO_TYPE: no Trusted OS, nothing to migrate.
const MIGRATE_NOT_PRESENT: i64 = 2;

/// MPIDR affinity fields: Aff3 [39:32], Aff2..Aff0 [23:0].
const MPIDR_AFFINITY_MASK: u64 = 0xff_00ff_ffff;

/// What the VMM does after a PSCI call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsciAction {
    /// Write this value to X0 and resume the guest.
    Return(u64),
    /// Power the machine off.
    Shutdown,
    /// Reset the machine.
    Reset,
    /// The calling (and only) CPU powers down: nothing can wake it, so the machine is off.
    CpuOff,
}

/// A PSCI call as the guest made it: X0..X3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PsciCall {
    /// X0; only W0 is the function ID (SMCCC ignores bits [63:32]).
    pub x0: u64,
    /// X1..X3, function arguments.
    pub args: [u64; 3],
}

impl PsciCall {
    /// The 32-bit function ID.
    pub fn function_id(&self) -> u32 {
        self.x0 as u32
    }
}

fn value(code: i64) -> PsciAction {
    PsciAction::Return(code as u64)
}

/// Handles `call` on the machine's only vCPU, whose MPIDR_EL1 is `own_mpidr`.
///
/// CPU_ON: there is no second vCPU to start. Asking to start ourselves gets ALREADY_ON;
/// any other target gets INVALID_PARAMETERS, which is the code PSCI defines for a target
/// MPIDR that does not exist. NOT_SUPPORTED would be wrong here: CPU_ON is mandatory in
/// PSCI 1.0, and a guest that sees NOT_SUPPORTED concludes PSCI itself is broken rather
/// than that the machine has one CPU.
pub fn dispatch(call: &PsciCall, own_mpidr: u64) -> PsciAction {
    let is_self = |target: u64| target & MPIDR_AFFINITY_MASK == own_mpidr & MPIDR_AFFINITY_MASK;
    match call.function_id() {
        PSCI_VERSION => PsciAction::Return(VERSION_1_0),
        CPU_OFF => PsciAction::CpuOff,
        CPU_ON_32 | CPU_ON_64 => {
            if is_self(call.args[0]) {
                value(ret::ALREADY_ON)
            } else {
                value(ret::INVALID_PARAMETERS)
            }
        }
        AFFINITY_INFO_32 | AFFINITY_INFO_64 => {
            // args[1] is the lowest affinity level; 0 names exactly one CPU.
            if call.args[1] == 0 && is_self(call.args[0]) {
                value(AFFINITY_ON)
            } else {
                value(ret::INVALID_PARAMETERS)
            }
        }
        // Standby: returning at once is a valid (early) wake-up.
        CPU_SUSPEND_32 | CPU_SUSPEND_64 => value(ret::SUCCESS),
        MIGRATE_INFO_TYPE => value(MIGRATE_NOT_PRESENT),
        SYSTEM_OFF => PsciAction::Shutdown,
        SYSTEM_RESET => PsciAction::Reset,
        PSCI_FEATURES => {
            let supported = matches!(
                call.args[0] as u32,
                PSCI_VERSION
                    | CPU_SUSPEND_32
                    | CPU_SUSPEND_64
                    | CPU_OFF
                    | CPU_ON_32
                    | CPU_ON_64
                    | AFFINITY_INFO_32
                    | AFFINITY_INFO_64
                    | MIGRATE_INFO_TYPE
                    | SYSTEM_OFF
                    | SYSTEM_RESET
                    | PSCI_FEATURES
            );
            // For CPU_SUSPEND, 0 also says "original power_state format, no OS-initiated mode".
            value(if supported {
                ret::SUCCESS
            } else {
                ret::NOT_SUPPORTED
            })
        }
        _ => value(ret::NOT_SUPPORTED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(x0: u64, args: [u64; 3]) -> PsciAction {
        dispatch(&PsciCall { x0, args }, 0x8000_0000)
    }

    const MINUS_ONE: u64 = u64::MAX;

    #[test]
    fn version_and_power_calls() {
        assert_eq!(call(0x8400_0000, [0; 3]), PsciAction::Return(0x10000));
        assert_eq!(call(0x8400_0008, [0; 3]), PsciAction::Shutdown);
        assert_eq!(call(0x8400_0009, [0; 3]), PsciAction::Reset);
        assert_eq!(call(0x8400_0002, [0; 3]), PsciAction::CpuOff);
        // Bits [63:32] of X0 are not part of the function ID.
        assert_eq!(call(0xdead_beef_8400_0008, [0; 3]), PsciAction::Shutdown);
    }

    #[test]
    fn cpu_on_with_one_vcpu() {
        // MPIDR bit 31 is RES1 and not an affinity bit.
        assert_eq!(
            call(0xC400_0003, [0, 0x4000_0000, 0]),
            PsciAction::Return(-4i64 as u64)
        );
        assert_eq!(
            call(0x8400_0003, [0x8000_0000, 0, 0]),
            PsciAction::Return(-4i64 as u64)
        );
        assert_eq!(
            call(0xC400_0003, [1, 0, 0]),
            PsciAction::Return(-2i64 as u64)
        );
        assert_eq!(
            call(0xC400_0003, [1 << 32, 0, 0]),
            PsciAction::Return(-2i64 as u64)
        );
    }

    #[test]
    fn affinity_info_and_migrate() {
        assert_eq!(call(0xC400_0004, [0, 0, 0]), PsciAction::Return(0));
        assert_eq!(
            call(0xC400_0004, [2, 0, 0]),
            PsciAction::Return(-2i64 as u64)
        );
        assert_eq!(call(0x8400_0006, [0; 3]), PsciAction::Return(2));
        assert_eq!(call(0xC400_0001, [0; 3]), PsciAction::Return(0));
    }

    #[test]
    fn features_and_unknown_ids() {
        for id in [
            0x8400_0000u64,
            0x8400_0008,
            0x8400_0009,
            0xC400_0003,
            0x8400_000A,
        ] {
            assert_eq!(
                call(0x8400_000A, [id, 0, 0]),
                PsciAction::Return(0),
                "{id:#x}"
            );
        }
        assert_eq!(
            call(0x8400_000A, [0x8400_0005, 0, 0]),
            PsciAction::Return(MINUS_ONE)
        );
        assert_eq!(
            call(0x8400_000A, [0x8000_0000, 0, 0]),
            PsciAction::Return(MINUS_ONE)
        );
        for id in [
            0u64,
            0x8400_0005,
            0x8400_0012,
            0xC400_0008,
            0x8000_0000,
            u64::MAX,
        ] {
            assert_eq!(call(id, [0; 3]), PsciAction::Return(MINUS_ONE), "{id:#x}");
        }
    }
}
