//! The PC machine end to end on KVM: timer interrupts against wall time, keystrokes by
//! IRQ1 and by polling with and without i8042 translation, VGA text and mode 13h,
//! the UART and the debug-exit port. Each guest is a small real-mode program from
//! `tests/guests/*.asm` (run prebuilt, from `tests/guests/prebuilt/`) with
//! `hv run --headless --format flat`.

mod common;

use std::collections::HashSet;

use common::*;

#[test]
fn pit_irq0_rate_matches_wall_time() {
    if !backend_or_skip("pit_irq0_rate_matches_wall_time") {
        return;
    }
    let bin = guest("pit_ticks");
    let (status, stdout, _) = run_hv_ok(&["--format", "flat", s(&bin), "--timeout", "30"]);
    assert_eq!(status, 1, "guest exits with debug-exit value 0");
    let ticks: u32 = stdout
        .split_whitespace()
        .skip_while(|w| *w != "TICKS")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no TICKS line in {stdout:?}"));
    // 100 Hz for three RTC seconds; within 10%.
    assert!(
        (270..=330).contains(&ticks),
        "{ticks} IRQ0s in 3 s, expected 300 +- 10%"
    );
}

fn echo_case(test: &str, name: &str) {
    if !backend_or_skip(test) {
        return;
    }
    let bin = guest(name);
    let screen = out_dir().join(format!("{name}.txt"));
    let (status, stdout, _) = run_hv_ok(&[
        "--format",
        "flat",
        s(&bin),
        "--type-after",
        "READY",
        "--type",
        "hello 42\\n",
        "--dump-screen",
        s(&screen),
        "--timeout",
        "60",
    ]);
    assert_eq!(status, 3, "Enter ends the guest with debug-exit value 1");
    assert!(
        stdout.contains("ECHO:hello 42\n"),
        "serial echo: {stdout:?}"
    );
    assert!(read_screen(&screen).starts_with("E:hello 42"), "VGA echo");
}

#[test]
fn keystrokes_by_irq1_translated() {
    echo_case("keystrokes_by_irq1_translated", "kbd_irq_xlate");
}

#[test]
fn keystrokes_by_irq1_untranslated() {
    echo_case("keystrokes_by_irq1_untranslated", "kbd_irq_raw");
}

#[test]
fn keystrokes_by_polling_translated() {
    echo_case("keystrokes_by_polling_translated", "kbd_poll_xlate");
}

#[test]
fn keystrokes_by_polling_untranslated() {
    echo_case("keystrokes_by_polling_untranslated", "kbd_poll_raw");
}

#[test]
fn mode_13h_pixels_reach_the_screenshot() {
    if !backend_or_skip("mode_13h_pixels_reach_the_screenshot") {
        return;
    }
    let bin = guest("mode13");
    let png = out_dir().join("mode13.png");
    let (status, _, _) = run_hv_ok(&[
        "--format",
        "flat",
        s(&bin),
        "--screenshot",
        s(&png),
        "--timeout",
        "60",
    ]);
    assert_eq!(status, 5);
    let (w, h, rgba) = read_png(&png);
    assert_eq!((w, h), (320, 200), "mode 13h frame size");
    let colours: HashSet<[u8; 3]> = rgba.chunks_exact(4).map(|p| [p[0], p[1], p[2]]).collect();
    assert!(
        colours.len() >= 60,
        "64 DAC entries drawn, saw {} colours",
        colours.len()
    );
    assert!(
        !colours.contains(&[0, 0, 0]),
        "DAC entry 0 is (0, 63, 0), so nothing is black"
    );
    // Pixel (0, 0) has colour 0 = DAC (0, 63, 0) -> pure green after 6-to-8-bit scaling.
    assert_eq!(&rgba[0..3], &[0, 255, 0]);
}
