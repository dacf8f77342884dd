//! The PC/AT pair of 8259A interrupt controllers, with the PIIX edge/level control
//! registers (ELCR).
//!
//! Devices drive lines 0-15 through [`IrqSink`]; the slave's INT output drives the
//! master's IR2 (the cascade). The vCPU loop asks [`Pic::has_interrupt`] before each
//! entry and runs the INTA cycle with [`Pic::acknowledge`] when the guest can take the
//! interrupt. The guest programs both chips through [`PicPorts`].
//!
//! Behaviour follows the 8259A datasheet as QEMU's `hw/intc/i8259.c` models it (ICW1-4,
//! OCW1-3, poll, AEOI, rotation, special mask, special fully nested, spurious IR7), which
//! is what Linux (`arch/x86/kernel/i8259.c`), SeaBIOS and DOS-era code rely on.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::bus::BusDevice;
use crate::irq::IrqSink;

/// Master command port (ICW1, OCW2, OCW3; IRR/ISR read).
pub const MASTER_COMMAND: u16 = 0x20;
/// Master data port (ICW2-4, OCW1 = IMR).
pub const MASTER_DATA: u16 = 0x21;
/// Slave command port.
pub const SLAVE_COMMAND: u16 = 0xA0;
/// Slave data port.
pub const SLAVE_DATA: u16 = 0xA1;
/// ELCR for IRQ 0-7; `ELCR_MASTER + 1` is the one for IRQ 8-15.
pub const ELCR_MASTER: u16 = 0x4D0;
/// ELCR for IRQ 8-15.
pub const ELCR_SLAVE: u16 = 0x4D1;

/// The `(first port, length)` ranges [`PicPorts`] answers, for registering on the port bus.
pub const PORT_RANGES: [(u64, u64); 3] = [
    (MASTER_COMMAND as u64, 2),
    (SLAVE_COMMAND as u64, 2),
    (ELCR_MASTER as u64, 2),
];

/// The master input the slave's INT output is wired to.
const CASCADE_INPUT: u8 = 2;
/// The slave input that the ISA bus's "IRQ2" pin reaches on a PC/AT (IRQ 9).
const ISA_IRQ2_REDIRECT: u32 = 9;
/// Number of interrupt lines of the pair.
const LINES: u32 = 16;
/// The IR level a chip reports when INTA finds nothing to deliver.
const SPURIOUS_INPUT: u8 = 7;
/// ELCR bits that exist: IRQ 0, 1, 2 (master) and 8, 13 (slave) are always edge-triggered.
const ELCR_MASK_MASTER: u8 = 0xF8;
const ELCR_MASK_SLAVE: u8 = 0xDE;

/// Where a chip is in its ICW1..ICW4 initialisation sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum InitStep {
    /// Initialised: data port writes are OCW1 (the IMR).
    #[default]
    Ready,
    /// ICW1 seen; next data write is ICW2 (vector base).
    Icw2,
    /// Next data write is ICW3 (cascade wiring).
    Icw3,
    /// Next data write is ICW4 (mode).
    Icw4,
}

/// One 8259A.
#[derive(Debug, Clone, Default)]
struct Chip {
    /// Interrupt request register: inputs latched and waiting for INTA.
    irr: u8,
    /// In-service register: interrupts acknowledged and not yet EOI'd.
    isr: u8,
    /// Interrupt mask register (OCW1).
    imr: u8,
    /// Input levels as last seen, to detect rising edges on edge-triggered inputs.
    input_level: u8,
    /// Priority rotation: IR `priority_add` has the highest priority (0 after init).
    priority_add: u8,
    /// ICW2: vector of IR0 (low three bits always zero).
    vector_base: u8,
    init: InitStep,
    /// ICW1 bit 0: an ICW4 follows.
    expect_icw4: bool,
    /// ICW1 bit 1: no cascade, so ICW3 is skipped.
    single: bool,
    /// OCW3 read select: command port reads return ISR (true) or IRR (false).
    read_isr: bool,
    /// OCW3 poll command: the next read is a poll (acknowledges).
    poll: bool,
    /// OCW3 special mask mode: masked in-service levels stop blocking lower ones.
    special_mask: bool,
    /// ICW4 bit 1: acknowledge without setting an ISR bit.
    auto_eoi: bool,
    /// OCW2 "rotate in automatic EOI mode".
    rotate_on_auto_eoi: bool,
    /// ICW4 bit 4: the master lets a higher slave interrupt through while IR2 is in service.
    special_fully_nested: bool,
    /// Edge/level control register: bit set = level-triggered input.
    elcr: u8,
    /// Which ELCR bits are writable on this chip.
    elcr_mask: u8,
    is_master: bool,
}

impl Chip {
    fn new(is_master: bool) -> Self {
        Self {
            is_master,
            elcr_mask: if is_master {
                ELCR_MASK_MASTER
            } else {
                ELCR_MASK_SLAVE
            },
            ..Self::default()
        }
    }

    /// The priority (0 = highest) of the highest-priority bit in `bits`, if any.
    fn highest_priority(&self, bits: u8) -> Option<u8> {
        (0..8).find(|p| bits & (1 << ((p + self.priority_add) & 7)) != 0)
    }

    fn input_of_priority(&self, priority: u8) -> u8 {
        (priority + self.priority_add) & 7
    }

    /// The input INTA would deliver now: the highest-priority unmasked request that
    /// outranks everything in service. `Some` is exactly "INT output high".
    fn pending_input(&self) -> Option<u8> {
        let request = self.highest_priority(self.irr & !self.imr)?;
        let mut in_service = self.isr;
        if self.special_mask {
            in_service &= !self.imr;
        }
        if self.special_fully_nested && self.is_master {
            in_service &= !(1 << CASCADE_INPUT);
        }
        let current = self.highest_priority(in_service).unwrap_or(8);
        (request < current).then(|| self.input_of_priority(request))
    }

    fn set_input(&mut self, input: u8, level: bool) {
        let bit = 1u8 << (input & 7);
        if self.elcr & bit != 0 {
            // Level-triggered: the request follows the line.
            if level {
                self.irr |= bit;
            } else {
                self.irr &= !bit;
            }
        } else if level && self.input_level & bit == 0 {
            self.irr |= bit;
        }
        if level {
            self.input_level |= bit;
        } else {
            self.input_level &= !bit;
        }
    }

    /// The INTA bookkeeping for `input`.
    fn acknowledge(&mut self, input: u8) {
        let bit = 1u8 << (input & 7);
        if self.auto_eoi {
            if self.rotate_on_auto_eoi {
                self.priority_add = (input + 1) & 7;
            }
        } else {
            self.isr |= bit;
        }
        // A level-triggered request stays until the device drops the line.
        if self.elcr & bit == 0 {
            self.irr &= !bit;
        }
    }

    /// ICW1: start initialisation. ELCR is a chipset register and survives.
    fn start_init(&mut self, icw1: u8) {
        *self = Self {
            elcr: self.elcr,
            irr: self.irr & self.elcr,
            init: InitStep::Icw2,
            expect_icw4: icw1 & 0x01 != 0,
            single: icw1 & 0x02 != 0,
            ..Self::new(self.is_master)
        };
        if icw1 & 0x08 != 0 {
            log::debug!("pic: ICW1 level-triggered mode ignored; the ELCR decides");
        }
    }

    fn write_command(&mut self, value: u8) {
        if value & 0x10 != 0 {
            self.start_init(value);
        } else if value & 0x08 != 0 {
            self.write_ocw3(value);
        } else {
            self.write_ocw2(value);
        }
    }

    fn write_ocw2(&mut self, value: u8) {
        let level = value & 7;
        match value >> 5 {
            0b000 => self.rotate_on_auto_eoi = false,
            0b100 => self.rotate_on_auto_eoi = true,
            // Non-specific EOI (optionally rotating): clear the highest-priority ISR bit.
            command @ (0b001 | 0b101) => {
                if let Some(priority) = self.highest_priority(self.isr) {
                    let input = self.input_of_priority(priority);
                    self.isr &= !(1 << input);
                    if command == 0b101 {
                        self.priority_add = (input + 1) & 7;
                    }
                }
            }
            0b011 => self.isr &= !(1 << level),
            0b110 => self.priority_add = (level + 1) & 7,
            0b111 => {
                self.isr &= !(1 << level);
                self.priority_add = (level + 1) & 7;
            }
            // 0b010: no operation.
            _ => {}
        }
    }

    fn write_ocw3(&mut self, value: u8) {
        if value & 0x04 != 0 {
            self.poll = true;
        }
        if value & 0x02 != 0 {
            self.read_isr = value & 0x01 != 0;
        }
        if value & 0x40 != 0 {
            self.special_mask = value & 0x20 != 0;
        }
    }

    fn write_data(&mut self, value: u8) {
        self.init = match self.init {
            InitStep::Ready => {
                self.imr = value;
                InitStep::Ready
            }
            InitStep::Icw2 => {
                self.vector_base = value & 0xF8;
                match (self.single, self.expect_icw4) {
                    (false, _) => InitStep::Icw3,
                    (true, true) => InitStep::Icw4,
                    (true, false) => InitStep::Ready,
                }
            }
            // The cascade wiring is fixed on a PC; ICW3 only has to be consumed.
            InitStep::Icw3 if self.expect_icw4 => InitStep::Icw4,
            InitStep::Icw3 => InitStep::Ready,
            InitStep::Icw4 => {
                if value & 0x01 == 0 {
                    log::debug!("pic: ICW4 selects MCS-80 mode; vectors stay 8086-style");
                }
                self.auto_eoi = value & 0x02 != 0;
                self.special_fully_nested = value & 0x10 != 0;
                InitStep::Ready
            }
        };
    }

    /// A poll-mode read: acknowledges the pending input and returns `0x80 | input`,
    /// or 0 when nothing is pending.
    fn poll_read(&mut self) -> u8 {
        self.poll = false;
        match self.pending_input() {
            Some(input) => {
                self.acknowledge(input);
                0x80 | input
            }
            None => 0,
        }
    }

    fn read_command(&mut self) -> u8 {
        if self.poll {
            self.poll_read()
        } else if self.read_isr {
            self.isr
        } else {
            self.irr
        }
    }

    fn read_data(&mut self) -> u8 {
        if self.poll {
            self.poll_read()
        } else {
            self.imr
        }
    }
}

/// Both chips; every mutation ends with [`PicState::update_cascade`].
#[derive(Debug, Clone)]
struct PicState {
    master: Chip,
    slave: Chip,
}

impl PicState {
    fn new() -> Self {
        Self {
            master: Chip::new(true),
            slave: Chip::new(false),
        }
    }

    /// Propagates the slave's INT output to the master's IR2.
    fn update_cascade(&mut self) {
        let slave_out = self.slave.pending_input().is_some();
        self.master.set_input(CASCADE_INPUT, slave_out);
    }

    fn set_line(&mut self, line: u32, level: bool) {
        match line {
            0..8 => self.master.set_input(line as u8, level),
            8..LINES => self.slave.set_input((line - 8) as u8, level),
            _ => return,
        }
        self.update_cascade();
    }

    /// The INTA cycle: the vector the CPU receives.
    fn interrupt_acknowledge(&mut self) -> u8 {
        let vector = match self.master.pending_input() {
            Some(CASCADE_INPUT) => {
                let vector = match self.slave.pending_input() {
                    Some(input) => {
                        self.slave.acknowledge(input);
                        self.slave.vector_base | input
                    }
                    // The slave's request went away between INT and INTA.
                    None => self.slave.vector_base | SPURIOUS_INPUT,
                };
                self.master.acknowledge(CASCADE_INPUT);
                vector
            }
            Some(input) => {
                self.master.acknowledge(input);
                self.master.vector_base | input
            }
            None => self.master.vector_base | SPURIOUS_INPUT,
        };
        self.update_cascade();
        vector
    }

    fn read_port(&mut self, port: u16) -> u8 {
        let value = match port {
            MASTER_COMMAND => self.master.read_command(),
            MASTER_DATA => self.master.read_data(),
            SLAVE_COMMAND => self.slave.read_command(),
            SLAVE_DATA => self.slave.read_data(),
            ELCR_MASTER => self.master.elcr,
            ELCR_SLAVE => self.slave.elcr,
            _ => return 0xFF,
        };
        self.update_cascade();
        value
    }

    fn write_port(&mut self, port: u16, value: u8) {
        match port {
            MASTER_COMMAND => self.master.write_command(value),
            MASTER_DATA => self.master.write_data(value),
            SLAVE_COMMAND => self.slave.write_command(value),
            SLAVE_DATA => self.slave.write_data(value),
            ELCR_MASTER => self.master.elcr = value & self.master.elcr_mask,
            ELCR_SLAVE => self.slave.elcr = value & self.slave.elcr_mask,
            _ => return,
        }
        self.update_cascade();
    }
}

/// One input line as [`Pic::line_state`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineState {
    /// The IRR bit is set: a request waits for INTA.
    pub requested: bool,
    /// The IMR bit is set.
    pub masked: bool,
}

/// Called when a device line makes the INT output go high, so a running vCPU can be kicked.
type Notifier = Box<dyn Fn() + Send + Sync>;

/// The 8259A pair. Shared as `Arc<Pic>` between the devices (through [`IrqSink`]), the
/// port bus ([`PicPorts`]) and the vCPU loop.
pub struct Pic {
    state: Mutex<PicState>,
    notifier: OnceLock<Notifier>,
}

impl fmt::Debug for Pic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pic")
            .field("state", &*self.lock())
            .field("notifier", &self.notifier.get().is_some())
            .finish()
    }
}

impl Default for Pic {
    fn default() -> Self {
        Self {
            state: Mutex::new(PicState::new()),
            notifier: OnceLock::new(),
        }
    }
}

impl Pic {
    /// A pair in its power-on state (uninitialised, nothing masked, all edge-triggered).
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, PicState> {
        // The state stays consistent even if a holder panicked, so poisoning is ignored.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Installs the callback run (outside the lock) whenever a device line raises the INT
    /// output, typically a vCPU kick. Only the first call takes effect.
    pub fn set_notifier(&self, notify: impl Fn() + Send + Sync + 'static) {
        if self.notifier.set(Box::new(notify)).is_err() {
            log::warn!("pic: notifier already installed; ignoring the new one");
        }
    }

    /// Returns both chips to their power-on state (machine reset). Line levels are kept so
    /// that level-triggered devices are seen again.
    pub fn reset(&self) {
        let mut state = self.lock();
        let levels = (state.master.input_level, state.slave.input_level);
        *state = PicState::new();
        state.master.input_level = levels.0;
        state.slave.input_level = levels.1;
    }

    /// Whether `line` (0-15) has a request waiting in its chip's IRR for an INTA cycle,
    /// and whether the IMR masks it. Lines that do not exist read as neither. A device
    /// that re-delivers late edges (the PIT) asks this before each one: an edge on a
    /// latched request would merge into it.
    pub fn line_state(&self, line: u32) -> LineState {
        let state = self.lock();
        let (chip, input) = match line {
            0..8 => (&state.master, line),
            8..LINES => (&state.slave, line - 8),
            _ => return LineState::default(),
        };
        let bit = 1u8 << input;
        LineState {
            requested: chip.irr & bit != 0,
            masked: chip.imr & bit != 0,
        }
    }

    /// The master's INT output: an unmasked request outranks everything in service.
    pub fn has_interrupt(&self) -> bool {
        self.lock().master.pending_input().is_some()
    }

    /// Runs an INTA cycle if the INT output is high, returning the vector to inject, or
    /// `None` when there is nothing to deliver. Checking and acknowledging under one lock
    /// means a line dropping in between cannot turn into a spurious interrupt; a slave
    /// request vanishing behind a latched cascade edge still yields spurious IRQ15.
    pub fn acknowledge(&self) -> Option<u8> {
        let mut state = self.lock();
        state.master.pending_input()?;
        Some(state.interrupt_acknowledge())
    }

    /// The raw INTA cycle as the hardware runs it: with nothing pending it returns the
    /// spurious IR7 vector of the master (or of the slave, IRQ15) and sets no ISR bit.
    pub fn interrupt_acknowledge(&self) -> u8 {
        self.lock().interrupt_acknowledge()
    }

    /// A view of the pair's ports for the port bus.
    pub fn ports(self: &Arc<Self>) -> PicPorts {
        PicPorts(self.clone())
    }

    fn read_port(&self, port: u16) -> u8 {
        self.lock().read_port(port)
    }

    fn write_port(&self, port: u16, value: u8) {
        self.lock().write_port(port, value);
    }
}

impl IrqSink for Pic {
    /// Lines 0-15; line 2 is the cascade, so (as on a PC/AT bus) it is delivered as IRQ 9.
    /// Other lines are ignored.
    fn set_level(&self, line: u32, level: bool) {
        let line = if line == u32::from(CASCADE_INPUT) {
            ISA_IRQ2_REDIRECT
        } else {
            line
        };
        if line >= LINES {
            log::debug!("pic: ignoring level change on nonexistent line {line}");
            return;
        }
        let raised = {
            let mut state = self.lock();
            let before = state.master.pending_input().is_some();
            state.set_line(line, level);
            !before && state.master.pending_input().is_some()
        };
        if raised {
            if let Some(notify) = self.notifier.get() {
                notify();
            }
        }
    }
}

/// The pair's I/O ports (0x20-0x21, 0xA0-0xA1, 0x4D0-0x4D1) on the port bus.
///
/// Wider accesses are split into consecutive byte accesses, as the ISA bus does for an
/// 8-bit device; bytes that land outside the pair's ports read as 0xFF and are dropped.
#[derive(Debug, Clone)]
pub struct PicPorts(Arc<Pic>);

impl PicPorts {
    /// The ports of `pic`.
    pub fn new(pic: Arc<Pic>) -> Self {
        Self(pic)
    }
}

/// The port `offset` bytes after `addr`, if it is one of the pair's ports.
fn pic_port(addr: u64, offset: usize) -> Option<u16> {
    let port = u16::try_from(addr.checked_add(offset as u64)?).ok()?;
    matches!(
        port,
        MASTER_COMMAND | MASTER_DATA | SLAVE_COMMAND | SLAVE_DATA | ELCR_MASTER | ELCR_SLAVE
    )
    .then_some(port)
}

impl BusDevice for PicPorts {
    fn read(&mut self, addr: u64, data: &mut [u8]) {
        for (offset, byte) in data.iter_mut().enumerate() {
            *byte = pic_port(addr, offset).map_or(0xFF, |port| self.0.read_port(port));
        }
    }

    fn write(&mut self, addr: u64, data: &[u8]) {
        for (offset, &byte) in data.iter().enumerate() {
            if let Some(port) = pic_port(addr, offset) {
                self.0.write_port(port, byte);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn outb(ports: &mut PicPorts, port: u16, value: u8) {
        ports.write(u64::from(port), &[value]);
    }

    fn inb(ports: &mut PicPorts, port: u16) -> u8 {
        let mut b = [0u8];
        ports.read(u64::from(port), &mut b);
        b[0]
    }

    /// Linux `init_8259A(0)` with `ISA_IRQ_VECTOR(0)` = 0x30.
    fn linux_init(ports: &mut PicPorts) {
        outb(ports, MASTER_DATA, 0xFF);
        outb(ports, SLAVE_DATA, 0xFF);
        outb(ports, MASTER_COMMAND, 0x11);
        outb(ports, MASTER_DATA, 0x30);
        outb(ports, MASTER_DATA, 1 << CASCADE_INPUT);
        outb(ports, MASTER_DATA, 0x01);
        outb(ports, SLAVE_COMMAND, 0x11);
        outb(ports, SLAVE_DATA, 0x38);
        outb(ports, SLAVE_DATA, CASCADE_INPUT);
        outb(ports, SLAVE_DATA, 0x01);
        outb(ports, MASTER_DATA, 0xFB);
        outb(ports, SLAVE_DATA, 0xFF);
    }

    /// SeaBIOS `pic_setup`-style init, master and slave writes interleaved.
    fn bios_init(ports: &mut PicPorts) {
        outb(ports, MASTER_COMMAND, 0x11);
        outb(ports, SLAVE_COMMAND, 0x11);
        outb(ports, MASTER_DATA, 0x08);
        outb(ports, SLAVE_DATA, 0x70);
        outb(ports, MASTER_DATA, 0x04);
        outb(ports, SLAVE_DATA, 0x02);
        outb(ports, MASTER_DATA, 0x01);
        outb(ports, SLAVE_DATA, 0x01);
        outb(ports, MASTER_DATA, 0x00);
        outb(ports, SLAVE_DATA, 0x00);
    }

    fn setup(init: fn(&mut PicPorts)) -> (Arc<Pic>, PicPorts) {
        let pic = Pic::new();
        let mut ports = pic.ports();
        init(&mut ports);
        (pic, ports)
    }

    fn pulse(pic: &Pic, line: u32) {
        pic.set_level(line, true);
        pic.set_level(line, false);
    }

    #[test]
    fn line_state_reports_the_request_latch_and_the_mask() {
        let (pic, mut ports) = setup(bios_init);
        outb(&mut ports, SLAVE_DATA, 0x10); // mask IRQ12
        assert_eq!(pic.line_state(0), LineState::default());
        pulse(&pic, 0);
        let latched = LineState {
            requested: true,
            masked: false,
        };
        assert_eq!(pic.line_state(0), latched);
        assert_eq!(pic.acknowledge(), Some(0x08));
        assert_eq!(pic.line_state(0), LineState::default(), "INTA took it");
        pulse(&pic, 12);
        assert_eq!(
            pic.line_state(12),
            LineState {
                requested: true,
                masked: true
            }
        );
        assert_eq!(pic.line_state(16), LineState::default());
        assert_eq!(pic.line_state(u32::MAX), LineState::default());
    }

    #[test]
    fn linux_probe_reads_back_the_master_mask() {
        let (pic, mut ports) = setup(linux_init);
        // probe_8259A
        outb(&mut ports, SLAVE_DATA, 0xFF);
        outb(&mut ports, MASTER_DATA, 0xFB);
        assert_eq!(inb(&mut ports, MASTER_DATA), 0xFB);
        assert_eq!(inb(&mut ports, SLAVE_DATA), 0xFF);
        assert!(!pic.has_interrupt());
        // Unmask the timer; IRQ0 arrives as vector 0x30.
        outb(&mut ports, MASTER_DATA, 0xFA);
        pulse(&pic, 0);
        assert!(pic.has_interrupt());
        assert_eq!(pic.acknowledge(), Some(0x30));
        assert!(!pic.has_interrupt());
    }

    #[test]
    fn linux_mask_and_ack_uses_specific_eoi() {
        let (pic, mut ports) = setup(linux_init);
        outb(&mut ports, MASTER_DATA, 0x00);
        outb(&mut ports, SLAVE_DATA, 0x00);
        pulse(&pic, 1);
        assert_eq!(pic.acknowledge(), Some(0x31));
        outb(&mut ports, MASTER_COMMAND, 0x0B);
        assert_eq!(inb(&mut ports, MASTER_COMMAND), 0x02, "ISR has IRQ1");
        outb(&mut ports, MASTER_COMMAND, 0x0A);
        // mask_and_ack_8259A for IRQ1: mask, specific EOI 0x61.
        outb(&mut ports, MASTER_DATA, 0x02);
        outb(&mut ports, MASTER_COMMAND, 0x61);
        outb(&mut ports, MASTER_COMMAND, 0x0B);
        assert_eq!(inb(&mut ports, MASTER_COMMAND), 0x00);

        // IRQ 14 on the slave: 0x66 to the slave, then 0x62 to the master.
        pulse(&pic, 14);
        assert_eq!(pic.acknowledge(), Some(0x3E));
        outb(&mut ports, SLAVE_COMMAND, 0x0B);
        assert_eq!(inb(&mut ports, SLAVE_COMMAND), 0x40);
        assert_eq!(inb(&mut ports, MASTER_COMMAND), 0x04);
        outb(&mut ports, SLAVE_COMMAND, 0x60 + (14 & 7));
        outb(&mut ports, MASTER_COMMAND, 0x60 + 2);
        assert_eq!(inb(&mut ports, SLAVE_COMMAND), 0x00);
        assert_eq!(inb(&mut ports, MASTER_COMMAND), 0x00);
    }

    #[test]
    fn bios_init_and_non_specific_eoi_follow_priority() {
        let (pic, mut ports) = setup(bios_init);
        pulse(&pic, 4);
        pulse(&pic, 1);
        pulse(&pic, 0);
        assert_eq!(inb(&mut ports, MASTER_COMMAND), 0x13, "IRR read by default");
        assert_eq!(pic.acknowledge(), Some(0x08));
        // IRQ1 and IRQ4 wait for IRQ0's EOI.
        assert!(!pic.has_interrupt());
        outb(&mut ports, MASTER_COMMAND, 0x20);
        assert_eq!(pic.acknowledge(), Some(0x09));
        // A higher-priority request nests inside a lower one.
        pulse(&pic, 0);
        assert_eq!(pic.acknowledge(), Some(0x08));
        outb(&mut ports, MASTER_COMMAND, 0x0B);
        assert_eq!(inb(&mut ports, MASTER_COMMAND), 0x03);
        outb(&mut ports, MASTER_COMMAND, 0x20); // ends IRQ0, the highest in service
        assert_eq!(inb(&mut ports, MASTER_COMMAND), 0x02);
        outb(&mut ports, MASTER_COMMAND, 0x20);
        assert_eq!(pic.acknowledge(), Some(0x0C));
        outb(&mut ports, MASTER_COMMAND, 0x20);
        assert_eq!(pic.acknowledge(), None);
    }

    #[test]
    fn slave_interrupts_cascade_through_master_ir2() {
        let (pic, mut ports) = setup(bios_init);
        pulse(&pic, 12);
        assert!(pic.has_interrupt());
        outb(&mut ports, MASTER_COMMAND, 0x0A);
        assert_eq!(inb(&mut ports, MASTER_COMMAND), 0x04, "master IRR2 latched");
        assert_eq!(pic.acknowledge(), Some(0x74));
        outb(&mut ports, MASTER_COMMAND, 0x0B);
        outb(&mut ports, SLAVE_COMMAND, 0x0B);
        assert_eq!(
            inb(&mut ports, MASTER_COMMAND),
            0x04,
            "master IR2 in service"
        );
        assert_eq!(inb(&mut ports, SLAVE_COMMAND), 0x10, "slave IR4 in service");
        // IRQ 1 outranks the cascade only by priority; IRQ 3 is blocked by IR2.
        pulse(&pic, 3);
        assert!(!pic.has_interrupt());
        pulse(&pic, 1);
        assert_eq!(pic.acknowledge(), Some(0x09));
        outb(&mut ports, MASTER_COMMAND, 0x20);
        outb(&mut ports, SLAVE_COMMAND, 0x20);
        outb(&mut ports, MASTER_COMMAND, 0x20);
        assert_eq!(pic.acknowledge(), Some(0x0B));
        // The ISA bus's IRQ2 pin reaches the slave as IRQ 9.
        outb(&mut ports, MASTER_COMMAND, 0x20);
        pulse(&pic, 2);
        assert_eq!(pic.acknowledge(), Some(0x71));
    }

    #[test]
    fn masked_lines_wait_until_unmasked() {
        let (pic, mut ports) = setup(bios_init);
        outb(&mut ports, MASTER_DATA, 0x01);
        pulse(&pic, 0);
        assert!(!pic.has_interrupt());
        outb(&mut ports, MASTER_COMMAND, 0x0A);
        assert_eq!(inb(&mut ports, MASTER_COMMAND), 0x01, "still requested");
        outb(&mut ports, MASTER_DATA, 0x00);
        assert_eq!(pic.acknowledge(), Some(0x08));
        // Masking the slave's line hides it from the master too.
        outb(&mut ports, MASTER_COMMAND, 0x20);
        outb(&mut ports, SLAVE_DATA, 0x10);
        pulse(&pic, 12);
        assert!(!pic.has_interrupt());
        outb(&mut ports, SLAVE_DATA, 0x00);
        assert_eq!(pic.acknowledge(), Some(0x74));
    }

    #[test]
    fn edge_inputs_latch_once_and_level_inputs_follow_the_line() {
        let (pic, mut ports) = setup(bios_init);
        // Edge: holding the line high gives one interrupt.
        pic.set_level(3, true);
        assert_eq!(pic.acknowledge(), Some(0x0B));
        outb(&mut ports, MASTER_COMMAND, 0x20);
        pic.set_level(3, true);
        assert_eq!(pic.acknowledge(), None);
        pic.set_level(3, false);

        // Level (ELCR): re-delivered after EOI while high, gone once low.
        outb(&mut ports, ELCR_SLAVE, 0xFF);
        assert_eq!(inb(&mut ports, ELCR_SLAVE), 0xDE, "IRQ 8 and 13 stay edge");
        outb(&mut ports, ELCR_MASTER, 0xFF);
        assert_eq!(inb(&mut ports, ELCR_MASTER), 0xF8);
        pic.set_level(11, true);
        assert_eq!(pic.acknowledge(), Some(0x73));
        outb(&mut ports, SLAVE_COMMAND, 0x20);
        outb(&mut ports, MASTER_COMMAND, 0x20);
        assert_eq!(pic.acknowledge(), Some(0x73));
        // The device is serviced (line low) before the handler's EOIs.
        pic.set_level(11, false);
        outb(&mut ports, SLAVE_COMMAND, 0x20);
        outb(&mut ports, MASTER_COMMAND, 0x20);
        assert!(!pic.has_interrupt());
        // A level request dropped before INTA leaves nothing behind.
        pic.set_level(5, true);
        pic.set_level(5, false);
        assert!(!pic.has_interrupt());
    }

    #[test]
    fn vanished_requests_give_spurious_irq7_and_irq15() {
        let (pic, mut ports) = setup(bios_init);
        assert_eq!(pic.interrupt_acknowledge(), 0x0F);
        outb(&mut ports, MASTER_COMMAND, 0x0B);
        assert_eq!(
            inb(&mut ports, MASTER_COMMAND),
            0x00,
            "no ISR bit for spurious"
        );

        // The slave's edge latches master IR2; masking on the slave then leaves
        // the master with a cascade request and the slave with nothing.
        pulse(&pic, 10);
        outb(&mut ports, SLAVE_DATA, 0x04);
        assert!(pic.has_interrupt());
        assert_eq!(pic.acknowledge(), Some(0x77));
        outb(&mut ports, SLAVE_COMMAND, 0x0B);
        assert_eq!(inb(&mut ports, SLAVE_COMMAND), 0x00);
        assert_eq!(
            inb(&mut ports, MASTER_COMMAND),
            0x04,
            "master IR2 still acknowledged"
        );
    }

    #[test]
    fn poll_mode_acknowledges_through_a_port_read() {
        let (pic, mut ports) = setup(bios_init);
        outb(&mut ports, MASTER_DATA, 0xBF);
        pic.set_level(6, true);
        outb(&mut ports, MASTER_COMMAND, 0x0C);
        assert_eq!(inb(&mut ports, MASTER_COMMAND), 0x86);
        outb(&mut ports, MASTER_COMMAND, 0x0B);
        assert_eq!(inb(&mut ports, MASTER_COMMAND), 0x40, "poll sets ISR");
        assert_eq!(
            inb(&mut ports, MASTER_DATA),
            0xBF,
            "one read only, then IMR again"
        );
        outb(&mut ports, MASTER_COMMAND, 0x0C);
        assert_eq!(inb(&mut ports, MASTER_DATA), 0x00, "nothing pending");
    }

    #[test]
    fn auto_eoi_sets_no_isr_bit() {
        let (pic, mut ports) = setup(|p| {
            outb(p, MASTER_COMMAND, 0x11);
            outb(p, MASTER_DATA, 0x20);
            outb(p, MASTER_DATA, 0x04);
            outb(p, MASTER_DATA, 0x03);
        });
        pulse(&pic, 4);
        pulse(&pic, 5);
        assert_eq!(pic.acknowledge(), Some(0x24));
        assert_eq!(pic.acknowledge(), Some(0x25), "no EOI needed");
        outb(&mut ports, MASTER_COMMAND, 0x0B);
        assert_eq!(inb(&mut ports, MASTER_COMMAND), 0x00);
    }

    #[test]
    fn rotation_changes_priority_order() {
        let (pic, mut ports) = setup(bios_init);
        // Set priority: IR4 lowest, so IR5 is highest.
        outb(&mut ports, MASTER_COMMAND, 0xC4);
        pulse(&pic, 0);
        pulse(&pic, 6);
        assert_eq!(pic.acknowledge(), Some(0x0E));
        // Rotate on non-specific EOI: IR6 becomes lowest, IR7 highest, then IR0.
        outb(&mut ports, MASTER_COMMAND, 0xA0);
        pulse(&pic, 7);
        assert_eq!(pic.acknowledge(), Some(0x0F));
        // Rotate on specific EOI of IR7 makes IR0 the highest again.
        outb(&mut ports, MASTER_COMMAND, 0xE7);
        pulse(&pic, 1);
        assert_eq!(pic.acknowledge(), Some(0x08));
    }

    #[test]
    fn special_mask_mode_lets_lower_levels_through() {
        let (pic, mut ports) = setup(bios_init);
        pulse(&pic, 0);
        assert_eq!(pic.acknowledge(), Some(0x08));
        pulse(&pic, 5);
        assert!(!pic.has_interrupt());
        outb(&mut ports, MASTER_DATA, 0x01);
        outb(&mut ports, MASTER_COMMAND, 0x68);
        assert_eq!(pic.acknowledge(), Some(0x0D));
        outb(&mut ports, MASTER_COMMAND, 0x48);
        pulse(&pic, 6);
        assert!(!pic.has_interrupt(), "special mask off again");
    }

    #[test]
    fn notifier_runs_when_a_line_raises_int() {
        let (pic, _ports) = setup(bios_init);
        let kicks = Arc::new(AtomicUsize::new(0));
        let counter = kicks.clone();
        pic.set_notifier(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        pulse(&pic, 3);
        pulse(&pic, 4); // INT already high
        pic.set_level(99, true);
        assert_eq!(kicks.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn odd_accesses_never_panic() {
        let (pic, mut ports) = setup(bios_init);
        // A word write to 0x20 is split: OCW2 to 0x20, IMR to 0x21.
        ports.write(0x20, &[0x20, 0x5A]);
        assert_eq!(inb(&mut ports, MASTER_DATA), 0x5A);
        let mut word = [0u8; 4];
        ports.read(0x21, &mut word);
        assert_eq!(word, [0x5A, 0xFF, 0xFF, 0xFF]);
        ports.read(u64::MAX, &mut word);
        ports.write(u64::MAX, &[1, 2, 3]);
        ports.write(0x4D1, &[]);
        for value in 0..=255u8 {
            for port in [0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1] {
                ports.write(port, &[value]);
                ports.read(port, &mut word);
            }
            pic.set_level(u32::from(value), true);
            let _ = pic.interrupt_acknowledge();
        }
        pic.reset();
        assert!(!pic.has_interrupt());
    }
}
