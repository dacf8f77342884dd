//! Runs every section in order and turns the measurements into report rows.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::exits::{self, ExitCost, Path as RunPath};
use super::guests::{self, ExitKind};
use super::irq_rate::{self, IrqRates};
use super::keys::{self, KeySamples};
use super::plot::{self, PlotData};
use super::process;
use super::raw_kvm::RawVm;
use super::render;
use super::report::{Report, Row};
use super::stats::Summary;
use super::{callgrind, stats};
use crate::cli::BenchArgs;

/// The exit-overhead target: hv's PIO round trip at most this many times the raw loop's.
const PIO_RATIO_TARGET: f64 = 1.10;
/// Host instructions of hv's own code per PIO exit.
const PIO_INSTRUCTIONS_TARGET: f64 = 1500.0;
/// A key reaches the guest within this many exit round trips (p99).
const KEY_ROUND_TRIPS_TARGET: f64 = 2.0;
/// Text frame render at 720x400, ms.
const TEXT_RENDER_TARGET_MS: f64 = 0.5;
/// Idle guest, percent of one core.
const IDLE_CPU_TARGET: f64 = 2.0;
/// Headless start-up to first guest instruction, ms.
const STARTUP_TARGET_MS: f64 = 20.0;
/// Headless RSS minus guest RAM, MiB.
const RSS_TARGET_MIB: f64 = 16.0;
/// The PIT's BIOS rate, 1193182 / 65536 Hz.
const BIOS_TICK_HZ: f64 = 1_193_182.0 / 65_536.0;
/// How far the BIOS tick rate of a polling guest may be from it.
const BIOS_TICK_TOLERANCE: f64 = 0.05;
/// Seconds the BIOS polling guest is measured for.
const IRQ_RATE_SECS: f64 = 3.0;

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self> {
        let p = std::env::temp_dir().join(format!("hv-bench-{}", std::process::id()));
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(Self(p))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn progress(what: &str) {
    eprintln!("hv bench: {what}...");
}

/// The whole bench.
pub fn run(args: &BenchArgs) -> Result<i32> {
    if args.reps == 0 || args.presses == 0 {
        bail!("--reps and --presses must be at least 1");
    }
    if !(args.idle_secs > 0.0 && args.idle_secs.is_finite()) {
        bail!("--idle-secs must be a positive number of seconds");
    }
    let exe = std::env::current_exe().context("finding the hv binary")?;
    let scratch = Scratch::new()?;
    let mut report = Report {
        host: host_description(),
        ..Default::default()
    };

    let want = |section: &str| args.only.is_empty() || args.only.iter().any(|o| o == section);
    let mut costs = Vec::new();
    if want("exit") {
        progress("exit round trips (hv full path vs raw KVM_RUN loop)");
        for kind in ExitKind::ALL {
            costs.push(exits::measure(kind, args.reps)?);
        }
    }
    exit_rows(&mut report, &costs);
    let round_trip = costs.first().map_or(f64::NAN, ExitCost::hv);

    if !want("callgrind") {
    } else if args.no_callgrind {
        report
            .notes
            .push("instructions per exit: skipped (--no-callgrind)".into());
    } else if !callgrind::available() {
        report
            .notes
            .push("instructions per exit: valgrind not found; install valgrind".into());
    } else {
        progress("host instructions per exit (callgrind)");
        for kind in ExitKind::ALL {
            let ic = callgrind::measure(&exe, &scratch.0, kind)?;
            instruction_rows(&mut report, &ic);
        }
    }

    let (mut halted, mut spinning) = (KeySamples::default(), KeySamples::default());
    if want("keys") {
        progress("keystroke latency and interrupt delivery");
        halted = keys::measure(false, args.presses)?;
        spinning = keys::measure(true, args.presses)?;
        key_rows(&mut report, "halted", &halted, round_trip);
        key_rows(&mut report, "spinning", &spinning, round_trip);
        irq_rate_rows(&mut report, &irq_rate::measure(IRQ_RATE_SECS)?);
    }

    if want("render") {
        progress("rendering");
        render_rows(&mut report, &render::measure(args.reps * 10)?);
    }

    if want("startup") {
        startup_rows(&mut report, &exe, &scratch.0, args.reps * 2)?;
    }
    if want("idle") {
        idle_rows(&mut report, &exe, &scratch.0, args.idle_secs)?;
    }

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("host: {}\n", report.host);
        print!("{}", report.table());
    }
    if let Some(p) = &args.plot {
        let data = PlotData {
            exits: costs
                .iter()
                .map(|c| (c.kind.name().to_string(), c.raw(), c.hv()))
                .collect(),
            latencies: vec![
                ("halted guest".into(), halted.send_to_read_us.clone()),
                (
                    "spinning guest (kick)".into(),
                    spinning.send_to_read_us.clone(),
                ),
            ],
            key_target_us: KEY_ROUND_TRIPS_TARGET * round_trip,
        };
        plot::write(p, &data)?;
        eprintln!("hv bench: plot written to {}", p.display());
    }
    Ok(0)
}

fn startup_rows(report: &mut Report, exe: &Path, scratch: &Path, reps: usize) -> Result<()> {
    progress("start-up");
    let guest = process::write_guest(scratch, "startup.bin", &guests::startup_guest())?;
    let s = process::startup(exe, &guest, reps)?;
    report.rows.push(
        Row::new(
            "startup",
            "process start -> first guest instruction, headless (minus /bin/true)",
            s.hv_overhead(),
            "ms",
        )
        .vs("raw KVM process", s.raw_overhead())
        .target(
            format!("<= {STARTUP_TARGET_MS} ms"),
            s.hv_overhead() <= STARTUP_TARGET_MS,
        ),
    );
    report.rows.push(Row::new(
        "startup",
        "/bin/true wall time (subtracted above)",
        stats::median(&s.true_ms).unwrap_or(f64::NAN),
        "ms",
    ));
    Ok(())
}

fn idle_rows(report: &mut Report, exe: &Path, scratch: &Path, secs: f64) -> Result<()> {
    progress(&format!("idle CPU and memory ({secs} s)"));
    let guest = process::write_guest(scratch, "idle.bin", &guests::idle_guest())?;
    let idle = process::idle(exe, &guest, secs)?;
    process_rows(report, &idle);
    match process::windowed(exe, &guest) {
        Ok(r) => report.rows.push(
            Row::new(
                "memory",
                "RSS - guest RAM, windowed",
                r.overhead_mib(),
                "MiB",
            )
            .vs("headless", idle.hv.overhead_mib()),
        ),
        Err(why) => report
            .notes
            .push(format!("windowed RSS: not measured: {why}")),
    }
    match process::first_frame(exe, &guest) {
        Ok(d) => report.rows.push(Row::new(
            "startup",
            "process start -> first frame shown, window",
            d.as_secs_f64() * 1e3,
            "ms",
        )),
        Err(why) => report
            .notes
            .push(format!("time to first frame (window): not measured: {why}")),
    }
    Ok(())
}

fn exit_rows(report: &mut Report, costs: &[ExitCost]) {
    for c in costs {
        let mut row = Row::new(
            "exit",
            format!("{} round trip", c.kind.name()),
            c.hv(),
            "µs",
        )
        .vs("raw KVM_RUN loop", c.raw())
        .ratio(c.ratio());
        if matches!(c.kind, ExitKind::PioOut | ExitKind::PioIn) {
            row = row.target(
                format!("<= {PIO_RATIO_TARGET:.2}x raw"),
                c.ratio() <= PIO_RATIO_TARGET,
            );
        }
        report.rows.push(row);
    }
}

fn instruction_rows(report: &mut Report, ic: &callgrind::InstructionCount) {
    let kind = ic.kind.name();
    report.rows.push(
        Row::new(
            "exit",
            format!("{kind} host instructions per exit (user space)"),
            ic.hv,
            "instr",
        )
        .vs("raw KVM_RUN loop", ic.raw),
    );
    let mut own = Row::new(
        "exit",
        format!("{kind} instructions of hv's own code per exit"),
        ic.hv_own(),
        "instr",
    );
    if matches!(ic.kind, ExitKind::PioOut | ExitKind::PioIn) {
        own = own.target(
            format!("<= {PIO_INSTRUCTIONS_TARGET}"),
            ic.hv_own() <= PIO_INSTRUCTIONS_TARGET,
        );
    }
    report.rows.push(own);
}

fn key_rows(report: &mut Report, state: &str, k: &KeySamples, round_trip: f64) {
    let base = "hv PIO exit round trip";
    if let Some(s) = Summary::of(&k.send_to_read_us) {
        report.rows.push(
            Row::new(
                "keys",
                format!("send -> guest reads 0x60, {state} guest, p50"),
                s.p50,
                "µs",
            )
            .vs(base, round_trip),
        );
        report.rows.push(
            Row::new(
                "keys",
                format!("send -> guest reads 0x60, {state} guest, p99"),
                s.p99,
                "µs",
            )
            .vs(base, round_trip)
            .target(
                format!("<= {KEY_ROUND_TRIPS_TARGET:.0}x round trip"),
                s.p99 <= KEY_ROUND_TRIPS_TARGET * round_trip,
            ),
        );
    }
    let e = &k.exits_per_key;
    report.rows.push(Row::new(
        "keys",
        format!(
            "exits per keystroke, {state} guest (pio {:.1}, hlt {:.1}, window {:.1}, kick {:.1})",
            e[0], e[2], e[3], e[4]
        ),
        e.iter().sum(),
        "exits",
    ));
    if let Some(s) = Summary::of(&k.irq_to_read_us) {
        for (q, v) in [("p50", s.p50), ("p99", s.p99)] {
            report.rows.push(
                Row::new(
                    "irq",
                    format!("IRQ1 raised -> handler entered, {state} guest, {q}"),
                    v,
                    "µs",
                )
                .vs(base, round_trip),
            );
        }
    }
}

fn irq_rate_rows(report: &mut Report, r: &IrqRates) {
    let guest = format!("guest polling int 16h AH=01h, {:.1} s", r.seconds);
    report.rows.push(Row::new(
        "irq",
        format!("interrupt requests raised by devices, {guest}"),
        r.raised,
        "/s",
    ));
    report.rows.push(
        Row::new(
            "irq",
            format!("interrupts delivered, {guest}"),
            r.delivered,
            "/s",
        )
        .vs("raised", r.raised),
    );
    report.rows.push(Row::new(
        "irq",
        format!("interrupts coalesced (raised - delivered), {guest}"),
        r.coalesced(),
        "/s",
    ));
    report.rows.push(
        Row::new(
            "irq",
            format!("BIOS tick count rate, {guest}"),
            r.bios_ticks,
            "Hz",
        )
        .vs("PIT 1193182/65536 Hz", BIOS_TICK_HZ)
        .target(
            format!("within {:.0}%", BIOS_TICK_TOLERANCE * 100.0),
            (r.bios_ticks / BIOS_TICK_HZ - 1.0).abs() <= BIOS_TICK_TOLERANCE,
        ),
    );
}

fn render_rows(report: &mut Report, r: &render::RenderCosts) {
    let base = "memcpy 720x400 RGBA";
    let b = r.memcpy_720x400;
    report.rows.push(
        Row::new("render", "80x25 text -> 720x400 RGBA", r.text_1x, "ms")
            .vs(base, b)
            .target(
                format!("<= {TEXT_RENDER_TARGET_MS} ms"),
                r.text_1x <= TEXT_RENDER_TARGET_MS,
            ),
    );
    for (what, v) in [
        ("80x25 text -> 1440x800 (2x nearest)", r.text_2x),
        ("80x25 text -> 2160x1200 (3x nearest)", r.text_3x),
        ("mode 13h -> 320x200 RGBA", r.mode13),
        ("mode 13h -> 640x400 (2x nearest)", r.mode13_2x),
    ] {
        report
            .rows
            .push(Row::new("render", what, v, "ms").vs(base, b));
    }
    report.rows.push(
        Row::new(
            "render",
            "unchanged text screen: skip check",
            r.skip_check,
            "ms",
        )
        .vs("text render", r.text_1x)
        .target("skipped, < 5% of a render", r.skip_check < 0.05 * r.text_1x),
    );
}

fn process_rows(report: &mut Report, idle: &process::Idle) {
    report.rows.push(
        Row::new(
            "idle",
            format!(
                "idle guest (hlt, PIT 100 Hz), host CPU over {:.0} s",
                idle.seconds
            ),
            idle.cpu_percent,
            "% core",
        )
        .target(
            format!("<= {IDLE_CPU_TARGET}%"),
            idle.cpu_percent <= IDLE_CPU_TARGET,
        ),
    );
    let hv = idle.hv.overhead_mib();
    report.rows.push(
        Row::new("memory", "RSS - guest RAM, headless", hv, "MiB")
            .vs("raw KVM process", idle.raw.overhead_mib())
            .target(format!("<= {RSS_TARGET_MIB} MiB"), hv <= RSS_TARGET_MIB),
    );
    report.rows.push(
        Row::new(
            "memory",
            format!("guest RAM resident ({} MiB guest)", process::MEMORY_MIB),
            idle.hv.guest_kib as f64 / 1024.0,
            "MiB",
        )
        .vs("raw KVM process", idle.raw.guest_kib as f64 / 1024.0),
    );
}

/// Kernel, CPU model and core count, for the report header.
fn host_description() -> String {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown kernel".into());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("Linux {kernel}, {cpu}, {cores} cores available")
}

/// The child roles `hv bench` runs itself in:
/// `exit:<hv|raw>:<kind>:<iterations>` (one exit run, for callgrind) and
/// `raw-boot:<MiB>:<hold 0|1>` (the raw KVM process baseline).
pub fn child(spec: &str) -> Result<i32> {
    let parts: Vec<&str> = spec.split(':').collect();
    match parts.as_slice() {
        ["exit", path, kind, iterations] => {
            let path = RunPath::parse(path).context("path must be hv or raw")?;
            let kind = ExitKind::parse(kind).context("unknown exit kind")?;
            let iterations: u32 = iterations.parse().context("iterations")?;
            let r = exits::run_once(path, kind, iterations)?;
            println!("{} exits", r.exits);
            Ok(0)
        }
        ["raw-boot", mib, hold] => {
            let mib: usize = mib.parse().context("MiB")?;
            let mut vm = RawVm::new(&guests::startup_guest(), mib << 20)?;
            vm.run()?;
            if *hold == "1" {
                loop {
                    std::thread::park();
                }
            }
            Ok(0)
        }
        _ => bail!("unknown bench child role {spec:?}"),
    }
}
