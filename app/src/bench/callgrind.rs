//! Host instructions per exit, counted by callgrind (`perf stat -e instructions` is not
//! supported on this host).
//!
//! callgrind counts user-space instructions deterministically; the kernel's share of an
//! exit (KVM_RUN itself) is invisible to it, which is what we want: the count is the code
//! a VMM runs per exit. Each path runs under callgrind twice with different exit counts
//! and the slope is the per-exit count; hv's slope minus the raw loop's is what hv's own
//! code (PcBoard, the vCPU loop, statistics, the backend's decode) adds to an exit.

use std::path::Path as FsPath;
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::exits::Path;
use super::guests::{ExitKind, UNROLL};
use super::stats::slope;

/// Loop iterations (x [`UNROLL`] exits) of the two counted runs: small, since the
/// guest's setup and hv's start-up cancel anyway and callgrind is slow.
pub const ITERATIONS: (u32, u32) = (2, 22);

/// Instructions per exit on both paths for one exit kind.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct InstructionCount {
    /// The exit kind.
    pub kind: ExitKind,
    /// Host user-space instructions per exit through hv.
    pub hv: f64,
    /// Host user-space instructions per exit through the raw loop.
    pub raw: f64,
}

impl InstructionCount {
    /// What hv's own code adds per exit.
    pub fn hv_own(&self) -> f64 {
        self.hv - self.raw
    }
}

/// True when valgrind can be run.
pub fn available() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Counts instructions per exit of `kind` on both paths.
pub fn measure(exe: &FsPath, scratch: &FsPath, kind: ExitKind) -> Result<InstructionCount> {
    let per_exit = |path: Path| -> Result<f64> {
        let (i1, i2) = ITERATIONS;
        let a = total_instructions(exe, scratch, path, kind, i1)?;
        let b = total_instructions(exe, scratch, path, kind, i2)?;
        slope(
            f64::from(i1 * UNROLL),
            a as f64,
            f64::from(i2 * UNROLL),
            b as f64,
        )
        .context("equal exit counts")
    };
    Ok(InstructionCount {
        kind,
        hv: per_exit(Path::Hv)?,
        raw: per_exit(Path::Raw)?,
    })
}

/// Runs one exit run in a child under callgrind and returns its total instruction count.
fn total_instructions(
    exe: &FsPath,
    scratch: &FsPath,
    path: Path,
    kind: ExitKind,
    iterations: u32,
) -> Result<u64> {
    let out = scratch.join(format!(
        "callgrind.{}.{}.{iterations}",
        path.name(),
        kind.name()
    ));
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg("--quiet")
        .arg(exe)
        .args(["bench", "--child"])
        .arg(format!("exit:{}:{}:{iterations}", path.name(), kind.name()))
        .env("RUST_LOG", "off")
        .stdout(std::process::Stdio::null())
        .status()
        .context("running valgrind")?;
    if !status.success() {
        bail!(
            "callgrind run of the {} path ({}) failed: {status}",
            path.name(),
            kind.name()
        );
    }
    let text =
        std::fs::read_to_string(&out).with_context(|| format!("reading {}", out.display()))?;
    let _ = std::fs::remove_file(&out);
    parse_total(&text).with_context(|| format!("no instruction total in {}", out.display()))
}

/// The `totals:` (or `summary:`) line of a callgrind output file: the first event, Ir.
pub fn parse_total(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_callgrind_totals() {
        let text = "version: 1\ncreator: callgrind-3.22\nevents: Ir\n\nfn=main\n1 5\nsummary: 123456\ntotals: 123456\n";
        assert_eq!(parse_total(text), Some(123456));
        assert_eq!(parse_total("events: Ir\n"), None);
    }
}
