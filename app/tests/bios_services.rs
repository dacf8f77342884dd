//! The built-in BIOS on KVM: small boot-sector guests that use int 10h, 16h, 1Ah and 15h,
//! run with `--format flat` (loaded at 0x7C00 like a boot sector).

mod common;

use common::*;

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn teletype_echoes_keys_read_through_int16() {
    if !backend_or_skip("teletype_echoes_keys_read_through_int16") {
        return;
    }
    let bin = guest("bios_echo");
    let screen = out_dir().join("bios_echo.txt");
    let (status, _, _) = run_hv_ok(&[
        "--format",
        "flat",
        path(&bin),
        "--type",
        "hello hv\\n",
        "--until-text",
        "Done.",
        "--dump-screen",
        path(&screen),
        "--timeout",
        "60",
    ]);
    assert_eq!(status, 0, "Done. appeared");
    let text = read_screen(&screen);
    let mut lines = text.lines();
    assert_eq!(lines.next().map(str::trim_end), Some("Type: hello hv"));
    assert_eq!(lines.next().map(str::trim_end), Some("Done."));
}

#[test]
fn timer_ticks_advance_at_about_18_hz() {
    if !backend_or_skip("timer_ticks_advance_at_about_18_hz") {
        return;
    }
    let bin = guest("bios_ticks");
    let (status, stdout, _) = run_hv_ok(&["--format", "flat", path(&bin), "--timeout", "60"]);
    assert_eq!(status, 0x21, "the guest reached its debug-exit");
    let hex = stdout
        .lines()
        .find_map(|l| l.strip_prefix("TICKS="))
        .expect("TICKS= line on COM1");
    let ticks = u16::from_str_radix(hex.trim(), 16).expect("hex count");
    // One RTC second is 18.2 ticks; allow a lot for a loaded host.
    assert!((9..=40).contains(&ticks), "{ticks} ticks in one second");
}

#[test]
fn e820_reports_the_memory_map() {
    if !backend_or_skip("e820_reports_the_memory_map") {
        return;
    }
    let bin = guest("bios_e820");
    let (status, stdout, _) = run_hv_ok(&[
        "--format",
        "flat",
        path(&bin),
        "--memory",
        "32",
        "--timeout",
        "60",
    ]);
    assert_eq!(status, 0x21);
    let entries: Vec<(u64, u64, u32)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("E820 "))
        .filter(|l| *l != "END")
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                u64::from_str_radix(f[0], 16).expect("base"),
                u64::from_str_radix(f[1], 16).expect("length"),
                u32::from_str_radix(f[2], 16).expect("type"),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (0, 0x9FC00, 1),
            (0x9FC00, 0x400, 2),
            (0xF0000, 0x10000, 2),
            (0x100000, (32 << 20) - 0x100000, 1),
        ]
    );
    assert!(stdout.contains("E820 END"));
}

#[test]
fn mode_13h_pixels_reach_the_screenshot() {
    if !backend_or_skip("mode_13h_pixels_reach_the_screenshot") {
        return;
    }
    let bin = guest("bios_mode13");
    let png_path = out_dir().join("bios_mode13.png");
    let (status, _, _) = run_hv_ok(&[
        "--format",
        "flat",
        path(&bin),
        "--until-text",
        "READY",
        "--screenshot",
        path(&png_path),
        "--timeout",
        "60",
    ]);
    assert_eq!(status, 0);
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).expect("screenshot"),
    ));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let (w, h) = (info.width as usize, info.height as usize);
    assert_eq!(
        w * 200,
        h * 320,
        "a 320x200 picture (possibly scaled): {w}x{h}"
    );
    let scale = w / 320;
    let channels = info.line_size / w;
    let pixel = |x: usize, y: usize| {
        let at = (y * scale) * info.line_size + (x * scale) * channels;
        [buf[at], buf[at + 1], buf[at + 2]]
    };
    assert_eq!(pixel(108, 58), [0xAA, 0, 0], "red square (VGA colour 4)");
    assert_eq!(
        pixel(0, 0),
        [0xFF, 0xFF, 0xFF],
        "white pixel written directly"
    );
    assert_eq!(pixel(200, 150), [0, 0, 0], "cleared background");
}
