//! A PS/2 mouse behind the i8042's aux port: the standard 3-byte mouse (id 0x00) that
//! becomes a wheel mouse (IntelliMouse, id 0x03, 4-byte packets) after the sample-rate
//! knock 200, 100, 80 that Linux's psmouse, Windows and most DOS drivers send.
//!
//! Host input ([`MouseInput`]: relative motion, wheel notches, the buttons held) is
//! accumulated, never dropped: in stream mode the mouse cuts one packet per sample
//! period (1 / the guest's `F3` rate, as a real mouse reports) and only once the
//! controller has taken the previous packet, so a guest that reads slowly receives the
//! same total motion in fewer, larger packets. A packet carries at most what fits its
//! 9-bit counters (-256..=255; -128..=127 under 2:1 scaling, so the scaled value fits
//! too) and the rest follows in the next packets; the overflow bits are therefore never
//! needed. Every change of the buttons starts a new segment that is reported in a
//! packet of its own, so a click shorter than a sample period still reaches the guest
//! as a press and a release. Segments are bounded ([`MAX_SEGMENTS`]); past that,
//! changes merge into the newest one (logged).
//!
//! Resolution and scaling are stored and reported (`E9`) but host pixels are not
//! rescaled by the resolution: the host already reports screen pixels.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::devices::ps2_keyboard::{ACK, BAT_OK, Ps2Queue, RESEND};

/// Packets the mouse may buffer for the controller (it waits for an empty buffer before
/// cutting the next one, so in practice at most one is queued).
pub const MOUSE_QUEUE_PACKETS: usize = 8;
/// Button segments kept while the guest is not reading.
pub const MAX_SEGMENTS: usize = 64;
/// The standard mouse's device id.
pub const ID_STANDARD: u8 = 0x00;
/// The IntelliMouse (wheel) id.
pub const ID_INTELLIMOUSE: u8 = 0x03;
/// The `F3` rates that switch a standard mouse to the IntelliMouse id, in order.
pub const INTELLIMOUSE_KNOCK: [u8; 3] = [200, 100, 80];
/// Motion counters saturate here so that a stalled guest cannot make them overflow.
const MAX_ACCUMULATED: i32 = 1 << 16;
/// Lowest and highest sample rates used for pacing (the PS/2 rates are 10..=200/s; a
/// guest may program anything, including 0).
const MIN_RATE: u32 = 10;
const MAX_RATE: u32 = 200;

/// Mouse buttons as the host reports them (bit 0 left, bit 1 right, bit 2 middle), the
/// same order as bits 0-2 of a PS/2 packet.
pub mod buttons {
    /// Left button.
    pub const LEFT: u8 = 1 << 0;
    /// Right button.
    pub const RIGHT: u8 = 1 << 1;
    /// Middle button.
    pub const MIDDLE: u8 = 1 << 2;
    /// Every button the PS/2 packet carries.
    pub const ALL: u8 = LEFT | RIGHT | MIDDLE;
}

/// One host mouse event: relative motion in screen convention (`dy` > 0 is downwards),
/// wheel notches (`wheel` > 0 is rolled away from the user, "scroll up"), and the
/// buttons held after the event (see [`buttons`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MouseInput {
    /// Horizontal motion, rightwards positive.
    pub dx: i32,
    /// Vertical motion, downwards positive.
    pub dy: i32,
    /// Wheel notches, away from the user (scroll up) positive.
    pub wheel: i32,
    /// Buttons held after this event.
    pub buttons: u8,
}

/// A packet as the mouse sent it (3 bytes, or 4 with the wheel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MousePacket {
    bytes: [u8; 4],
    len: u8,
}

impl MousePacket {
    /// The packet's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Commands that take a parameter byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AwaitingParam {
    SampleRate,
    Resolution,
}

/// How the mouse sends movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouseMode {
    /// Packets as motion happens (when reporting is enabled).
    Stream,
    /// Packets only on `EB` (read data).
    Remote,
    /// Every byte is echoed back, except `EC` (leave) and `FF` (reset).
    Wrap,
}

/// Motion accumulated while one set of buttons was held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    dx: i32,
    dy: i32,
    /// PS/2 convention: positive = towards the user.
    dz: i32,
    buttons: u8,
}

impl Segment {
    fn still(buttons: u8) -> Self {
        Self {
            dx: 0,
            dy: 0,
            dz: 0,
            buttons,
        }
    }

    fn moved(&self) -> bool {
        self.dx != 0 || self.dy != 0 || self.dz != 0
    }
}

/// The PS/2 mouse.
#[derive(Debug)]
pub struct Ps2Mouse {
    clock: Arc<dyn Clock>,
    queue: Ps2Queue,
    awaiting: Option<AwaitingParam>,
    mode: MouseMode,
    /// Mode to return to when wrap mode ends.
    mode_before_wrap: MouseMode,
    reporting: bool,
    sample_rate: u8,
    resolution: u8,
    scaling_2to1: bool,
    id: u8,
    /// The last consecutive `F3` rates, oldest first (the IntelliMouse knock).
    knock: [u8; 3],
    /// Input not yet reported, oldest first; never empty (the back is the current
    /// button state).
    segments: VecDeque<Segment>,
    /// The buttons of the last packet sent.
    reported_buttons: u8,
    /// When the last stream packet was cut.
    last_packet_at: Option<Duration>,
    /// Packets cut since the owner last looked (only while `log_packets`).
    cut_log: Vec<MousePacket>,
    log_packets: bool,
}

impl Ps2Mouse {
    /// A mouse after power-on: standard id, stream mode, reporting disabled, 100
    /// samples/s, 4 counts/mm, 1:1 scaling. `clock` paces stream packets.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let mut segments = VecDeque::with_capacity(MAX_SEGMENTS);
        segments.push_back(Segment::still(0));
        Self {
            clock,
            queue: Ps2Queue::new(4 * MOUSE_QUEUE_PACKETS),
            awaiting: None,
            mode: MouseMode::Stream,
            mode_before_wrap: MouseMode::Stream,
            reporting: false,
            sample_rate: 100,
            resolution: 2,
            scaling_2to1: false,
            id: ID_STANDARD,
            knock: [0; 3],
            segments,
            reported_buttons: 0,
            last_packet_at: None,
            cut_log: Vec::new(),
            log_packets: false,
        }
    }

    /// Whether motion packets are sent (`F4`/`F5`).
    pub fn reporting(&self) -> bool {
        self.reporting
    }

    /// The current mode.
    pub fn mode(&self) -> MouseMode {
        self.mode
    }

    /// Sample rate from the last `F3` (reports per second).
    pub fn sample_rate(&self) -> u8 {
        self.sample_rate
    }

    /// The device id `F2` answers: [`ID_STANDARD`] or, after the knock,
    /// [`ID_INTELLIMOUSE`].
    pub fn id(&self) -> u8 {
        self.id
    }

    /// Bytes per packet (4 once the wheel is on).
    pub fn packet_len(&self) -> usize {
        if self.id == ID_INTELLIMOUSE { 4 } else { 3 }
    }

    /// Whether a byte is waiting for the controller.
    pub fn has_output(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Bytes waiting for the controller (bounded).
    pub fn pending_len(&self) -> usize {
        self.queue.len()
    }

    /// Button segments waiting to be reported (bounded by [`MAX_SEGMENTS`]).
    pub fn pending_segments(&self) -> usize {
        self.segments.len()
    }

    /// Keeps a copy of every packet cut, for [`take_cut_packets`](Self::take_cut_packets)
    /// (the overlay's packet journey). Off by default: nothing is stored.
    pub fn set_packet_log(&mut self, on: bool) {
        self.log_packets = on;
        self.cut_log.clear();
    }

    /// Packets cut since the last call (empty unless the packet log is on).
    pub fn take_cut_packets(&mut self) -> Vec<MousePacket> {
        std::mem::take(&mut self.cut_log)
    }

    /// The controller takes the next byte; an empty queue may let the next packet out.
    pub fn read(&mut self) -> Option<u8> {
        self.read_tagged().map(|(byte, _)| byte)
    }

    /// Like [`read`](Self::read), also saying whether the byte belongs to a motion
    /// packet (true) or to a command reply.
    pub fn read_tagged(&mut self) -> Option<(u8, bool)> {
        let room = self.queue.data_room();
        let byte = self.queue.pop()?;
        let from_packet = self.queue.data_room() > room;
        self.flush();
        Some((byte, from_packet))
    }

    /// Host input. While the guest cannot receive it (reporting off in stream mode, or
    /// wrap mode) only the buttons are tracked, as a real mouse drops motion then.
    pub fn input(&mut self, input: MouseInput) {
        let buttons = input.buttons & buttons::ALL;
        let accepting = match self.mode {
            MouseMode::Stream => self.reporting,
            MouseMode::Remote => true,
            MouseMode::Wrap => false,
        };
        if !accepting {
            self.forget_motion(buttons);
            return;
        }
        let clamp = |v: i32| v.clamp(-MAX_ACCUMULATED, MAX_ACCUMULATED);
        // A standard mouse has no wheel: its notches are dropped, not kept for later.
        let wheel = if self.id == ID_INTELLIMOUSE {
            input.wheel
        } else {
            0
        };
        // The motion of an event that also changes the buttons is reported with its
        // new buttons (a press-and-drag in one event is a drag).
        self.set_buttons(buttons);
        if let Some(back) = self.segments.back_mut() {
            back.dx = clamp(back.dx.saturating_add(input.dx));
            // PS/2 counts y upwards and the wheel towards the user.
            back.dy = clamp(back.dy.saturating_sub(input.dy));
            back.dz = clamp(back.dz.saturating_sub(wheel));
        }
        self.flush();
    }

    /// Records a button change as a segment of its own, so that the edge is reported.
    fn set_buttons(&mut self, buttons: u8) {
        let len = self.segments.len();
        let reported = self.reported_buttons;
        let Some(back) = self.segments.back_mut() else {
            self.segments.push_back(Segment::still(buttons));
            return;
        };
        if back.buttons == buttons {
            return;
        }
        // A lone still segment whose buttons the guest already has can simply change.
        let unsent = len == 1 && !back.moved() && back.buttons == reported;
        if unsent {
            back.buttons = buttons;
        } else if len < MAX_SEGMENTS {
            self.segments.push_back(Segment::still(buttons));
        } else {
            log::debug!("ps2 mouse: {MAX_SEGMENTS} button changes unread; merging");
            back.buttons = buttons;
        }
    }

    /// Runs due work: the next stream packet when its sample period has passed.
    pub fn poll(&mut self) {
        self.flush();
    }

    /// When [`poll`](Self::poll) next has work (a stream packet waiting for its sample
    /// period), on the clock given to [`new`](Self::new).
    pub fn next_deadline(&self) -> Option<Duration> {
        self.stream_ready().then(|| self.next_packet_at())
    }

    /// Stream mode, reporting on, something to report and the previous packet taken.
    fn stream_ready(&self) -> bool {
        self.mode == MouseMode::Stream
            && self.reporting
            && self.queue.data_room() == 4 * MOUSE_QUEUE_PACKETS
            && self.has_news()
    }

    fn has_news(&self) -> bool {
        self.segments.len() > 1
            || self
                .segments
                .front()
                .is_some_and(|s| s.moved() || s.buttons != self.reported_buttons)
    }

    fn sample_period(&self) -> Duration {
        let rate = u32::from(self.sample_rate).clamp(MIN_RATE, MAX_RATE);
        Duration::from_secs(1) / rate
    }

    fn next_packet_at(&self) -> Duration {
        self.last_packet_at
            .map_or(Duration::ZERO, |t| t + self.sample_period())
    }

    /// Cuts the next stream packet if it is due.
    fn flush(&mut self) {
        if !self.stream_ready() {
            return;
        }
        let now = self.clock.now();
        if now < self.next_packet_at() {
            return;
        }
        self.last_packet_at = Some(now);
        let packet = self.cut_packet();
        self.queue.push_data(packet.bytes());
    }

    /// Builds one packet from the oldest segment and removes what it carried.
    fn cut_packet(&mut self) -> MousePacket {
        // Under 2:1 scaling the reported value is at most twice the count: keep it in
        // 9 bits too.
        let (lo, hi) = if self.scaling_2to1 {
            (-128, 127)
        } else {
            (-256, 255)
        };
        let wheel = self.id == ID_INTELLIMOUSE;
        let lone = self.segments.len() == 1;
        let Some(seg) = self.segments.front_mut() else {
            return self.packet(0, 0, 0, self.reported_buttons);
        };
        let dx = seg.dx.clamp(lo, hi);
        let dy = seg.dy.clamp(lo, hi);
        // The IntelliMouse's wheel count is 4 bits wide (-8..=7).
        let dz = if wheel { seg.dz.clamp(-8, 7) } else { 0 };
        seg.dx -= dx;
        seg.dy -= dy;
        seg.dz = if wheel { seg.dz - dz } else { 0 };
        let buttons = seg.buttons;
        if !seg.moved() && !lone {
            self.segments.pop_front();
        }
        self.reported_buttons = buttons;
        let (sx, sy) = (self.scale(dx), self.scale(dy));
        self.packet(sx, sy, dz, buttons)
    }

    fn packet(&mut self, dx: i32, dy: i32, dz: i32, buttons: u8) -> MousePacket {
        let mut status = 0x08 | buttons;
        status |= u8::from(dx < 0) << 4 | u8::from(dy < 0) << 5;
        // The low 8 bits of the 9-bit two's complement values; the signs are in
        // `status`.
        let packet = MousePacket {
            bytes: [
                status,
                dx.to_le_bytes()[0],
                dy.to_le_bytes()[0],
                dz.to_le_bytes()[0],
            ],
            len: self.packet_len() as u8,
        };
        if self.log_packets && self.cut_log.len() < MAX_SEGMENTS {
            self.cut_log.push(packet);
        }
        packet
    }

    /// 2:1 scaling (stream mode's non-linear table from the PS/2 reference).
    fn scale(&self, v: i32) -> i32 {
        if !self.scaling_2to1 || self.mode != MouseMode::Stream {
            return v;
        }
        let sign = v.signum();
        sign * match v.abs() {
            a @ 0..=1 => a,
            2 => 1,
            3 => 3,
            4 => 6,
            5 => 9,
            a => a * 2,
        }
    }

    /// A byte from the controller (the guest sent `D4 xx`).
    pub fn write(&mut self, byte: u8) {
        if self.mode == MouseMode::Wrap && byte != 0xEC && byte != 0xFF {
            self.queue.reply(byte);
            return;
        }
        if let Some(param) = self.awaiting.take() {
            self.parameter(param, byte);
            return;
        }
        self.command(byte);
        self.flush();
    }

    fn parameter(&mut self, param: AwaitingParam, byte: u8) {
        match param {
            AwaitingParam::SampleRate => {
                self.sample_rate = byte;
                self.knock = [self.knock[1], self.knock[2], byte];
                if self.knock == INTELLIMOUSE_KNOCK {
                    self.id = ID_INTELLIMOUSE;
                }
            }
            AwaitingParam::Resolution => self.resolution = byte & 0x03,
        }
        self.queue.reply(ACK);
    }

    fn command(&mut self, cmd: u8) {
        if cmd != 0xF3 {
            // The knock is three `F3` commands in a row.
            self.knock = [0; 3];
        }
        match cmd {
            0xE6 | 0xE7 => {
                self.scaling_2to1 = cmd == 0xE7;
                self.queue.reply(ACK);
            }
            0xE8 => self.await_param(AwaitingParam::Resolution),
            0xE9 => {
                self.queue.reply(ACK);
                let held = self.segments.back().map_or(0, |s| s.buttons);
                let status = u8::from(self.mode == MouseMode::Remote) << 6
                    | u8::from(self.reporting) << 5
                    | u8::from(self.scaling_2to1) << 4
                    | (held & buttons::LEFT) << 2
                    | (held & buttons::MIDDLE) >> 1
                    | (held & buttons::RIGHT) >> 1;
                for b in [status, self.resolution, self.sample_rate] {
                    self.queue.reply(b);
                }
            }
            0xEA => self.enter_mode(MouseMode::Stream),
            0xEB => {
                self.queue.reply(ACK);
                let packet = self.cut_packet();
                packet.bytes().iter().for_each(|&b| self.queue.reply(b));
            }
            0xEC => {
                if self.mode == MouseMode::Wrap {
                    self.mode = self.mode_before_wrap;
                }
                self.queue.reply(ACK);
            }
            0xEE => {
                if self.mode != MouseMode::Wrap {
                    self.mode_before_wrap = self.mode;
                }
                self.enter_mode(MouseMode::Wrap);
            }
            0xF0 => self.enter_mode(MouseMode::Remote),
            0xF2 => {
                self.queue.reply(ACK);
                self.queue.reply(self.id);
            }
            0xF3 => self.await_param(AwaitingParam::SampleRate),
            0xF4 | 0xF5 => {
                self.reporting = cmd == 0xF4;
                self.reset_counters();
                self.queue.reply(ACK);
            }
            0xF6 => {
                self.set_defaults();
                self.queue.reply(ACK);
            }
            RESEND => self.queue.resend(),
            0xFF => {
                self.set_defaults();
                self.id = ID_STANDARD;
                self.queue.clear_data();
                for b in [ACK, BAT_OK, ID_STANDARD] {
                    self.queue.reply(b);
                }
            }
            _ => {
                log::debug!("ps2 mouse: unknown command {cmd:#04x}");
                self.queue.reply(RESEND);
            }
        }
    }

    fn await_param(&mut self, param: AwaitingParam) {
        self.awaiting = Some(param);
        self.queue.reply(ACK);
    }

    fn enter_mode(&mut self, mode: MouseMode) {
        self.mode = mode;
        self.reset_counters();
        self.queue.reply(ACK);
    }

    /// Drops accumulated motion: movement before a mode change is not reported after it.
    fn reset_counters(&mut self) {
        let held = self.segments.back().map_or(0, |s| s.buttons);
        self.forget_motion(held);
    }

    /// One still segment with `buttons`, taken as already reported.
    fn forget_motion(&mut self, buttons: u8) {
        self.segments.clear();
        self.segments.push_back(Segment::still(buttons));
        self.reported_buttons = buttons;
    }

    fn set_defaults(&mut self) {
        self.mode = MouseMode::Stream;
        self.reporting = false;
        self.sample_rate = 100;
        self.resolution = 2;
        self.scaling_2to1 = false;
        self.reset_counters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;

    fn mouse() -> (Ps2Mouse, FakeClock) {
        let clock = FakeClock::new();
        (Ps2Mouse::new(Arc::new(clock.clone())), clock)
    }

    fn drain(mouse: &mut Ps2Mouse) -> Vec<u8> {
        std::iter::from_fn(|| mouse.read()).collect()
    }

    fn send(mouse: &mut Ps2Mouse, bytes: &[u8]) -> Vec<u8> {
        bytes.iter().for_each(|&b| mouse.write(b));
        drain(mouse)
    }

    fn moved(dx: i32, dy: i32, buttons: u8) -> MouseInput {
        MouseInput {
            dx,
            dy,
            wheel: 0,
            buttons,
        }
    }

    /// Every packet the mouse sends from now on, stepping the clock one sample period
    /// at a time (`limit` periods at most).
    fn packets(m: &mut Ps2Mouse, clock: &FakeClock, limit: usize) -> Vec<Vec<u8>> {
        let len = m.packet_len();
        let mut out = Vec::new();
        for _ in 0..limit {
            m.poll();
            let bytes = drain(m);
            assert_eq!(bytes.len() % len, 0, "whole packets only: {bytes:02X?}");
            out.extend(bytes.chunks(len).map(<[u8]>::to_vec));
            match m.next_deadline() {
                Some(t) => clock.set(t),
                None => break,
            }
        }
        out
    }

    /// Sums a packet stream back into motion (9-bit signed values) and the wheel.
    fn total(packets: &[Vec<u8>]) -> (i32, i32, i32) {
        let nine = |low: u8, neg: bool| i32::from(low) - if neg { 256 } else { 0 };
        packets.iter().fold((0, 0, 0), |(x, y, z), p| {
            assert_eq!(p[0] & 0x08, 0x08, "sync bit");
            assert_eq!(p[0] & 0xC0, 0, "no overflow");
            let dz = p.get(3).map_or(0, |&b| i32::from(b as i8));
            (
                x + nine(p[1], p[0] & 0x10 != 0),
                y + nine(p[2], p[0] & 0x20 != 0),
                z + dz,
            )
        })
    }

    #[test]
    fn answers_reset_identify_and_settings() {
        let (mut m, _) = mouse();
        assert_eq!(send(&mut m, &[0xFF]), [ACK, BAT_OK, 0x00]);
        assert_eq!(send(&mut m, &[0xF2]), [ACK, 0x00]);
        assert_eq!(send(&mut m, &[0xF3, 200]), [ACK, ACK]);
        assert_eq!(m.sample_rate(), 200);
        assert_eq!(send(&mut m, &[0xE8, 0x03]), [ACK, ACK]);
        assert_eq!(send(&mut m, &[0xE7]), [ACK]);
        assert_eq!(send(&mut m, &[0xF4]), [ACK]);
        m.input(moved(0, 0, buttons::LEFT | buttons::RIGHT));
        drain(&mut m);
        // Status: reporting (bit 5), 2:1 scaling (bit 4), left (bit 2), right (bit 0).
        assert_eq!(send(&mut m, &[0xE9]), [ACK, 0x35, 0x03, 200]);
        assert_eq!(send(&mut m, &[0xE6, 0xF6]), [ACK, ACK]);
        assert_eq!(send(&mut m, &[0xE9]), [ACK, 0x05, 0x02, 100]);
        assert_eq!(send(&mut m, &[0x42]), [RESEND]);
        assert_eq!(send(&mut m, &[0xF2]), [ACK, 0x00]);
        assert_eq!(send(&mut m, &[0xFE]), [0x00]);
        assert_eq!(send(&mut m, &[0xF0]), [ACK]);
        assert_eq!(m.mode(), MouseMode::Remote);
        assert_eq!(send(&mut m, &[0xE9]), [ACK, 0x45, 0x02, 100]);
        assert_eq!(send(&mut m, &[0xEA]), [ACK]);
        assert_eq!(m.mode(), MouseMode::Stream);
    }

    #[test]
    fn linux_psmouse_probe_is_answered_at_once() {
        // drivers/input/mouse/psmouse-base.c psmouse_probe / psmouse_extensions, in order.
        let (mut m, clock) = mouse();
        assert_eq!(send(&mut m, &[0xF6]), [ACK], "PSMOUSE_CMD_RESET_DIS");
        assert_eq!(
            send(&mut m, &[0xF2]),
            [ACK, ID_STANDARD],
            "PSMOUSE_CMD_GETID"
        );
        // trackpoint_detect: TP_COMMAND E2 draws a resend, so it gives up at once.
        assert_eq!(send(&mut m, &[0xE2]), [RESEND]);
        // The "magic knock" of Logitech/ALPS/Synaptics detection: E8 00, E6 x3, E9.
        let knock: Vec<u8> = [0xE8, 0x00, 0xE6, 0xE6, 0xE6, 0xE9]
            .iter()
            .flat_map(|&b| send(&mut m, &[b])) // each reply read before the next byte
            .collect();
        assert_eq!(knock, [ACK, ACK, ACK, ACK, ACK, ACK, 0x00, 0x00, 100]);
        // intellimouse_detect, then im_explorer_detect (which this mouse does not know).
        send(&mut m, &[0xF3, 200, 0xF3, 100, 0xF3, 80]);
        assert_eq!(send(&mut m, &[0xF2]), [ACK, ID_INTELLIMOUSE]);
        send(&mut m, &[0xF3, 200, 0xF3, 200, 0xF3, 80]);
        assert_eq!(send(&mut m, &[0xF2]), [ACK, ID_INTELLIMOUSE]);
        // psmouse_initialize + psmouse_activate: resolution, rate, scaling, enable.
        assert_eq!(send(&mut m, &[0xE8, 0x03, 0xF3, 100, 0xE6, 0xF4]), [ACK; 6]);
        assert_eq!(m.sample_rate(), 100);
        m.input(moved(1, 1, buttons::RIGHT));
        assert_eq!(packets(&mut m, &clock, 10), [[0x2A, 1, 0xFF, 0]]);
    }

    #[test]
    fn reports_motion_only_when_enabled() {
        let (mut m, clock) = mouse();
        m.input(moved(5, 5, 0));
        assert!(drain(&mut m).is_empty());
        assert_eq!(send(&mut m, &[0xF4]), [ACK]);
        assert!(m.reporting());
        m.input(moved(10, -3, buttons::LEFT)); // 3 pixels up = +3 in PS/2
        assert_eq!(packets(&mut m, &clock, 10), [[0x09, 10, 3]]);
        m.input(moved(-1, 2, buttons::LEFT));
        assert_eq!(
            packets(&mut m, &clock, 10),
            [[0x09 | 0x10 | 0x20, 0xFF, 0xFE]]
        );
        assert_eq!(send(&mut m, &[0xF5]), [ACK]);
        m.input(moved(1, 1, 0));
        assert!(packets(&mut m, &clock, 10).is_empty());
    }

    #[test]
    fn intellimouse_knock_switches_the_id_and_the_packet_size() {
        let (mut m, clock) = mouse();
        // Linux psmouse's intellimouse_detect: F3 C8, F3 64, F3 50, then F2.
        assert_eq!(send(&mut m, &[0xF3, 200, 0xF3, 100]), [ACK; 4]);
        assert_eq!(
            send(&mut m, &[0xF2]),
            [ACK, ID_STANDARD],
            "knock unfinished"
        );
        // Interrupted by another command: starts over.
        send(&mut m, &[0xF3, 200, 0xF3, 100, 0xE6, 0xF3, 80]);
        assert_eq!(send(&mut m, &[0xF2]), [ACK, ID_STANDARD]);
        // The wrong order does nothing.
        send(&mut m, &[0xF3, 80, 0xF3, 100, 0xF3, 200]);
        assert_eq!(m.id(), ID_STANDARD);
        // Before the switch the wheel is ignored and packets have 3 bytes.
        send(&mut m, &[0xF4]);
        m.input(MouseInput {
            dx: 1,
            wheel: 2,
            ..MouseInput::default()
        });
        assert_eq!(packets(&mut m, &clock, 10), [[0x08, 1, 0]]);
        assert_eq!(send(&mut m, &[0xF3, 200, 0xF3, 100, 0xF3, 80]), [ACK; 6]);
        assert_eq!(send(&mut m, &[0xF2]), [ACK, ID_INTELLIMOUSE]);
        assert_eq!(m.sample_rate(), 80);
        // Set defaults keeps the id; reset forgets it.
        send(&mut m, &[0xF6, 0xF4]);
        assert_eq!(m.id(), ID_INTELLIMOUSE);
        // Wheel up is negative in the fourth byte (Linux: REL_WHEEL = -byte 3).
        m.input(MouseInput {
            dx: 0,
            dy: 0,
            wheel: 1,
            buttons: 0,
        });
        assert_eq!(packets(&mut m, &clock, 10), [[0x08, 0, 0, 0xFF]]);
        m.input(MouseInput {
            wheel: -3,
            buttons: buttons::MIDDLE,
            ..MouseInput::default()
        });
        assert_eq!(packets(&mut m, &clock, 10), [[0x0C, 0, 0, 3]]);
        // Many notches at once: split into 4-bit counts, nothing lost.
        m.input(MouseInput {
            wheel: -20,
            buttons: buttons::MIDDLE,
            ..MouseInput::default()
        });
        let got = packets(&mut m, &clock, 10);
        assert_eq!(got.len(), 3);
        assert_eq!(total(&got), (0, 0, 20));
        assert_eq!(send(&mut m, &[0xFF]), [ACK, BAT_OK, ID_STANDARD]);
        assert_eq!(send(&mut m, &[0xF2]), [ACK, ID_STANDARD]);
    }

    #[test]
    fn large_moves_split_within_nine_bits_and_lose_nothing() {
        let (mut m, clock) = mouse();
        send(&mut m, &[0xF4]);
        m.input(moved(300, -700, 0));
        let got = packets(&mut m, &clock, 10);
        assert_eq!(got[0], [0x08, 255, 255]);
        assert_eq!(got.len(), 3);
        assert_eq!(total(&got), (300, 700, 0));
        m.input(moved(-600, 0, 0));
        let got = packets(&mut m, &clock, 10);
        assert_eq!(got[0], [0x18, 0x00, 0], "-256 is the most negative count");
        assert_eq!(total(&got), (-600, 0, 0));
        // Under 2:1 scaling a count is at most 127, so its double still fits.
        send(&mut m, &[0xE7]);
        m.input(moved(200, 0, 0));
        let got = packets(&mut m, &clock, 10);
        assert_eq!(got, [[0x08, 254, 0], [0x08, 146, 0]]);
        m.input(moved(4, 0, 0));
        assert_eq!(packets(&mut m, &clock, 10), [[0x08, 6, 0]]);
    }

    #[test]
    fn packets_follow_the_sample_rate() {
        let (mut m, clock) = mouse();
        send(&mut m, &[0xF3, 40, 0xF4]);
        m.input(moved(1, 0, 0));
        assert_eq!(drain(&mut m), [0x08, 1, 0], "the first packet goes at once");
        m.input(moved(2, 0, 0));
        m.input(moved(3, 0, 0));
        assert!(drain(&mut m).is_empty(), "within the sample period");
        assert_eq!(m.next_deadline(), Some(Duration::from_millis(25)));
        clock.set(Duration::from_millis(24));
        m.poll();
        assert!(drain(&mut m).is_empty());
        clock.set(Duration::from_millis(25));
        m.poll();
        assert_eq!(drain(&mut m), [0x08, 5, 0], "motion in between is summed");
        assert_eq!(m.next_deadline(), None, "nothing left to send");
    }

    #[test]
    fn a_short_click_is_a_press_and_a_release() {
        let (mut m, clock) = mouse();
        send(&mut m, &[0xF4]);
        m.input(moved(3, 0, 0));
        // Press, drag and release all inside one sample period.
        m.input(moved(0, 0, buttons::LEFT));
        m.input(moved(4, 0, buttons::LEFT));
        m.input(moved(0, 0, 0));
        m.input(moved(0, 0, buttons::RIGHT));
        m.input(moved(0, 0, 0));
        let got = packets(&mut m, &clock, 20);
        assert_eq!(
            got,
            [
                vec![0x08, 3, 0],
                vec![0x09, 4, 0],
                vec![0x08, 0, 0],
                vec![0x0A, 0, 0],
                vec![0x08, 0, 0],
            ]
        );
    }

    #[test]
    fn a_slow_guest_gets_fewer_bigger_packets_with_the_same_sum() {
        let (mut m, clock) = mouse();
        send(&mut m, &[0xF4]);
        let mut sent = 0;
        let mut got = Vec::new();
        for i in 0..1000 {
            m.input(moved(7, -3, 0));
            sent += 1;
            clock.advance(Duration::from_micros(700));
            m.poll();
            // The guest reads one byte every 3 events.
            if i % 3 == 0 {
                got.extend(m.read());
            }
            assert!(m.pending_len() <= 4);
        }
        got.extend(drain(&mut m));
        let mut packets_seen: Vec<Vec<u8>> = got.chunks(3).map(<[u8]>::to_vec).collect();
        packets_seen.extend(packets(&mut m, &clock, 100));
        assert_eq!(total(&packets_seen), (7 * sent, 3 * sent, 0));
        assert!(packets_seen.len() < 200, "{}", packets_seen.len());
    }

    #[test]
    fn remote_mode_reads_on_request() {
        let (mut m, _) = mouse();
        send(&mut m, &[0xF0]);
        m.input(moved(7, 0, buttons::MIDDLE));
        assert!(drain(&mut m).is_empty());
        assert_eq!(send(&mut m, &[0xEB]), [ACK, 0x0C, 7, 0]);
        assert_eq!(send(&mut m, &[0xEB]), [ACK, 0x0C, 0, 0]);
    }

    #[test]
    fn wrap_mode_echoes_until_ec() {
        let (mut m, _) = mouse();
        assert_eq!(send(&mut m, &[0xEE]), [ACK]);
        assert_eq!(send(&mut m, &[0x12, 0xF4, 0xE9]), [0x12, 0xF4, 0xE9]);
        assert_eq!(send(&mut m, &[0xEC]), [ACK]);
        assert_eq!(m.mode(), MouseMode::Stream);
        assert_eq!(send(&mut m, &[0xEE, 0xFF]), [ACK, ACK, BAT_OK, 0x00]);
        assert_eq!(m.mode(), MouseMode::Stream);
    }

    #[test]
    fn input_flood_stays_bounded() {
        let (mut m, clock) = mouse();
        send(&mut m, &[0xF4]);
        for i in 0..10_000u32 {
            m.input(moved(1000, -1000, (i % 8) as u8));
            assert!(m.pending_len() <= 4 * MOUSE_QUEUE_PACKETS);
            assert!(m.pending_segments() <= MAX_SEGMENTS);
        }
        // Draining lets the accumulated (saturated) motion out, packet by packet.
        let got = packets(&mut m, &clock, 100_000);
        assert!(got.len() > MAX_SEGMENTS);
        assert_eq!(m.next_deadline(), None);
    }

    #[test]
    fn packet_log_keeps_what_was_cut_only_when_on() {
        let (mut m, clock) = mouse();
        send(&mut m, &[0xF4]);
        m.input(moved(1, 1, 0));
        drain(&mut m);
        assert!(m.take_cut_packets().is_empty());
        m.set_packet_log(true);
        clock.advance(Duration::from_secs(1));
        m.input(moved(2, 0, 0));
        let cut = m.take_cut_packets();
        assert_eq!(cut.len(), 1);
        assert_eq!(cut[0].bytes(), [0x08, 2, 0]);
    }
}
