//! The overlay: a panel over the guest picture that shows the emulation at work — exits
//! per second by kind, each recent keystroke's path from the host key through the PS/2
//! keyboard and the i8042 to the guest's read of port 0x60, each recent mouse packet's
//! path from the host mouse events to the guest's reads, and the VGA state.
//!
//! Building the content ([`Overlay::lines`]) is separate from drawing it ([`draw`]), so
//! the window redraws only when the text changed, and the text is unit-tested.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use hv_core::devices::vga::RenderInfo;
use hv_core::machine::journey::{KeyJourney, MouseJourney};
use hv_core::machine::stats::{ExitKind, StatsSnapshot};

use super::draw::{Canvas, GLYPH_H, GLYPH_W, Rgb};
use super::scale::Size;
use super::status::mode_label;

/// How often exit rates are recomputed (and the window over which they are averaged).
pub const RATE_WINDOW: Duration = Duration::from_secs(1);
/// Keystroke journeys shown.
const JOURNEYS_SHOWN: usize = 8;
/// Mouse packets shown at most.
const MOUSE_PACKETS_SHOWN: usize = 4;
/// Rows the keystroke and mouse sections share (besides their headings and the blank
/// line between them), so the panel still fits a 720x400 window at scale 1.
const INPUT_ROWS: usize = 6;
/// Set-2 and i8042 bytes shown per journey before "+" says there are more.
const BYTES_SHOWN: usize = 4;

const TITLE: Rgb = [0x7F, 0xDB, 0xFF];
const HEADING: Rgb = [0xFF, 0xC8, 0x57];
const LABEL: Rgb = [0x9A, 0xA5, 0xB8];
const VALUE: Rgb = [0xF2, 0xF4, 0xF8];
const SET2: Rgb = [0xFF, 0xB0, 0x6A];
const TRANSLATED: Rgb = [0x7C, 0xE3, 0x8C];
const IRQ: Rgb = [0xD6, 0x9C, 0xFF];
const DIM: Rgb = [0x5C, 0x66, 0x78];
const BAR: Rgb = [0x4F, 0x9D, 0xFF];
const PANEL: Rgb = [0x0B, 0x0F, 0x1A];
const PANEL_ALPHA: u8 = 0xD8;
const BAND: Rgb = [0x1E, 0x3A, 0x5F];

/// A run of text in one colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The text (characters the CP437 font has).
    pub text: String,
    /// Its colour.
    pub colour: Rgb,
}

/// One line of the panel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Line {
    /// The spans, left to right.
    pub spans: Vec<Span>,
    /// Drawn on a highlighted band (the panel's title).
    pub band: bool,
}

impl Line {
    fn push(&mut self, text: impl Into<String>, colour: Rgb) -> &mut Self {
        self.spans.push(Span {
            text: text.into(),
            colour,
        });
        self
    }

    fn chars(&self) -> usize {
        self.spans.iter().map(|s| s.text.chars().count()).sum()
    }
}

/// Exit counts turned into per-second rates, refreshed once per [`RATE_WINDOW`].
#[derive(Debug)]
pub struct RateMeter {
    last: Option<(Instant, StatsSnapshot)>,
    rates: Option<Rates>,
}

/// Per-second rates over the last window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Exits per second, per [`ExitKind::ALL`] entry.
    pub exits: [f64; 6],
    /// Interrupts injected per second.
    pub injected: f64,
    /// Interrupt requests raised by devices per second (None: the board does not count
    /// them).
    pub raised: Option<f64>,
}

impl RateMeter {
    /// No samples yet.
    pub fn new() -> Self {
        Self {
            last: None,
            rates: None,
        }
    }

    /// Feeds the counters read at `now`; returns true when the rates changed.
    pub fn sample(&mut self, now: Instant, snap: StatsSnapshot) -> bool {
        let Some((then, before)) = self.last else {
            self.last = Some((now, snap));
            return false;
        };
        let elapsed = now.saturating_duration_since(then);
        if elapsed < RATE_WINDOW {
            return false;
        }
        let secs = elapsed.as_secs_f64();
        let delta = snap.since(&before);
        let rates = Rates {
            exits: std::array::from_fn(|i| delta.exits[i] as f64 / secs),
            injected: delta.injected as f64 / secs,
            raised: delta.raised.map(|r| r as f64 / secs),
        };
        self.last = Some((now, snap));
        let changed = self.rates != Some(rates);
        self.rates = Some(rates);
        changed
    }

    /// The latest rates (None during the first second).
    pub fn rates(&self) -> Option<Rates> {
        self.rates
    }
}

/// What the overlay shows besides the rates.
#[derive(Debug)]
pub struct Overlay<'a> {
    /// Latest exit rates.
    pub rates: Option<Rates>,
    /// Recent keystrokes, oldest first (as the recorder returns them).
    pub journeys: &'a [KeyJourney],
    /// Recent mouse packets, oldest first.
    pub mouse: &'a [MouseJourney],
    /// The last window notice (a paste's outcome), if any.
    pub notice: Option<&'a str>,
    /// What the renderer drew last.
    pub render: Option<&'a RenderInfo>,
    /// The guest is paused.
    pub paused: bool,
    /// The mouse is captured for the guest.
    pub captured: bool,
    /// The host key's label ("Right Ctrl").
    pub host_key: &'a str,
}

/// "1.2ms", "85µs".
pub fn short_duration(d: Duration) -> String {
    let us = d.as_micros();
    if us < 1000 {
        format!("{us}µs")
    } else if us < 10_000 {
        format!("{:.1}ms", d.as_secs_f64() * 1000.0)
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Hex bytes, at most [`BYTES_SHOWN`] of them, "+" marking the rest.
fn hex_bytes(bytes: impl ExactSizeIterator<Item = u8>) -> String {
    let n = bytes.len();
    let mut s = String::new();
    for (i, b) in bytes.take(BYTES_SHOWN).enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02X}");
    }
    if n > BYTES_SHOWN {
        s.push('+');
    }
    if s.is_empty() {
        s.push('-');
    }
    s
}

/// "12 345" (thin grouping keeps big rates readable).
fn grouped(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// A bar of full blocks, log-scaled: 1/s is one block, 100 000/s is twenty.
fn bar(rate: f64) -> String {
    if rate < 0.5 {
        return String::new();
    }
    let blocks = ((rate.log10() + 1.0) * 4.0).clamp(1.0, 24.0) as usize;
    "█".repeat(blocks)
}

fn pad(s: &str, width: usize) -> String {
    format!("{s:<width$}")
}

impl Overlay<'_> {
    /// The panel's text.
    pub fn lines(&self) -> Vec<Line> {
        let mut lines = Vec::new();
        let mut title = Line {
            band: true,
            ..Line::default()
        };
        title.push(" hv ", VALUE).push("· emulation, live", TITLE);
        let state = match (self.paused, self.captured) {
            (true, _) => "   PAUSED",
            (false, true) => "   input captured",
            (false, false) => "",
        };
        title.push(state, HEADING);
        lines.push(title);
        lines.push(Line::default());
        self.exit_lines(&mut lines);
        lines.push(Line::default());
        self.journey_lines(&mut lines);
        lines.push(Line::default());
        if self.shows_mouse() {
            self.mouse_lines(&mut lines);
            lines.push(Line::default());
        }
        self.vga_lines(&mut lines);
        lines.push(Line::default());
        let mut help = Line::default();
        help.push(format!(" {} + ", self.host_key), LABEL)
            .push("G", VALUE)
            .push(" capture  ", LABEL)
            .push("V", VALUE)
            .push(" paste  ", LABEL)
            .push("Del", VALUE)
            .push(" C-A-D  ", LABEL)
            .push("P", VALUE)
            .push(" pause  ", LABEL)
            .push("R", VALUE)
            .push(" reset  ", LABEL)
            .push("S", VALUE)
            .push(" shot  ", LABEL)
            .push("O", VALUE)
            .push(" hide  ", LABEL)
            .push("Q", VALUE)
            .push(" quit", LABEL);
        lines.push(help);
        lines
    }

    fn exit_lines(&self, lines: &mut Vec<Line>) {
        let mut head = Line::default();
        head.push(" VM EXITS", HEADING)
            .push("  per second, last 1 s", LABEL);
        lines.push(head);
        let Some(rates) = self.rates else {
            let mut l = Line::default();
            l.push("   measuring…".replace('…', "..."), DIM);
            lines.push(l);
            return;
        };
        for (kind, &rate) in ExitKind::ALL.iter().zip(&rates.exits) {
            let mut l = Line::default();
            let value = grouped(rate.round() as u64);
            l.push(format!("   {:<11}", kind.name()), LABEL)
                .push(
                    format!("{value:>9}  "),
                    if rate >= 0.5 { VALUE } else { DIM },
                )
                .push(bar(rate), BAR);
            lines.push(l);
        }
        let total: f64 = rates.exits.iter().sum();
        // Requests the devices raised against interrupts the guest was given: a gap means
        // merged or dropped interrupts (or a backlog on its way).
        let raised = rates
            .raised
            .map_or_else(|| "-".to_string(), |r| grouped(r.round() as u64));
        let mut l = Line::default();
        l.push(format!("   {:<11}", "total"), LABEL)
            .push(format!("{:>9}", grouped(total.round() as u64)), VALUE)
            .push("   interrupts raised ", LABEL)
            .push(raised, IRQ)
            .push(" delivered ", LABEL)
            .push(grouped(rates.injected.round() as u64), IRQ)
            .push("/s", LABEL);
        lines.push(l);
    }

    fn journey_lines(&self, lines: &mut Vec<Line>) {
        let mut head = Line::default();
        head.push(" KEYSTROKES", HEADING)
            .push("  key → set 2 → i8042 → IRQ1 → guest reads 0x60", LABEL);
        lines.push(head);
        if self.journeys.is_empty() {
            let mut l = Line::default();
            l.push("   type in the window to see each key's path", DIM);
            lines.push(l);
            return;
        }
        let rows = if self.shows_mouse() {
            INPUT_ROWS - self.mouse_rows()
        } else {
            JOURNEYS_SHOWN
        };
        for (age, j) in self.journeys.iter().rev().take(rows).enumerate() {
            lines.push(journey_line(j, age > 0));
        }
    }

    /// The mouse section appears once the mouse was captured or sent a packet (or a
    /// notice is up); until then the keystrokes have its rows.
    fn shows_mouse(&self) -> bool {
        self.captured || !self.mouse.is_empty() || self.notice.is_some()
    }

    /// Rows the mouse section takes below its heading (the rest of [`INPUT_ROWS`] is
    /// the keystrokes').
    fn mouse_rows(&self) -> usize {
        let packets = self.mouse.len().clamp(1, MOUSE_PACKETS_SHOWN);
        packets + usize::from(self.notice.is_some())
    }

    fn mouse_lines(&self, lines: &mut Vec<Line>) {
        let mut head = Line::default();
        head.push(" MOUSE", HEADING)
            .push("  host → packet → i8042 → IRQ12 → guest reads 0x60", LABEL);
        lines.push(head);
        if let Some(notice) = self.notice {
            let mut l = Line::default();
            l.push(format!("   {notice}"), HEADING);
            lines.push(l);
        }
        if self.mouse.is_empty() {
            let mut l = Line::default();
            let hint = if self.captured {
                "   move the mouse to see its packets"
            } else {
                "   click in the window to capture the mouse"
            };
            l.push(hint, DIM);
            lines.push(l);
            return;
        }
        for (age, j) in self
            .mouse
            .iter()
            .rev()
            .take(MOUSE_PACKETS_SHOWN)
            .enumerate()
        {
            lines.push(mouse_line(j, age > 0));
        }
    }

    fn vga_lines(&self, lines: &mut Vec<Line>) {
        let mut l = Line::default();
        l.push(" VGA ", HEADING);
        match self.render {
            None => {
                l.push(" no picture yet", DIM);
            }
            Some(info) => {
                let (w, h) = info.mode.resolution();
                l.push(format!(" {}", mode_label(&info.mode)), VALUE)
                    .push(format!("  {w}x{h}"), LABEL);
                if let Some((row, col)) = info.cursor {
                    l.push("  cursor ", LABEL)
                        .push(format!("{row},{col}"), VALUE);
                }
                if info.blanked {
                    l.push("  blanked", HEADING);
                }
                l.push("  regs gen ", LABEL)
                    .push(info.generation.to_string(), DIM);
            }
        }
        lines.push(l);
    }
}

/// One keystroke: "   A        ↓ 1C          → 1E  xlat     IRQ1 v09 +12µs  read +41µs".
pub fn journey_line(j: &KeyJourney, older: bool) -> Line {
    let fade = |c: Rgb| if older { dim(c) } else { c };
    let mut l = Line::default();
    let arrow = if j.pressed { "↓" } else { "↑" };
    l.push(format!("   {}", pad(j.key.name(), 12)), fade(VALUE))
        .push(format!("{arrow} "), fade(LABEL))
        .push(pad(&hex_bytes(j.set2.iter().copied()), 12), fade(SET2))
        .push("→ ", fade(LABEL));
    let translated = j.delivered.iter().any(|d| d.translated_from.is_some());
    let out = hex_bytes(j.delivered.iter().map(|d| d.byte));
    l.push(
        pad(&out, 12),
        fade(if translated { TRANSLATED } else { VALUE }),
    );
    match j.injected {
        Some((vector, after)) => {
            l.push(format!("IRQ1 v{vector:02X} "), fade(IRQ))
                .push(pad(&format!("+{}", short_duration(after)), 8), fade(LABEL));
        }
        None => {
            l.push(pad("IRQ1 -", 17), fade(DIM));
        }
    }
    match j.latency() {
        Some(d) => {
            l.push("read ", fade(LABEL))
                .push(format!("+{}", short_duration(d)), fade(VALUE));
        }
        None => {
            l.push("not read yet", fade(DIM));
        }
    }
    l
}

/// One mouse packet: "   x+5 y-1 w+0 L··  2 ev → 09 05 01     IRQ12 v74 +150µs read +180µs".
pub fn mouse_line(j: &MouseJourney, older: bool) -> Line {
    let fade = |c: Rgb| if older { dim(c) } else { c };
    let mut l = Line::default();
    let host = if j.host_events == 0 {
        "(earlier input)".to_owned()
    } else {
        let b = j.host.buttons;
        let held: String = [(1u8, 'L'), (4, 'M'), (2, 'R')]
            .iter()
            .map(|&(bit, c)| if b & bit != 0 { c } else { '·' })
            .collect();
        format!(
            "x{:+} y{:+} w{:+} {held}",
            j.host.dx, j.host.dy, j.host.wheel
        )
    };
    l.push(format!("   {}", pad(&host, 22)), fade(VALUE))
        .push(format!("{:>3} ev ", j.host_events), fade(LABEL))
        .push("→ ", fade(LABEL))
        .push(pad(&hex_bytes(j.packet.iter().copied()), 13), fade(SET2));
    match j.injected {
        Some((vector, after)) => {
            l.push(format!("IRQ12 v{vector:02X} "), fade(IRQ))
                .push(pad(&format!("+{}", short_duration(after)), 8), fade(LABEL));
        }
        None => {
            l.push(pad("IRQ12 -", 18), fade(DIM));
        }
    }
    match j.latency {
        Some(d) => {
            l.push("read ", fade(LABEL))
                .push(format!("+{}", short_duration(d)), fade(VALUE));
        }
        None => {
            l.push(format!("read {}/{}", j.read, j.packet.len()), fade(DIM));
        }
    }
    l
}

fn dim(c: Rgb) -> Rgb {
    c.map(|v| (u16::from(v) * 3 / 5) as u8)
}

/// Draws `lines` as a panel in the window's top-right corner, each font pixel `scale`
/// screen pixels (the HiDPI factor, rounded), so it is as sharp as the display allows.
pub fn draw(canvas: &mut Canvas<'_>, lines: &[Line], scale: u32) {
    let scale = scale.max(1);
    let size = canvas.size();
    let cols = lines.iter().map(Line::chars).max().unwrap_or(0) as u32 + 1;
    let pad = 6 * scale;
    let line_h = GLYPH_H * scale;
    let panel = Size::new(
        cols * GLYPH_W * scale + 2 * pad,
        lines.len() as u32 * line_h + 2 * pad,
    );
    let margin = 10 * scale;
    let x0 = size.width.saturating_sub(panel.width + margin);
    let y0 = margin.min(size.height.saturating_sub(panel.height));
    canvas.blend_rect(x0, y0, panel.width, panel.height, PANEL, PANEL_ALPHA);
    // A hairline frame in the title colour.
    canvas.blend_rect(x0, y0, panel.width, scale, TITLE, 0x90);
    canvas.blend_rect(
        x0,
        y0 + panel.height - scale,
        panel.width,
        scale,
        BAND,
        0xC0,
    );
    for (i, line) in lines.iter().enumerate() {
        let y = y0 + pad + i as u32 * line_h;
        if line.band {
            canvas.blend_rect(x0 + scale, y, panel.width - 2 * scale, line_h, BAND, 0xE0);
        }
        let mut x = x0 + pad;
        for span in &line.spans {
            x = canvas.text(x, y, &span.text, span.colour, scale);
        }
    }
}

#[cfg(test)]
mod tests {
    use hv_core::devices::keymap::Key;
    use hv_core::machine::journey::DeliveredByte;

    use super::*;

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.text.as_str()).collect()
    }

    fn journey(pressed: bool) -> KeyJourney {
        let mut j = journey_template();
        j.pressed = pressed;
        j.set2 = if pressed {
            vec![0x1C]
        } else {
            vec![0xF0, 0x1C]
        };
        j.injected = Some((0x09, Duration::from_micros(12)));
        if pressed {
            j.delivered.push(DeliveredByte {
                byte: 0x1E,
                translated_from: Some(0x1C),
                after: Duration::from_micros(41),
            });
        } else {
            j.delivered.push(DeliveredByte {
                byte: 0x9E,
                translated_from: Some(0x1C),
                after: Duration::from_micros(1500),
            });
        }
        j
    }

    fn journey_template() -> KeyJourney {
        // KeyJourney has a private start time: build one through the recorder.
        use hv_core::clock::HostClock;
        use hv_core::machine::journey::JourneyRecorder;
        let rec = JourneyRecorder::new(std::sync::Arc::new(HostClock::new()));
        rec.host_key(Key::A, true);
        rec.journeys().remove(0)
    }

    #[test]
    fn a_keystroke_shows_its_whole_path() {
        let down = text(&journey_line(&journey(true), false));
        assert!(down.contains("A"), "{down}");
        assert!(down.contains("↓ 1C"), "{down}");
        assert!(down.contains("→ 1E"), "{down}");
        assert!(down.contains("IRQ1 v09 +12µs"), "{down}");
        assert!(down.contains("read +41µs"), "{down}");
        let up = text(&journey_line(&journey(false), true));
        assert!(up.contains("↑ F0 1C"), "{up}");
        assert!(up.contains("→ 9E"), "{up}");
        assert!(up.contains("read +1.5ms"), "{up}");
    }

    #[test]
    fn long_sequences_are_cut_and_missing_steps_say_so() {
        let mut j = journey_template();
        j.key = Key::Pause;
        j.set2 = Key::Pause.set2_make().to_vec();
        let t = text(&journey_line(&j, false));
        assert!(t.contains("E1 14 77 E1+"), "{t}");
        assert!(t.contains("IRQ1 -"), "{t}");
        assert!(t.contains("not read yet"), "{t}");
    }

    #[test]
    fn a_mouse_packet_shows_its_whole_path() {
        use hv_core::clock::FakeClock;
        use hv_core::devices::i8042::{IrqKind, KbdEvent};
        use hv_core::devices::ps2_mouse::MouseInput;
        use hv_core::machine::journey::JourneyRecorder;
        let clock = FakeClock::new();
        let rec = JourneyRecorder::new(std::sync::Arc::new(clock.clone()));
        rec.host_mouse(MouseInput {
            dx: 5,
            dy: -1,
            wheel: 1,
            buttons: 1,
        });
        rec.kbd_event(&KbdEvent::MousePacket {
            bytes: vec![0x09, 5, 1, 0xFF],
        });
        rec.kbd_event(&KbdEvent::IrqRaised { line: IrqKind::Aux });
        clock.advance(Duration::from_micros(150));
        rec.injected(0x74);
        rec.kbd_event(&KbdEvent::MousePacketRead { byte: 0x09 });
        let half = text(&mouse_line(&rec.mouse_packets()[0], false));
        assert!(half.contains("x+5 y-1 w+1 L··"), "{half}");
        assert!(half.contains("1 ev → 09 05 01 FF"), "{half}");
        assert!(half.contains("IRQ12 v74 +150µs"), "{half}");
        assert!(half.contains("read 1/4"), "{half}");
        for b in [5, 1, 0xFF] {
            clock.advance(Duration::from_micros(10));
            rec.kbd_event(&KbdEvent::MousePacketRead { byte: b });
        }
        rec.kbd_event(&KbdEvent::MousePacket {
            bytes: vec![0x08, 1, 0, 0],
        });
        let got = rec.mouse_packets();
        let done = text(&mouse_line(&got[0], true));
        assert!(done.contains("read +180µs"), "{done}");
        let rest = text(&mouse_line(&got[1], false));
        assert!(rest.contains("(earlier input)"), "{rest}");
        assert!(rest.contains("IRQ12 -"), "{rest}");
        let o = Overlay {
            rates: None,
            journeys: &[],
            mouse: &got,
            notice: None,
            render: None,
            paused: false,
            captured: false,
            host_key: "Right Ctrl",
        };
        let joined: Vec<String> = o.lines().iter().map(text).collect();
        assert!(joined.iter().any(|l| l.contains("09 05 01 FF")));
        for c in joined.iter().flat_map(|l| l.chars()) {
            assert!(c == '?' || super::super::draw::cp437(c) != b'?', "{c:?}");
        }
    }

    #[test]
    fn a_full_panel_fits_a_720x400_window_at_scale_1() {
        use hv_core::devices::i8042::KbdEvent;
        use hv_core::machine::journey::JourneyRecorder;
        let rec = JourneyRecorder::new(std::sync::Arc::new(hv_core::clock::HostClock::new()));
        for i in 0..20u8 {
            rec.host_key(Key::Pause, i % 2 == 0);
            rec.kbd_event(&KbdEvent::MousePacket {
                bytes: vec![0x08, i, 0, 0],
            });
        }
        let journeys = rec.journeys();
        let mouse = rec.mouse_packets();
        for (mouse, notice) in [
            (
                &mouse[..],
                Some("pasting 99999 characters; 99 non-ASCII skipped"),
            ),
            (&[][..], None),
        ] {
            let o = Overlay {
                rates: Some(Rates {
                    exits: [123_456.0; 6],
                    injected: 99_999.0,
                    raised: Some(999_999.0),
                }),
                journeys: &journeys,
                mouse,
                notice,
                render: None,
                paused: false,
                captured: true,
                host_key: "Right Ctrl",
            };
            let lines = o.lines();
            let height = lines.len() as u32 * GLYPH_H + 12;
            let width =
                (lines.iter().map(Line::chars).max().unwrap_or(0) as u32 + 1) * GLYPH_W + 12;
            assert!(height <= 400, "{} lines", lines.len());
            assert!(width <= 720 - 10, "{width} px wide");
        }
    }

    #[test]
    fn rates_refresh_once_per_window() {
        let mut m = RateMeter::new();
        let t0 = Instant::now();
        let mut s = StatsSnapshot::default();
        assert!(!m.sample(t0, s));
        s.exits[0] = 500;
        assert!(!m.sample(t0 + Duration::from_millis(400), s));
        s.exits[0] = 2000;
        s.injected = 30;
        s.raised = Some(40);
        assert!(m.sample(t0 + Duration::from_secs(2), s));
        let r = m.rates().expect("rates");
        assert!((r.exits[0] - 1000.0).abs() < 1e-6);
        assert!((r.injected - 15.0).abs() < 1e-6);
        assert_eq!(r.raised, Some(20.0));
    }

    #[test]
    fn numbers_and_bars_read_well() {
        assert_eq!(grouped(12345), "12 345");
        assert_eq!(grouped(999), "999");
        assert_eq!(bar(0.0), "");
        assert_eq!(bar(1.0).chars().count(), 4);
        assert!(bar(100_000.0).chars().count() > bar(1000.0).chars().count());
        assert_eq!(short_duration(Duration::from_micros(85)), "85µs");
        assert_eq!(short_duration(Duration::from_millis(25)), "25ms");
    }

    #[test]
    fn the_panel_lists_every_section() {
        let o = Overlay {
            rates: Some(Rates {
                exits: [1000.0, 0.0, 60.0, 2.0, 5.0, 0.0],
                injected: 61.0,
                raised: Some(73.0),
            }),
            journeys: &[journey(true)],
            mouse: &[],
            notice: Some("pasting 3 characters"),
            render: None,
            paused: true,
            captured: true,
            host_key: "Right Ctrl",
        };
        let all: Vec<String> = o.lines().iter().map(text).collect();
        let joined = all.join("\n");
        for needle in [
            "PAUSED",
            "VM EXITS",
            "port I/O",
            "1 000",
            "KEYSTROKES",
            "VGA",
            "interrupts raised 73 delivered 61/s",
            "MOUSE",
            "move the mouse to see its packets",
            "pasting 3 characters",
            "Right Ctrl + G capture  V paste",
        ] {
            assert!(joined.contains(needle), "{needle} missing in\n{joined}");
        }
        // Every character is in the font.
        for c in all.iter().flat_map(|l| l.chars()) {
            assert!(c == '?' || super::super::draw::cp437(c) != b'?', "{c:?}");
        }
    }
}
