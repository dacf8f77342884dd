//! Bad user input ends with one clear line and status 1 (runtime error) or 2 (usage
//! error), and never writes to the user's image.

mod common;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Runs `hv run --headless ARGS` with `env`, returns (status, stderr).
fn hv(args: &[&OsStr], env: &[(&str, &OsStr)]) -> (i32, String) {
    let mut cmd = Command::new(hv_bin());
    cmd.arg("run")
        .arg("--headless")
        .args(args)
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run hv");
    let status = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("hv {args:?} -> {status}\n{stderr}");
    (status, stderr)
}

/// The run failed with `status` and the error is one line containing `needle`. Clap's
/// usage errors (status 2) put their one-line reason first, then a usage hint.
fn assert_one_line_error(status: i32, stderr: &str, want_status: i32, needle: &str) {
    assert_eq!(status, want_status, "{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    if want_status == 1 {
        let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "exactly one line: {stderr}");
        assert!(first.starts_with("hv: error: "), "{first}");
    } else {
        assert!(first.starts_with("error: "), "{first}");
    }
    assert!(
        first.contains(needle),
        "{first:?} should mention {needle:?}"
    );
}

fn scratch(name: &str) -> PathBuf {
    let p = out_dir().join("cli_errors").join(name);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    let _ = std::fs::remove_file(&p);
    p
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// `before`, one code unit that is not valid Unicode, then `after`: a byte 0xFF on unix
/// (OS strings are bytes), an unpaired surrogate on Windows (they are UTF-16).
#[cfg(unix)]
fn non_utf8(before: &str, after: &str) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    let mut bytes = before.as_bytes().to_vec();
    bytes.push(0xFF);
    bytes.extend_from_slice(after.as_bytes());
    OsString::from_vec(bytes)
}

#[cfg(windows)]
fn non_utf8(before: &str, after: &str) -> OsString {
    use std::os::windows::ffi::OsStringExt;
    let mut wide: Vec<u16> = before.encode_utf16().collect();
    wide.push(0xD800);
    wide.extend(after.encode_utf16());
    OsString::from_wide(&wide)
}

/// Runs hv on `image` and checks the file is byte-for-byte unchanged afterwards.
fn run_on_image(image: &Path, extra: &[&str]) -> (i32, String) {
    let before = std::fs::read(image).ok();
    let mut args: Vec<&OsStr> = vec![image.as_os_str()];
    args.extend(extra.iter().map(|s| os(s)));
    let r = hv(&args, &[]);
    assert!(
        std::fs::read(image).ok() == before,
        "hv changed {}",
        image.display()
    );
    r
}

#[test]
fn missing_directory_empty_and_oversized_images() {
    let missing = scratch("missing.img");
    let (s, e) = hv(&[missing.as_os_str()], &[]);
    assert_one_line_error(s, &e, 1, "cannot open");

    let dir = out_dir().join("cli_errors");
    let (s, e) = hv(&[dir.as_os_str()], &[]);
    assert_one_line_error(s, &e, 1, "is a directory");

    let empty = scratch("empty.img");
    std::fs::write(&empty, b"").expect("write");
    let (s, e) = run_on_image(&empty, &[]);
    assert_one_line_error(s, &e, 1, "is empty");

    // Sparse: 513 MiB apparent size, no disk space used.
    let huge = scratch("huge.img");
    std::fs::File::create(&huge)
        .and_then(|f| f.set_len(513 << 20))
        .expect("sparse file");
    let (s, e) = run_on_image(&huge, &[]);
    assert_one_line_error(s, &e, 1, "huge.img");
    let (s, e) = run_on_image(&huge, &["--format", "flat"]);
    assert_one_line_error(s, &e, 1, "huge.img");
    std::fs::remove_file(&huge).ok();

    let bad_name = PathBuf::from(non_utf8("/nonexistent/", ".img"));
    assert!(bad_name.to_str().is_none(), "the name is not UTF-8");
    let (s, e) = hv(&[bad_name.as_os_str()], &[]);
    assert_one_line_error(s, &e, 1, "cannot open");
}

#[test]
fn no_image_boots_the_bundled_demo() {
    if !backend_or_skip("no_image_boots_the_bundled_demo") {
        return;
    }
    // No IMAGE boots the demo embedded in the binary, to its prompt.
    let (s, e) = hv(
        &[
            OsStr::new("--until-text"),
            OsStr::new("hv-demo: ready"),
            OsStr::new("--timeout"),
            OsStr::new("60"),
            OsStr::new("--serial"),
            OsStr::new("none"),
        ],
        &[],
    );
    assert_eq!(s, 0, "no IMAGE boots the bundled demo: {e}");
}

#[test]
fn flat_images_that_do_not_fit_are_refused_before_booting() {
    let big = scratch("too_big_flat.bin");
    std::fs::write(&big, vec![0x90u8; 700 * 1024]).expect("write");
    let (s, e) = run_on_image(&big, &["--format", "flat"]);
    assert_one_line_error(s, &e, 1, "at most");

    let small = scratch("small_flat.bin");
    std::fs::write(&small, [0xF4u8]).expect("write");
    let (s, e) = run_on_image(&small, &["--format", "flat", "--load-addr", "0x100"]);
    assert_one_line_error(s, &e, 1, "interrupt vector table");
    let (s, e) = run_on_image(&small, &["--format", "flat", "--load-addr", "0x10000"]);
    assert_one_line_error(s, &e, 2, "16 bits");
    let (s, e) = run_on_image(&small, &["--format", "no-such-format"]);
    assert_one_line_error(s, &e, 2, "no-such-format");
}

#[test]
fn absurd_options_are_usage_or_clear_errors() {
    let small = scratch("opts_flat.bin");
    std::fs::write(&small, [0xFAu8, 0xF4]).expect("write");
    for t in ["0", "nan", "inf", "1e-400"] {
        let (s, e) = run_on_image(&small, &["--timeout", t]);
        assert_one_line_error(s, &e, 1, "--timeout");
    }
    let (s, e) = run_on_image(&small, &["--timeout", "-1"]);
    assert_one_line_error(s, &e, 2, "-1");
    let (s, e) = run_on_image(&small, &["--memory", "99999999999999999999999"]);
    assert_one_line_error(s, &e, 2, "--memory");
    let (s, e) = run_on_image(&small, &["--memory", "-5"]);
    assert_one_line_error(s, &e, 2, "-5");

    // Non-UTF-8 --type is refused by the parser, not mangled.
    let (s, e) = hv(
        &[small.as_os_str(), os("--type"), &non_utf8("ls", "\n")],
        &[],
    );
    assert_one_line_error(s, &e, 2, "UTF-8");
}

#[test]
fn memory_sizes_outside_the_supported_range() {
    if !backend_or_skip("memory_sizes_outside_the_supported_range") {
        return;
    }
    let small = scratch("mem_flat.bin");
    std::fs::write(&small, [0xFAu8, 0xF4]).expect("write");
    for m in ["0", "1", "999999999"] {
        let (s, e) = run_on_image(&small, &["--memory", m]);
        assert_one_line_error(s, &e, 1, "out of range; use 2 to 3072 MiB");
    }
}

#[test]
fn weird_type_text_is_typed_or_skipped_with_a_warning() {
    if !backend_or_skip("weird_type_text_is_typed_or_skipped_with_a_warning") {
        return;
    }
    let bin = guest("hello");
    let (status, _, stderr) = run_hv_ok(&[
        "--format",
        "flat",
        bin.to_str().expect("utf-8"),
        "--type",
        "héllo 😀\u{7}\u{7f}\\q\\",
        "--timeout",
        "20",
    ]);
    assert_eq!(status, 0x21, "the guest ran to its own exit");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

// HV_KVM_DEVICE is the KVM backend's override: Linux only.
#[cfg(target_os = "linux")]
#[test]
fn unusable_kvm_device_is_one_actionable_line() {
    let small = scratch("kvm_flat.bin");
    std::fs::write(&small, [0xFAu8, 0xF4]).expect("write");
    let missing = scratch("no-such-kvm");
    let flat = [small.as_os_str(), os("--format"), os("flat")];
    let (s, e) = hv(&flat, &[("HV_KVM_DEVICE", missing.as_os_str())]);
    assert_one_line_error(s, &e, 1, "not found: KVM is not available");

    let regular = scratch("fake-kvm");
    std::fs::write(&regular, b"not a device").expect("write");
    let (s, e) = hv(&flat, &[("HV_KVM_DEVICE", regular.as_os_str())]);
    assert_one_line_error(s, &e, 1, "is not a KVM device");

    let (s, e) = hv(&flat, &[("HV_KVM_DEVICE", os("/dev/null"))]);
    assert_one_line_error(s, &e, 1, "/dev/null");
}

#[test]
fn unwritable_outputs_are_reported() {
    if !backend_or_skip("unwritable_outputs_are_reported") {
        return;
    }
    let bin = guest("hello");
    let dir = out_dir().join("cli_errors");
    let (s, e) = run_on_image(
        &bin,
        &["--format", "flat", "--serial", dir.to_str().expect("utf-8")],
    );
    assert_one_line_error(s, &e, 1, "cannot create serial output file");
    let (s, e) = run_on_image(
        &bin,
        &[
            "--format",
            "flat",
            "--dump-screen",
            "/nonexistent-dir/screen.txt",
        ],
    );
    assert_eq!(s, 1, "{e}");
    assert!(
        e.lines()
            .any(|l| l.starts_with("hv: error: ") && l.contains("screen.txt")),
        "{e}"
    );
}

/// Where the Windows Hypervisor Platform is missing (Wine has none; so does a Windows
/// without the optional feature), `hv run` of a valid image says so in one line, with
/// the command that installs the feature, and exits 1.
#[cfg(windows)]
#[test]
fn without_whp_run_names_the_feature_and_the_command() {
    use hv_core::Hypervisor;
    if hv_windows::Whp::probe().is_ok() {
        skip(
            "without_whp_run_names_the_feature_and_the_command",
            "the Windows Hypervisor Platform is available here (this test is for hosts without it)",
        );
        return;
    }
    let (s, e) = run_on_image(&guest("hello"), &["--format", "flat"]);
    assert_one_line_error(s, &e, 1, "the Windows Hypervisor Platform is not enabled");
    assert!(
        e.contains("DISM /Online /Enable-Feature /FeatureName:HypervisorPlatform /All"),
        "{e}"
    );
}
