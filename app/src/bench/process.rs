//! Whole-process figures from child processes: start-up time, idle CPU and resident
//! memory, read from `/proc` the way an operator would see them.
//!
//! Baselines, from the same binary in the same run: `/bin/true` (what any process start
//! costs) and `hv bench --child raw-boot` (a bare KVM VM with the same RAM running the
//! same guest: the least a VMM process can be).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::stats::median;

/// Guest RAM for the process figures: hv's default, what users get.
pub const MEMORY_MIB: u64 = 64;
/// Time a child gets to boot before it is measured.
const SETTLE: Duration = Duration::from_millis(1000);

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write_guest(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let p = dir.join(name);
    std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))?;
    Ok(p)
}

fn hv_run_cmd(exe: &Path, image: &Path, headless: bool) -> Command {
    let mut c = Command::new(exe);
    c.arg("run");
    if headless {
        c.arg("--headless");
    }
    c.args(["--serial", "none", "--format", "flat", "--memory"])
        .arg(MEMORY_MIB.to_string())
        .arg(image)
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    c
}

fn raw_boot_cmd(exe: &Path, hold: bool) -> Command {
    let mut c = Command::new(exe);
    c.args(["bench", "--child"])
        .arg(format!("raw-boot:{MEMORY_MIB}:{}", u8::from(hold)))
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    c
}

/// Wall time of running `cmd` to completion; fails unless it exits with `status`.
fn wall_time(mut cmd: Command, status: i32) -> Result<f64> {
    let t = Instant::now();
    let out = cmd
        .stderr(Stdio::piped())
        .output()
        .context("spawning a child")?;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    if out.status.code() != Some(status) {
        bail!(
            "child {:?} ended with {} (expected {status}): {}",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(ms)
}

/// Start-up: process start -> the guest's first instruction (which ends the run).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Startup {
    /// `hv run --headless` on the startup guest, ms per repetition.
    pub hv_ms: Vec<f64>,
    /// The raw KVM child on the same guest, ms.
    pub raw_ms: Vec<f64>,
    /// `/bin/true`, ms.
    pub true_ms: Vec<f64>,
}

impl Startup {
    /// Median hv wall time minus median `/bin/true`: hv's own start-up (+ teardown).
    pub fn hv_overhead(&self) -> f64 {
        median(&self.hv_ms).unwrap_or(f64::NAN) - median(&self.true_ms).unwrap_or(f64::NAN)
    }
    /// The same for the raw KVM child.
    pub fn raw_overhead(&self) -> f64 {
        median(&self.raw_ms).unwrap_or(f64::NAN) - median(&self.true_ms).unwrap_or(f64::NAN)
    }
}

/// Times `reps` start-ups of each kind, interleaved.
pub fn startup(exe: &Path, guest: &Path, reps: usize) -> Result<Startup> {
    let mut s = Startup {
        hv_ms: Vec::new(),
        raw_ms: Vec::new(),
        true_ms: Vec::new(),
    };
    // Warm the page cache for all three binaries.
    wall_time(Command::new("/bin/true"), 0)?;
    wall_time(hv_run_cmd(exe, guest, true), 1)?;
    wall_time(raw_boot_cmd(exe, false), 0)?;
    for _ in 0..reps {
        s.true_ms.push(wall_time(Command::new("/bin/true"), 0)?);
        s.hv_ms.push(wall_time(hv_run_cmd(exe, guest, true), 1)?);
        s.raw_ms.push(wall_time(raw_boot_cmd(exe, false), 0)?);
    }
    Ok(s)
}

/// CPU time (user + system) of `pid` so far, from `/proc/<pid>/stat`.
fn cpu_time(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    let ticks = parse_cpu_ticks(&stat).context("malformed /proc/<pid>/stat")?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz <= 0 {
        bail!("sysconf(_SC_CLK_TCK) failed");
    }
    Ok(Duration::from_secs_f64(ticks as f64 / hz as f64))
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name
/// (field 2) may contain spaces and parentheses, so fields are counted after the last ')'.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Resident memory of a child, split into guest RAM and everything else.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Resident {
    /// VmRSS, KiB.
    pub total_kib: u64,
    /// Resident KiB of the guest RAM mappings.
    pub guest_kib: u64,
}

impl Resident {
    /// RSS minus touched guest RAM, MiB.
    pub fn overhead_mib(&self) -> f64 {
        self.total_kib.saturating_sub(self.guest_kib) as f64 / 1024.0
    }
}

/// Reads VmRSS and the guest RAM's resident share from `/proc/<pid>/smaps`.
fn resident(pid: u32, guest_region_kib: &[u64]) -> Result<Resident> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps"))
        .with_context(|| format!("reading /proc/{pid}/smaps"))?;
    Ok(parse_smaps(&smaps, guest_region_kib))
}

/// Sums `Rss` over all mappings (VmRSS) and over anonymous mappings whose `Size` is one
/// of the guest RAM region sizes (each size claimed once: guest RAM is one mapping per
/// region).
pub fn parse_smaps(smaps: &str, guest_region_kib: &[u64]) -> Resident {
    let mut unclaimed: Vec<u64> = guest_region_kib.to_vec();
    let mut total = 0;
    let mut guest = 0;
    let mut anon = false;
    let mut size = 0;
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else { continue };
        if first.contains('-') && !first.ends_with(':') {
            // A mapping header: "start-end perms offset dev inode [path]".
            anon = words.nth(4).is_none();
            size = 0;
            continue;
        }
        let kib = || words.clone().next().and_then(|n| n.parse::<u64>().ok());
        match first {
            "Size:" => size = kib().unwrap_or(0),
            "Rss:" => {
                let rss = kib().unwrap_or(0);
                total += rss;
                if anon {
                    if let Some(i) = unclaimed.iter().position(|&s| s == size) {
                        unclaimed.swap_remove(i);
                        guest += rss;
                    }
                }
            }
            _ => {}
        }
    }
    Resident {
        total_kib: total,
        guest_kib: guest,
    }
}

/// The mapping sizes (KiB) guest RAM can show up as for a PC with [`MEMORY_MIB`]: one
/// mapping per region (conventional RAM, BIOS ROM, extended memory; see hv-core's
/// machine layout), or all of them as one, since the kernel merges adjacent anonymous
/// mappings with equal flags.
pub fn hv_guest_regions() -> Vec<u64> {
    vec![MEMORY_MIB << 10, 960, 64, (MEMORY_MIB << 10) - 1024]
}

/// A child that is killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Idle guest figures.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Idle {
    /// CPU used by the idle child, percent of one core.
    pub cpu_percent: f64,
    /// Over this many seconds.
    pub seconds: f64,
    /// Resident memory of the headless hv child after boot.
    pub hv: Resident,
    /// Resident memory of the raw KVM child with the same RAM.
    pub raw: Resident,
}

/// Runs the idle guest headless for `seconds` and reads its CPU time and memory; the
/// raw KVM child gives the memory baseline.
pub fn idle(exe: &Path, guest: &Path, seconds: f64) -> Result<Idle> {
    let mut cmd = hv_run_cmd(exe, guest, true);
    let child = Running(cmd.stderr(Stdio::null()).spawn().context("spawning hv")?);
    let pid = child.0.id();
    std::thread::sleep(SETTLE);
    let c0 = cpu_time(pid)?;
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let c1 = cpu_time(pid)?;
    let wall = t0.elapsed();
    let hv = resident(pid, &hv_guest_regions())?;
    drop(child);

    let raw_child = Running(
        raw_boot_cmd(exe, true)
            .stderr(Stdio::null())
            .spawn()
            .context("spawning the raw KVM child")?,
    );
    std::thread::sleep(SETTLE);
    let raw = resident(raw_child.0.id(), &[MEMORY_MIB << 10])?;
    drop(raw_child);

    Ok(Idle {
        cpu_percent: (c1 - c0).as_secs_f64() / wall.as_secs_f64() * 100.0,
        seconds: wall.as_secs_f64(),
        hv,
        raw,
    })
}

/// Tries the windowed front end (`hv run IMAGE` without --headless, under the current
/// DISPLAY): its resident memory after boot, or why it could not be measured.
pub fn windowed(exe: &Path, guest: &Path) -> std::result::Result<Resident, String> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return Err("no DISPLAY (run under Xvfb: xvfb-run hv bench)".into());
    }
    let mut cmd = hv_run_cmd(exe, guest, false);
    let mut child = Running(
        cmd.stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawning hv: {e}"))?,
    );
    std::thread::sleep(SETTLE);
    if let Ok(Some(status)) = child.0.try_wait() {
        let mut msg = String::new();
        if let Some(mut err) = child.0.stderr.take() {
            use std::io::Read;
            let _ = err.read_to_string(&mut msg);
        }
        return Err(format!(
            "the window front end is not available in this build ({status}: {})",
            msg.lines().next().unwrap_or("").trim()
        ));
    }
    resident(child.0.id(), &hv_guest_regions()).map_err(|e| format!("{e:#}"))
}

/// Process start -> the window's first presented frame (`hv run IMAGE` without
/// --headless under the current DISPLAY; the window logs "first frame presented").
pub fn first_frame(exe: &Path, guest: &Path) -> std::result::Result<Duration, String> {
    use std::io::{BufRead, BufReader};
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return Err("no DISPLAY (run under Xvfb: xvfb-run hv bench)".into());
    }
    let mut cmd = hv_run_cmd(exe, guest, false);
    cmd.env("RUST_LOG", "hv::window=info")
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = Running(cmd.spawn().map_err(|e| format!("spawning hv: {e}"))?);
    let stderr = child.0.stderr.take().ok_or("no stderr")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr)
            .lines()
            .map_while(std::result::Result::ok)
        {
            if line.contains("first frame presented") {
                let _ = tx.send(Instant::now());
                return;
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(at) => Ok(at - started),
        Err(_) => Err("the window presented no frame within 30 s".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_after_a_tricky_command_name() {
        let stat = "1234 (hv (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn smaps_splits_guest_ram_from_the_rest() {
        let smaps = "\
5555-6666 r-xp 00000000 08:01 42 /usr/bin/hv
Size:                100 kB
Rss:                  80 kB
7000-8000 rw-p 00000000 00:00 0
Size:              64512 kB
Rss:               64512 kB
8000-9000 rw-p 00000000 00:00 0
Size:                960 kB
Rss:                 960 kB
9000-a000 rw-p 00000000 00:00 0
Size:               2048 kB
Rss:                 300 kB
a000-b000 rw-p 00000000 00:00 0 [heap]
Size:                960 kB
Rss:                  10 kB
";
        let r = parse_smaps(smaps, &[960, 64, 64512]);
        assert_eq!(r.total_kib, 80 + 64512 + 960 + 300 + 10);
        assert_eq!(r.guest_kib, 64512 + 960);
        assert!((r.overhead_mib() - 390.0 / 1024.0).abs() < 1e-9);
    }
}
