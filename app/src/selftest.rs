//! `hv selftest`: runs the backend conformance suite on this host's hypervisor and prints
//! what a bug report needs: hv's version, the OS, the CPU, what the hypervisor probe
//! found, and every case with pass/fail and the reason.
//!
//! The cases are hv-core's conformance suite, the same functions the backends run under
//! `cargo test`: tiny guests that check one assumption of hv-core each (port and MMIO
//! exits of every size, `hlt`, interrupt injection and the interrupt window, kicks, mode
//! entry, register round trips, reset, triple fault).

use std::io::Write;

use anyhow::Result;

/// Runs the suite; the exit status is 0 when every case passed, 1 otherwise (also when
/// the hypervisor cannot be opened).
pub fn run() -> Result<i32> {
    let out = &mut std::io::stdout().lock();
    writeln!(out, "hv {} selftest", env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "  os        {}", os_line())?;
    writeln!(out, "  cpu       {}", cpu_line())?;
    backend(out)
}

/// One line for the OS: name, version, edition and architecture as the OS reports them.
fn os_line() -> String {
    let info = os_info::get();
    let mut line = format!("{} {}", info.os_type(), info.version());
    if let Some(edition) = info.edition() {
        line.push_str(&format!(" ({edition})"));
    }
    line.push_str(&format!(
        ", {} build of hv ({})",
        std::env::consts::ARCH,
        info.architecture().unwrap_or("host architecture unknown")
    ));
    line
}

/// The CPU's brand string (x86 CPUID leaves 0x80000002-4), or the architecture.
fn cpu_line() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::__cpuid;
        // `__cpuid` is safe to call on x86_64 (CPUID always exists in 64-bit mode).
        if __cpuid(0x8000_0000).eax >= 0x8000_0004 {
            let mut bytes = Vec::with_capacity(48);
            for leaf in 0x8000_0002u32..=0x8000_0004 {
                let r = __cpuid(leaf);
                for reg in [r.eax, r.ebx, r.ecx, r.edx] {
                    bytes.extend_from_slice(&reg.to_le_bytes());
                }
            }
            let brand = String::from_utf8_lossy(&bytes);
            return brand
                .trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .to_owned();
        }
        "x86_64 (no brand string)".to_owned()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::env::consts::ARCH.to_owned()
    }
}

/// Probes this host's backend and runs its cases.
fn backend(out: &mut impl Write) -> Result<i32> {
    #[cfg(target_os = "linux")]
    return suite::x86::<hv_linux::Kvm>(out);
    #[cfg(windows)]
    return suite::x86::<hv_windows::Whp>(out);
    #[cfg(hvf_host)]
    return suite::arm64::<hv_apple::Hvf>(out);
    #[cfg(not(has_backend))]
    {
        writeln!(out, "  backend   none: {}", crate::backend::NO_BACKEND)?;
        Ok(1)
    }
}

/// Hosts with a backend.
#[cfg(has_backend)]
mod suite {
    use std::io::Write;

    use anyhow::Result;
    use hv_core::Hypervisor;
    use hv_core::testing::selftest::{self, CaseResult, Outcome};

    /// Opens `H`, printing the probe's findings, or the reason it cannot be opened.
    fn probe<H: Hypervisor>(out: &mut impl Write) -> Result<Option<H>> {
        match H::probe() {
            Ok(hv) => {
                writeln!(out, "  backend   {}", hv.name())?;
                for (what, value) in hv.features() {
                    writeln!(out, "    {what:<16}{value}")?;
                }
                Ok(Some(hv))
            }
            Err(e) => {
                writeln!(out, "  backend   unavailable: {e}")?;
                Ok(None)
            }
        }
    }

    #[cfg(pc_host)]
    pub(super) fn x86<H: hv_core::testing::x86::X86Backend>(out: &mut impl Write) -> Result<i32> {
        let Some(hv) = probe::<H>(out)? else {
            return Ok(1);
        };
        let count = hv_core::testing::x86::cases::<H>().len();
        writeln!(out, "conformance suite: {count} cases")?;
        let results = selftest::run_x86(&hv, |r| print_case(out, r));
        summary(out, &results)
    }

    #[cfg(hvf_host)]
    pub(super) fn arm64<H>(out: &mut impl Write) -> Result<i32>
    where
        H: Hypervisor,
        <H::Vm as hv_core::Vm>::Vcpu: hv_core::VcpuArm64,
    {
        let Some(hv) = probe::<H>(out)? else {
            return Ok(1);
        };
        let count = hv_core::testing::arm64::cases::<H>().len();
        writeln!(out, "conformance suite: {count} cases")?;
        let results = selftest::run_arm64(&hv, |r| print_case(out, r));
        summary(out, &results)
    }

    /// One case, printed (and flushed) as soon as it finishes, so a hanging case shows
    /// where it hangs. Write errors (a closed pipe) are not worth stopping the suite for.
    fn print_case(out: &mut impl Write, r: &CaseResult) {
        let ms = r.elapsed.as_secs_f64() * 1e3;
        let _ = match &r.outcome {
            Outcome::Pass => writeln!(out, "  pass  {:<44}{ms:>8.1} ms", r.name),
            Outcome::Fail(why) => {
                writeln!(out, "  FAIL  {:<44}{ms:>8.1} ms", r.name).and_then(|()| {
                    why.lines()
                        .try_for_each(|line| writeln!(out, "        {line}"))
                })
            }
        };
        let _ = out.flush();
    }

    fn summary(out: &mut impl Write, results: &[CaseResult]) -> Result<i32> {
        let failed = results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Fail(_)))
            .count();
        writeln!(out, "{} passed, {failed} failed", results.len() - failed)?;
        if failed > 0 {
            writeln!(
                out,
                "hv cannot rely on this hypervisor for the failed behaviours; please include \
                 this output in a bug report"
            )?;
        }
        Ok(i32::from(failed > 0))
    }
}
