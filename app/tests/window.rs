//! The window end to end, under a private Xvfb: real X key events (xdotool, through
//! XTEST) travel through winit, the key map, the PS/2 keyboard and the i8042 to a guest
//! that polls port 0x60 and echoes what it reads to VGA text memory; the picture on the
//! X screen must be the renderer's own frame, scaled by whole factors. Real X pointer
//! motion, clicks and wheel steps reach a guest that drives the PS/2 mouse itself
//! (IntelliMouse knock, IRQ12) and prints its packets; a clipboard set with xclip is
//! typed into the guest by Host+V.
//!
//! Linux only (an X server); needs Xvfb, xdotool and ImageMagick's `import` (.ci/run
//! installs them): skipped with a printed reason where one is missing, a failure with
//! HV_REQUIRE_TOOLS=1.

mod common;

use common::*;

// Each test checks the backend before anything X-specific: where there is none, that is
// the reason it skips, on every OS.

#[test]
fn window_delivers_real_keystrokes_and_shows_the_guest_screen() {
    let test = "window_delivers_real_keystrokes_and_shows_the_guest_screen";
    if !backend_or_skip(test) {
        return;
    }
    #[cfg(target_os = "linux")]
    x11::real_keystrokes_and_the_guest_screen(test);
    #[cfg(not(target_os = "linux"))]
    skip(test, NO_X11);
}

#[test]
fn window_runs_the_headless_options_too() {
    let test = "window_runs_the_headless_options_too";
    if !backend_or_skip(test) {
        return;
    }
    #[cfg(target_os = "linux")]
    x11::headless_options(test);
    #[cfg(not(target_os = "linux"))]
    skip(test, NO_X11);
}

#[test]
fn window_mouse_reaches_the_guest_as_wheel_mouse_packets() {
    let test = "window_mouse_reaches_the_guest_as_wheel_mouse_packets";
    if !backend_or_skip(test) {
        return;
    }
    #[cfg(target_os = "linux")]
    x11::mouse_packets(test);
    #[cfg(not(target_os = "linux"))]
    skip(test, NO_X11);
}

#[test]
fn window_pastes_the_clipboard_as_typed_text() {
    let test = "window_pastes_the_clipboard_as_typed_text";
    if !backend_or_skip(test) {
        return;
    }
    #[cfg(target_os = "linux")]
    x11::paste(test);
    #[cfg(not(target_os = "linux"))]
    skip(test, NO_X11);
}

// DISPLAY and WAYLAND_DISPLAY are how winit finds a display on Linux only.
#[cfg(target_os = "linux")]
#[test]
fn window_without_a_display_says_so_in_one_line() {
    x11::no_display();
}

/// Why the window tests skip off Linux.
#[cfg(not(target_os = "linux"))]
const NO_X11: &str = "the window tests drive an X server (Xvfb): Linux only";

/// The X11 machinery and the tests' bodies.
#[cfg(target_os = "linux")]
mod x11 {
    use std::io::{BufRead, BufReader};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use super::common::*;

    /// A child process killed (by its own handle) when the test ends, pass or fail.
    struct Reaped(Child);

    impl Drop for Reaped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// One private X server at a time in this test binary: two `Xvfb -displayfd` started
    /// together (the test harness runs tests in parallel) were seen to leave a client unable
    /// to connect ("Failed to open connection to X server").
    static ONE_X_SERVER: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// A private X server on a display number it picked itself (`-displayfd`).
    struct Xvfb {
        _server: Reaped,
        // Declared after `_server`, so the server is gone before the next test starts one.
        _turn: std::sync::MutexGuard<'static, ()>,
        display: String,
        runtime_dir: PathBuf,
    }

    fn start_xvfb(test: &str, work: &Path) -> Option<Xvfb> {
        if !tools_or_skip(test, &["Xvfb", "xdotool", "import"]) {
            return None;
        }
        let turn = ONE_X_SERVER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x1024x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{test}: Xvfb is on PATH but did not start: {e}"));
        let stdout = child.stdout.take().expect("Xvfb stdout");
        let server = Reaped(child);
        let (tx, rx) = crossbeam_channel::bounded(1);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep the pipe open and drained: a closed pipe would kill Xvfb with SIGPIPE.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let number = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("Xvfb reports its display number");
        let number = number.trim();
        assert!(!number.is_empty(), "Xvfb did not start");
        // Under load a client can connect before the server accepts connections (seen in CI:
        // "Failed to open connection to X server"); wait until one does.
        let display = format!(":{number}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !Command::new("xdotool")
            .arg("getdisplaygeometry")
            .env("DISPLAY", &display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(
                Instant::now() < deadline,
                "Xvfb {display} accepts no connections"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let runtime_dir = work.join("xdg-runtime");
        std::fs::create_dir_all(&runtime_dir).expect("runtime dir");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700))
                .expect("chmod runtime dir");
        }
        Some(Xvfb {
            _server: server,
            _turn: turn,
            display: format!(":{number}"),
            runtime_dir,
        })
    }

    impl Xvfb {
        /// `hv run <args>` with a window on this display, working in `dir`.
        fn hv(&self, dir: &Path, args: &[&str]) -> Reaped {
            let log = std::fs::File::create(dir.join("hv.log")).expect("hv log");
            Reaped(
                Command::new(hv_bin())
                    .arg("run")
                    .args(args)
                    .current_dir(dir)
                    .env("DISPLAY", &self.display)
                    .env("XDG_RUNTIME_DIR", &self.runtime_dir)
                    .env_remove("WAYLAND_DISPLAY")
                    .env("RUST_LOG", "info")
                    .stdout(log.try_clone().expect("log"))
                    .stderr(log)
                    .spawn()
                    .expect("start hv"),
            )
        }

        fn xdotool(&self, args: &[&str]) -> String {
            let out = Command::new("xdotool")
                .args(args)
                .env("DISPLAY", &self.display)
                .output()
                .expect("run xdotool");
            assert!(
                out.status.success(),
                "xdotool {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }

        /// The window whose title starts "hv ", waiting for it to appear.
        fn hv_window(&self) -> String {
            let deadline = Instant::now() + Duration::from_secs(90);
            loop {
                let out = Command::new("xdotool")
                    .args(["search", "--name", "^hv "])
                    .env("DISPLAY", &self.display)
                    .output()
                    .expect("run xdotool");
                let text = String::from_utf8_lossy(&out.stdout);
                if let Some(id) = text.lines().next() {
                    return id.trim().to_owned();
                }
                assert!(
                    Instant::now() < deadline,
                    "no hv window appeared (see hv.log in the test's directory)"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }

        /// Presses host key (Right Ctrl, the Linux default) + `key`.
        fn host_shortcut(&self, key: &str) {
            self.xdotool(&["keydown", "Control_R", "key", key, "keyup", "Control_R"]);
        }

        fn screenshot(&self, path: &Path) -> Image {
            let st = Command::new("import")
                .args(["-window", "root"])
                .arg(path)
                .env("DISPLAY", &self.display)
                .status()
                .expect("run ImageMagick's import");
            assert!(st.success(), "import failed");
            Image::load(path)
        }
    }

    /// An RGB picture read from a PNG.
    #[derive(PartialEq)]
    struct Image {
        width: u32,
        height: u32,
        rgb: Vec<[u8; 3]>,
    }

    impl Image {
        fn load(path: &Path) -> Image {
            let file =
                std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
            decoder
                .set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
            let mut reader = decoder.read_info().expect("png header");
            let mut buf = vec![0; reader.output_buffer_size().expect("png size")];
            let info = reader.next_frame(&mut buf).expect("png data");
            let channels = info.color_type.samples();
            assert!(channels >= 3, "{}: not a colour picture", path.display());
            let rgb = buf[..info.buffer_size()]
                .chunks_exact(channels)
                .map(|p| [p[0], p[1], p[2]])
                .collect();
            Image {
                width: info.width,
                height: info.height,
                rgb,
            }
        }

        fn at(&self, x: u32, y: u32) -> [u8; 3] {
            self.rgb[(y * self.width + x) as usize]
        }
    }

    fn close(a: [u8; 3], b: [u8; 3]) -> bool {
        a.iter().zip(&b).all(|(x, y)| x.abs_diff(*y) <= 24)
    }

    /// Finds `frame` inside `shot`, scaled by whole factors (sx, sy) at any offset: anchors
    /// on the frame's first pixel that differs from its top-left one, then checks the
    /// centre of every scaled pixel. Returns (sx, sy, x, y).
    fn find_scaled(frame: &Image, shot: &Image) -> Option<(u32, u32, u32, u32)> {
        let background = frame.at(0, 0);
        let anchor = (0..frame.height)
            .flat_map(|y| (0..frame.width).map(move |x| (x, y)))
            .find(|&(x, y)| !close(frame.at(x, y), background))?;
        let colour = frame.at(anchor.0, anchor.1);
        let (ax, ay) = (0..shot.height)
            .flat_map(|y| (0..shot.width).map(move |x| (x, y)))
            .find(|&(x, y)| close(shot.at(x, y), colour))?;
        for sx in 1..=4 {
            for sy in 1..=6 {
                let (Some(ox), Some(oy)) =
                    (ax.checked_sub(anchor.0 * sx), ay.checked_sub(anchor.1 * sy))
                else {
                    continue;
                };
                if ox + frame.width * sx > shot.width || oy + frame.height * sy > shot.height {
                    continue;
                }
                let mut matching = 0u64;
                for y in 0..frame.height {
                    for x in 0..frame.width {
                        let s = shot.at(ox + x * sx + sx / 2, oy + y * sy + sy / 2);
                        matching += u64::from(close(s, frame.at(x, y)));
                    }
                }
                let total = u64::from(frame.width * frame.height);
                if matching * 1000 >= total * 998 {
                    return Some((sx, sy, ox, oy));
                }
            }
        }
        None
    }

    fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while !ready() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_exit(hv: &mut Reaped, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = hv.0.try_wait().expect("wait hv") {
                return st.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "hv did not exit");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn fresh_dir(name: &str) -> PathBuf {
        let dir = out_dir().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("work dir");
        dir
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// Body of `window_delivers_real_keystrokes_and_shows_the_guest_screen`.
    pub fn real_keystrokes_and_the_guest_screen(test: &str) {
        let dir = fresh_dir("window-keys");
        let Some(x) = start_xvfb(test, &dir) else {
            return;
        };
        let guest = guest("window_echo");
        let serial = dir.join("serial.txt");
        let mut hv = x.hv(
            &dir,
            &[
                "--format",
                "flat",
                guest.to_str().expect("utf-8"),
                "--scale",
                "1",
                "--serial",
                serial.to_str().expect("utf-8"),
                "--dump-screen",
                "screen.txt",
                "--screenshot",
                "final.png",
                "--timeout",
                "150",
            ],
        );
        let window = x.hv_window();
        let title = x.xdotool(&["getwindowname", &window]);
        assert!(
            title.starts_with("hv — window_echo.bin — running — "),
            "{title}"
        );
        wait_until("the guest's banner", Duration::from_secs(60), || {
            read(&serial).contains("ready")
        });
        x.xdotool(&["windowfocus", "--sync", &window]);
        x.xdotool(&["type", "--delay", "60", "hello42"]);
        wait_until(
            "the typed text to reach the guest",
            Duration::from_secs(60),
            || read(&serial).contains("hello42"),
        );
        std::thread::sleep(Duration::from_millis(600)); // a few display frames
        let plain = x.screenshot(&dir.join("x-screen.png"));

        // Host+S: the renderer's frame, named hv-YYYYMMDD-HHMMSS.png, in the working dir.
        x.host_shortcut("s");
        let shot_file = || {
            std::fs::read_dir(&dir)
                .ok()?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("hv-2") && n.ends_with(".png"))
                })
        };
        wait_until("the host+S screenshot", Duration::from_secs(20), || {
            shot_file().is_some()
        });

        // Host+O: the overlay appears over the picture.
        x.host_shortcut("o");
        std::thread::sleep(Duration::from_millis(1500));
        let with_overlay = x.screenshot(&dir.join("x-screen-overlay.png"));
        let changed = plain
            .rgb
            .iter()
            .zip(&with_overlay.rgb)
            .filter(|(a, b)| !close(**a, **b))
            .count();
        assert!(
            changed > 20_000,
            "the overlay changed only {changed} pixels"
        );
        x.host_shortcut("o");

        // Enter ends the guest through the debug-exit port: status (0x2a << 1) | 1.
        x.xdotool(&["key", "Return"]);
        let status = wait_exit(&mut hv, Duration::from_secs(60));
        let log = read(&dir.join("hv.log"));
        assert_eq!(status, 0x55, "hv log:\n{log}");

        let screen = read(&dir.join("screen.txt"));
        assert!(screen.contains("hello42"), "dumped screen:\n{screen}");
        let frame = Image::load(&dir.join("final.png"));
        assert_eq!((frame.width, frame.height), (720, 400));
        let shortcut_shot = Image::load(&shot_file().expect("host+S file"));
        assert!(
            shortcut_shot == frame,
            "host+S and --screenshot both save the renderer's frame"
        );
        let found = find_scaled(&frame, &plain);
        assert!(
            found.is_some(),
            "the renderer's frame is not on the X screen (see {})",
            dir.display()
        );
        eprintln!("{test}: frame found on screen at factors/offset {found:?}");
    }

    /// Body of `window_runs_the_headless_options_too`.
    pub fn headless_options(test: &str) {
        let dir = fresh_dir("window-options");
        let Some(x) = start_xvfb(test, &dir) else {
            return;
        };
        let guest = guest("window_echo");
        let mut hv = x.hv(
            &dir,
            &[
                "--format",
                "flat",
                guest.to_str().expect("utf-8"),
                "--type",
                "abc9",
                "--until-text",
                "abc9",
                "--dump-screen",
                "screen.txt",
                "--serial",
                "none",
                "--timeout",
                "120",
            ],
        );
        let status = wait_exit(&mut hv, Duration::from_secs(150));
        let log = read(&dir.join("hv.log"));
        assert_eq!(status, 0, "hv log:\n{log}");
        assert!(read(&dir.join("screen.txt")).contains("abc9"));
    }

    /// Mouse packets the guest printed on COM1 ("P b0 b1 b2 b3").
    fn packets(serial: &Path) -> Vec<[u8; 4]> {
        read(serial)
            .lines()
            .filter_map(|l| l.strip_prefix("P "))
            .filter_map(|rest| {
                let bytes: Vec<u8> = rest
                    .split_whitespace()
                    .filter_map(|h| u8::from_str_radix(h, 16).ok())
                    .collect();
                bytes.try_into().ok()
            })
            .collect()
    }

    /// Summed motion (PS/2 convention: y up) and wheel of `packets`.
    fn motion(packets: &[[u8; 4]]) -> (i32, i32, i32) {
        let nine = |low: u8, neg: bool| i32::from(low) - if neg { 256 } else { 0 };
        packets.iter().fold((0, 0, 0), |(x, y, z), p| {
            (
                x + nine(p[1], p[0] & 0x10 != 0),
                y + nine(p[2], p[0] & 0x20 != 0),
                z + i32::from(p[3] as i8),
            )
        })
    }

    impl Xvfb {
        fn title(&self, window: &str) -> String {
            self.xdotool(&["getwindowname", window])
        }
    }

    /// Body of `window_mouse_reaches_the_guest_as_wheel_mouse_packets`.
    pub fn mouse_packets(test: &str) {
        let dir = fresh_dir("window-mouse");
        let Some(x) = start_xvfb(test, &dir) else {
            return;
        };
        let guest = guest("mouse_irq");
        let serial = dir.join("serial.txt");
        let mut hv = x.hv(
            &dir,
            &[
                "--format",
                "flat",
                guest.to_str().expect("utf-8"),
                "--scale",
                "1",
                "--serial",
                serial.to_str().expect("utf-8"),
                "--dump-screen",
                "screen.txt",
                "--timeout",
                "200",
            ],
        );
        let window = x.hv_window();
        wait_until("the guest's mouse setup", Duration::from_secs(90), || {
            read(&serial).contains("ready")
        });
        assert!(
            read(&serial).contains("id 03"),
            "the IntelliMouse knock did not switch the id:
{}",
            read(&serial)
        );
        x.xdotool(&["windowfocus", "--sync", &window]);
        x.xdotool(&["mousemove", "--window", &window, "300", "200"]);
        assert!(!x.title(&window).contains("captured"));
        // The capturing click is the host's: the guest sees neither of its edges.
        x.xdotool(&["click", "1"]);
        wait_until("the capture", Duration::from_secs(20), || {
            x.title(&window).contains("input captured")
        });
        std::thread::sleep(Duration::from_millis(500));
        assert!(packets(&serial).is_empty(), "{:?}", packets(&serial));

        // Each step: what xdotool does, and what the new packets must add up to.
        let mut seen = 0;
        let mut step = |what: &str, args: &[&str], check: &dyn Fn(&[[u8; 4]]) -> bool| {
            x.xdotool(args);
            wait_until(what, Duration::from_secs(30), || {
                check(&packets(&serial)[seen..])
            });
            // Let stragglers (a split move's rest) arrive before the next step.
            std::thread::sleep(Duration::from_millis(300));
            let all = packets(&serial);
            assert!(check(&all[seen..]), "{what}: {:02X?}", &all[seen..]);
            seen = all.len();
        };
        step("40 right", &["mousemove_relative", "--", "40", "0"], &|p| {
            motion(p) == (40, 0, 0) && p.iter().all(|p| p[0] & 0x07 == 0)
        });
        step("25 down", &["mousemove_relative", "--", "0", "25"], &|p| {
            motion(p) == (0, -25, 0)
        });
        step(
            "30 left, 10 up",
            &["mousemove_relative", "--", "-30", "-10"],
            &|p| motion(p) == (-30, 10, 0),
        );
        let click = |bit: u8| {
            move |p: &[[u8; 4]]| {
                p.len() >= 2
                    && p[0][0] & 0x07 == bit
                    && p[p.len() - 1][0] & 0x07 == 0
                    && motion(p) == (0, 0, 0)
            }
        };
        step("a left click", &["click", "1"], &click(0x01));
        step("a right click", &["click", "3"], &click(0x02));
        step("a middle click", &["click", "2"], &click(0x04));
        // X11 button 4 is the wheel rolled away from the user: IntelliMouse z = -1.
        step("wheel up", &["click", "4"], &|p| motion(p) == (0, 0, -1));
        step("wheel down twice", &["click", "--repeat", "2", "5"], &|p| {
            motion(p) == (0, 0, 2)
        });
        // A drag: left held while moving.
        step(
            "a drag",
            &[
                "mousedown",
                "1",
                "mousemove_relative",
                "--",
                "15",
                "0",
                "mouseup",
                "1",
            ],
            &|p| {
                motion(p) == (15, 0, 0)
                    && p.iter().any(|p| p[0] & 0x07 == 1 && p[1] != 0)
                    && p.last().is_some_and(|p| p[0] & 0x07 == 0)
            },
        );

        // The overlay with the mouse rows, for the docs (docs/images/mouse-overlay.png).
        x.host_shortcut("o");
        x.xdotool(&["mousemove_relative", "--", "5", "-5"]);
        std::thread::sleep(Duration::from_millis(1500));
        x.screenshot(&dir.join("mouse-overlay.png"));
        x.host_shortcut("o");

        // Tapping the host key alone releases the capture; motion then stays the host's.
        x.xdotool(&["key", "Control_R"]);
        wait_until("the release", Duration::from_secs(20), || {
            !x.title(&window).contains("captured")
        });
        std::thread::sleep(Duration::from_millis(300));
        let before = packets(&serial).len();
        x.xdotool(&["mousemove_relative", "--", "20", "20"]);
        std::thread::sleep(Duration::from_millis(800));
        assert_eq!(packets(&serial).len(), before, "motion after the release");

        x.xdotool(&["key", "Return"]);
        let status = wait_exit(&mut hv, Duration::from_secs(60));
        let log = read(&dir.join("hv.log"));
        assert_eq!(
            status, 0x55,
            "hv log:
{log}"
        );
        assert!(read(&dir.join("screen.txt")).contains("P 08"));
        eprintln!(
            "{test}: {} packets; overlay picture in {}",
            packets(&serial).len(),
            dir.join("mouse-overlay.png").display()
        );
    }

    /// Body of `window_pastes_the_clipboard_as_typed_text`.
    pub fn paste(test: &str) {
        let dir = fresh_dir("window-paste");
        if !tool_or_skip(test, "xclip") {
            return;
        }
        let Some(x) = start_xvfb(test, &dir) else {
            return;
        };
        // xclip stays in the background as the selection owner until the server ends.
        let mut xclip = Command::new("xclip")
            .args(["-selection", "clipboard", "-i"])
            .env("DISPLAY", &x.display)
            .stdin(Stdio::piped())
            .spawn()
            .expect("start xclip");
        {
            use std::io::Write;
            let mut stdin = xclip.stdin.take().expect("xclip stdin");
            // The é is not ASCII: skipped with a notice. The newline is Enter, which
            // ends the guest.
            stdin
                .write_all(
                    "pasted42 é
"
                    .as_bytes(),
                )
                .expect("write the clipboard");
        }
        assert!(xclip.wait().expect("xclip").success());
        let guest = guest("window_echo");
        let serial = dir.join("serial.txt");
        let mut hv = x.hv(
            &dir,
            &[
                "--format",
                "flat",
                guest.to_str().expect("utf-8"),
                "--serial",
                serial.to_str().expect("utf-8"),
                "--dump-screen",
                "screen.txt",
                "--timeout",
                "150",
            ],
        );
        let window = x.hv_window();
        wait_until("the guest's banner", Duration::from_secs(60), || {
            read(&serial).contains("ready")
        });
        x.xdotool(&["windowfocus", "--sync", &window]);
        x.host_shortcut("v");
        let status = wait_exit(&mut hv, Duration::from_secs(90));
        let log = read(&dir.join("hv.log"));
        assert_eq!(
            status, 0x55,
            "Enter from the clipboard ends the guest; hv log:
{log}"
        );
        // The guest echoes letters and digits (the space is not in its table).
        assert!(read(&serial).contains("pasted42"), "{}", read(&serial));
        assert!(read(&dir.join("screen.txt")).contains("pasted42"));
        assert!(
            log.contains("pasting 10 characters; 1 non-ASCII skipped"),
            "hv log:
{log}"
        );
    }

    /// Body of `window_without_a_display_says_so_in_one_line`.
    pub fn no_display() {
        let out = Command::new(hv_bin())
            .args(["run", "no-such-image.img"])
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .expect("run hv");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("--headless"), "{stderr}");
    }
}
