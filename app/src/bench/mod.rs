//! `hv bench`: how fast hv feels, as ratios against baselines measured in the same run.
//!
//! Sections (see docs/performance.md for what each number means):
//! exit round trip (hv's full path vs a raw `KVM_RUN` loop, time and host instructions),
//! keystroke latency and interrupt delivery (halted and spinning guests; interrupts
//! raised vs delivered for a guest polling the BIOS), rendering,
//! start-up, idle CPU and resident memory. Targets are checked here and printed as
//! PASS/MISS; nothing in the test suite times anything.
//!
//! The bench re-runs its own binary for the process-level figures and for callgrind
//! (`hv bench --child SPEC`, hidden), so one `hv` binary is all it needs.

// Every section compares against a raw KVM loop or reads /proc, so the whole bench is
// Linux-only for now; elsewhere `hv bench` says so in one line.
#[cfg(target_os = "linux")]
mod callgrind;
#[cfg(target_os = "linux")]
mod exits;
#[cfg(target_os = "linux")]
mod guests;
#[cfg(target_os = "linux")]
mod irq_rate;
#[cfg(target_os = "linux")]
mod keys;
#[cfg(target_os = "linux")]
mod plot;
#[cfg(target_os = "linux")]
mod process;
#[cfg(target_os = "linux")]
mod raw_kvm;
#[cfg(target_os = "linux")]
mod render;
#[cfg(target_os = "linux")]
mod report;
#[cfg(target_os = "linux")]
mod stats;
#[cfg(target_os = "linux")]
mod suite;

use anyhow::Result;

use crate::cli::BenchArgs;

/// Runs the bench (or one of its child roles) and returns the process exit status.
#[cfg(target_os = "linux")]
pub fn run(args: &BenchArgs) -> Result<i32> {
    match &args.child {
        Some(spec) => suite::child(spec),
        None => suite::run(args),
    }
}

/// Runs the bench (or one of its child roles) and returns the process exit status.
#[cfg(not(target_os = "linux"))]
pub fn run(_args: &BenchArgs) -> Result<i32> {
    anyhow::bail!("hv bench measures against a raw KVM loop and /proc; it runs on Linux only")
}
