//! Shared helpers for the integration tests: build a test guest from source, run the
//! `hv` binary on it, and apply the KVM skip rule.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `hv` binary built for these tests.
pub fn hv_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hv"))
}

/// Directory with the test guests' sources.
pub fn guests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests")
}

/// A scratch directory for this test binary's outputs.
pub fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hv-tests");
    std::fs::create_dir_all(&d).expect("create test output dir");
    d
}

/// True when KVM can be used. Where `/dev/kvm` exists (or HV_REQUIRE_BACKEND=1), a KVM
/// that cannot be opened fails the test instead of skipping it.
pub fn kvm_or_skip(test: &str) -> bool {
    let required = Path::new("/dev/kvm").exists()
        || std::env::var_os("HV_REQUIRE_BACKEND").is_some_and(|v| v == "1");
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        Ok(_) => true,
        Err(e) if required => {
            panic!("{test}: /dev/kvm is present but cannot be opened ({e}); refusing to skip")
        }
        Err(e) => {
            eprintln!("{test}: skipped: KVM is not available here ({e})");
            false
        }
    }
}

/// Assembles `guests/<name>.asm` with nasm into a flat binary and returns its path.
///
/// Tests run in parallel and several may build the same guest: each assembles into a
/// file of its own and renames it into place, so nobody ever runs a half-written binary.
pub fn nasm(name: &str) -> PathBuf {
    static UNIQUE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let src = guests_dir().join(format!("{name}.asm"));
    let out = out_dir().join(format!("{name}.bin"));
    let n = UNIQUE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = out_dir().join(format!("{name}.bin.{}.{n}", std::process::id()));
    let st = Command::new("nasm")
        .args(["-f", "bin", "-w+all", "-o"])
        .arg(&tmp)
        .arg("-I")
        .arg(guests_dir())
        .arg(&src)
        .status()
        .expect("nasm must be installed (apt-get install nasm; .ci/run does it)");
    assert!(st.success(), "nasm failed on {}", src.display());
    std::fs::rename(&tmp, &out).expect("move the assembled guest into place");
    out
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
