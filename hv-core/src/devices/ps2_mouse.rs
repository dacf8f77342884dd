//! A standard PS/2 mouse (3-byte packets, id 0x00) behind the i8042's aux port.
//!
//! Having a real mouse keeps Linux's psmouse probe fast (every command answered at once)
//! and lets the host forward pointer motion. Host motion accumulates in counters; a
//! packet is cut whenever reporting is on and the queue has room, so a flood of motion
//! coalesces instead of being lost or growing memory. Resolution and sample rate are
//! stored and reported but do not scale host deltas (the host already reports pixels).

use crate::devices::ps2_keyboard::{ACK, BAT_OK, Ps2Queue, RESEND};

/// Packets the mouse may buffer.
pub const MOUSE_QUEUE_PACKETS: usize = 8;
/// The standard mouse's device id.
const MOUSE_ID: u8 = 0x00;
/// Motion counters saturate here so that a stalled guest cannot make them overflow.
const MAX_ACCUMULATED: i32 = 1 << 12;

/// Mouse buttons as the host reports them (bit 0 left, bit 1 right, bit 2 middle), the
/// same order as bits 0-2 of a PS/2 packet.
pub mod buttons {
    /// Left button.
    pub const LEFT: u8 = 1 << 0;
    /// Right button.
    pub const RIGHT: u8 = 1 << 1;
    /// Middle button.
    pub const MIDDLE: u8 = 1 << 2;
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

/// The PS/2 mouse.
#[derive(Debug)]
pub struct Ps2Mouse {
    queue: Ps2Queue,
    awaiting: Option<AwaitingParam>,
    mode: MouseMode,
    /// Mode to return to when wrap mode ends.
    mode_before_wrap: MouseMode,
    reporting: bool,
    sample_rate: u8,
    resolution: u8,
    scaling_2to1: bool,
    buttons: u8,
    dx: i32,
    dy: i32,
    /// Buttons changed since the last packet.
    dirty: bool,
}

impl Default for Ps2Mouse {
    fn default() -> Self {
        Self::new()
    }
}

impl Ps2Mouse {
    /// A mouse after power-on: stream mode, reporting disabled, 100 samples/s, 4 counts/mm.
    pub fn new() -> Self {
        Self {
            queue: Ps2Queue::new(3 * MOUSE_QUEUE_PACKETS),
            awaiting: None,
            mode: MouseMode::Stream,
            mode_before_wrap: MouseMode::Stream,
            reporting: false,
            sample_rate: 100,
            resolution: 2,
            scaling_2to1: false,
            buttons: 0,
            dx: 0,
            dy: 0,
            dirty: false,
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

    /// Whether a byte is waiting for the controller.
    pub fn has_output(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Bytes waiting for the controller (bounded).
    pub fn pending_len(&self) -> usize {
        self.queue.len()
    }

    /// The controller takes the next byte; room freed may let a coalesced packet out.
    pub fn read(&mut self) -> Option<u8> {
        let byte = self.queue.pop();
        self.flush_motion();
        byte
    }

    /// Host pointer motion in screen convention (`dy` > 0 is downwards) and the buttons
    /// now held (see [`buttons`]).
    pub fn motion(&mut self, dx: i32, dy: i32, buttons: u8) {
        let clamp = |v: i32| v.clamp(-MAX_ACCUMULATED, MAX_ACCUMULATED);
        self.dx = clamp(self.dx.saturating_add(dx));
        // PS/2 counts y upwards.
        self.dy = clamp(self.dy.saturating_sub(dy));
        let buttons = buttons & 0x07;
        self.dirty |= buttons != self.buttons;
        self.buttons = buttons;
        self.flush_motion();
    }

    /// In stream mode with reporting on, turns accumulated motion into packets while
    /// there is room.
    fn flush_motion(&mut self) {
        let streaming = self.mode == MouseMode::Stream && self.reporting;
        while streaming
            && (self.dirty || self.dx != 0 || self.dy != 0)
            && self.queue.data_room() >= 3
        {
            let packet = self.cut_packet();
            self.queue.push_data(&packet);
        }
    }

    /// Builds one packet from the counters and removes what it carried. Moves larger
    /// than 9 bits are split over several packets rather than flagged as overflow, so
    /// no motion is lost; the overflow bits are set only when a single delta (after 2:1
    /// scaling) cannot be represented.
    fn cut_packet(&mut self) -> [u8; 3] {
        let dx = self.dx.clamp(-255, 255);
        let dy = self.dy.clamp(-255, 255);
        self.dx -= dx;
        self.dy -= dy;
        self.dirty = false;
        let (sx, ox) = self.scale(dx);
        let (sy, oy) = self.scale(dy);
        let mut status = 0x08 | self.buttons;
        status |= u8::from(sx < 0) << 4 | u8::from(sy < 0) << 5;
        status |= u8::from(ox) << 6 | u8::from(oy) << 7;
        // The low 8 bits of the 9-bit two's complement value; the sign is in `status`.
        [status, sx.to_le_bytes()[0], sy.to_le_bytes()[0]]
    }

    /// Applies 2:1 scaling (stream mode only) and reports overflow past 9 bits.
    fn scale(&self, v: i32) -> (i32, bool) {
        let scaled = if self.scaling_2to1 {
            let sign = v.signum();
            match v.abs() {
                0..=2 => sign * v.abs().min(1),
                3 => sign * 3,
                4 => sign * 6,
                5 => sign * 9,
                a => sign * a * 2,
            }
        } else {
            v
        };
        if scaled > 255 {
            (255, true)
        } else if scaled < -256 {
            (-256, true)
        } else {
            (scaled, false)
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
    }

    fn parameter(&mut self, param: AwaitingParam, byte: u8) {
        match param {
            AwaitingParam::SampleRate => self.sample_rate = byte,
            AwaitingParam::Resolution => self.resolution = byte & 0x03,
        }
        self.queue.reply(ACK);
    }

    fn command(&mut self, cmd: u8) {
        match cmd {
            0xE6 | 0xE7 => {
                self.scaling_2to1 = cmd == 0xE7;
                self.queue.reply(ACK);
            }
            0xE8 => self.await_param(AwaitingParam::Resolution),
            0xE9 => {
                self.queue.reply(ACK);
                let status = u8::from(self.mode == MouseMode::Remote) << 6
                    | u8::from(self.reporting) << 5
                    | u8::from(self.scaling_2to1) << 4
                    | (self.buttons & buttons::LEFT) << 2
                    | (self.buttons & buttons::MIDDLE) >> 1
                    | (self.buttons & buttons::RIGHT) >> 1;
                for b in [status, self.resolution, self.sample_rate] {
                    self.queue.reply(b);
                }
            }
            0xEA => self.enter_mode(MouseMode::Stream),
            0xEB => {
                self.queue.reply(ACK);
                let packet = self.cut_packet();
                packet.iter().for_each(|&b| self.queue.reply(b));
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
                self.queue.reply(MOUSE_ID);
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
                self.queue.clear_data();
                for b in [ACK, BAT_OK, MOUSE_ID] {
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
        self.dx = 0;
        self.dy = 0;
        self.dirty = false;
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

    fn drain(mouse: &mut Ps2Mouse) -> Vec<u8> {
        std::iter::from_fn(|| mouse.read()).collect()
    }

    fn send(mouse: &mut Ps2Mouse, bytes: &[u8]) -> Vec<u8> {
        bytes.iter().for_each(|&b| mouse.write(b));
        drain(mouse)
    }

    #[test]
    fn answers_reset_identify_and_settings() {
        let mut m = Ps2Mouse::new();
        assert_eq!(send(&mut m, &[0xFF]), [ACK, BAT_OK, 0x00]);
        assert_eq!(send(&mut m, &[0xF2]), [ACK, 0x00]);
        assert_eq!(send(&mut m, &[0xF3, 200]), [ACK, ACK]);
        assert_eq!(m.sample_rate(), 200);
        assert_eq!(send(&mut m, &[0xE8, 0x03]), [ACK, ACK]);
        assert_eq!(send(&mut m, &[0xE7]), [ACK]);
        assert_eq!(send(&mut m, &[0xF4]), [ACK]);
        m.motion(0, 0, buttons::LEFT | buttons::RIGHT);
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
    fn reports_motion_only_when_enabled() {
        let mut m = Ps2Mouse::new();
        m.motion(5, 5, 0);
        assert!(drain(&mut m).is_empty());
        assert_eq!(send(&mut m, &[0xF4]), [ACK]);
        assert!(m.reporting());
        m.motion(10, -3, buttons::LEFT); // 3 pixels up = +3 in PS/2
        assert_eq!(drain(&mut m), [0x09, 10, 3]);
        m.motion(-1, 2, 0);
        assert_eq!(drain(&mut m), [0x08 | 0x10 | 0x20, 0xFF, 0xFE]);
        assert_eq!(send(&mut m, &[0xF5]), [ACK]);
        m.motion(1, 1, 0);
        assert!(drain(&mut m).is_empty());
    }

    #[test]
    fn large_moves_split_and_scaling_can_overflow() {
        let mut m = Ps2Mouse::new();
        send(&mut m, &[0xF4]);
        m.motion(300, 0, 0);
        assert_eq!(drain(&mut m), [0x08, 255, 0, 0x08, 45, 0]);
        send(&mut m, &[0xE7]);
        m.motion(200, 0, 0); // 2:1 doubles to 400: does not fit in 9 bits
        assert_eq!(drain(&mut m), [0x08 | 0x40, 255, 0]);
        m.motion(4, 0, 0);
        assert_eq!(drain(&mut m), [0x08, 6, 0]);
    }

    #[test]
    fn remote_mode_reads_on_request() {
        let mut m = Ps2Mouse::new();
        send(&mut m, &[0xF0]);
        m.motion(7, 0, buttons::MIDDLE);
        assert!(drain(&mut m).is_empty());
        assert_eq!(send(&mut m, &[0xEB]), [ACK, 0x0C, 7, 0]);
        assert_eq!(send(&mut m, &[0xEB]), [ACK, 0x0C, 0, 0]);
    }

    #[test]
    fn wrap_mode_echoes_until_ec() {
        let mut m = Ps2Mouse::new();
        assert_eq!(send(&mut m, &[0xEE]), [ACK]);
        assert_eq!(send(&mut m, &[0x12, 0xF4, 0xE9]), [0x12, 0xF4, 0xE9]);
        assert_eq!(send(&mut m, &[0xEC]), [ACK]);
        assert_eq!(m.mode(), MouseMode::Stream);
        assert_eq!(send(&mut m, &[0xEE, 0xFF]), [ACK, ACK, BAT_OK, 0x00]);
        assert_eq!(m.mode(), MouseMode::Stream);
    }

    #[test]
    fn motion_flood_coalesces_in_a_bounded_queue() {
        let mut m = Ps2Mouse::new();
        send(&mut m, &[0xF4]);
        for _ in 0..10_000 {
            m.motion(1000, -1000, 0);
            assert!(m.pending_len() <= 3 * MOUSE_QUEUE_PACKETS);
        }
        // Draining lets the accumulated (saturated) motion out, packet by packet.
        let mut packets = 0;
        while m.has_output() {
            let p: Vec<u8> = (0..3).filter_map(|_| m.read()).collect();
            assert_eq!(p.len(), 3);
            assert_eq!(p[0] & 0x08, 0x08);
            packets += 1;
            assert!(packets < 1000);
        }
        assert!(packets > MOUSE_QUEUE_PACKETS);
    }
}
