//! SIGINT and SIGTERM end a run through the normal exit path: the guest is stopped, the
//! board (and any `--writable` disk) is dropped and flushed on the vCPU thread, and
//! `--dump-screen` is still written. hv exits with status 130.

mod common;

#[cfg(unix)]
use std::io::Read;
#[cfg(unix)]
use std::process::{Command, Stdio};
#[cfg(unix)]
use std::time::{Duration, Instant};

use common::*;

#[cfg(unix)]
fn interrupt_run(signal: &str) {
    let bin = guest("wait_signal");
    let screen = out_dir().join(format!("wait_signal_{signal}.txt"));
    let _ = std::fs::remove_file(&screen);
    let mut child = Command::new(hv_bin())
        .args(["run", "--headless", "--format", "flat", "--timeout", "60"])
        .arg(&bin)
        .arg("--dump-screen")
        .arg(&screen)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hv");
    // Wait for the guest's whole "ready\n" on COM1 (it is idle in sti; hlt afterwards).
    // The guest sends each character to COM1 before storing it on the screen, so only the
    // newline proves the "y" is on the screen: a signal sent on seeing "ready" could stop
    // hv before that store (seen once in a loaded full run).
    let mut stdout = child.stdout.take().expect("stdout");
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    let start = Instant::now();
    while !String::from_utf8_lossy(&got).contains("ready\n") {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "guest never got ready"
        );
        let n = stdout.read(&mut buf).expect("read stdout");
        assert!(n > 0, "hv ended before the signal");
        got.extend_from_slice(&buf[..n]);
    }
    send_signal(&child, signal);
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    eprintln!("SIG{signal}: {status:?}\n{stderr}");
    assert_eq!(status.code(), Some(130), "normal exit path with status 130");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        read_screen(&screen).starts_with("ready"),
        "--dump-screen written on the way out"
    );
}

/// Runs `interrupt_run(signal)` where there are signals and a backend; skips otherwise.
fn signal_case(test: &str, signal: &str) {
    // The backend first: where there is none the reason to skip is the same on every OS.
    if !backend_or_skip(test) {
        return;
    }
    #[cfg(unix)]
    interrupt_run(signal);
    #[cfg(not(unix))]
    skip(test, &format!("{NO_SIGNALS} (SIG{signal})"));
}

#[test]
fn sigint_exits_through_the_normal_path() {
    signal_case("sigint_exits_through_the_normal_path", "INT");
}

#[test]
fn sigterm_exits_through_the_normal_path() {
    signal_case("sigterm_exits_through_the_normal_path", "TERM");
}
