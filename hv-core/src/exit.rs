//! What a vCPU run returns.

/// Why [`Vcpu::run`](crate::Vcpu::run) returned.
///
/// Small on purpose: port and MMIO accesses are completed inside `run`, so they need no
/// payload here. Anything a backend cannot classify is an
/// [`HvError::UnknownExit`](crate::HvError::UnknownExit), never a panic.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VcpuExit {
    /// A port or MMIO access was completed through the `IoHandler`.
    Io,
    /// The guest executed `hlt` (x86) or `wfi` (arm64) and waits for an interrupt.
    Halt,
    /// The interrupt window requested with `request_interrupt_window` is open.
    InterruptWindow,
    /// A [`Kicker`](crate::Kicker) forced the exit (or a kick was pending at entry).
    Kicked,
    /// The guest shut down (x86 triple fault, PSCI SYSTEM_OFF).
    Shutdown,
    /// The guest asked for a reset (PSCI SYSTEM_RESET; x86 resets come through devices).
    Reset,
    /// Nothing for the VMM to do; run again (e.g. a spurious host signal).
    Spurious,
}

impl VcpuExit {
    /// A short lower-case name for statistics and logs.
    pub fn name(self) -> &'static str {
        match self {
            VcpuExit::Io => "io",
            VcpuExit::Halt => "halt",
            VcpuExit::InterruptWindow => "window",
            VcpuExit::Kicked => "kick",
            VcpuExit::Shutdown => "shutdown",
            VcpuExit::Reset => "reset",
            VcpuExit::Spurious => "spurious",
        }
    }
}
