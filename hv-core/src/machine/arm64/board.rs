//! The arm64 board: which device answers at which address.
//!
//! The keyboard controller and the VGA are the PC's own models (`devices::i8042`,
//! `devices::vga`), reached through an ISA-style I/O window in MMIO: a load or store
//! at [`ISA_WINDOW_BASE`]` + p` is an `in`/`out` on port `p`. So the keystroke path and
//! the display path are the same code on both architectures; only the UART differs
//! (a PL011, the console arm64 kernels expect).
//!
//! Like the PC, devices are owned here on the vCPU thread, the MMIO map is one `match`,
//! and the VGA register file, the serial log and the counters are shared with the front
//! end through [`SharedParts`].

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use crate::bus::BusDevice;
use crate::devices::i8042::I8042;
use crate::devices::uart::SerialOutput;
use crate::devices::vga::Vga;
use crate::hypervisor::IoHandler;
use crate::irq::IrqLine;
use crate::machine::board::Board;
use crate::machine::pc::SharedParts;
use crate::machine::serial_input::SerialInput;
use crate::machine::stats::ExitKind;

use super::interrupts::SpiRouter;
use super::layout::{ISA_WINDOW_BASE, ISA_WINDOW_SIZE, PL011_BASE, PL011_SIZE, irq};
use super::pl011::Pl011;

/// The arm64 board's devices.
pub struct Arm64Board {
    /// Shared with the front end; survives resets.
    pub shared: SharedParts,
    /// Device interrupt lines -> GIC SPIs or the vCPU's IRQ input.
    pub irqs: Arc<SpiRouter>,
    /// Keyboard controller with keyboard and mouse (the PC's model).
    pub i8042: I8042,
    vga: Vga,
    /// The console UART.
    pub pl011: Pl011,
    serial_input: SerialInput,
    unassigned: u64,
}

impl std::fmt::Debug for Arm64Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arm64Board")
            .field("irqs", &self.irqs)
            .field("pl011", &self.pl011)
            .finish_non_exhaustive()
    }
}

/// What a guest-physical address outside RAM is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MmioTarget {
    /// A PL011 register.
    Pl011,
    /// ISA port `port` through the I/O window.
    IsaPort(u16),
    /// Nothing (read as zero, writes ignored).
    Unassigned,
}

/// Decodes an access of `len` bytes at `gpa`. An access that straddles a window's edge
/// is unassigned as a whole, so no device sees an address outside its window.
pub fn decode_mmio(gpa: u64, len: usize) -> MmioTarget {
    let len = len as u64;
    let inside = |base: u64, size: u64| {
        gpa >= base && gpa.checked_add(len).is_some_and(|end| end <= base + size)
    };
    if inside(PL011_BASE, PL011_SIZE) {
        MmioTarget::Pl011
    } else if inside(ISA_WINDOW_BASE, ISA_WINDOW_SIZE) {
        // Inside the 64 KiB window, so the offset fits in 16 bits.
        u16::try_from(gpa - ISA_WINDOW_BASE).map_or(MmioTarget::Unassigned, MmioTarget::IsaPort)
    } else {
        MmioTarget::Unassigned
    }
}

impl Arm64Board {
    /// Builds the board at power-on. `serial_out` receives the PL011's output.
    pub fn new(
        shared: SharedParts,
        irqs: Arc<SpiRouter>,
        serial_out: Option<Box<dyn Write + Send>>,
    ) -> Self {
        let out = SerialOutput::new(serial_out, shared.serial_log.clone());
        Self::with_output(shared, irqs, out)
    }

    fn with_output(shared: SharedParts, irqs: Arc<SpiRouter>, out: SerialOutput) -> Self {
        let line = |spi: u32| IrqLine::new(irqs.clone(), spi);
        Self {
            i8042: I8042::new(
                line(irq::KEYBOARD_SPI),
                line(irq::MOUSE_SPI),
                shared.system.clone(),
                shared.clock.clone(),
            ),
            vga: Vga::with_state(shared.vga.clone(), shared.memory.clone()),
            pl011: Pl011::new(PL011_BASE, line(irq::PL011_SPI), out),
            serial_input: SerialInput::new("the PL011"),
            unassigned: 0,
            irqs,
            shared,
        }
    }

    /// Rebuilds every device in power-on state, keeping the shared parts, the interrupt
    /// routing and the UART's output stream. All lines go low first.
    pub fn reset(self) -> Self {
        self.irqs.reset();
        let out = self.pl011.into_output();
        Self::with_output(self.shared, self.irqs, out)
    }

    /// Queues host serial input (bounded; excess is dropped with a warning).
    pub fn queue_serial_input(&mut self, data: &[u8]) {
        self.serial_input.push(data);
    }

    /// Advances time-driven devices and feeds queued serial input into the UART FIFO.
    pub fn poll(&mut self) {
        self.i8042.poll();
        self.serial_input.feed(|bytes| self.pl011.receive(bytes));
    }

    /// The earliest time a device needs the loop to look at it again.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.i8042.next_deadline()
    }

    /// The device behind ISA port `port` in the I/O window (the PC's port numbers).
    fn isa_device(&mut self, port: u16) -> Option<&mut dyn BusDevice> {
        Some(match port {
            0x60 | 0x64 => &mut self.i8042,
            0x3B0..=0x3DF => &mut self.vga,
            _ => return None,
        })
    }

    fn note_unassigned(&mut self, what: &str, gpa: u64, len: usize) {
        // Rate-limited: a guest probing the address space must not flood the log.
        self.unassigned += 1;
        let n = self.unassigned;
        if n <= 32 || n.is_power_of_two() {
            log::debug!("unassigned MMIO {what} of {len} bytes at {gpa:#x} ({n} so far)");
        }
    }
}

impl Board for Arm64Board {
    fn shared(&self) -> &SharedParts {
        &self.shared
    }
    fn poll(&mut self) {
        Arm64Board::poll(self);
    }
    fn next_deadline(&self) -> Option<Duration> {
        Arm64Board::next_deadline(self)
    }
    fn i8042(&self) -> &I8042 {
        &self.i8042
    }
    fn i8042_mut(&mut self) -> &mut I8042 {
        &mut self.i8042
    }
    fn queue_serial_input(&mut self, data: &[u8]) {
        Arm64Board::queue_serial_input(self, data);
    }
    fn reset(self) -> Self {
        Arm64Board::reset(self)
    }
}

impl IoHandler for Arm64Board {
    fn pio_read(&mut self, port: u16, data: &mut [u8]) {
        // arm64 has no port I/O instructions; a backend never calls this.
        data.fill(0xFF);
        log::warn!("arm64 board: unexpected port read at {port:#x}");
    }

    fn pio_write(&mut self, port: u16, _data: &[u8]) {
        log::warn!("arm64 board: unexpected port write at {port:#x}");
    }

    fn mmio_read(&mut self, gpa: u64, data: &mut [u8]) {
        data.fill(0);
        match decode_mmio(gpa, data.len()) {
            MmioTarget::Pl011 => {
                self.shared.stats.count(ExitKind::Mmio);
                self.pl011.read(gpa, data);
            }
            MmioTarget::IsaPort(port) => {
                self.shared.stats.count(ExitKind::Pio);
                match self.isa_device(port) {
                    Some(dev) => dev.read(u64::from(port), data),
                    // Nothing drives an empty ISA bus: all ones, as on the PC.
                    None => data.fill(0xFF),
                }
            }
            MmioTarget::Unassigned => {
                self.shared.stats.count(ExitKind::Mmio);
                self.note_unassigned("read", gpa, data.len());
            }
        }
    }

    fn mmio_write(&mut self, gpa: u64, data: &[u8]) {
        match decode_mmio(gpa, data.len()) {
            MmioTarget::Pl011 => {
                self.shared.stats.count(ExitKind::Mmio);
                self.pl011.write(gpa, data);
            }
            MmioTarget::IsaPort(port) => {
                self.shared.stats.count(ExitKind::Pio);
                if let Some(dev) = self.isa_device(port) {
                    dev.write(u64::from(port), data);
                }
            }
            MmioTarget::Unassigned => {
                self.shared.stats.count(ExitKind::Mmio);
                self.note_unassigned("write", gpa, data.len());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::devices::keymap::Key;
    use crate::devices::system::SystemControl;
    use crate::devices::uart::SerialLog;
    use crate::devices::vga::VgaState;
    use crate::machine::stats::ExitStats;
    use std::sync::Mutex;

    pub(crate) fn shared() -> SharedParts {
        SharedParts {
            memory: super::super::layout::arm64_memory(16).expect("memory"),
            clock: Arc::new(FakeClock::new()),
            vga: Arc::new(Mutex::new(VgaState::default())),
            serial_log: SerialLog::shared(),
            stats: Arc::new(ExitStats::default()),
            system: Arc::new(SystemControl::new()),
        }
    }

    fn board() -> Arm64Board {
        Arm64Board::new(shared(), SpiRouter::new(None), None)
    }

    const W: u64 = ISA_WINDOW_BASE;
    /// i8042 status: output buffer full.
    const OBF: u8 = 0x01;

    #[test]
    fn decode_covers_the_map() {
        assert_eq!(decode_mmio(PL011_BASE, 4), MmioTarget::Pl011);
        assert_eq!(decode_mmio(PL011_BASE + 0xFFC, 4), MmioTarget::Pl011);
        assert_eq!(decode_mmio(PL011_BASE + 0xFFE, 4), MmioTarget::Unassigned);
        assert_eq!(decode_mmio(W + 0x64, 1), MmioTarget::IsaPort(0x64));
        assert_eq!(decode_mmio(W + 0x3D4, 2), MmioTarget::IsaPort(0x3D4));
        assert_eq!(decode_mmio(W + 0xFFFF, 1), MmioTarget::IsaPort(0xFFFF));
        assert_eq!(decode_mmio(W + 0xFFFF, 2), MmioTarget::Unassigned);
        assert_eq!(decode_mmio(W - 1, 1), MmioTarget::Unassigned);
        assert_eq!(decode_mmio(u64::MAX, 8), MmioTarget::Unassigned);
        assert_eq!(decode_mmio(0x0800_0000, 4), MmioTarget::Unassigned);
    }

    #[test]
    fn window_plus_0x64_is_the_i8042_command_port() {
        let mut b = board();
        // Controller self-test (0xAA) answers 0x55 through the data port.
        b.mmio_write(W + 0x64, &[0xAA]);
        let mut st = [0u8];
        b.mmio_read(W + 0x64, &mut st);
        assert_ne!(st[0] & OBF, 0, "status {:#x}", st[0]);
        let mut data = [0u8];
        b.mmio_read(W + 0x60, &mut data);
        assert_eq!(data[0], 0x55);
        // Read the command byte: the PC's power-on CTR.
        b.mmio_write(W + 0x64, &[0x20]);
        b.mmio_read(W + 0x60, &mut data);
        assert_eq!(data[0], crate::devices::i8042::POWER_ON_CTR);
    }

    #[test]
    fn window_plus_0x3d4_is_the_vga_crtc_index() {
        let mut b = board();
        // Cursor location high (CRTC 0x0E) = 0x01, low (0x0F) = 0x23, as 16-bit stores
        // (index then data, like `outw 0x3D4`).
        b.mmio_write(W + 0x3D4, &[0x0E, 0x01]);
        b.mmio_write(W + 0x3D4, &[0x0F, 0x23]);
        let mut idx = [0u8];
        b.mmio_read(W + 0x3D4, &mut idx);
        assert_eq!(idx[0], 0x0F, "the index register reads back");
        b.mmio_write(W + 0x3D4, &[0x0E]);
        let mut v = [0u8];
        b.mmio_read(W + 0x3D5, &mut v);
        assert_eq!(v[0], 0x01);
        assert_eq!(b.shared.vga.lock().expect("vga").cursor_location(), 0x0123);
    }

    #[test]
    fn keystrokes_reach_the_guest_through_the_window_and_raise_the_spi() {
        let mut b = board();
        b.i8042.key_event(Key::A, true);
        b.poll();
        assert!(b.irqs.is_asserted(irq::KEYBOARD_SPI));
        assert!(b.irqs.any_asserted());
        let mut v = [0u8];
        b.mmio_read(W + 0x64, &mut v);
        assert_ne!(v[0] & OBF, 0);
        b.mmio_read(W + 0x60, &mut v);
        assert_eq!(v[0], 0x1E, "set 1 make code of A (translation on)");
        assert!(
            !b.irqs.is_asserted(irq::KEYBOARD_SPI),
            "reading lowers the line"
        );
    }

    #[test]
    fn pl011_and_unassigned_accesses() {
        let mut b = board();
        for &c in b"ok" {
            b.mmio_write(PL011_BASE, &[c]);
        }
        assert_eq!(b.shared.serial_log.lock().expect("log").text(), "ok");
        b.queue_serial_input(b"x");
        b.poll();
        let mut v = [0u8; 4];
        b.mmio_read(PL011_BASE, &mut v);
        assert_eq!(v[0], b'x');
        let mut z = [0xAAu8; 8];
        b.mmio_read(0x0800_0000, &mut z);
        assert_eq!(z, [0; 8], "unassigned MMIO reads as zero");
        b.mmio_write(0x1234_5678, &[1, 2, 3, 4]);
        let mut p = [0u8; 2];
        b.mmio_read(W + 0x100, &mut p);
        assert_eq!(p, [0xFF; 2], "an empty port floats high");
        b.pio_write(0x60, &[0xFF]);
        let mut q = [0u8];
        b.pio_read(0x60, &mut q);
        assert_eq!(q, [0xFF]);
    }

    #[test]
    fn reset_keeps_output_and_lowers_lines() {
        let mut b = board();
        b.i8042.key_event(Key::A, true);
        b.poll();
        assert!(b.irqs.any_asserted());
        b.mmio_write(PL011_BASE, b"1");
        let mut b = b.reset();
        assert!(!b.irqs.any_asserted());
        b.mmio_write(PL011_BASE, b"2");
        assert_eq!(b.shared.serial_log.lock().expect("log").text(), "12");
    }
}
