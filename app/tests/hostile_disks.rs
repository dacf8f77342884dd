//! `--writable` disks keep the guest's writes through a normal exit and through
//! SIGINT/SIGTERM (flushed on the normal exit path); without `--writable` the image file
//! never changes (writes go to the in-memory overlay).
//!
//! Needs the BIOS (int 13h) and the disk-image loaders: skipped, with a message, while
//! `hv run --help` does not offer `--writable`.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const FLOPPY: usize = 1_474_560;

fn disks_supported(test: &str) -> bool {
    if !kvm_or_skip(test) {
        return false;
    }
    let help = Command::new(hv_bin())
        .args(["run", "--help"])
        .output()
        .expect("hv run --help");
    let ok = String::from_utf8_lossy(&help.stdout).contains("--writable");
    if !ok {
        eprintln!("{test}: skipped: this hv has no --writable (disk loaders not merged yet)");
    }
    ok
}

/// A 1.44 MB floppy whose boot sector writes sector 2; `mode` 1 makes it idle afterwards.
fn floppy(name: &str, mode: u8) -> PathBuf {
    let mut boot = std::fs::read(nasm("disk_write")).expect("boot sector");
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
    if !disks_supported("writable_disk_keeps_writes_after_a_normal_exit") {
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
    if !disks_supported("overlay_run_never_changes_the_image") {
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
    let st = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(st.success());
    assert_eq!(child.wait().expect("wait").code(), Some(130));
    assert_eq!(
        sector2(&img),
        written_pattern(),
        "write survived SIG{signal}"
    );
}

#[test]
fn writable_disk_keeps_writes_after_sigint() {
    if disks_supported("writable_disk_keeps_writes_after_sigint") {
        signalled_writable_run("INT");
    }
}

#[test]
fn writable_disk_keeps_writes_after_sigterm() {
    if disks_supported("writable_disk_keeps_writes_after_sigterm") {
        signalled_writable_run("TERM");
    }
}
