//! The window: the guest's VGA screen, its keyboard, and the emulation overlay.
//!
//! Threads: winit's event loop owns the UI thread (macOS insists on the main thread);
//! the vCPU thread runs the guest. They meet only through the [`MachineHandle`]: key events go
//! out as [`HostEvent`]s (channel send + kick, never blocking), and the picture is read
//! at the display's refresh rate by cloning the VGA registers (a short lock) and reading
//! video memory, which is plain guest RAM. A slow or hidden window therefore never slows
//! the guest. Nothing is rendered when nothing changed (see [`display`]).
//!
//! Keys: winit's *physical* key codes become hv keys ([`keymap`]), so the guest's own
//! layout applies; winit's auto-repeat events are dropped because the emulated keyboard
//! repeats by itself at the rate the guest programmed; every key is released when the
//! window loses focus. The host key and its shortcuts are in [`hostkeys`].
//!
//! Mouse: a click in the window or Host+G captures it ([`capture`]): the cursor is
//! hidden and held (locked on macOS, confined to the window elsewhere), raw device
//! motion drives the guest's PS/2 mouse, and tapping the host key, Host+G or focus loss
//! releases it. Host+V types the host clipboard into the guest ([`paste`]).

mod capture;
mod display;
mod draw;
pub mod hostkeys;
mod keymap;
mod overlay;
mod paste;
mod scale;
mod shot;
mod status;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use hv_core::devices::keymap::Key;
use hv_core::machine::events::{HostEvent, VmEvent};
use hv_core::machine::handle::MachineHandle;
use pixels::{Pixels, PixelsBuilder, SurfaceTexture};
use winit::application::ApplicationHandler;
use winit::dpi::{LogicalSize, PhysicalSize};
use winit::event::{
    DeviceEvent, DeviceId, ElementState, MouseButton, MouseScrollDelta, WindowEvent,
};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::keyboard::PhysicalKey;
use winit::window::{CursorGrabMode, Window, WindowId};

use self::capture::{Button, Capture, Cursor, RawPairs, Step, WheelReleaseEcho};
use self::display::Display;
use self::draw::Canvas;
use self::hostkeys::{Action, CTRL_ALT_DEL, HostKeys, Shortcut};
use self::overlay::{Line, Overlay, RateMeter};
use self::paste::Pasted;
use self::scale::Size;
use crate::cli::RunArgs;
use crate::headless;
use crate::runner::{self, Outcome, Watch};

/// Refresh rate assumed when the monitor does not say.
const DEFAULT_REFRESH_MILLIHERTZ: u32 = 60_000;
/// The part of the screen the first window may cover.
const SCREEN_SHARE: f64 = 0.9;
/// How long a notice (a paste's outcome) stays in the overlay.
const NOTICE_FOR: Duration = Duration::from_secs(10);

/// Runs the machine in a window and returns the process exit status.
pub fn run(args: &RunArgs) -> Result<i32> {
    ensure_display()?;
    let event_loop = EventLoop::new()
        .map_err(|e| anyhow!("cannot open a window ({e}); run with --headless instead"))?;
    let handle = headless::start(args)?;
    let mut app = WindowApp::new(handle, args);
    let loop_result = event_loop.run_app(&mut app);
    let WindowApp {
        handle,
        outcome,
        error,
        pixels,
        window,
        ..
    } = app;
    drop(pixels);
    drop(window);
    let error = error.or_else(|| loop_result.err().map(anyhow::Error::from));
    if let Some(e) = error {
        handle.input.send(HostEvent::Quit);
        let _ = handle.join();
        return Err(e);
    }
    runner::finish(handle, args, outcome)
}

/// Fails in one line when no display server can be reached (a window is impossible).
fn ensure_display() -> Result<()> {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return Ok(());
    }
    let set = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
    if !set("DISPLAY") && !set("WAYLAND_DISPLAY") {
        bail!(
            "no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset); run with --headless"
        );
    }
    Ok(())
}

/// The window's state on the UI thread.
struct WindowApp<'a> {
    args: &'a RunArgs,
    handle: MachineHandle,
    watch: Watch,
    outcome: Outcome,
    error: Option<anyhow::Error>,
    image_name: String,
    // `pixels` draws into `window`'s surface: declared first so it is dropped first.
    pixels: Option<Pixels<'static>>,
    window: Option<Arc<Window>>,
    surface: Size,
    ui_scale: u32,
    display: Display,
    /// Whether a frame has been presented yet (logged once, for `hv bench`).
    first_frame_shown: bool,
    keys: HostKeys,
    capture: Capture,
    /// Set while X11 holds the pointer grab (raw events then come in pairs).
    raw_pairs: Option<RawPairs>,
    /// The event loop talks to an X server.
    x11: bool,
    /// X11: wheel steps winit makes of wheel-button releases.
    wheel_echo: WheelReleaseEcho,
    /// A clipboard read in progress (Host+V).
    paste: Option<crossbeam_channel::Receiver<Result<Pasted, String>>>,
    /// The last notice for the overlay, and when it was given.
    notice: Option<(String, Instant)>,
    host_label: &'static str,
    paused: bool,
    overlay_on: bool,
    overlay_lines: Vec<Line>,
    rates: RateMeter,
    title: String,
    /// The window buffer must be composed again before the next present.
    dirty: bool,
    frame_interval: Duration,
    next_tick: Instant,
}

impl<'a> WindowApp<'a> {
    fn new(handle: MachineHandle, args: &'a RunArgs) -> Self {
        let host = args.host_key.unwrap_or(hostkeys::default_host_key());
        let image_name = args
            .image
            .as_deref()
            .and_then(|p| p.file_name())
            .map_or_else(|| "demo".to_owned(), |n| n.to_string_lossy().into_owned());
        Self {
            args,
            handle,
            watch: Watch::new(args),
            outcome: Outcome::default(),
            error: None,
            image_name,
            pixels: None,
            window: None,
            surface: Size::new(0, 0),
            ui_scale: 1,
            display: Display::new(),
            first_frame_shown: false,
            keys: HostKeys::new(host),
            capture: Capture::new(),
            raw_pairs: None,
            x11: false,
            wheel_echo: WheelReleaseEcho::default(),
            paste: None,
            notice: None,
            host_label: hostkeys::host_key_label(host),
            paused: false,
            overlay_on: false,
            overlay_lines: Vec::new(),
            rates: RateMeter::new(),
            title: String::new(),
            dirty: true,
            frame_interval: Duration::from_micros(16_667),
            next_tick: Instant::now(),
        }
    }

    /// Creates the window at its first size and the GPU surface behind it.
    fn open(&mut self, event_loop: &ActiveEventLoop) -> Result<()> {
        self.display.update(
            &self.handle.vga,
            &self.handle.memory,
            self.handle.clock.now(),
        );
        let frame = Size::new(
            self.display.frame().width.max(1),
            self.display.frame().height.max(1),
        );
        let monitor = event_loop
            .primary_monitor()
            .or_else(|| event_loop.available_monitors().next());
        let hidpi = monitor.as_ref().map_or(1.0, |m| m.scale_factor());
        let screen = monitor.as_ref().map_or(Size::new(1280, 800), |m| {
            let s = m.size();
            Size::new(
                (f64::from(s.width) * SCREEN_SHARE) as u32,
                (f64::from(s.height) * SCREEN_SHARE) as u32,
            )
        });
        let first = match self.args.scale {
            Some(n) => scale::window_size_for_scale(frame, n, hidpi),
            None => scale::default_window_size(frame, screen, hidpi),
        };
        let title = status::title(&self.image_name, false, None, None);
        let attrs = Window::default_attributes()
            .with_title(title.clone())
            .with_inner_size(PhysicalSize::new(first.width, first.height))
            .with_min_inner_size(LogicalSize::new(160.0, 100.0));
        let window = Arc::new(
            event_loop
                .create_window(attrs)
                .context("cannot open a window; run with --headless instead")?,
        );
        let size = window.inner_size();
        let surface = Size::new(size.width.max(1), size.height.max(1));
        let pixels = PixelsBuilder::new(
            surface.width,
            surface.height,
            SurfaceTexture::new(surface.width, surface.height, window.clone()),
        )
        .enable_vsync(true)
        .build()
        .context(
            "cannot draw in the window (no usable GPU surface); run with --headless instead",
        )?;
        let millihertz = window
            .current_monitor()
            .and_then(|m| m.refresh_rate_millihertz())
            .unwrap_or(DEFAULT_REFRESH_MILLIHERTZ)
            .clamp(24_000, 240_000);
        self.frame_interval = Duration::from_micros(1_000_000_000 / u64::from(millihertz));
        self.ui_scale = ui_scale(window.scale_factor());
        self.surface = surface;
        self.title = title;
        self.pixels = Some(pixels);
        self.window = Some(window.clone());
        self.dirty = true;
        window.request_redraw();
        log::info!(
            "window {}x{} for a {}x{} picture, {:.1} Hz, scale factor {hidpi}",
            surface.width,
            surface.height,
            frame.width,
            frame.height,
            f64::from(millihertz) / 1000.0
        );
        Ok(())
    }

    fn send(&self, ev: HostEvent) {
        if !self.handle.input.send(ev) {
            log::debug!("the VM is gone; input dropped");
        }
    }

    fn on_key(&mut self, key: Key, pressed: bool, event_loop: &ActiveEventLoop) {
        match self.keys.on_key(key, pressed) {
            Action::Guest { key, pressed } => self.send(HostEvent::Key { key, pressed }),
            Action::Shortcut(s) => self.shortcut(s, event_loop),
            Action::HostTapped => {
                let step = self.capture.release();
                self.apply(step);
            }
            Action::Nothing => {}
        }
    }

    /// Carries out a capture step: pending motion, then the guest's input, then the
    /// cursor change.
    fn apply(&mut self, step: Step) {
        for input in [step.motion, step.input].into_iter().flatten() {
            self.send(HostEvent::Mouse(input));
        }
        if let Some(cursor) = step.cursor {
            self.set_cursor(cursor);
        }
    }

    /// Hides and holds the cursor (locked where the OS supports it: macOS; confined to
    /// the window on Windows and X11), or lets it go.
    fn set_cursor(&mut self, cursor: Cursor) {
        let Some(window) = &self.window else { return };
        match cursor {
            Cursor::Grab => {
                let (first, second) = if cfg!(target_os = "macos") {
                    (CursorGrabMode::Locked, CursorGrabMode::Confined)
                } else {
                    (CursorGrabMode::Confined, CursorGrabMode::Locked)
                };
                match window
                    .set_cursor_grab(first)
                    .map(|()| first)
                    .or_else(|_| window.set_cursor_grab(second).map(|()| second))
                {
                    Ok(mode) => {
                        let doubled = self.x11 && mode == CursorGrabMode::Confined;
                        self.raw_pairs = doubled.then(RawPairs::default);
                    }
                    Err(e) => log::warn!(
                        "cannot hold the cursor in the window ({e}); motion still goes to the guest"
                    ),
                }
                window.set_cursor_visible(false);
                log::info!("input captured ({} releases it)", self.host_label);
            }
            Cursor::Release => {
                if let Err(e) = window.set_cursor_grab(CursorGrabMode::None) {
                    log::debug!("releasing the cursor: {e}");
                }
                self.raw_pairs = None;
                window.set_cursor_visible(true);
                log::info!("input released");
            }
        }
        self.update_title();
    }

    /// Notes a one-line notice for the log and the overlay.
    fn notify(&mut self, text: String) {
        log::info!("{text}");
        eprintln!("hv: {text}");
        self.notice = Some((text, Instant::now()));
        self.dirty = true;
    }

    /// Takes a finished clipboard read and types it (Host+V).
    fn poll_paste(&mut self) {
        let Some(rx) = &self.paste else { return };
        let result = match rx.try_recv() {
            Ok(r) => r,
            Err(crossbeam_channel::TryRecvError::Empty) => return,
            Err(crossbeam_channel::TryRecvError::Disconnected) => {
                Err("the clipboard reader stopped".to_owned())
            }
        };
        self.paste = None;
        match result {
            Ok(pasted) => {
                self.notify(pasted.notice());
                if !pasted.text.is_empty() {
                    self.send(HostEvent::Type(pasted.text));
                }
            }
            Err(e) => self.notify(e),
        }
    }

    fn shortcut(&mut self, shortcut: Shortcut, event_loop: &ActiveEventLoop) {
        log::info!("shortcut: {}", shortcut.describe());
        match shortcut {
            Shortcut::ToggleCapture => {
                let step = self.capture.toggle();
                self.apply(step);
            }
            Shortcut::Paste => {
                if self.paste.is_none() {
                    self.paste = Some(paste::read_clipboard());
                }
            }
            Shortcut::CtrlAltDel => {
                for key in CTRL_ALT_DEL {
                    self.send(HostEvent::Key { key, pressed: true });
                }
                for key in CTRL_ALT_DEL.into_iter().rev() {
                    self.send(HostEvent::Key {
                        key,
                        pressed: false,
                    });
                }
            }
            Shortcut::TogglePause => self.send(if self.paused {
                HostEvent::Resume
            } else {
                HostEvent::Pause
            }),
            Shortcut::Reset => self.send(HostEvent::Reset),
            Shortcut::Screenshot => {
                self.display.update(
                    &self.handle.vga,
                    &self.handle.memory,
                    self.handle.clock.now(),
                );
                match shot::save(self.display.frame()) {
                    Ok(path) => eprintln!("hv: screenshot saved to {}", path.display()),
                    Err(e) => eprintln!("hv: screenshot failed: {e:#}"),
                }
            }
            Shortcut::ToggleOverlay => {
                self.overlay_on = !self.overlay_on;
                self.overlay_lines.clear();
                self.dirty = true;
            }
            Shortcut::Quit => event_loop.exit(),
        }
        self.tick(event_loop);
    }

    /// Once per display frame: VM news, end conditions, and whether to redraw.
    fn tick(&mut self, event_loop: &ActiveEventLoop) {
        if let Some(outcome) = self.poll_vm() {
            self.outcome = outcome;
            event_loop.exit();
            return;
        }
        let now = Instant::now();
        let mut changed = self.display.update(
            &self.handle.vga,
            &self.handle.memory,
            self.handle.clock.now(),
        );
        self.rates.sample(now, self.handle.stats.snapshot());
        self.poll_paste();
        if self
            .notice
            .as_ref()
            .is_some_and(|(_, at)| now.saturating_duration_since(*at) > NOTICE_FOR)
        {
            self.notice = None;
        }
        if self.overlay_on {
            let journeys = self.handle.journey.journeys();
            let mouse = self.handle.journey.mouse_packets();
            let lines = Overlay {
                rates: self.rates.rates(),
                journeys: &journeys,
                mouse: &mouse,
                notice: self.notice.as_ref().map(|(t, _)| t.as_str()),
                render: self.display.info(),
                paused: self.paused,
                captured: self.capture.captured(),
                host_key: self.host_label,
            }
            .lines();
            if lines != self.overlay_lines {
                self.overlay_lines = lines;
                changed = true;
            }
        }
        self.update_title();
        if changed || self.dirty {
            self.dirty = true;
            if let Some(w) = &self.window {
                w.request_redraw();
            }
        }
    }

    /// Drains VM events; the outcome if the run is over or an end condition holds.
    fn poll_vm(&mut self) -> Option<Outcome> {
        loop {
            match self.handle.events.try_recv() {
                Ok(VmEvent::Ended(end)) => return Some(self.watch.ended(&self.handle, end)),
                Ok(VmEvent::Paused(p)) => self.paused = p,
                Ok(VmEvent::Reset(why)) => log::info!("reset: {why}"),
                Ok(VmEvent::Started) => {}
                Err(crossbeam_channel::TryRecvError::Empty) => break,
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    return Some(Outcome::default());
                }
            }
        }
        self.watch.check(&self.handle)
    }

    fn update_title(&mut self) {
        let hint = self
            .capture
            .captured()
            .then(|| format!("input captured ({} releases it)", self.host_label));
        let title = status::title(
            &self.image_name,
            self.paused,
            self.display.info().map(|i| &i.mode),
            hint.as_deref(),
        );
        if title != self.title {
            if let Some(w) = &self.window {
                w.set_title(&title);
            }
            self.title = title;
        }
    }

    fn resize(&mut self, size: PhysicalSize<u32>) {
        if size.width == 0 || size.height == 0 {
            return; // minimised: keep the old surface until it comes back
        }
        let Some(pixels) = self.pixels.as_mut() else {
            return;
        };
        if let Err(e) = pixels
            .resize_surface(size.width, size.height)
            .and_then(|()| pixels.resize_buffer(size.width, size.height))
        {
            log::warn!("cannot resize the window surface to {size:?}: {e}");
            return;
        }
        self.surface = Size::new(size.width, size.height);
        self.dirty = true;
    }

    fn redraw(&mut self) {
        let Some(pixels) = self.pixels.as_mut() else {
            return;
        };
        if self.dirty {
            let buf = pixels.frame_mut();
            self.display.compose(buf, self.surface);
            if self.overlay_on {
                if let Some(mut canvas) = Canvas::new(buf, self.surface) {
                    overlay::draw(&mut canvas, &self.overlay_lines, self.ui_scale);
                }
            }
            self.dirty = false;
        }
        match pixels.render() {
            Ok(()) if !self.first_frame_shown => {
                self.first_frame_shown = true;
                // `hv bench` times process start -> this line (time to first frame).
                log::info!("first frame presented");
            }
            Ok(()) => {}
            Err(e) => log::warn!("presenting the frame failed: {e}"),
        }
    }
}

/// Whether the event loop runs on X11 (where winit doubles raw events under a grab).
#[cfg(any(
    target_os = "linux",
    target_os = "dragonfly",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd"
))]
fn is_x11(event_loop: &ActiveEventLoop) -> bool {
    use winit::platform::x11::ActiveEventLoopExtX11;
    event_loop.is_x11()
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "dragonfly",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd"
)))]
fn is_x11(_: &ActiveEventLoop) -> bool {
    false
}

/// Overlay font scale: the HiDPI factor rounded, so text stays crisp and readable.
fn ui_scale(factor: f64) -> u32 {
    if factor.is_finite() {
        (factor.round() as u32).clamp(1, 4)
    } else {
        1
    }
}

impl ApplicationHandler for WindowApp<'_> {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.window.is_some() {
            return;
        }
        self.x11 = is_x11(event_loop);
        if let Err(e) = self.open(event_loop) {
            self.error = Some(e);
            event_loop.exit();
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::Focused(false) => {
                self.keys.forget_held();
                self.send(HostEvent::ReleaseAllKeys);
                let step = self.capture.release();
                self.apply(step);
            }
            WindowEvent::MouseInput { state, button, .. } => {
                let button = match button {
                    MouseButton::Left => Button::Left,
                    MouseButton::Right => Button::Right,
                    MouseButton::Middle => Button::Middle,
                    _ => Button::Other,
                };
                let step = self.capture.button(button, state == ElementState::Pressed);
                self.apply(step);
            }
            WindowEvent::MouseWheel { delta, .. } => {
                if self.wheel_echo.is_echo() && matches!(delta, MouseScrollDelta::LineDelta(..)) {
                    return;
                }
                let lines = match delta {
                    MouseScrollDelta::LineDelta(_, y) => f64::from(y),
                    MouseScrollDelta::PixelDelta(p) => p.y / capture::PIXELS_PER_LINE,
                };
                let step = self.capture.wheel(lines);
                self.apply(step);
            }
            WindowEvent::KeyboardInput {
                event,
                is_synthetic,
                ..
            } => {
                // Synthetic events are winit's guesses about keys held while focus
                // moved; focus loss already released everything, and a key held while
                // focus arrives (Alt of Alt+Tab) was not meant for the guest.
                if is_synthetic || event.repeat {
                    return;
                }
                let PhysicalKey::Code(code) = event.physical_key else {
                    log::debug!("key without a code: {:?}", event.physical_key);
                    return;
                };
                match keymap::guest_key(code) {
                    Some(key) => self.on_key(key, event.state == ElementState::Pressed, event_loop),
                    None => log::debug!("{code:?} has no PC keyboard equivalent"),
                }
            }
            WindowEvent::Resized(size) => {
                self.resize(size);
                if let Some(w) = &self.window {
                    w.request_redraw();
                }
            }
            WindowEvent::ScaleFactorChanged { scale_factor, .. } => {
                self.ui_scale = ui_scale(scale_factor);
                self.dirty = true;
            }
            WindowEvent::RedrawRequested => self.redraw(),
            _ => {}
        }
    }

    fn device_event(&mut self, _: &ActiveEventLoop, _: DeviceId, event: DeviceEvent) {
        if let DeviceEvent::Button { button, state } = event {
            if self.x11 {
                self.wheel_echo
                    .raw_button(button, state == ElementState::Pressed);
            }
        }
        // Raw relative motion: unaccelerated, and not stopped by the window's edges.
        if let DeviceEvent::MouseMotion { delta } = event {
            let delta = match self.raw_pairs.as_mut() {
                Some(pairs) => pairs.filter(delta, Instant::now()),
                None => Some(delta),
            };
            if let Some((dx, dy)) = delta {
                self.capture.motion(dx, dy);
            }
        }
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        // One motion event per batch of raw events.
        let step = self.capture.flush();
        self.apply(step);
        let now = Instant::now();
        if now >= self.next_tick {
            self.next_tick = now + self.frame_interval;
            self.tick(event_loop);
        }
        event_loop.set_control_flow(ControlFlow::WaitUntil(self.next_tick));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_scale_follows_hidpi() {
        assert_eq!(ui_scale(1.0), 1);
        assert_eq!(ui_scale(1.25), 1);
        assert_eq!(ui_scale(1.5), 2);
        assert_eq!(ui_scale(2.0), 2);
        assert_eq!(ui_scale(f64::NAN), 1);
    }
}
