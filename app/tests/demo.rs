//! The bundled demo OS (booted by `hv run` with no IMAGE) driven through its shell with
//! `--type`, checked on the dumped text screen, the serial mirror and screenshots.

mod common;

use std::collections::HashSet;

use common::*;

/// One run of the demo: types `keys` once the prompt is up, ends when `until` appears on
/// the screen or COM1. Returns (status, serial output, text screen).
fn session(name: &str, keys: &str, until: &str, extra: &[&str]) -> (i32, String, String) {
    let screen = out_dir().join(format!("demo_{name}.txt"));
    let mut args = vec![
        "--type-after",
        "hv-demo: ready",
        "--type",
        keys,
        "--until-text",
        until,
        "--timeout",
        "60",
        "--dump-screen",
        s(&screen),
    ];
    args.extend_from_slice(extra);
    let (status, serial, _) = run_hv_ok(&args);
    (status, serial, read_screen(&screen))
}

fn colours(png: &std::path::Path) -> (u32, u32, HashSet<[u8; 3]>) {
    let (w, h, rgba) = read_png(png);
    (
        w,
        h,
        rgba.chunks_exact(4).map(|p| [p[0], p[1], p[2]]).collect(),
    )
}

#[test]
fn help_lists_every_command() {
    if !backend_or_skip("help_lists_every_command") {
        return;
    }
    let (status, serial, screen) = session("help", "help\\n", "port 0xF4", &[]);
    assert_eq!(status, 0);
    assert!(serial.contains("hv-demo: ready"));
    for cmd in [
        "help",
        "keys",
        "xlate on|off",
        "colors",
        "mode13",
        "user",
        "uptime",
        "mem",
        "reboot",
        "poweroff",
    ] {
        assert!(screen.contains(cmd), "help mentions {cmd}:\n{screen}");
    }
}

#[test]
fn keys_shows_translated_set1_bytes() {
    if !backend_or_skip("keys_shows_translated_set1_bytes") {
        return;
    }
    let (status, _, screen) = session("keys", "keys\\nab\\e", "viewer done", &[]);
    assert_eq!(status, 0);
    for line in [
        "Decoding set 1 (translation on)",
        "1E                      set 1  CTR 61 xlate on  make  A",
        "9E                      set 1  CTR 61 xlate on  break A",
        "30                      set 1  CTR 61 xlate on  make  B",
        "B0                      set 1  CTR 61 xlate on  break B",
        "01                      set 1  CTR 61 xlate on  make  Esc",
    ] {
        assert!(screen.contains(line), "missing {line:?} in:\n{screen}");
    }
}

#[test]
fn keys_shows_raw_set2_bytes_after_xlate_off() {
    if !backend_or_skip("keys_shows_raw_set2_bytes_after_xlate_off") {
        return;
    }
    let (status, _, screen) = session("xlate", "xlate off\\nkeys\\na\\e", "viewer done", &[]);
    assert_eq!(status, 0);
    for line in [
        "CTR 0x61 -> 0x21",
        "Decoding set 2 (translation off)",
        "1C                      set 2  CTR 21 xlate off make  A",
        "F0 1C                   set 2  CTR 21 xlate off break A",
        "76                      set 2  CTR 21 xlate off make  Esc",
    ] {
        assert!(screen.contains(line), "missing {line:?} in:\n{screen}");
    }
}

#[test]
fn colors_draws_all_attribute_combinations() {
    if !backend_or_skip("colors_draws_all_attribute_combinations") {
        return;
    }
    let png = out_dir().join("demo_colors.png");
    let (status, _, screen) = session(
        "colors",
        "colors\\n",
        "toggle blink",
        &["--screenshot", s(&png)],
    );
    assert_eq!(status, 0);
    assert!(
        screen.contains("Text attributes") && screen.contains("Blink mode (AR10 bit 3 = 1)"),
        "{screen}"
    );
    assert!(
        screen.contains("7F"),
        "last cell of the non-blinking rows:\n{screen}"
    );
    let (w, h, seen) = colours(&png);
    assert_eq!((w, h), (720, 400));
    assert!(
        seen.len() >= 16,
        "all 16 text colours appear, saw {}",
        seen.len()
    );
}

#[test]
fn mode13_shows_a_many_coloured_animation() {
    if !backend_or_skip("mode13_shows_a_many_coloured_animation") {
        return;
    }
    let png = out_dir().join("demo_mode13.png");
    let (status, serial, _) = session(
        "mode13",
        "mode13\\n",
        "mode13 first frame",
        &["--screenshot", s(&png)],
    );
    assert_eq!(status, 0, "{serial}");
    let (w, h, seen) = colours(&png);
    assert_eq!((w, h), (320, 200), "mode 13h frame");
    assert!(
        seen.len() >= 64,
        "a plasma uses many palette entries, saw {}",
        seen.len()
    );
    assert!(seen.iter().any(|c| c.iter().any(|&v| v > 128)), "not black");
}

#[test]
fn uptime_and_mem_report_timer_clock_and_e820() {
    if !backend_or_skip("uptime_and_mem_report_timer_clock_and_e820") {
        return;
    }
    let (status, _, screen) = session("uptime_mem", "uptime\\nmem\\n", "usable: ", &[]);
    assert_eq!(status, 0);
    assert!(
        screen.contains("ticks at 100 Hz") && screen.contains("CMOS clock: 20"),
        "{screen}"
    );
    assert!(screen.contains("E820 map (4 entries)"), "{screen}");
    assert!(
        screen.contains("0x0000000000100000 0x0000000003f00000 1 usable"),
        "64 MiB guest:\n{screen}"
    );
}

#[test]
fn user_runs_the_loop_in_ring_3_and_ring_0() {
    if !backend_or_skip("user_runs_the_loop_in_ring_3_and_ring_0") {
        return;
    }
    let (status, _, screen) = session("user", "user\\n", "per iteration costs", &[]);
    assert_eq!(status, 0);
    assert!(
        screen.contains("ring 3:") && screen.contains("ring 0:"),
        "{screen}"
    );
    assert!(screen.contains("trips to ring 3"), "{screen}");
}

#[test]
fn reboot_resets_through_the_i8042_and_boots_again() {
    if !backend_or_skip("reboot_resets_through_the_i8042_and_boots_again") {
        return;
    }
    // Nothing but the second banner marks the second boot, so the run ends on its timeout
    // (boot to prompt takes well under a second).
    let (status, serial, _) = run_hv_ok(&[
        "--type-after",
        "hv-demo: ready",
        "--type",
        "reboot\\n",
        "--timeout",
        "8",
    ]);
    assert_eq!(status, 124);
    assert!(
        serial.matches("hv-demo: ready").count() >= 2,
        "booted twice:\n{serial}"
    );
}

#[test]
fn poweroff_ends_the_run_through_the_debug_exit_port() {
    if !backend_or_skip("poweroff_ends_the_run_through_the_debug_exit_port") {
        return;
    }
    let (status, _, _) = run_hv_ok(&[
        "--type-after",
        "hv-demo: ready",
        "--type",
        "poweroff\\n",
        "--timeout",
        "30",
    ]);
    assert_eq!(status, 1, "debug-exit value 0 -> status 1");
}
