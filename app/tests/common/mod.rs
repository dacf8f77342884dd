//! Shared helpers for the integration tests: find a prebuilt test guest, run the `hv`
//! binary on it, and the skip rules (the host's x86 backend, external tools).
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `hv` binary built for these tests.
pub fn hv_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hv"))
}

/// Directory with the test guests' sources (and their `build.sh`).
pub fn guests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests")
}

/// A scratch directory for this test binary's outputs.
pub fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hv-tests");
    std::fs::create_dir_all(&d).expect("create test output dir");
    d
}

/// Prints `SKIP: <test>: <reason>` on stderr, past the test harness's output capture (it
/// captures only the `print!` family, not writes to `std::io::stderr()`), so skips show
/// in passing runs and CI can count them with `grep '^SKIP: '`.
pub fn skip(test: &str, reason: &str) {
    use std::io::Write;
    let line = format!("SKIP: {test}: {reason}\n");
    // One write, so lines from tests running in parallel do not interleave.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// True when the environment variable `name` is `1`.
fn required(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| v == "1")
}

/// Where each external tool the tests use comes from (Debian packages, as `.ci/run`
/// installs them).
fn install_hint(tool: &str) -> &'static str {
    match tool {
        "Xvfb" => "apt-get install xvfb",
        "xdotool" => "apt-get install xdotool",
        "import" => "ImageMagick: apt-get install imagemagick",
        "qemu-system-x86_64" | "qemu-system-i386" => "apt-get install qemu-system-x86",
        "qemu-system-aarch64" => "apt-get install qemu-system-arm",
        "valgrind" => "apt-get install valgrind",
        "gdb" => "apt-get install gdb",
        "xclip" => "apt-get install xclip",
        other => panic!("tests/common: no install hint for {other:?}; add one to install_hint"),
    }
}

/// True when `tool` is an executable file in one of the `PATH` directories (what
/// `Command::new(tool)` would run).
pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| is_executable(&dir, tool)))
}

#[cfg(unix)]
fn is_executable(dir: &Path, tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir.join(tool))
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(windows)]
fn is_executable(dir: &Path, tool: &str) -> bool {
    // CreateProcess appends `.exe` to a name without an extension; also accept the name
    // as given (it may carry its own extension).
    [tool.to_owned(), format!("{tool}.exe")]
        .iter()
        .any(|name| dir.join(name).is_file())
}

/// True when every one of `tools` is on `PATH`. Otherwise prints one line,
/// `SKIP: <test>: <tool> not found (<how to install>)[; <next missing tool> ...]`, and
/// returns false, or panics when `HV_REQUIRE_TOOLS=1` (CI sets it: there, a skip is a
/// failure).
pub fn tools_or_skip(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !on_path(t)).collect();
    if missing.is_empty() {
        return true;
    }
    let reasons: Vec<String> = missing
        .iter()
        .map(|t| format!("{t} not found ({})", install_hint(t)))
        .collect();
    if required("HV_REQUIRE_TOOLS") {
        panic!(
            "{test}: {}; HV_REQUIRE_TOOLS=1, refusing to skip",
            reasons.join("; ")
        );
    }
    skip(test, &reasons.join("; "));
    false
}

/// [`tools_or_skip`] for one tool.
pub fn tool_or_skip(test: &str, tool: &str) -> bool {
    tools_or_skip(test, &[tool])
}

/// What this host offers for running the x86 PC.
enum X86Backend {
    /// It can be used.
    Usable,
    /// It is not set up here (no /dev/kvm, WHP not enabled): skip, unless
    /// `HV_REQUIRE_BACKEND=1`.
    Absent(String),
    /// It is there but does not work: always a failure.
    Broken(String),
    /// hv has no x86 backend on this OS at all: always a skip.
    NotOnThisOs(&'static str),
}

/// Linux: KVM, through /dev/kvm (what hv opens unless `HV_KVM_DEVICE` says otherwise).
#[cfg(target_os = "linux")]
fn x86_backend() -> X86Backend {
    let dev = Path::new("/dev/kvm");
    match std::fs::OpenOptions::new().read(true).write(true).open(dev) {
        Ok(_) => X86Backend::Usable,
        Err(e) if dev.exists() => {
            X86Backend::Broken(format!("/dev/kvm is present but cannot be opened ({e})"))
        }
        Err(e) => X86Backend::Absent(format!("KVM is not available here (/dev/kvm: {e})")),
    }
}

/// Windows: the Windows Hypervisor Platform. `Unavailable` is what `Whp::probe` says
/// when the feature is not installed or the hypervisor is not running; any other error
/// comes from a WHP that is there but failing.
#[cfg(windows)]
fn x86_backend() -> X86Backend {
    use hv_core::{HvError, Hypervisor};
    match hv_windows::Whp::probe() {
        Ok(_) => X86Backend::Usable,
        Err(HvError::Unavailable(why)) => {
            X86Backend::Absent(format!("Windows Hypervisor Platform unavailable: {why}"))
        }
        Err(e) => X86Backend::Broken(format!("WHP is present but failed ({e})")),
    }
}

#[cfg(target_os = "macos")]
fn x86_backend() -> X86Backend {
    X86Backend::NotOnThisOs(
        "hv has no x86 backend on macOS yet (Hypervisor.framework runs the arm64 board)",
    )
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
fn x86_backend() -> X86Backend {
    X86Backend::NotOnThisOs("hv has no x86 backend for this OS")
}

/// True when this host's x86 backend (KVM on Linux, WHP on Windows) can run the PC.
/// Where it is absent the test prints a `SKIP:` line and returns false; with
/// `HV_REQUIRE_BACKEND=1` (CI sets it where /dev/kvm exists), or where the backend is
/// present but cannot be used, the test fails instead. On macOS, which has no x86
/// backend, it always skips.
pub fn backend_or_skip(test: &str) -> bool {
    match x86_backend() {
        X86Backend::Usable => true,
        X86Backend::Absent(why) if required("HV_REQUIRE_BACKEND") => {
            panic!("{test}: {why}; HV_REQUIRE_BACKEND=1, refusing to skip")
        }
        X86Backend::Absent(why) => {
            skip(test, &why);
            false
        }
        X86Backend::Broken(why) => panic!("{test}: {why}; refusing to skip"),
        X86Backend::NotOnThisOs(why) => {
            skip(test, why);
            false
        }
    }
}

/// Directory with the committed test guests, built from [`guests_dir`] by
/// `tests/guests/build.sh` (`check-reproducible.sh` proves they match their sources).
pub fn prebuilt_dir() -> PathBuf {
    guests_dir().join("prebuilt")
}

/// The committed flat binary of `guests/<name>.asm`. hv never writes an image it was not
/// given `--writable` for, so tests run these files in place; a test that changes an image
/// patches a copy of these bytes.
pub fn guest(name: &str) -> PathBuf {
    prebuilt_file(&format!("{name}.bin"))
}

/// The committed multiboot C kernel (`guests/multiboot/`: boot.asm, kernel.c, link.ld).
pub fn multiboot_kernel() -> PathBuf {
    prebuilt_file("multiboot.elf")
}

fn prebuilt_file(name: &str) -> PathBuf {
    let p = prebuilt_dir().join(name);
    assert!(
        p.is_file(),
        "{} is missing: run app/tests/guests/build.sh and commit app/tests/guests/prebuilt/",
        p.display()
    );
    p
}

/// Runs `hv run --headless <args>` and returns its output.
pub fn run_hv(args: &[&str]) -> Output {
    Command::new(hv_bin())
        .arg("run")
        .arg("--headless")
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run hv")
}

/// Runs hv and returns (status, stdout, stderr), with everything printed on failure.
pub fn run_hv_ok(args: &[&str]) -> (i32, String, String) {
    let out = run_hv(args);
    let status = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("hv {args:?} -> status {status}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    (status, stdout, stderr)
}

/// Reads a `--dump-screen` file.
pub fn read_screen(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Decodes an RGBA PNG written by `--screenshot`: (width, height, pixels).
pub fn read_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("PNG size")];
    let info = reader.next_frame(&mut buf).expect("PNG data");
    buf.truncate(info.buffer_size());
    assert_eq!(
        info.color_type,
        png::ColorType::Rgba,
        "hv writes RGBA screenshots"
    );
    (info.width, info.height, buf)
}

/// Path as &str for command lines.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// Sends SIGINT (`"INT"`) or SIGTERM (`"TERM"`) to `child`, as a user's Ctrl+C or
/// `kill` would.
#[cfg(unix)]
pub fn send_signal(child: &std::process::Child, signal: &str) {
    let number = match signal {
        "INT" => libc::SIGINT,
        "TERM" => libc::SIGTERM,
        other => panic!("send_signal: SIG{other} is not one the tests send"),
    };
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    // SAFETY: kill(2) takes plain integers; `pid` is our own child, not yet waited for,
    // so it cannot have been reused by another process.
    let rc = unsafe { libc::kill(pid, number) };
    assert_eq!(
        rc,
        0,
        "kill(SIG{signal}): {}",
        std::io::Error::last_os_error()
    );
}

/// The reason signal tests skip where there are no POSIX signals.
#[cfg(not(unix))]
pub const NO_SIGNALS: &str =
    "SIGINT/SIGTERM are unix signals; this OS has no way to send them to hv";
