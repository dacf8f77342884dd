//! Exit round trip: the same guest through hv's full path (`launch`: PcBoard, the vCPU
//! loop, deadline arming, statistics) and through the raw `KVM_RUN` loop.
//!
//! Each figure is a slope: two runs with different exit counts, so process, VM and
//! guest-setup costs cancel and what remains is the cost of one more exit.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hv_core::Hypervisor;
use hv_core::loader::flat::FlatImage;
use hv_core::machine::events::{RunEnd, VmEvent};
use hv_core::machine::handle::MachineHandle;
use hv_core::machine::launch::{PcConfig, SerialSink, launch};
use hv_core::machine::stats::ExitKind as StatKind;

use super::guests::{ExitKind, LOAD_ADDR, UNROLL, exit_guest};
use super::raw_kvm::RawVm;
use super::stats::{median, slope};
use crate::backend::Backend;

/// Guest RAM for the exit runs (the smallest PC hv builds; the loop touches one page).
pub const MEMORY_MIB: u64 = 2;
/// Loop iterations (x [`UNROLL`] exits) of the short and the long timed run.
pub const TIMED_ITERATIONS: (u32, u32) = (10, 110);
/// Longest any single run may take before the bench gives up.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Which implementation ran the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// hv's full path.
    Hv,
    /// The raw `KVM_RUN` loop.
    Raw,
}

impl Path {
    /// Name on the child command line.
    pub fn name(self) -> &'static str {
        match self {
            Path::Hv => "hv",
            Path::Raw => "raw",
        }
    }

    /// Parses [`name`](Self::name).
    pub fn parse(s: &str) -> Option<Self> {
        [Path::Hv, Path::Raw].into_iter().find(|p| p.name() == s)
    }
}

/// One timed run.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Exits of the measured kind.
    pub exits: u64,
    /// Guest start to guest end.
    pub elapsed: Duration,
}

/// Runs the exit guest once on `path`.
pub fn run_once(path: Path, kind: ExitKind, iterations: u32) -> Result<Run> {
    let image = exit_guest(kind, iterations);
    match path {
        Path::Raw => {
            let mut vm = RawVm::new(&image, (MEMORY_MIB << 20) as usize)?;
            let r = vm.run()?;
            Ok(Run {
                exits: r.exits,
                elapsed: r.elapsed,
            })
        }
        Path::Hv => hv_run(image),
    }
}

/// COM1's output stream for the exit guest: timestamps each write on the vCPU thread,
/// the moment the guest's marker `out` reaches the UART.
#[derive(Debug, Clone, Default)]
struct MarkerSink(Arc<Mutex<Vec<Instant>>>);

impl Write for MarkerSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let now = Instant::now();
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(now);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn hv_run(image: Vec<u8>) -> Result<Run> {
    let hv = Backend::probe()?;
    let sink = MarkerSink::default();
    let handle = launch(
        &hv,
        PcConfig {
            memory_mib: MEMORY_MIB,
            image: Box::new(FlatImage::new(image, LOAD_ADDR).context("bench guest")?),
            serial_out: Some(SerialSink(Box::new(sink.clone()))),
            no_reboot: true,
            drives: Default::default(),
        },
    )?;
    wait_started(&handle)?;
    let end = wait_ended(&handle)?;
    let stats = handle.stats.snapshot();
    let _ = handle.join();
    if end != RunEnd::DebugExit(1) {
        bail!("exit guest ended unexpectedly: {end}");
    }
    let marks = sink.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let [start, stop] = marks[..] else {
        bail!("exit guest wrote {} markers, expected 2", marks.len());
    };
    // Everything but the two markers and the debug-exit write is the loop's.
    let exits = (stats.get(StatKind::Pio) + stats.get(StatKind::Mmio)).saturating_sub(3);
    Ok(Run {
        exits,
        elapsed: stop - start,
    })
}

/// Waits for the vCPU loop's `Started` (sent just before the first guest instruction).
pub fn wait_started(handle: &MachineHandle) -> Result<()> {
    loop {
        match handle.events.recv_timeout(RUN_LIMIT) {
            Ok(VmEvent::Started) => return Ok(()),
            Ok(VmEvent::Ended(end)) => bail!("guest ended before it started: {end}"),
            Ok(_) => {}
            Err(e) => bail!("no start from the vCPU thread: {e}"),
        }
    }
}

fn wait_ended(handle: &MachineHandle) -> Result<RunEnd> {
    loop {
        match handle.events.recv_timeout(RUN_LIMIT) {
            Ok(VmEvent::Ended(end)) => return Ok(end),
            Ok(_) => {}
            Err(e) => bail!("the guest did not finish: {e}"),
        }
    }
}

/// Per-exit costs of one kind, from interleaved repetitions.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExitCost {
    /// The exit kind.
    pub kind: ExitKind,
    /// hv's µs per exit, per repetition.
    pub hv_us: Vec<f64>,
    /// The raw loop's µs per exit, per repetition.
    pub raw_us: Vec<f64>,
    /// hv / raw per repetition (each pair measured back to back).
    pub ratios: Vec<f64>,
}

impl ExitCost {
    /// Median µs per exit through hv.
    pub fn hv(&self) -> f64 {
        median(&self.hv_us).unwrap_or(f64::NAN)
    }
    /// Median µs per exit through the raw loop.
    pub fn raw(&self) -> f64 {
        median(&self.raw_us).unwrap_or(f64::NAN)
    }
    /// Median of the per-repetition ratios.
    pub fn ratio(&self) -> f64 {
        median(&self.ratios).unwrap_or(f64::NAN)
    }
}

fn per_exit_us(short: Run, long: Run) -> Result<f64> {
    slope(
        short.exits as f64,
        short.elapsed.as_secs_f64() * 1e6,
        long.exits as f64,
        long.elapsed.as_secs_f64() * 1e6,
    )
    .context("both runs made the same number of exits")
}

/// Measures `kind` `reps` times on both paths, alternating so drift hits both alike.
pub fn measure(kind: ExitKind, reps: usize) -> Result<ExitCost> {
    let (n1, n2) = TIMED_ITERATIONS;
    let expect = |r: Run, n: u32| -> Result<Run> {
        if r.exits != u64::from(n * UNROLL) {
            bail!(
                "{} guest made {} exits, expected {}",
                kind.name(),
                r.exits,
                n * UNROLL
            );
        }
        Ok(r)
    };
    // One untimed warm-up per path (page faults, first-use code paths).
    run_once(Path::Hv, kind, 1)?;
    run_once(Path::Raw, kind, 1)?;
    let mut cost = ExitCost {
        kind,
        hv_us: Vec::new(),
        raw_us: Vec::new(),
        ratios: Vec::new(),
    };
    for _ in 0..reps {
        let raw_a = expect(run_once(Path::Raw, kind, n1)?, n1)?;
        let hv_a = expect(run_once(Path::Hv, kind, n1)?, n1)?;
        let hv_b = expect(run_once(Path::Hv, kind, n2)?, n2)?;
        let raw_b = expect(run_once(Path::Raw, kind, n2)?, n2)?;
        let hv = per_exit_us(hv_a, hv_b)?;
        let raw = per_exit_us(raw_a, raw_b)?;
        cost.hv_us.push(hv);
        cost.raw_us.push(raw);
        cost.ratios.push(hv / raw);
    }
    Ok(cost)
}
