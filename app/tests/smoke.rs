//! The smallest end-to-end check: a flat real-mode guest writes to VGA memory and COM1
//! and ends through the debug-exit port.

mod common;

use common::*;

#[test]
fn hello_reaches_screen_serial_and_exit_status() {
    if !backend_or_skip("hello_reaches_screen_serial_and_exit_status") {
        return;
    }
    let bin = guest("hello");
    let screen = out_dir().join("hello.txt");
    let png = out_dir().join("hello.png");
    let (status, stdout, _) = run_hv_ok(&[
        "--format",
        "flat",
        bin.to_str().expect("utf-8 path"),
        "--dump-screen",
        screen.to_str().expect("utf-8 path"),
        "--screenshot",
        png.to_str().expect("utf-8 path"),
        "--timeout",
        "20",
    ]);
    assert_eq!(
        status, 0x21,
        "debug-exit value 0x10 gives status (0x10 << 1) | 1"
    );
    assert!(stdout.contains("Hello from hv"), "serial output");
    assert!(
        read_screen(&screen).starts_with("Hello from hv"),
        "VGA text"
    );
    let png_bytes = std::fs::read(&png).expect("screenshot written");
    assert_eq!(&png_bytes[1..4], b"PNG");
}
