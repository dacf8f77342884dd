//! `--writable` disks keep the guest's writes through a normal exit and through
//! SIGINT/SIGTERM (flushed on the normal exit path); without `--writable` the image file
//! never changes (writes go to the in-memory overlay). The signal cases are unix-only.

mod common;

#[cfg(unix)]
use std::io::Read;
use std::path::{Path, PathBuf};
#[cfg(unix)]
use std::process::{Command, Stdio};
#[cfg(unix)]
use std::time::{Duration, Instant};

use common::*;

const FLOPPY: usize = 1_474_560;

/// A 1.44 MB floppy whose boot sector writes sector 2; `mode` 1 makes it idle afterwards.
fn floppy(name: &str, mode: u8) -> PathBuf {
    let mut boot = std::fs::read(guest("disk_write")).expect("boot sector");
    assert_eq!(boot.len(), 512);
    boot[0x1FD] = mode;
    let mut img = vec![0xF6u8; FLOPPY];
    img[..512].copy_from_slice(&boot);
    let path = out_dir().join(name);
    std::fs::write(&path, &img).expect("write image");
    path
}

/// CHS sector 2 of cylinder 0, head 0: LBA 1 (CHS sectors count from 1).
fn sector2(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read image")[512..1024].to_vec()
}

fn written_pattern() -> Vec<u8> {
    b"HVWRITE!".repeat(64)
}

#[test]
fn writable_disk_keeps_writes_after_a_normal_exit() {
    if !backend_or_skip("writable_disk_keeps_writes_after_a_normal_exit") {
        return;
    }
    let img = floppy("writable_exit.img", 0);
    let (status, stdout, _) = run_hv_ok(&[
        img.to_str().expect("utf-8"),
        "--writable",
        "--timeout",
        "30",
    ]);
    assert!(stdout.contains("written"), "int 13h write");
    assert_eq!(status, 1, "debug-exit 0");
    assert_eq!(sector2(&img), written_pattern());
}

#[test]
fn overlay_run_never_changes_the_image() {
    if !backend_or_skip("overlay_run_never_changes_the_image") {
        return;
    }
    let img = floppy("overlay.img", 0);
    let before = std::fs::read(&img).expect("read");
    let (_, stdout, _) = run_hv_ok(&[img.to_str().expect("utf-8"), "--timeout", "30"]);
    assert!(stdout.contains("written"), "the guest believes it wrote");
    assert!(
        std::fs::read(&img).expect("read") == before,
        "image changed"
    );
}

#[cfg(unix)]
fn signalled_writable_run(signal: &str) {
    let img = floppy(&format!("writable_sig{signal}.img"), 1);
    let mut child = Command::new(hv_bin())
        .args(["run", "--headless", "--writable", "--timeout", "60"])
        .arg(&img)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hv");
    let mut out = child.stdout.take().expect("stdout");
    let (mut got, mut buf, start) = (Vec::new(), [0u8; 64], Instant::now());
    while !String::from_utf8_lossy(&got).contains("written") {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no write reported"
        );
        let n = out.read(&mut buf).expect("read");
        assert!(n > 0, "hv ended early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    send_signal(&child, signal);
    assert_eq!(child.wait().expect("wait").code(), Some(130));
    assert_eq!(
        sector2(&img),
        written_pattern(),
        "write survived SIG{signal}"
    );
}

/// Runs `signalled_writable_run(signal)` where there are signals and a backend.
fn signal_case(test: &str, signal: &str) {
    // The backend first: where there is none the reason to skip is the same on every OS.
    if !backend_or_skip(test) {
        return;
    }
    #[cfg(unix)]
    signalled_writable_run(signal);
    #[cfg(not(unix))]
    skip(test, &format!("{NO_SIGNALS} (SIG{signal})"));
}

#[test]
fn writable_disk_keeps_writes_after_sigint() {
    signal_case("writable_disk_keeps_writes_after_sigint", "INT");
}

#[test]
fn writable_disk_keeps_writes_after_sigterm() {
    signal_case("writable_disk_keeps_writes_after_sigterm", "TERM");
}
