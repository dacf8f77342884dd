//! The 8254 programmable interval timer (ports 0x40-0x43) and the speaker/gate bits of
//! system control port B (0x61).
//!
//! No thread ticks the counters: each channel remembers when it started counting, and
//! its count and OUT level are computed from the [`Clock`] when asked. Channel 0's OUT
//! drives IRQ0; the vCPU loop calls [`Pit::poll`] and sleeps (or arms a kick) until
//! [`Pit::next_deadline`]. Channel 2 is gated by port 0x61 bit 0 and its OUT is readable
//! at port 0x61 bit 5, which is how Linux and memtest86+ calibrate the TSC.
//!
//! Behaviour follows the Intel 82C54 datasheet and QEMU's `hw/timer/i8254.c` /
//! `hw/audio/pcspk.c`. Known simplifications, shared with QEMU: a new count takes effect
//! at once (in modes 2/3 the hardware waits for the current period to end), and writing
//! the first byte of a two-byte count in mode 0 does not pause the counter.
//!
//! Late ticks are re-delivered, not merged. When the vCPU thread could not poll for a
//! while (the host descheduled it, a long BIOS call, a busy front end), every rising
//! edge of channel 0 that fell due meanwhile is kept in a backlog, and one edge is
//! delivered each time the interrupt controller has taken the previous one, until the
//! backlog is empty. This is what KVM's in-kernel PIT does for QEMU
//! (`lost_tick_policy=delay`, `arch/x86/kvm/i8254.c`: a pending count fed by the timer,
//! one injection per acknowledgement). The backlog holds at most one second of ticks
//! ([`MAX_BACKLOG`]), is dropped while IRQ0 is masked (KVM resets it on unmask) and when
//! channel 0 is reprogrammed (KVM resets it when it re-creates the timer), so a paused
//! or stopped machine does not come back to a storm of ticks.

use std::sync::Arc;
use std::time::Duration;

use crate::bus::BusDevice;
use crate::clock::Clock;
use crate::irq::IrqLine;

/// The PIT's input clock (Linux `PIT_TICK_RATE`).
pub const PIT_FREQUENCY_HZ: u64 = 1_193_182;
/// Channel 0-2 data ports start here.
pub const CHANNEL0_PORT: u16 = 0x40;
/// The mode/command register.
pub const COMMAND_PORT: u16 = 0x43;
/// System control port B: channel 2 gate, speaker enable, refresh toggle, channel 2 OUT.
pub const PORT_B: u16 = 0x61;
/// The `(first port, length)` ranges the [`Pit`] answers, for registering on the port bus.
pub const PORT_RANGES: [(u64, u64); 2] = [(CHANNEL0_PORT as u64, 4), (PORT_B as u64, 1)];

/// The most late IRQ0 edges kept for re-delivery: one second's worth at the programmed
/// rate, and never more than this many.
pub const MAX_BACKLOG: u64 = 1000;

const NANOS_PER_SECOND: u128 = 1_000_000_000;
const BINARY_MODULUS: u32 = 0x1_0000;
const BCD_MODULUS: u32 = 10_000;

/// Port B bits.
const PORT_B_GATE2: u8 = 0x01;
const PORT_B_SPEAKER: u8 = 0x02;
const PORT_B_REFRESH: u8 = 0x10;
const PORT_B_OUT2: u8 = 0x20;

/// The number of PIT input clock edges from the clock's zero up to `time`. Counting
/// against one global clock (not from each load) keeps every channel on the same edges.
fn tick_at(time: Duration) -> u64 {
    let ticks = time.as_nanos() * u128::from(PIT_FREQUENCY_HZ) / NANOS_PER_SECOND;
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

/// The first time at which [`tick_at`] reaches `ticks`.
fn time_of_ticks(ticks: u64) -> Duration {
    let nanos = (u128::from(ticks) * NANOS_PER_SECOND).div_ceil(u128::from(PIT_FREQUENCY_HZ));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Four BCD digits to their value; nibbles above 9 (undefined on hardware) just add up.
fn from_bcd(raw: u16) -> u32 {
    let digit = |shift: u16| u32::from((raw >> shift) & 0xF);
    (digit(12) * 1000 + digit(8) * 100 + digit(4) * 10 + digit(0)) % BCD_MODULUS
}

fn to_bcd(value: u32) -> u16 {
    let value = value % BCD_MODULUS;
    let digits = [value / 1000, value / 100 % 10, value / 10 % 10, value % 10];
    digits.iter().fold(0u16, |bcd, &d| (bcd << 4) | d as u16)
}

/// How the data port transfers a 16-bit count (control word bits 5-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    LowByte,
    HighByte,
    Word,
}

/// A count snapshot taken by a latch command, waiting to be read.
#[derive(Debug, Clone, Copy)]
struct LatchedCount(u16);

/// One counter of the 8254.
#[derive(Debug, Clone)]
struct Channel {
    /// Control word bits 5-0 as programmed, for the read-back status byte.
    control: u8,
    /// Operating mode 0-5 (6 and 7 are aliases of 2 and 3).
    mode: u8,
    access: Access,
    bcd: bool,
    /// The initial count, 1..=65536 (binary) or 1..=10000 (BCD); 0 written means the top.
    reload: u32,
    gate: bool,
    /// A count is loaded and (for modes 1 and 5) triggered. Until then OUT sits at the
    /// mode's initial level and the count reads as `held`.
    armed: bool,
    /// Input clocks counted before `since`.
    elapsed: u64,
    /// The input clock at which the current counting stretch began; `None` while the gate
    /// holds the counter.
    since: Option<u64>,
    /// The count shown while not armed.
    held: u32,
    /// The low byte of a two-byte count, waiting for the high byte.
    pending_low: Option<u8>,
    /// The byte-pointer flip-flop for two-byte reads.
    read_high_next: bool,
    count_latch: Option<LatchedCount>,
    status_latch: Option<u8>,
    /// Status bit 6: a count was written (or the mode set) and has not been loaded yet.
    null_count: bool,
}

impl Channel {
    /// The power-on state (QEMU `pit_reset_common`): mode 3, count 0x10000, counting
    /// when the gate is high.
    fn reset(gate: bool, now: Duration) -> Self {
        Self {
            control: 0x36,
            mode: 3,
            access: Access::Word,
            bcd: false,
            reload: BINARY_MODULUS,
            gate,
            armed: true,
            elapsed: 0,
            since: gate.then(|| tick_at(now)),
            held: 0,
            pending_low: None,
            read_high_next: false,
            count_latch: None,
            status_latch: None,
            null_count: false,
        }
    }

    fn modulus(&self) -> u32 {
        if self.bcd {
            BCD_MODULUS
        } else {
            BINARY_MODULUS
        }
    }

    /// The period in input clocks of the periodic modes (a count of 1 is illegal there
    /// and behaves as 2, which keeps OUT well defined).
    fn period(&self) -> u64 {
        u64::from(self.reload.max(2))
    }

    /// Input clocks counted since the count was loaded or the channel triggered.
    fn ticks_at(&self, now: Duration) -> u64 {
        let running = self
            .since
            .map_or(0, |since| tick_at(now).saturating_sub(since));
        self.elapsed.saturating_add(running)
    }

    /// The counting element's value at `now` (before BCD/16-bit encoding).
    fn count_at(&self, now: Duration) -> u32 {
        if !self.armed {
            return self.held;
        }
        let d = self.ticks_at(now);
        match self.mode {
            2 => {
                let n = self.period();
                (n - d % n) as u32
            }
            3 => {
                // Decrements by two; odd counts spend one extra clock in the high half.
                let n = self.period();
                let phase = d % n;
                let high_clocks = n.div_ceil(2);
                let (offset, odd_adjust) = if phase < high_clocks {
                    (phase, 1)
                } else {
                    (phase - high_clocks, 3)
                };
                let value = match (offset, n % 2) {
                    (0, _) => n,
                    (_, 0) => n - 2 * offset,
                    (_, _) => (n + 2 - odd_adjust).saturating_sub(2 * offset),
                };
                value as u32
            }
            // Modes 0, 1, 4 and 5 count down once and then keep wrapping.
            _ => {
                let modulus = u64::from(self.modulus());
                ((u64::from(self.reload) + modulus - d % modulus) % modulus) as u32
            }
        }
    }

    /// The OUT pin at `now`.
    fn out_at(&self, now: Duration) -> bool {
        if !self.armed {
            // After a control word OUT is low in mode 0 and high in every other mode.
            return self.mode != 0;
        }
        let d = self.ticks_at(now);
        let n = u64::from(self.reload);
        match self.mode {
            0 | 1 => d >= n,
            2 => !self.gate || d % self.period() != self.period() - 1,
            3 => !self.gate || d % self.period() < self.period().div_ceil(2),
            // Modes 4 and 5: one clock low when the count expires.
            _ => d != n,
        }
    }

    /// The input clock (in this channel's count of ticks) of OUT's next rising edge
    /// after `d`, if the channel is counting towards one.
    fn next_rising_tick(&self, d: u64) -> Option<u64> {
        if !self.armed || self.since.is_none() {
            return None;
        }
        let n = u64::from(self.reload);
        match self.mode {
            0 | 1 => (d < n).then_some(n),
            2 | 3 => Some((d / self.period() + 1) * self.period()),
            _ => (d <= n).then_some(n + 1),
        }
    }

    /// Rising edges of OUT after `from` up to and including `to`, in the periodic modes
    /// (the one-shot modes have a single edge, which the deadline already covers).
    fn rising_edges_between(&self, from: Duration, to: Duration) -> u64 {
        if !self.armed || self.since.is_none() || !matches!(self.mode, 2 | 3) {
            return 0;
        }
        // Edges fall at every multiple of the period, counted from the load.
        let period = self.period();
        (self.ticks_at(to) / period).saturating_sub(self.ticks_at(from) / period)
    }

    /// When OUT next rises after `now`.
    fn next_rising_edge(&self, now: Duration) -> Option<Duration> {
        let since = self.since?;
        let tick = self.next_rising_tick(self.ticks_at(now))?;
        let edge = since.saturating_add(tick.saturating_sub(self.elapsed));
        Some(time_of_ticks(edge))
    }

    fn encode(&self, value: u32) -> u16 {
        if self.bcd {
            to_bcd(value)
        } else {
            (value % BINARY_MODULUS) as u16
        }
    }

    fn start_counting(&mut self, now: Duration) {
        self.armed = true;
        self.elapsed = 0;
        self.since = self.gate.then(|| tick_at(now));
    }

    /// A control word with a non-zero access field: new mode, flip-flops reset, counter
    /// stopped until a count arrives.
    fn program(&mut self, control: u8, now: Duration) {
        self.held = self.count_at(now);
        self.control = control & 0x3F;
        self.mode = match (control >> 1) & 7 {
            mode @ 6..=7 => mode - 4,
            mode => mode,
        };
        self.bcd = control & 1 != 0;
        self.access = match (control >> 4) & 3 {
            1 => Access::LowByte,
            2 => Access::HighByte,
            _ => Access::Word,
        };
        self.armed = false;
        self.since = None;
        self.elapsed = 0;
        self.pending_low = None;
        self.read_high_next = false;
        self.null_count = true;
    }

    fn latch_count(&mut self, now: Duration) {
        if self.count_latch.is_none() {
            self.count_latch = Some(LatchedCount(self.encode(self.count_at(now))));
        }
    }

    fn latch_status(&mut self, now: Duration) {
        if self.status_latch.is_none() {
            let out = if self.out_at(now) { 0x80 } else { 0 };
            let null = if self.null_count { 0x40 } else { 0 };
            self.status_latch = Some(out | null | self.control);
        }
    }

    fn load_count(&mut self, raw: u16, now: Duration) {
        let value = if self.bcd {
            from_bcd(raw)
        } else {
            u32::from(raw)
        };
        self.reload = if value == 0 { self.modulus() } else { value };
        self.null_count = false;
        match self.mode {
            // Hardware-triggered modes wait for a rising gate (unless already running).
            1 | 5 if !self.armed => self.held = self.reload,
            1 | 5 => {}
            _ => self.start_counting(now),
        }
    }

    fn write_data(&mut self, value: u8, now: Duration) {
        match (self.access, self.pending_low.take()) {
            (Access::LowByte, _) => self.load_count(u16::from(value), now),
            (Access::HighByte, _) => self.load_count(u16::from(value) << 8, now),
            (Access::Word, None) => self.pending_low = Some(value),
            (Access::Word, Some(low)) => self.load_count(u16::from_le_bytes([low, value]), now),
        }
    }

    /// One byte of `value` as the access mode and byte-pointer flip-flop choose;
    /// returns whether the transfer of `value` is complete.
    fn select_byte(&mut self, value: u16) -> (u8, bool) {
        let [low, high] = value.to_le_bytes();
        match self.access {
            Access::LowByte => (low, true),
            Access::HighByte => (high, true),
            Access::Word => {
                self.read_high_next = !self.read_high_next;
                if self.read_high_next {
                    (low, false)
                } else {
                    (high, true)
                }
            }
        }
    }

    fn read_data(&mut self, now: Duration) -> u8 {
        if let Some(status) = self.status_latch.take() {
            return status;
        }
        if let Some(LatchedCount(latched)) = self.count_latch {
            let (byte, done) = self.select_byte(latched);
            if done {
                self.count_latch = None;
            }
            return byte;
        }
        let live = self.encode(self.count_at(now));
        self.select_byte(live).0
    }

    fn set_gate(&mut self, gate: bool, now: Duration) {
        if gate == self.gate {
            return;
        }
        if !gate {
            // Modes 0 and 4 pause; modes 2 and 3 stop with OUT high; 1 and 5 don't care.
            if matches!(self.mode, 0 | 2 | 3 | 4) && self.armed {
                self.elapsed = self.ticks_at(now);
                self.since = None;
            }
            self.gate = false;
            return;
        }
        self.gate = true;
        match self.mode {
            0 | 4 if self.armed => self.since = Some(tick_at(now)),
            // A rising gate restarts modes 2/3 and triggers modes 1/5.
            2 | 3 if self.armed => self.start_counting(now),
            1 | 5 if !self.null_count => self.start_counting(now),
            _ => {}
        }
    }
}

/// What the interrupt controller would make of another IRQ0 edge now (the board asks
/// the PIC before each [`Pit::poll`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Irq0Input {
    /// The previous edge has been taken (INTA cleared the request): a new edge is a new
    /// interrupt.
    Free,
    /// The previous edge still waits in the request register; another would merge into
    /// it, so late edges wait in the backlog.
    Latched,
    /// IRQ0 is masked: an edge only latches the request, and the backlog is dropped.
    Masked,
}

/// The 8254 with its three channels, plus port 0x61.
#[derive(Debug)]
pub struct Pit {
    clock: Arc<dyn Clock>,
    irq0: IrqLine,
    channels: [Channel; 3],
    speaker_enabled: bool,
    /// Port 0x61 bit 4: toggles on every read so "wait for refresh" loops finish.
    refresh_toggle: bool,
    /// When channel 0's next rising edge is due (edges before it have been counted).
    irq0_deadline: Option<Duration>,
    /// Channel 0 edges that fell due and have not been delivered to IRQ0 yet.
    irq0_backlog: u64,
    /// Every IRQ0 request since power-on: edges that fell due (delivered or not) and
    /// edges made by reprogramming, for the raised-vs-delivered statistics.
    irq0_requests: u64,
}

impl Pit {
    /// A PIT in its power-on state: channel 0 already runs at 18.2 Hz, as QEMU's does.
    pub fn new(clock: Arc<dyn Clock>, irq0: IrqLine) -> Self {
        let now = clock.now();
        let mut pit = Self {
            clock,
            irq0,
            channels: [
                Channel::reset(true, now),
                Channel::reset(true, now),
                Channel::reset(false, now),
            ],
            speaker_enabled: false,
            refresh_toggle: false,
            irq0_deadline: None,
            irq0_backlog: 0,
            irq0_requests: 0,
        };
        pit.irq0_deadline = pit.channels[0].next_rising_edge(now);
        pit
    }

    /// Returns every channel and port 0x61 to the power-on state (machine reset).
    pub fn reset(&mut self) {
        let irq0 = self.irq0.clone();
        *self = Self::new(self.clock.clone(), irq0);
    }

    /// Brings channel 0 up to now and delivers IRQ0 edges: every edge that fell due since
    /// the last poll joins the backlog (see the module docs), and one edge of the backlog
    /// is delivered when `irq0` says the PIC has taken the previous one.
    pub fn poll(&mut self, irq0: Irq0Input) {
        let now = self.clock.now();
        self.count_due_edges(now);
        match irq0 {
            Irq0Input::Free if self.irq0_backlog > 0 => {
                self.irq0.pulse();
                self.irq0_backlog -= 1;
            }
            Irq0Input::Masked => {
                // The request register latches an edge even while masked (one
                // interrupt follows the unmask); the rest is not kept.
                if self.irq0_backlog > 0 {
                    self.irq0.pulse();
                }
                self.irq0_backlog = 0;
            }
            Irq0Input::Free | Irq0Input::Latched => {}
        }
    }

    /// Counts the channel 0 edges due up to `now` into the backlog and re-arms the
    /// deadline.
    fn count_due_edges(&mut self, now: Duration) {
        let Some(due) = self.irq0_deadline.filter(|&due| due <= now) else {
            return;
        };
        let edges = 1 + self.channels[0].rising_edges_between(due, now);
        self.irq0_requests = self.irq0_requests.saturating_add(edges);
        self.irq0_backlog = self
            .irq0_backlog
            .saturating_add(edges)
            .min(self.backlog_limit());
        self.irq0_deadline = self.channels[0].next_rising_edge(now);
    }

    /// The most edges the backlog keeps: one second's worth at channel 0's rate.
    fn backlog_limit(&self) -> u64 {
        (PIT_FREQUENCY_HZ / self.channels[0].period()).clamp(1, MAX_BACKLOG)
    }

    /// Channel 0 edges waiting to be delivered.
    pub fn irq0_backlog(&self) -> u64 {
        self.irq0_backlog
    }

    /// IRQ0 requests since power-on: every channel 0 edge that fell due, delivered or
    /// not (a late edge still counts once), plus edges made by reprogramming.
    pub fn irq0_requests(&self) -> u64 {
        self.irq0_requests
    }

    /// When (on the clock's timeline) channel 0's next rising edge is due, so the vCPU
    /// loop can wake or kick then and call [`poll`](Self::poll). `None`: no edge will come
    /// until the guest reprograms the channel. A time in the past means "poll now".
    pub fn next_deadline(&self) -> Option<Duration> {
        self.irq0_deadline
    }

    /// Whether the speaker is sounding (gate 2 and speaker data both enabled) and at what
    /// frequency channel 2 drives it, for a front end that wants to beep.
    pub fn speaker_frequency_hz(&self) -> Option<f64> {
        let ch2 = &self.channels[2];
        (self.speaker_enabled && ch2.gate && ch2.armed && ch2.mode == 3)
            .then(|| PIT_FREQUENCY_HZ as f64 / ch2.period() as f64)
    }

    /// Runs a guest write that may change channel 0, then delivers an edge its OUT made
    /// (e.g. mode 0 OUT low -> new mode's OUT high) and re-arms the deadline. A write
    /// that programs channel 0 (`reprograms`) drops the backlog: those ticks belonged to
    /// the old rate.
    fn with_irq0_tracking(
        &mut self,
        now: Duration,
        reprograms: bool,
        write: impl FnOnce(&mut Self),
    ) {
        self.count_due_edges(now);
        let before = self.channels[0].out_at(now);
        write(self);
        if reprograms {
            self.irq0_backlog = 0;
        }
        if !before && self.channels[0].out_at(now) {
            self.irq0_requests = self.irq0_requests.saturating_add(1);
            self.irq0.pulse();
        }
        self.irq0_deadline = self.channels[0].next_rising_edge(now);
    }

    fn write_command(&mut self, value: u8, now: Duration) {
        let select = usize::from(value >> 6);
        if select == 3 {
            // Read-back: bit 5 clear latches counts, bit 4 clear latches status.
            for (index, channel) in self.channels.iter_mut().enumerate() {
                if value & (2 << index) == 0 {
                    continue;
                }
                if value & 0x20 == 0 {
                    channel.latch_count(now);
                }
                if value & 0x10 == 0 {
                    channel.latch_status(now);
                }
            }
            return;
        }
        let Some(channel) = self.channels.get_mut(select) else {
            return;
        };
        if value & 0x30 == 0 {
            channel.latch_count(now);
        } else {
            channel.program(value, now);
        }
    }

    fn read_port_b(&mut self, now: Duration) -> u8 {
        self.refresh_toggle = !self.refresh_toggle;
        let ch2 = &self.channels[2];
        let mut value = 0;
        if ch2.gate {
            value |= PORT_B_GATE2;
        }
        if self.speaker_enabled {
            value |= PORT_B_SPEAKER;
        }
        if self.refresh_toggle {
            value |= PORT_B_REFRESH;
        }
        if ch2.out_at(now) {
            value |= PORT_B_OUT2;
        }
        value
    }

    fn read_port(&mut self, port: u16, now: Duration) -> u8 {
        match port {
            0x40..=0x42 => self.channels[usize::from(port - CHANNEL0_PORT)].read_data(now),
            PORT_B => self.read_port_b(now),
            // The command register is write-only.
            _ => 0xFF,
        }
    }

    fn write_port(&mut self, port: u16, value: u8, now: Duration) {
        match port {
            0x40..=0x42 => {
                let index = usize::from(port - CHANNEL0_PORT);
                self.with_irq0_tracking(now, index == 0, |pit| {
                    pit.channels[index].write_data(value, now);
                });
            }
            COMMAND_PORT => {
                // A control word for channel 0 (not a latch, not read-back).
                let reprograms = value >> 6 == 0 && value & 0x30 != 0;
                self.with_irq0_tracking(now, reprograms, |pit| pit.write_command(value, now));
            }
            PORT_B => {
                self.speaker_enabled = value & PORT_B_SPEAKER != 0;
                self.channels[2].set_gate(value & PORT_B_GATE2 != 0, now);
            }
            _ => {}
        }
    }
}

/// The port `offset` bytes after `addr`, if the PIT answers it.
fn pit_port(addr: u64, offset: usize) -> Option<u16> {
    let port = u16::try_from(addr.checked_add(offset as u64)?).ok()?;
    matches!(port, 0x40..=0x43 | PORT_B).then_some(port)
}

/// Wider accesses are split into consecutive byte accesses, as the ISA bus does for an
/// 8-bit device; bytes that land outside the PIT's ports read as 0xFF and are dropped.
impl BusDevice for Pit {
    fn read(&mut self, addr: u64, data: &mut [u8]) {
        let now = self.clock.now();
        for (offset, byte) in data.iter_mut().enumerate() {
            *byte = pit_port(addr, offset).map_or(0xFF, |port| self.read_port(port, now));
        }
    }

    fn write(&mut self, addr: u64, data: &[u8]) {
        let now = self.clock.now();
        for (offset, &byte) in data.iter().enumerate() {
            if let Some(port) = pit_port(addr, offset) {
                self.write_port(port, byte, now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::irq::IrqRecorder;

    struct Rig {
        clock: FakeClock,
        irq: Arc<IrqRecorder>,
        pit: Pit,
    }

    impl Rig {
        fn new() -> Self {
            let clock = FakeClock::new();
            let irq = IrqRecorder::new();
            let pit = Pit::new(Arc::new(clock.clone()), irq.line(0));
            Self { clock, irq, pit }
        }

        fn outb(&mut self, port: u16, value: u8) {
            self.pit.write(u64::from(port), &[value]);
        }

        fn inb(&mut self, port: u16) -> u8 {
            let mut b = [0u8];
            self.pit.read(u64::from(port), &mut b);
            b[0]
        }

        /// Programs `channel` with `control` and a two-byte `count`.
        fn program(&mut self, channel: u16, control: u8, count: u16) {
            self.outb(COMMAND_PORT, control);
            let [low, high] = count.to_le_bytes();
            self.outb(CHANNEL0_PORT + channel, low);
            self.outb(CHANNEL0_PORT + channel, high);
        }

        /// Moves the clock to exactly `ticks` input clocks after zero.
        fn at_tick(&self, ticks: u64) {
            self.clock.set(time_of_ticks(ticks));
        }

        /// Latches and reads a word-mode count.
        fn latched_count(&mut self, channel: u16) -> u16 {
            self.outb(COMMAND_PORT, (channel as u8) << 6);
            let low = self.inb(CHANNEL0_PORT + channel);
            let high = self.inb(CHANNEL0_PORT + channel);
            u16::from_le_bytes([low, high])
        }

        /// The read-back status byte of `channel`.
        fn status(&mut self, channel: u16) -> u8 {
            self.outb(COMMAND_PORT, 0xE0 | (2 << channel));
            self.inb(CHANNEL0_PORT + channel)
        }

        fn out(&mut self, channel: u16) -> bool {
            self.status(channel) & 0x80 != 0
        }

        fn edges(&self) -> u64 {
            self.irq.rising_edges(0)
        }

        /// Polls at every deadline up to `end`, with a PIC that takes every edge at once
        /// (so edges counted during port accesses are delivered too); returns the IRQ0
        /// edges delivered.
        fn run_until(&mut self, end: Duration) -> u64 {
            let start = self.edges();
            while let Some(due) = self.pit.next_deadline().filter(|&d| d <= end) {
                self.clock.set(due);
                self.drain();
            }
            self.clock.set(end);
            self.drain();
            self.edges() - start
        }

        fn drain(&mut self) {
            self.pit.poll(Irq0Input::Free);
            while self.pit.irq0_backlog() > 0 {
                self.pit.poll(Irq0Input::Free);
            }
        }
    }

    #[test]
    fn mode0_out_rises_at_terminal_count_then_count_wraps() {
        let mut rig = Rig::new();
        rig.program(0, 0x30, 100);
        assert!(!rig.out(0));
        assert_eq!(rig.latched_count(0), 100);
        rig.at_tick(99);
        assert_eq!(rig.latched_count(0), 1);
        assert!(!rig.out(0));
        assert_eq!(rig.pit.next_deadline(), Some(time_of_ticks(100)));
        rig.at_tick(100);
        rig.pit.poll(Irq0Input::Free);
        assert!(rig.out(0));
        assert_eq!(rig.latched_count(0), 0);
        assert_eq!(rig.edges(), 1);
        rig.at_tick(102);
        assert_eq!(rig.latched_count(0), 0xFFFE);
        assert!(rig.out(0), "stays high");
        assert_eq!(rig.pit.next_deadline(), None);
    }

    #[test]
    fn mode1_is_triggered_by_the_gate() {
        let mut rig = Rig::new();
        rig.program(2, 0xB2, 50);
        rig.at_tick(20);
        assert!(rig.out(2), "waits for a trigger with OUT high");
        rig.outb(PORT_B, PORT_B_GATE2);
        rig.at_tick(21);
        assert!(!rig.out(2));
        assert_eq!(rig.latched_count(2), 49);
        rig.at_tick(70);
        assert!(rig.out(2));
        // Retrigger: low gate, then a rising edge starts another one-shot.
        rig.outb(PORT_B, 0);
        rig.outb(PORT_B, PORT_B_GATE2);
        assert!(!rig.out(2));
        rig.at_tick(120);
        assert!(rig.out(2));
    }

    #[test]
    fn mode2_pulses_low_for_one_clock_each_period() {
        let mut rig = Rig::new();
        rig.program(0, 0x34, 10);
        let waveform: Vec<(bool, u16)> = (0..=20)
            .map(|t| {
                rig.at_tick(t);
                (rig.out(0), rig.latched_count(0))
            })
            .collect();
        for (t, &(out, count)) in waveform.iter().enumerate() {
            assert_eq!(out, t % 10 != 9, "OUT at tick {t}");
            assert_eq!(count, 10 - (t % 10) as u16, "count at tick {t}");
        }
        rig.run_until(time_of_ticks(35));
        assert_eq!(rig.edges(), 3);
    }

    #[test]
    fn mode3_square_wave_even_and_odd() {
        let mut rig = Rig::new();
        rig.program(0, 0x36, 10);
        let even: Vec<(bool, u16)> = (0..10)
            .map(|t| {
                rig.at_tick(t);
                (rig.out(0), rig.latched_count(0))
            })
            .collect();
        let high: Vec<bool> = even.iter().map(|w| w.0).collect();
        let counts: Vec<u16> = even.iter().map(|w| w.1).collect();
        assert_eq!(
            high,
            [
                true, true, true, true, true, false, false, false, false, false
            ]
        );
        assert_eq!(counts, [10, 8, 6, 4, 2, 10, 8, 6, 4, 2]);

        let start = 100;
        rig.at_tick(start);
        rig.program(0, 0x36, 5);
        let odd: Vec<(bool, u16)> = (0..5)
            .map(|t| {
                rig.at_tick(start + t);
                (rig.out(0), rig.latched_count(0))
            })
            .collect();
        assert_eq!(
            odd,
            [(true, 5), (true, 4), (true, 2), (false, 5), (false, 2)]
        );
    }

    #[test]
    fn mode4_strobes_once() {
        let mut rig = Rig::new();
        // Linux oneshot clockevent: 0x38, then each event writes LSB, MSB.
        rig.program(0, 0x38, 1000);
        assert!(rig.out(0));
        assert_eq!(rig.pit.next_deadline(), Some(time_of_ticks(1001)));
        rig.at_tick(1000);
        assert!(!rig.out(0));
        assert_eq!(rig.run_until(time_of_ticks(1_000_000)), 1);
        assert_eq!(rig.pit.next_deadline(), None);
        // The next event re-arms it.
        rig.outb(0x40, 0x10);
        rig.outb(0x40, 0x00);
        assert_eq!(rig.pit.next_deadline(), Some(time_of_ticks(1_000_017)));
    }

    #[test]
    fn mode5_strobes_after_a_gate_trigger() {
        let mut rig = Rig::new();
        rig.program(2, 0xBA, 30);
        rig.at_tick(40);
        assert!(rig.out(2));
        rig.outb(PORT_B, PORT_B_GATE2);
        rig.at_tick(70);
        assert!(!rig.out(2));
        rig.at_tick(71);
        assert!(rig.out(2));
    }

    #[test]
    fn linux_shutdown_stops_periodic_interrupts() {
        let mut rig = Rig::new();
        rig.program(0, 0x34, 11932);
        assert_eq!(rig.run_until(Duration::from_millis(50)), 4);
        // clockevent shutdown: 0x30, then 0, 0 (mode 0, count 65536).
        rig.program(0, 0x30, 0);
        let after = rig.run_until(Duration::from_secs(5));
        assert_eq!(after, 1, "one terminal count, then silence");
        assert_eq!(rig.pit.next_deadline(), None);
    }

    #[test]
    fn linux_periodic_100hz_rate_is_exact() {
        let mut rig = Rig::new();
        rig.program(0, 0x34, 11932);
        assert_eq!(rig.pit.next_deadline(), Some(time_of_ticks(11932)));
        // 100 periods take 1193200 clocks, just over one second.
        assert_eq!(rig.run_until(Duration::from_secs(1)), 99);
        assert_eq!(rig.pit.next_deadline(), Some(time_of_ticks(1_193_200)));
        assert_eq!(rig.run_until(Duration::from_secs(10)), 900);
    }

    #[test]
    fn bios_rate_is_18_2_hz_from_power_on_and_after_programming() {
        let mut rig = Rig::new();
        assert_eq!(rig.pit.next_deadline(), Some(time_of_ticks(65536)));
        assert_eq!(rig.run_until(Duration::from_secs(10)), 182);
        let mut rig = Rig::new();
        rig.program(0, 0x34, 0);
        assert_eq!(rig.run_until(Duration::from_secs(1)), 18);
        assert_eq!(rig.run_until(Duration::from_secs(100)), 1820 - 18);
    }

    #[test]
    fn late_edges_wait_in_the_backlog_and_arrive_one_per_acknowledgement() {
        let mut rig = Rig::new();
        rig.program(0, 0x34, 100);
        // The poll comes 10.5 periods late: edges at 100, 200, ..., 1000 fell due.
        rig.at_tick(1050);
        rig.pit.poll(Irq0Input::Latched);
        assert_eq!(rig.edges(), 0, "the PIC still holds the previous request");
        assert_eq!(rig.pit.irq0_backlog(), 10);
        assert_eq!(rig.pit.irq0_requests(), 10);
        assert_eq!(rig.pit.next_deadline(), Some(time_of_ticks(1100)));
        // One edge per poll that finds the request taken; none while it is latched.
        for delivered in 1..=10 {
            rig.pit.poll(Irq0Input::Free);
            assert_eq!(rig.edges(), delivered);
            rig.pit.poll(Irq0Input::Latched);
            assert_eq!(rig.edges(), delivered);
        }
        rig.pit.poll(Irq0Input::Free);
        assert_eq!(rig.edges(), 10, "backlog empty");
        // On time again: the edge at 1100 is delivered at its poll.
        rig.at_tick(1100);
        rig.pit.poll(Irq0Input::Free);
        assert_eq!((rig.edges(), rig.pit.irq0_requests()), (11, 11));
    }

    #[test]
    fn the_backlog_keeps_at_most_a_second_of_ticks() {
        let mut rig = Rig::new();
        // Power-on rate, 18.2 Hz: a 10 s stall keeps 18 edges (1193182 / 65536).
        rig.clock.set(Duration::from_secs(10));
        rig.pit.poll(Irq0Input::Latched);
        assert_eq!(rig.pit.irq0_requests(), 182);
        assert_eq!(rig.pit.irq0_backlog(), 18);
        // 1 kHz Linux-style: a 5 s stall keeps 1000.
        rig.program(0, 0x34, 1193);
        rig.clock.advance(Duration::from_secs(5));
        rig.pit.poll(Irq0Input::Latched);
        assert_eq!(rig.pit.irq0_backlog(), 1000);
        // A period of 2 clocks (596 kHz) would allow 596591 per second: capped.
        rig.program(0, 0x34, 2);
        rig.clock.advance(Duration::from_secs(1));
        rig.pit.poll(Irq0Input::Latched);
        assert_eq!(rig.pit.irq0_backlog(), MAX_BACKLOG);
    }

    #[test]
    fn masking_and_reprogramming_drop_the_backlog() {
        let mut rig = Rig::new();
        rig.program(0, 0x34, 100);
        rig.at_tick(550);
        rig.pit.poll(Irq0Input::Latched);
        assert_eq!(rig.pit.irq0_backlog(), 5);
        rig.pit.poll(Irq0Input::Masked);
        assert_eq!(rig.edges(), 1, "a masked line still latches one request");
        assert_eq!(rig.pit.irq0_backlog(), 0);
        rig.at_tick(1050);
        rig.pit.poll(Irq0Input::Latched);
        assert_eq!(rig.pit.irq0_backlog(), 5);
        // A latch command does not reprogram; a control word for channel 0 does.
        rig.outb(COMMAND_PORT, 0x00);
        rig.inb(0x40);
        rig.inb(0x40);
        rig.outb(COMMAND_PORT, 0xB6); // a control word for channel 2
        assert_eq!(rig.pit.irq0_backlog(), 5);
        rig.program(0, 0x34, 200);
        assert_eq!(rig.pit.irq0_backlog(), 0);
    }

    #[test]
    fn reprogramming_from_mode0_low_gives_an_edge() {
        let mut rig = Rig::new();
        rig.program(0, 0x30, 5000);
        rig.at_tick(10);
        rig.outb(COMMAND_PORT, 0x34);
        assert_eq!(rig.edges(), 1, "OUT went from low to high");
    }

    #[test]
    fn latch_freezes_the_count_until_read() {
        let mut rig = Rig::new();
        rig.program(0, 0x30, 1000);
        rig.at_tick(100);
        rig.outb(COMMAND_PORT, 0x00);
        rig.at_tick(200);
        rig.outb(COMMAND_PORT, 0x00); // ignored: a latch is pending
        assert_eq!(rig.inb(0x40), (900 & 0xFF) as u8);
        rig.at_tick(300);
        assert_eq!(rig.inb(0x40), (900 >> 8) as u8);
        // Without a latch, reads alternate LSB/MSB of the live count.
        assert_eq!(rig.inb(0x40), (700 & 0xFF) as u8);
        assert_eq!(rig.inb(0x40), (700 >> 8) as u8);
    }

    #[test]
    fn single_byte_access_modes() {
        let mut rig = Rig::new();
        rig.outb(COMMAND_PORT, 0x10); // ch0 LSB only, mode 0
        rig.outb(0x40, 200);
        rig.at_tick(50);
        assert_eq!(rig.inb(0x40), 150);
        assert_eq!(rig.inb(0x40), 150, "no flip-flop in LSB mode");
        rig.outb(COMMAND_PORT, 0x20); // MSB only
        rig.outb(0x40, 0x02);
        rig.at_tick(50 + 0x101);
        assert_eq!(rig.inb(0x40), 0x00);
        rig.outb(COMMAND_PORT, 0x00);
        rig.at_tick(5000);
        assert_eq!(rig.inb(0x40), 0x00, "latched MSB of 0x00FF");
    }

    #[test]
    fn read_back_latches_status_and_count() {
        let mut rig = Rig::new();
        // Reset state: mode 3, word access, binary; channel 2's low gate holds OUT high.
        assert_eq!(rig.status(2), 0xB6);
        rig.outb(COMMAND_PORT, 0x34);
        assert_eq!(
            rig.status(0),
            0x80 | 0x40 | 0x34,
            "null count until a count is written"
        );
        rig.outb(0x40, 0x34);
        rig.outb(0x40, 0x12);
        assert_eq!(rig.status(0), 0x80 | 0x34);
        // Read-back of count and status for channels 0 and 2: status first, then count.
        rig.outb(PORT_B, PORT_B_GATE2);
        rig.program(2, 0xB0, 0x0300);
        rig.at_tick(0x100);
        rig.outb(COMMAND_PORT, 0xCA);
        rig.at_tick(0x200);
        assert_eq!(rig.inb(0x42), 0x30, "mode 0, OUT low, loaded");
        assert_eq!(rig.inb(0x42), 0x00);
        assert_eq!(rig.inb(0x42), 0x02);
        assert_eq!(rig.inb(0x40), 0x80 | 0x34);
        assert_eq!(rig.inb(0x40), 0x34);
        assert_eq!(rig.inb(0x40), 0x11, "0x1234 - 0x100 at the latch");
        // Mode 6 is an alias of mode 2 but the status shows it as programmed.
        rig.outb(COMMAND_PORT, 0x7C);
        assert_eq!(rig.status(1) & 0x3F, 0x3C);
    }

    #[test]
    fn bcd_counts_in_decimal() {
        let mut rig = Rig::new();
        rig.program(0, 0x31, 0x1234);
        rig.at_tick(34);
        assert_eq!(rig.latched_count(0), 0x1200);
        rig.at_tick(1235);
        assert_eq!(rig.latched_count(0), 0x9999);
        // Mode 2 BCD count 0 is 10000 clocks.
        rig.program(0, 0x35, 0);
        assert_eq!(rig.pit.next_deadline(), Some(time_of_ticks(1235 + 10_000)));
    }

    /// Loads channel 2 in mode 0 the way Linux `pit_calibrate_tsc` and memtest86+
    /// `correct_tsc` do, then polls port 0x61 bit 5, each poll costing `step`.
    fn calibrate(latch: u16, step: Duration) -> (u64, Duration) {
        let mut rig = Rig::new();
        rig.clock.set(Duration::from_millis(3));
        let port_b = rig.inb(PORT_B);
        rig.outb(PORT_B, (port_b & !PORT_B_SPEAKER) | PORT_B_GATE2);
        rig.program(2, 0xB0, latch);
        let start = rig.clock.now();
        let mut loops = 0;
        while rig.inb(PORT_B) & PORT_B_OUT2 == 0 {
            loops += 1;
            rig.clock.advance(step);
            assert!(loops < 10_000_000, "channel 2 never finished");
        }
        (loops, rig.clock.now() - start)
    }

    #[test]
    fn channel2_calibration_loops_take_the_right_time() {
        for (latch, expected) in [
            (11931u16, Duration::from_micros(9999)),
            (59659, Duration::from_micros(49999)),
            (0xFFFF, Duration::from_micros(54924)),
        ] {
            let (loops, elapsed) = calibrate(latch, Duration::from_micros(1));
            let error = elapsed.abs_diff(expected);
            assert!(error <= Duration::from_micros(2), "{latch}: {elapsed:?}");
            assert!(loops >= 5000, "{latch}: {loops} polls");
        }
    }

    #[test]
    fn quick_pit_calibrate_sees_the_msb_count_down() {
        let mut rig = Rig::new();
        rig.outb(PORT_B, PORT_B_GATE2);
        rig.program(2, 0xB0, 0xFFFF);
        // pit_verify_msb(0): LSB, then MSB of the live count.
        rig.inb(0x42);
        assert_eq!(rig.inb(0x42), 0xFF);
        for msb in (0xF0..0xFF).rev() {
            // pit_expect_msb: wait while the MSB still reads msb + 1.
            let mut reads = 0;
            loop {
                rig.inb(0x42);
                if rig.inb(0x42) != msb + 1 {
                    break;
                }
                rig.clock.advance(Duration::from_micros(2));
                reads += 1;
            }
            assert!(
                (100..=110).contains(&reads),
                "{reads} reads for MSB {msb:#x}"
            );
            let mut b = [0u8];
            rig.pit.read(0x42, &mut b);
            rig.pit.read(0x42, &mut b);
            assert_eq!(b[0], msb);
        }
    }

    #[test]
    fn gate_pauses_mode0_and_restarts_mode2() {
        let mut rig = Rig::new();
        rig.outb(PORT_B, PORT_B_GATE2);
        rig.program(2, 0xB0, 100);
        rig.at_tick(40);
        rig.outb(PORT_B, 0);
        rig.at_tick(500);
        assert_eq!(rig.latched_count(2), 60, "paused");
        rig.outb(PORT_B, PORT_B_GATE2);
        rig.at_tick(559);
        assert!(rig.inb(PORT_B) & PORT_B_OUT2 == 0);
        rig.at_tick(560);
        assert!(rig.inb(PORT_B) & PORT_B_OUT2 != 0);

        rig.program(2, 0xB4, 10);
        rig.at_tick(569);
        assert!(!rig.out(2), "low for the last clock of the period");
        rig.outb(PORT_B, 0);
        assert!(rig.out(2), "a low gate forces OUT high");
        rig.at_tick(600);
        rig.outb(PORT_B, PORT_B_GATE2);
        assert_eq!(rig.latched_count(2), 10, "rising gate reloads");
    }

    #[test]
    fn port_b_reports_gate_speaker_refresh_and_out2() {
        let mut rig = Rig::new();
        let first = rig.inb(PORT_B);
        let second = rig.inb(PORT_B);
        assert_eq!((first ^ second) & PORT_B_REFRESH, PORT_B_REFRESH);
        assert_eq!(
            first & !PORT_B_REFRESH,
            PORT_B_OUT2,
            "gate low holds mode 3 OUT high"
        );
        rig.outb(PORT_B, 0x03);
        assert_eq!(rig.inb(PORT_B) & 0x03, 0x03);
        rig.program(2, 0xB6, 1193);
        let hz = rig.pit.speaker_frequency_hz().expect("speaker on");
        assert!((hz - 1000.15).abs() < 0.01, "{hz}");
        rig.outb(PORT_B, 0x01);
        assert_eq!(rig.pit.speaker_frequency_hz(), None);
    }

    #[test]
    fn hostile_accesses_never_panic() {
        let mut rig = Rig::new();
        let mut seed = 0x1234_5678u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for _ in 0..20_000 {
            let r = next();
            let port = [0x40u64, 0x41, 0x42, 0x43, 0x61, 0x3F, 0x60, u64::MAX][(r & 7) as usize];
            let len = ((r >> 3) % 5) as usize;
            let value = (r >> 8) as u8;
            if r & 0x8000_0000 != 0 {
                rig.pit.write(port, &vec![value; len]);
            } else {
                let mut buf = vec![0u8; len];
                rig.pit.read(port, &mut buf);
            }
            rig.clock.advance(Duration::from_nanos(u64::from(r >> 20)));
            rig.pit.poll(Irq0Input::Free);
            let _ = rig.pit.next_deadline();
        }
        rig.pit.reset();
        let reset_tick = tick_at(rig.clock.now());
        assert_eq!(
            rig.pit.next_deadline(),
            Some(time_of_ticks(reset_tick + 65536))
        );
    }
}
