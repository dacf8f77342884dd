//! The PC board: which device answers at which port, and the parts every device shares.
//!
//! The port map is written out as one `match` — the board's schematic — so the exit
//! path is a jump table, not a search, and a reader sees the whole ISA map in one place.
//! Devices are owned here, on the vCPU thread; only the VGA register file and a few
//! counters are shared with the front end.

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::bus::{Bus, BusDevice};
use crate::clock::Clock;
use crate::devices::cmos::{Cmos, HostWallClock};
use crate::devices::i8042::I8042;
use crate::devices::pic::{Pic, PicPorts};
use crate::devices::pit::{Irq0Input, Pit};
use crate::devices::ports::{DebugExit, PostCode, ResetControl, Sink, SystemControlPortA};
use crate::devices::system::SystemControl;
use crate::devices::uart::{COM1, SerialLog, SerialOutput, Uart};
use crate::devices::vga::{Vga, VgaState};
use crate::firmware::time::UserTimer;
use crate::hypervisor::IoHandler;
use crate::irq::{IrqLine, IrqSink};
use crate::loader::disk::Drives;
use crate::memory::GuestMemory;

use super::board::Board;
use super::serial_input::SerialInput;
use super::stats::{ExitKind, ExitStats};

/// ISA IRQ numbers on the PIC pair.
pub mod irq {
    /// PIT channel 0.
    pub const TIMER: u32 = 0;
    /// i8042 keyboard port.
    pub const KEYBOARD: u32 = 1;
    /// COM1.
    pub const COM1: u32 = 4;
    /// i8042 aux (mouse) port.
    pub const MOUSE: u32 = 12;
}

pub use super::serial_input::SERIAL_INPUT_LIMIT;

/// What survives a reset: state shared with the front end, and the output streams.
#[derive(Debug, Clone)]
pub struct SharedParts {
    /// Guest memory.
    pub memory: GuestMemory,
    /// Machine time.
    pub clock: Arc<dyn Clock>,
    /// The VGA register file the renderer reads.
    pub vga: Arc<Mutex<VgaState>>,
    /// COM1's recent output.
    pub serial_log: Arc<Mutex<SerialLog>>,
    /// Exit counters.
    pub stats: Arc<ExitStats>,
    /// Reset/exit requests from devices.
    pub system: Arc<SystemControl>,
}

impl SharedParts {
    /// Fresh shared parts for a machine on `memory`, with `clock` as machine time.
    pub fn new(memory: GuestMemory, clock: Arc<dyn Clock>) -> Self {
        Self {
            memory,
            clock,
            vga: Arc::new(Mutex::new(VgaState::default())),
            serial_log: SerialLog::shared(),
            stats: Arc::new(ExitStats::default()),
            system: Arc::new(SystemControl::new()),
        }
    }
}

/// All PC devices.
pub struct PcBoard {
    /// Shared parts.
    pub shared: SharedParts,
    /// The 8259 pair.
    pub pic: Arc<Pic>,
    pic_ports: PicPorts,
    /// The 8254 and port 0x61.
    pub pit: Pit,
    /// Keyboard controller with keyboard and mouse.
    pub i8042: I8042,
    vga: Vga,
    /// COM1.
    pub com1: Uart,
    /// CMOS RAM and RTC (the BIOS's int 1Ah reads the clock through its ports).
    pub cmos: Cmos,
    post: PostCode,
    port_a: SystemControlPortA,
    reset_control: ResetControl,
    debug_exit: DebugExit,
    sink: Sink,
    /// Devices added by firmware or options.
    pub extra_ports: Bus,
    /// Disks the BIOS serves (kept across resets).
    pub drives: Drives,
    /// The BIOS service a ROM stub asked for (see [`crate::firmware::TRAP_PORT`]).
    bios_trap: Option<u8>,
    /// The BIOS's int 15h AH=83h/86h interval timer (a device deadline like the PIT's).
    pub user_timer: UserTimer,
    /// [`Pit::irq0_requests`] already added to the statistics.
    pit_requests_counted: u64,
    serial_input: SerialInput,
    unassigned: UnassignedLog,
}

impl std::fmt::Debug for PcBoard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcBoard").finish_non_exhaustive()
    }
}

impl PcBoard {
    /// Builds the board at power-on. `serial_out` receives COM1's output.
    pub fn new(shared: SharedParts, serial_out: Option<Box<dyn Write + Send>>) -> Self {
        let pic = Pic::new();
        let sink = CountingSink::new(pic.clone(), shared.stats.clone());
        let line = |n: u32| IrqLine::new(sink.clone(), n);
        let mem_size = shared.memory.total_size();
        // From here on the statistics count requests (see `CountingSink`).
        shared.stats.count_raised(0);
        Self {
            pic_ports: PicPorts::new(pic.clone()),
            pit: Pit::new(shared.clock.clone(), line(irq::TIMER)),
            i8042: I8042::new(
                line(irq::KEYBOARD),
                line(irq::MOUSE),
                shared.system.clone(),
                shared.clock.clone(),
            ),
            vga: Vga::with_state(shared.vga.clone(), shared.memory.clone()),
            com1: Uart::new(
                COM1.0,
                line(irq::COM1),
                SerialOutput::new(serial_out, shared.serial_log.clone()),
            ),
            cmos: Cmos::new(mem_size, Box::new(HostWallClock)),
            post: PostCode::default(),
            port_a: SystemControlPortA::new(shared.system.clone()),
            reset_control: ResetControl::new(shared.system.clone()),
            debug_exit: DebugExit::new(shared.system.clone()),
            sink: Sink,
            extra_ports: Bus::new(),
            drives: Drives::default(),
            bios_trap: None,
            user_timer: UserTimer::default(),
            pit_requests_counted: 0,
            serial_input: SerialInput::new("COM1"),
            unassigned: UnassignedLog::default(),
            pic,
            shared,
        }
    }

    /// Rebuilds every device in power-on state, keeping the shared parts, COM1's
    /// output stream, the disks and the CMOS (battery-backed on a PC: its RAM, e.g. the
    /// shutdown status byte 0x0F, survives a reset, and guests rely on that).
    pub fn reset(mut self) -> Self {
        let drives = std::mem::take(&mut self.drives);
        let out = self.com1.into_output();
        let mut board = Self::new(self.shared.clone(), None);
        board.drives = drives;
        board.cmos = self.cmos;
        let sink = CountingSink::new(board.pic.clone(), board.shared.stats.clone());
        board.com1 = Uart::new(COM1.0, IrqLine::new(sink, irq::COM1), out);
        board
    }

    /// Takes the pending BIOS service request (the vector a ROM stub wrote to the trap
    /// port), if any.
    pub fn take_bios_trap(&mut self) -> Option<u8> {
        self.bios_trap.take()
    }

    /// Queues host serial input (bounded; excess is dropped with a warning).
    pub fn queue_serial_input(&mut self, data: &[u8]) {
        self.serial_input.push(data);
    }

    /// Advances every time-driven device to `now` and feeds queued serial input.
    ///
    /// The PIT learns from the PIC whether its previous IRQ0 edge was taken, so ticks
    /// that fell due while the vCPU thread could not poll are delivered one per
    /// acknowledgement instead of merging into one (see [`crate::devices::pit`]).
    pub fn poll(&mut self) {
        let now = self.shared.clock.now();
        let timer = self.pic.line_state(irq::TIMER);
        let irq0 = if timer.masked {
            Irq0Input::Masked
        } else if timer.requested {
            Irq0Input::Latched
        } else {
            Irq0Input::Free
        };
        self.pit.poll(irq0);
        let requests = self.pit.irq0_requests();
        self.shared
            .stats
            .count_raised(requests.saturating_sub(self.pit_requests_counted));
        self.pit_requests_counted = requests;
        self.user_timer.poll(now, &self.shared.memory);
        self.i8042.poll();
        self.serial_input.feed(|bytes| self.com1.receive(bytes));
    }

    /// The earliest time a device needs the loop to look at it again.
    pub fn next_deadline(&self) -> Option<Duration> {
        [
            self.pit.next_deadline(),
            self.i8042.next_deadline(),
            self.user_timer.deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn port_device(&mut self, port: u16) -> Option<&mut dyn BusDevice> {
        Some(match port {
            0x20 | 0x21 | 0xA0 | 0xA1 | 0x4D0 | 0x4D1 => &mut self.pic_ports,
            0x40..=0x43 | 0x61 => &mut self.pit,
            0x60 | 0x64 => &mut self.i8042,
            0x70 | 0x71 => &mut self.cmos,
            0x80 => &mut self.post,
            0x92 => &mut self.port_a,
            0xF4 => &mut self.debug_exit,
            0xF0 | 0xF1 | 0x3F2 => &mut self.sink,
            0x3B0..=0x3DF => &mut self.vga,
            0x3F8..=0x3FF => &mut self.com1,
            0xCF9 => &mut self.reset_control,
            _ => return None,
        })
    }
}

impl IoHandler for PcBoard {
    fn pio_read(&mut self, port: u16, data: &mut [u8]) {
        self.shared.stats.count(ExitKind::Pio);
        match self.port_device(port) {
            Some(dev) => {
                data.fill(0);
                dev.read(u64::from(port), data);
            }
            None => {
                if !self.extra_ports.read(u64::from(port), data) {
                    self.unassigned.note("read", port);
                }
            }
        }
    }

    fn pio_write(&mut self, port: u16, data: &[u8]) {
        self.shared.stats.count(ExitKind::Pio);
        if port == crate::firmware::TRAP_PORT {
            self.bios_trap = data.first().copied();
            return;
        }
        match self.port_device(port) {
            Some(dev) => dev.write(u64::from(port), data),
            None => {
                if !self.extra_ports.write(u64::from(port), data) {
                    self.unassigned.note("write", port);
                }
            }
        }
    }

    fn mmio_read(&mut self, gpa: u64, data: &mut [u8]) {
        self.shared.stats.count(ExitKind::Mmio);
        data.fill(0xFF);
        self.unassigned.note_mmio("read", gpa);
    }

    fn mmio_write(&mut self, gpa: u64, _data: &[u8]) {
        self.shared.stats.count(ExitKind::Mmio);
        // Writes to the BIOS ROM land here too (the region is read-only); dropping them
        // is what ROM does.
        self.unassigned.note_mmio("write", gpa);
    }
}

impl Board for PcBoard {
    fn shared(&self) -> &SharedParts {
        &self.shared
    }
    fn poll(&mut self) {
        PcBoard::poll(self);
    }
    fn next_deadline(&self) -> Option<Duration> {
        PcBoard::next_deadline(self)
    }
    fn i8042(&self) -> &I8042 {
        &self.i8042
    }
    fn i8042_mut(&mut self) -> &mut I8042 {
        &mut self.i8042
    }
    fn queue_serial_input(&mut self, data: &[u8]) {
        PcBoard::queue_serial_input(self, data);
    }
    fn reset(self) -> Self {
        PcBoard::reset(self)
    }
}

/// The devices' wire to the PIC, counting requests for the statistics: rising edges on
/// every line but IRQ0, whose requests the PIT counts itself (a tick it holds back in
/// its backlog is still one request, raised when it fell due).
#[derive(Debug)]
struct CountingSink {
    pic: Arc<Pic>,
    stats: Arc<ExitStats>,
    /// Line levels, bit n = line n, to see rising edges.
    levels: AtomicU32,
}

impl CountingSink {
    fn new(pic: Arc<Pic>, stats: Arc<ExitStats>) -> Arc<Self> {
        Arc::new(Self {
            pic,
            stats,
            levels: AtomicU32::new(0),
        })
    }
}

impl IrqSink for CountingSink {
    fn set_level(&self, line: u32, level: bool) {
        if let Some(bit) = 1u32.checked_shl(line) {
            let before = if level {
                self.levels.fetch_or(bit, Ordering::Relaxed)
            } else {
                self.levels.fetch_and(!bit, Ordering::Relaxed)
            };
            if level && before & bit == 0 && line != irq::TIMER {
                self.stats.count_raised(1);
            }
        }
        self.pic.set_level(line, level);
    }
}

/// Logs accesses nobody claims, at debug level and rate-limited: a guest probing every
/// port must not flood the log.
#[derive(Debug, Default)]
struct UnassignedLog {
    count: u64,
}

impl UnassignedLog {
    fn should_log(&mut self) -> bool {
        self.count += 1;
        self.count <= 32 || self.count.is_power_of_two()
    }

    fn note(&mut self, what: &str, port: u16) {
        if self.should_log() {
            log::debug!(
                "unassigned port {what} at {port:#06x} ({} so far)",
                self.count
            );
        }
    }

    fn note_mmio(&mut self, what: &str, gpa: u64) {
        if self.should_log() {
            log::debug!("unassigned MMIO {what} at {gpa:#x} ({} so far)", self.count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::devices::keymap::Key;
    use crate::firmware::test_util::board_with_clock;
    use crate::firmware::{bda, time};

    /// What the guest does with IRQ0 under the BIOS: INTA, int 08h's tick, EOI. False
    /// when the PIC has nothing for the CPU.
    fn take_irq0(b: &mut PcBoard) -> bool {
        match b.pic.acknowledge() {
            Some(0x08) => {
                time::irq0(b);
                b.pic.ports().write(0x20, &[0x20]);
                true
            }
            None => false,
            Some(v) => panic!("vector {v:#x}, expected IRQ0"),
        }
    }

    #[test]
    fn ticks_missed_while_the_vcpu_thread_was_busy_all_reach_the_bios_count() {
        let clock = Arc::new(FakeClock::new());
        let mut b = board_with_clock(clock.clone());
        // The vCPU thread polls 0.55 s late: ten periods of 54.9 ms fell due meanwhile.
        clock.advance(Duration::from_millis(550));
        let mut delivered = 0;
        loop {
            // Every exit polls (the EOI's, the BIOS trap's).
            b.poll();
            if !take_irq0(&mut b) {
                break;
            }
            delivered += 1;
        }
        assert_eq!(delivered, 10);
        assert_eq!(b.shared.memory.read_u32(bda::TICKS).expect("r"), 10);
        assert_eq!(b.shared.stats.snapshot().raised, Some(10));
        // And the next one (at 604.2 ms) comes on time.
        clock.advance(Duration::from_millis(54));
        b.poll();
        assert!(!take_irq0(&mut b));
        clock.advance(Duration::from_millis(1));
        b.poll();
        assert!(take_irq0(&mut b));
        assert_eq!(b.shared.stats.snapshot().raised, Some(11));
    }

    #[test]
    fn ticks_due_while_irq0_is_masked_are_not_kept() {
        let clock = Arc::new(FakeClock::new());
        let mut b = board_with_clock(clock.clone());
        b.pic.ports().write(0x21, &[0xF9]);
        clock.advance(Duration::from_millis(550));
        b.poll();
        b.pic.ports().write(0x21, &[0xF8]);
        let mut delivered = 0;
        while {
            b.poll();
            take_irq0(&mut b)
        } {
            delivered += 1;
        }
        assert_eq!(delivered, 1, "the one request the masked line latched");
        assert_eq!(
            b.shared.stats.snapshot().raised,
            Some(10),
            "all were raised"
        );
    }

    #[test]
    fn device_edges_count_as_raised_requests() {
        let mut b = board_with_clock(Arc::new(FakeClock::new()));
        assert_eq!(b.shared.stats.snapshot().raised, Some(0));
        b.i8042.key_event(Key::A, true);
        b.poll();
        assert_eq!(b.shared.stats.snapshot().raised, Some(1), "IRQ1");
        // The same key's byte still unread: the line stays high, no new request.
        b.poll();
        assert_eq!(b.shared.stats.snapshot().raised, Some(1));
    }
}
