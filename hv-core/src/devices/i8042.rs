//! The i8042 keyboard controller at ports 0x60 (data) and 0x64 (status/command).
//!
//! It owns the PS/2 keyboard and mouse, moves their bytes one at a time into its output
//! buffer, optionally translates keyboard bytes to set 1, and signals each latched byte
//! with an edge on IRQ1 or IRQ12 (the PIC sees these ISA lines as edge-triggered, so the
//! line drops when the guest reads port 0x60 and rises again for the next byte). The
//! behaviour follows the device notes §1: what Linux's i8042 probe, SeaBIOS and DOS-era
//! programs rely on. docs/input.md lists where it differs from QEMU's `pckbd.c`, and why
//! (the `i8042_probe` test guest runs on both to check).
//!
//! For a live overlay the controller can report each step of a keystroke's journey to an
//! observer ([`KbdEvent`]); without one nothing is allocated or formatted.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::bus::BusDevice;
use crate::clock::Clock;
use crate::devices::keymap::Key;
use crate::devices::ps2_keyboard::Ps2Keyboard;
use crate::devices::ps2_mouse::{MouseInput, Ps2Mouse};
use crate::devices::scancode::Translator;
use crate::devices::system::{SystemControl, SystemRequest};
use crate::irq::IrqLine;

/// The data port.
pub const DATA_PORT: u64 = 0x60;
/// The status (read) and command (write) port.
pub const COMMAND_PORT: u64 = 0x64;

/// Status register bits (Linux `include/linux/i8042.h` names).
mod status {
    /// Output buffer full.
    pub const OBF: u8 = 0x01;
    /// System flag: set by the self test or mirrored from CTR bit 2.
    pub const SYS: u8 = 0x04;
    /// The last write went to the command port.
    pub const CMDDAT: u8 = 0x08;
    /// Keyboard not inhibited (keylock off); Linux warns when clear.
    pub const KEYLOCK: u8 = 0x10;
    /// The output buffer byte came from the aux port.
    pub const AUXDATA: u8 = 0x20;
}

/// Controller configuration byte (CTR) bits.
pub mod ctr {
    /// Raise IRQ1 for keyboard bytes.
    pub const KBDINT: u8 = 0x01;
    /// Raise IRQ12 for aux bytes.
    pub const AUXINT: u8 = 0x02;
    /// System flag.
    pub const SYS: u8 = 0x04;
    /// Keyboard clock disabled.
    pub const KBDDIS: u8 = 0x10;
    /// Aux clock disabled.
    pub const AUXDIS: u8 = 0x20;
    /// Translate keyboard bytes from set 2 to set 1.
    pub const XLATE: u8 = 0x40;
}

/// What a BIOS leaves behind (SeaBIOS): translation on, aux off, keyboard interrupts on.
pub const POWER_ON_CTR: u8 = ctr::XLATE | ctr::AUXDIS | ctr::KBDINT;

/// Output-port bit 0: low holds the CPU in reset.
const OUTPORT_RESET_N: u8 = 0x01;
/// Output-port bit 1: the A20 gate.
const OUTPORT_A20: u8 = 0x02;
/// Output-port bits 4/5: keyboard / aux output buffer full.
const OUTPORT_KBD_OBF: u8 = 0x10;
const OUTPORT_AUX_OBF: u8 = 0x20;
/// Input port: bit 7 set = keyboard not inhibited.
const INPUT_PORT: u8 = 0x80;

/// Where a byte in the output buffer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteSource {
    /// The PS/2 keyboard.
    Keyboard,
    /// The aux (mouse) port.
    Aux,
    /// The controller itself (command replies, `D2`/`D3` loopback).
    Controller,
}

/// Which interrupt line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IrqKind {
    /// IRQ1, keyboard and controller bytes.
    Keyboard,
    /// IRQ12, aux bytes.
    Aux,
}

/// One step of a keystroke's (or any byte's) path through the controller, for overlays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KbdEvent {
    /// The host pressed or released a key; `set2` are the key's set 2 bytes and `queued`
    /// whether the keyboard accepted them (false while scanning is off or when full).
    HostKey {
        /// The key.
        key: Key,
        /// Pressed (true) or released.
        pressed: bool,
        /// Its set 2 make or break sequence (empty for the Pause release).
        set2: Vec<u8>,
        /// Whether the keyboard queued it.
        queued: bool,
    },
    /// The keyboard repeated a held key (typematic).
    Typematic {
        /// The repeated key.
        key: Key,
    },
    /// A byte entered the output buffer.
    Latched {
        /// The byte the guest will read.
        byte: u8,
        /// Where it came from.
        source: ByteSource,
        /// The keyboard's set 2 byte it was translated from, when translation is on.
        translated_from: Option<u8>,
    },
    /// An interrupt line went high.
    IrqRaised {
        /// Which line.
        line: IrqKind,
    },
    /// The mouse cut a packet from accumulated host input (stream mode or `EB`).
    MousePacket {
        /// Its 3 or 4 bytes.
        bytes: Vec<u8>,
    },
    /// The guest read the output buffer through port 0x60.
    GuestRead {
        /// The byte read.
        byte: u8,
        /// Its source (`None` when the buffer was empty and the last byte was repeated).
        source: Option<ByteSource>,
    },
    /// The byte the guest just read ([`KbdEvent::GuestRead`]) was part of a mouse
    /// packet, not a command reply.
    MousePacketRead {
        /// The byte read.
        byte: u8,
    },
}

/// Receives [`KbdEvent`]s.
pub type KbdObserver = Box<dyn FnMut(KbdEvent) + Send>;

/// The byte in the output buffer.
#[derive(Debug, Clone, Copy)]
struct Latched {
    byte: u8,
    source: ByteSource,
    /// Sets AUXDATA and routes to IRQ12 (aux bytes and `D3` loopback).
    aux: bool,
    /// Part of a mouse motion packet.
    packet: bool,
}

/// A controller command waiting for its data byte on port 0x60.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PendingWrite {
    /// `60`-`7F`: internal RAM (byte 0 is the CTR).
    Ram(u8),
    /// `D1`: the output port.
    OutputPort,
    /// `D2`: loop back as if from the keyboard.
    KeyboardLoopback,
    /// `D3`: loop back as if from the aux port.
    AuxLoopback,
    /// `D4`: send to the mouse.
    ToAux,
}

/// The i8042 with its keyboard and mouse.
pub struct I8042 {
    /// Internal RAM; byte 0 is the controller configuration byte.
    ram: [u8; 32],
    sys_flag: bool,
    last_write_was_command: bool,
    output_port: u8,
    pending_write: Option<PendingWrite>,
    /// A controller reply waiting for the output buffer (wins over device data).
    controller_reply: Option<Latched>,
    output: Option<Latched>,
    /// Returned when the guest reads an empty buffer (EMM386 relies on this).
    last_byte: u8,
    translator: Translator,
    keyboard: Ps2Keyboard,
    mouse: Ps2Mouse,
    kbd_irq: IrqLine,
    aux_irq: IrqLine,
    kbd_level: bool,
    aux_level: bool,
    system: Arc<SystemControl>,
    observer: Option<KbdObserver>,
}

impl fmt::Debug for I8042 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("I8042")
            .field("ctr", &format_args!("{:#04x}", self.ctr()))
            .field("output", &self.output)
            .field("pending_write", &self.pending_write)
            .field("keyboard", &self.keyboard)
            .field("mouse", &self.mouse)
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl I8042 {
    /// A controller as a BIOS leaves it (CTR = [`POWER_ON_CTR`]), with its keyboard and
    /// mouse. `clock` drives typematic repeat.
    pub fn new(
        kbd_irq: IrqLine,
        aux_irq: IrqLine,
        system: Arc<SystemControl>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let mut ram = [0; 32];
        ram[0] = POWER_ON_CTR;
        let a20 = if system.a20() { OUTPORT_A20 } else { 0 };
        Self {
            ram,
            // The BIOS's self test (0xAA) set it, as SeaBIOS leaves it under QEMU.
            sys_flag: true,
            last_write_was_command: true,
            output_port: 0xCD | a20,
            pending_write: None,
            controller_reply: None,
            output: None,
            last_byte: 0,
            translator: Translator::new(),
            keyboard: Ps2Keyboard::new(clock.clone()),
            mouse: Ps2Mouse::new(clock),
            kbd_irq,
            aux_irq,
            kbd_level: false,
            aux_level: false,
            system,
            observer: None,
        }
    }

    /// Installs the keystroke-journey observer (replacing any previous one).
    pub fn set_observer(&mut self, observer: KbdObserver) {
        self.observer = Some(observer);
        self.mouse.set_packet_log(true);
    }

    /// Removes the observer.
    pub fn clear_observer(&mut self) {
        self.observer = None;
        self.mouse.set_packet_log(false);
    }

    /// The controller configuration byte.
    pub fn ctr(&self) -> u8 {
        self.ram[0]
    }

    /// Whether keyboard bytes are translated to set 1 (CTR bit 6).
    pub fn translating(&self) -> bool {
        self.ctr() & ctr::XLATE != 0
    }

    /// True when the guest has read every keyboard byte: nothing in the output buffer and
    /// nothing queued in the keyboard. The typing queue waits for this between keys.
    pub fn is_idle(&self) -> bool {
        self.output.is_none() && self.controller_reply.is_none() && !self.keyboard.has_output()
    }

    /// The keyboard, for inspection (LEDs, scancode set).
    pub fn keyboard(&self) -> &Ps2Keyboard {
        &self.keyboard
    }

    /// The mouse, for inspection.
    pub fn mouse(&self) -> &Ps2Mouse {
        &self.mouse
    }

    /// A host key went down or up.
    pub fn key_event(&mut self, key: Key, pressed: bool) {
        let queued = self.keyboard.key_event(key, pressed);
        self.notify(|| {
            let set2 = if pressed {
                Some(key.set2_make())
            } else {
                key.set2_break()
            };
            KbdEvent::HostKey {
                key,
                pressed,
                set2: set2.unwrap_or_default().to_vec(),
                queued,
            }
        });
        self.refill();
    }

    /// Focus loss: releases every held key.
    pub fn release_all(&mut self) {
        for (key, queued) in self.keyboard.release_all() {
            self.notify(|| KbdEvent::HostKey {
                key,
                pressed: false,
                set2: key.set2_break().unwrap_or_default().to_vec(),
                queued,
            });
        }
        self.refill();
    }

    /// Host mouse input (motion, wheel, the buttons held).
    pub fn mouse_input(&mut self, input: MouseInput) {
        self.mouse.input(input);
        self.refill();
    }

    /// Runs due timers (typematic repeat, the mouse's next stream packet). Call at
    /// [`next_deadline`](Self::next_deadline).
    pub fn poll(&mut self) {
        if let Some(key) = self.keyboard.poll() {
            self.notify(|| KbdEvent::Typematic { key });
        }
        self.mouse.poll();
        self.refill();
    }

    /// When [`poll`](Self::poll) next has work, on the clock given to [`new`](Self::new).
    pub fn next_deadline(&self) -> Option<Duration> {
        [self.keyboard.next_deadline(), self.mouse.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    fn notify(&mut self, event: impl FnOnce() -> KbdEvent) {
        if let Some(observer) = self.observer.as_mut() {
            observer(event());
        }
    }

    fn status(&self) -> u8 {
        let mut s = status::KEYLOCK;
        if let Some(latched) = self.output {
            s |= status::OBF;
            if latched.aux {
                s |= status::AUXDATA;
            }
        }
        if self.sys_flag {
            s |= status::SYS;
        }
        if self.last_write_was_command {
            s |= status::CMDDAT;
        }
        s
    }

    /// Guest read of port 0x60.
    fn read_data(&mut self) -> u8 {
        let Some(latched) = self.output.take() else {
            let byte = self.last_byte;
            self.notify(|| KbdEvent::GuestRead { byte, source: None });
            return byte;
        };
        self.notify(|| KbdEvent::GuestRead {
            byte: latched.byte,
            source: Some(latched.source),
        });
        if latched.packet {
            self.notify(|| KbdEvent::MousePacketRead { byte: latched.byte });
        }
        self.last_byte = latched.byte;
        // Drop the line first so that the next byte makes a fresh edge.
        self.update_irqs();
        self.refill();
        latched.byte
    }

    /// Guest write to port 0x60.
    fn write_data(&mut self, byte: u8) {
        self.last_write_was_command = false;
        match self.pending_write.take() {
            Some(PendingWrite::Ram(0)) => self.write_ctr(byte),
            Some(PendingWrite::Ram(index)) => {
                if let Some(slot) = self.ram.get_mut(usize::from(index)) {
                    *slot = byte;
                }
            }
            Some(PendingWrite::OutputPort) => self.write_output_port(byte),
            Some(PendingWrite::KeyboardLoopback) => self.reply(byte, false),
            Some(PendingWrite::AuxLoopback) => self.reply(byte, true),
            Some(PendingWrite::ToAux) => {
                // Sending data to the mouse re-enables its interface too (QEMU
                // `kbd_write_data`), so a reply to `D4 xx` is never held back.
                self.ram[0] &= !ctr::AUXDIS;
                self.mouse.write(byte);
            }
            None => {
                // Sending data to the keyboard re-enables its interface (newer QEMU).
                self.ram[0] &= !ctr::KBDDIS;
                self.keyboard.write(byte);
            }
        }
        self.refill();
    }

    /// Guest write to port 0x64.
    fn write_command(&mut self, cmd: u8) {
        self.last_write_was_command = true;
        self.pending_write = None;
        match cmd {
            0x20..=0x3F => self.reply(self.ram[usize::from(cmd & 0x1F)], false),
            0x60..=0x7F => self.pending_write = Some(PendingWrite::Ram(cmd & 0x1F)),
            0xA7 => self.ram[0] |= ctr::AUXDIS,
            0xA8 => self.ram[0] &= !ctr::AUXDIS,
            0xA9 | 0xAB => self.reply(0x00, false), // interface tests pass
            0xAA => {
                self.sys_flag = true;
                self.reply(0x55, false);
            }
            0xAD => self.ram[0] |= ctr::KBDDIS,
            0xAE => self.ram[0] &= !ctr::KBDDIS,
            0xC0 => self.reply(INPUT_PORT, false),
            0xD0 => self.reply(self.read_output_port(), false),
            0xD1 => self.pending_write = Some(PendingWrite::OutputPort),
            0xD2 => self.pending_write = Some(PendingWrite::KeyboardLoopback),
            0xD3 => self.pending_write = Some(PendingWrite::AuxLoopback),
            0xD4 => self.pending_write = Some(PendingWrite::ToAux),
            0xDD => self.set_a20(false),
            0xDF => self.set_a20(true),
            0xF0..=0xFF => {
                // Pulse the output-port bits that are 0 in the low nibble; bit 0 is reset.
                if cmd & OUTPORT_RESET_N == 0 {
                    self.system
                        .request(SystemRequest::Reset("i8042 pulse output port"));
                }
            }
            _ => log::debug!("i8042: unsupported controller command {cmd:#04x}"),
        }
        self.refill();
    }

    fn write_ctr(&mut self, value: u8) {
        if (value ^ self.ctr()) & ctr::XLATE != 0 {
            self.translator.reset();
        }
        self.ram[0] = value;
        self.sys_flag = value & ctr::SYS != 0;
        // Interrupt enables may have changed for a byte already in the buffer.
        self.update_irqs();
    }

    fn read_output_port(&self) -> u8 {
        let mut port = self.output_port & !(OUTPORT_A20 | OUTPORT_KBD_OBF | OUTPORT_AUX_OBF);
        if self.system.a20() {
            port |= OUTPORT_A20;
        }
        match self.output {
            Some(l) if l.aux => port |= OUTPORT_AUX_OBF,
            Some(_) => port |= OUTPORT_KBD_OBF,
            None => {}
        }
        port
    }

    fn write_output_port(&mut self, value: u8) {
        self.output_port = value;
        self.set_a20(value & OUTPORT_A20 != 0);
        if value & OUTPORT_RESET_N == 0 {
            self.system
                .request(SystemRequest::Reset("i8042 output port"));
        }
    }

    fn set_a20(&mut self, on: bool) {
        if on {
            self.output_port |= OUTPORT_A20;
        } else {
            self.output_port &= !OUTPORT_A20;
        }
        self.system.set_a20(on);
    }

    /// Queues a controller reply (one slot, as in the real part; a newer reply replaces
    /// an unread one). A controller byte already in the output buffer and not read yet
    /// is overwritten too, keeping its AUXDATA flag (QEMU's single `cbdata` slot; the
    /// 8042 references warn that a command's reply overwrites the output register);
    /// a keyboard or mouse byte there is never overwritten: the reply waits for it.
    fn reply(&mut self, byte: u8, aux: bool) {
        if let Some(latched) = self
            .output
            .as_mut()
            .filter(|l| l.source == ByteSource::Controller)
        {
            latched.byte = byte;
            return;
        }
        self.controller_reply = Some(Latched {
            byte,
            source: ByteSource::Controller,
            aux,
            packet: false,
        });
    }

    /// Moves the next byte into the output buffer if it is empty: controller replies
    /// first, then the keyboard unless disabled, then the aux port unless disabled.
    fn refill(&mut self) {
        self.report_mouse_packets();
        if self.output.is_some() {
            return;
        }
        let ctr = self.ctr();
        let mut translated_from = None;
        let next = if let Some(reply) = self.controller_reply.take() {
            Some(reply)
        } else if ctr & ctr::KBDDIS == 0 && self.keyboard.has_output() {
            self.next_keyboard_byte().map(|(byte, from)| {
                translated_from = from;
                Latched {
                    byte,
                    source: ByteSource::Keyboard,
                    aux: false,
                    packet: false,
                }
            })
        } else if ctr & ctr::AUXDIS == 0 && self.mouse.has_output() {
            self.mouse.read_tagged().map(|(byte, packet)| Latched {
                byte,
                source: ByteSource::Aux,
                aux: true,
                packet,
            })
        } else {
            None
        };
        let Some(latched) = next else { return };
        self.output = Some(latched);
        self.notify(|| KbdEvent::Latched {
            byte: latched.byte,
            source: latched.source,
            translated_from,
        });
        self.update_irqs();
    }

    /// Tells the observer about packets the mouse cut since the last look.
    fn report_mouse_packets(&mut self) {
        if self.observer.is_none() {
            return;
        }
        for packet in self.mouse.take_cut_packets() {
            self.notify(|| KbdEvent::MousePacket {
                bytes: packet.bytes().to_vec(),
            });
        }
    }

    /// The next keyboard byte as the guest sees it, with the set 2 byte it came from
    /// when translating. A break prefix is consumed together with the byte after it.
    fn next_keyboard_byte(&mut self) -> Option<(u8, Option<u8>)> {
        while let Some(raw) = self.keyboard.read() {
            if !self.translating() {
                return Some((raw, None));
            }
            if let Some(set1) = self.translator.feed(raw) {
                return Some((set1, Some(raw)));
            }
        }
        None
    }

    /// Drives IRQ1/IRQ12 from the output buffer and the CTR (QEMU
    /// `kbd_update_irq_lines`), reporting rising edges.
    fn update_irqs(&mut self) {
        let ctr = self.ctr();
        let (kbd, aux) = match self.output {
            Some(l) if l.aux => (false, ctr & ctr::AUXINT != 0),
            Some(_) => (ctr & ctr::KBDINT != 0 && ctr & ctr::KBDDIS == 0, false),
            None => (false, false),
        };
        if kbd != self.kbd_level {
            self.kbd_level = kbd;
            self.kbd_irq.set_level(kbd);
            if kbd {
                self.notify(|| KbdEvent::IrqRaised {
                    line: IrqKind::Keyboard,
                });
            }
        }
        if aux != self.aux_level {
            self.aux_level = aux;
            self.aux_irq.set_level(aux);
            if aux {
                self.notify(|| KbdEvent::IrqRaised { line: IrqKind::Aux });
            }
        }
    }
}

impl BusDevice for I8042 {
    fn read(&mut self, addr: u64, data: &mut [u8]) {
        let Some((first, rest)) = data.split_first_mut() else {
            return;
        };
        // Wider accesses only reach the first port; the rest floats.
        rest.fill(0xFF);
        *first = match addr {
            DATA_PORT => self.read_data(),
            COMMAND_PORT => self.status(),
            _ => 0xFF,
        };
    }

    fn write(&mut self, addr: u64, data: &[u8]) {
        let Some(&byte) = data.first() else { return };
        match addr {
            DATA_PORT => self.write_data(byte),
            COMMAND_PORT => self.write_command(byte),
            _ => log::debug!("i8042: write to unexpected port {addr:#x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::irq::IrqRecorder;
    use std::sync::Mutex;

    const OBF: u8 = status::OBF;
    const AUXDATA: u8 = status::AUXDATA;

    struct Rig {
        dev: I8042,
        irqs: Arc<IrqRecorder>,
        system: Arc<SystemControl>,
        clock: FakeClock,
    }

    impl Rig {
        fn new() -> Self {
            let irqs = IrqRecorder::new();
            let system = Arc::new(SystemControl::new());
            let clock = FakeClock::new();
            let dev = I8042::new(
                irqs.line(1),
                irqs.line(12),
                system.clone(),
                Arc::new(clock.clone()),
            );
            Self {
                dev,
                irqs,
                system,
                clock,
            }
        }

        fn inb(&mut self, port: u64) -> u8 {
            let mut b = [0u8];
            self.dev.read(port, &mut b);
            b[0]
        }

        fn outb(&mut self, port: u64, v: u8) {
            self.dev.write(port, &[v]);
        }

        fn status(&mut self) -> u8 {
            self.inb(COMMAND_PORT)
        }

        /// A byte that must be available at once (no polling loop in the guest needed).
        fn read_now(&mut self) -> u8 {
            assert_ne!(self.status() & OBF, 0, "output buffer empty");
            self.inb(DATA_PORT)
        }

        /// Linux `i8042_flush`: read while OBF, at most 16 bytes.
        fn flush(&mut self) -> Vec<u8> {
            let mut out = Vec::new();
            while self.status() & OBF != 0 {
                out.push(self.inb(DATA_PORT));
                assert!(out.len() <= 16, "controller never empties");
            }
            out
        }

        /// A controller command with one optional parameter and `n` replies.
        fn command(&mut self, cmd: u8, param: Option<u8>, n: usize) -> Vec<u8> {
            self.outb(COMMAND_PORT, cmd);
            if let Some(p) = param {
                self.outb(DATA_PORT, p);
            }
            (0..n).map(|_| self.read_now()).collect()
        }

        /// Bytes to the keyboard, replies read as they come.
        fn kbd(&mut self, bytes: &[u8], n: usize) -> Vec<u8> {
            bytes.iter().for_each(|&b| self.outb(DATA_PORT, b));
            (0..n).map(|_| self.read_now()).collect()
        }

        fn read_ctr(&mut self) -> u8 {
            self.command(0x20, None, 1)[0]
        }

        fn write_ctr(&mut self, v: u8) {
            self.command(0x60, Some(v), 0);
        }
    }

    #[test]
    fn powers_on_like_a_bios_left_it() {
        let mut r = Rig::new();
        // SYS: the BIOS's self test passed (QEMU after SeaBIOS's 0xAA shows it too).
        assert_eq!(r.status(), status::KEYLOCK | status::CMDDAT | status::SYS);
        assert_eq!(r.read_ctr(), 0x61);
        assert!(r.dev.translating());
        // Nothing pending: the last byte is returned again, OBF stays clear.
        assert_eq!(r.inb(DATA_PORT), 0x61);
        assert_eq!(r.status() & OBF, 0);
    }

    #[test]
    fn linux_i8042_probe_sequence() {
        let mut r = Rig::new();
        r.dev.key_event(Key::A, true); // a stray byte the flush must consume
        // i8042_controller_check.
        assert_eq!(r.flush(), [0x1E]);
        // i8042_controller_init: read CTR until stable, write it with KBDDIS, !KBDINT.
        let ctr0 = r.read_ctr();
        assert_eq!(r.read_ctr(), ctr0);
        assert_ne!(r.status() & status::KEYLOCK, 0, "keylock active");
        let ctr = (ctr0 | ctr::KBDDIS) & !ctr::KBDINT;
        r.write_ctr(ctr);
        assert!(r.flush().is_empty());
        // i8042_check_aux: loopback with AUXDATA.
        r.outb(COMMAND_PORT, 0xD3);
        r.outb(DATA_PORT, 0x5A);
        let st = r.status();
        assert_eq!(st & (OBF | AUXDATA), OBF | AUXDATA);
        assert_eq!(r.inb(DATA_PORT), 0x5A);
        assert_eq!(r.command(0xA9, None, 1), [0x00]);
        // toggle_aux(false) / (true).
        r.command(0xA7, None, 0);
        assert_ne!(r.read_ctr() & ctr::AUXDIS, 0);
        r.command(0xA8, None, 0);
        assert_eq!(r.read_ctr() & ctr::AUXDIS, 0);
        // IRQ test: AUXINT on, AUXDIS off, loop 0xA5, IRQ12 must fire.
        let ctr = (r.read_ctr() | ctr::AUXINT) & !ctr::AUXDIS;
        r.write_ctr(ctr);
        let edges = r.irqs.rising_edges(12);
        r.outb(COMMAND_PORT, 0xD3);
        r.outb(DATA_PORT, 0xA5);
        assert_eq!(r.irqs.rising_edges(12), edges + 1);
        assert!(r.irqs.level(12));
        assert!(!r.irqs.level(1));
        assert_eq!(r.status() & AUXDATA, AUXDATA);
        assert_eq!(r.inb(DATA_PORT), 0xA5);
        assert!(!r.irqs.level(12));
        r.write_ctr((ctr | ctr::AUXDIS) & !ctr::AUXINT);
        // i8042_check_mux: a plain loopback echoes A4, so legacy mode.
        for (sent, _) in [(0xF0, 0xF0), (0x56, 0x56), (0xA4, 0xA4)] {
            r.outb(COMMAND_PORT, 0xD3);
            r.outb(DATA_PORT, sent);
            assert_eq!(r.read_now(), sent);
        }
        // Enable aux and keyboard with interrupts.
        let ctr = (r.read_ctr() & !(ctr::AUXDIS | ctr::KBDDIS)) | ctr::AUXINT | ctr::KBDINT;
        r.write_ctr(ctr);
        assert_eq!(r.read_ctr(), ctr);
        assert!(r.dev.translating());
    }

    #[test]
    fn atkbd_probe_translated_and_raw() {
        for (xlate, id) in [(true, 0x41), (false, 0x83)] {
            let mut r = Rig::new();
            r.write_ctr(if xlate { 0x47 } else { 0x07 });
            assert_eq!(r.kbd(&[0xF2], 3), [0xFA, 0xAB, id]);
            assert_eq!(r.kbd(&[0xF5], 1), [0xFA]);
            assert_eq!(r.kbd(&[0xED], 1), [0xFA]);
            assert_eq!(r.kbd(&[0x00], 1), [0xFA]);
            assert_eq!(r.kbd(&[0xF3], 1), [0xFA]);
            assert_eq!(r.kbd(&[0x00], 1), [0xFA]);
            assert_eq!(r.kbd(&[0xF4], 1), [0xFA]);
            assert!(r.flush().is_empty());
            let set = if xlate { 0x41 } else { 0x02 };
            assert_eq!(r.kbd(&[0xF0, 0x00], 3), [0xFA, 0xFA, set]);
        }
    }

    #[test]
    fn seabios_keyboard_init() {
        let mut r = Rig::new();
        r.flush();
        r.command(0xAD, None, 0);
        r.command(0xA7, None, 0);
        r.flush();
        assert_eq!(r.command(0xAA, None, 1), [0x55]);
        assert_ne!(r.status() & status::SYS, 0);
        assert_eq!(r.command(0xAB, None, 1), [0x00]);
        // SeaBIOS talks to the keyboard with KBDDIS set and no translation yet... but
        // writing to the keyboard re-enables its interface.
        r.write_ctr(0x30);
        assert_eq!(r.kbd(&[0xFF], 2), [0xFA, 0xAA]);
        assert_eq!(r.kbd(&[0xF5], 1), [0xFA]);
        assert_eq!(r.kbd(&[0xF0, 0x02], 2), [0xFA, 0xFA]);
        r.write_ctr(0x61);
        assert_eq!(r.kbd(&[0xF4], 1), [0xFA]);
        r.dev.key_event(Key::Enter, true);
        assert!(r.irqs.level(1));
        assert_eq!(r.read_now(), 0x1C);
    }

    #[test]
    fn every_key_translates_to_set1_and_decodes_like_pc_keyboard() {
        use pc_keyboard::{ScancodeSet, ScancodeSet1, ScancodeSet2};
        let mut r = Rig::new();
        for &key in Key::ALL {
            r.dev.key_event(key, true);
            r.dev.key_event(key, false);
            let got = r.flush();
            let expected = if key == Key::Pause {
                vec![0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5]
            } else {
                [key.set1_make(), key.set1_break().expect("break")].concat()
            };
            assert_eq!(got, expected, "{key:?}");
            if key == Key::Pause {
                continue; // pc-keyboard decodes Pause differently in its two sets
            }
            // Independent oracle: pc-keyboard's set 1 decoder on what the guest read
            // must agree with its set 2 decoder on what the keyboard sent.
            let set2 = [key.set2_make(), key.set2_break().expect("break")].concat();
            let mut d1 = ScancodeSet1::new();
            let mut d2 = ScancodeSet2::new();
            let ev1: Vec<_> = got
                .iter()
                .filter_map(|&b| d1.advance_state(b).ok().flatten())
                .collect();
            let ev2: Vec<_> = set2
                .iter()
                .filter_map(|&b| d2.advance_state(b).ok().flatten())
                .collect();
            assert_eq!(ev1, ev2, "{key:?}");
            assert!(!ev1.is_empty(), "{key:?}");
        }
    }

    #[test]
    fn raw_set2_when_translation_is_off() {
        let mut r = Rig::new();
        r.write_ctr(0x21);
        assert!(!r.dev.translating());
        r.dev.key_event(Key::ArrowUp, true);
        r.dev.key_event(Key::ArrowUp, false);
        assert_eq!(r.flush(), [0xE0, 0x75, 0xE0, 0xF0, 0x75]);
    }

    #[test]
    fn irq1_rises_once_per_byte() {
        let mut r = Rig::new();
        r.dev.key_event(Key::ArrowUp, true); // E0 48 after translation
        assert_eq!(r.irqs.rising_edges(1), 1);
        assert!(r.irqs.level(1));
        // Reading status does not consume.
        r.status();
        assert_eq!(r.irqs.rising_edges(1), 1);
        assert_eq!(r.inb(DATA_PORT), 0xE0);
        assert_eq!(r.irqs.rising_edges(1), 2);
        assert_eq!(r.inb(DATA_PORT), 0x48);
        assert!(!r.irqs.level(1));
        assert_eq!(r.irqs.rising_edges(1), 2);
        // With KBDINT clear no interrupt; enabling it with a byte waiting raises one.
        r.write_ctr(0x60);
        r.dev.key_event(Key::A, true);
        assert_eq!(r.irqs.rising_edges(1), 2);
        r.write_ctr(0x61);
        assert_eq!(r.irqs.rising_edges(1), 3);
        assert_eq!(r.inb(DATA_PORT), 0x1E);
    }

    #[test]
    fn kbddis_holds_keyboard_bytes_until_enabled() {
        let mut r = Rig::new();
        r.command(0xAD, None, 0);
        r.dev.key_event(Key::A, true);
        assert_eq!(r.status() & OBF, 0);
        r.command(0xAE, None, 0);
        assert_eq!(r.read_now(), 0x1E);
    }

    #[test]
    fn controller_reply_waits_for_a_full_buffer_then_wins() {
        let mut r = Rig::new();
        r.dev.key_event(Key::A, true);
        r.dev.key_event(Key::A, false);
        r.outb(COMMAND_PORT, 0x20);
        assert_eq!(r.read_now(), 0x1E); // already latched before the command
        assert_eq!(r.read_now(), 0x61); // the reply beats the queued break
        assert_eq!(r.read_now(), 0x9E);
    }

    #[test]
    fn an_unread_controller_byte_is_overwritten_by_the_next_reply() {
        // QEMU 7.2 (probe guest i8042_probe): D2 11 then D3 22 unread reads 22 once,
        // with the first byte's status (no AUXDATA); D3 77 then D0 reads the output port.
        let mut r = Rig::new();
        r.command(0xD2, Some(0x11), 0);
        r.command(0xD3, Some(0x22), 0);
        assert_eq!(r.status() & (OBF | AUXDATA), OBF);
        assert_eq!(r.flush(), [0x22]);
        r.command(0xD3, Some(0x77), 0);
        r.outb(COMMAND_PORT, 0xD0);
        assert_eq!(r.status() & (OBF | AUXDATA), OBF | AUXDATA);
        let port = r.inb(DATA_PORT);
        assert_eq!(
            port & 0x0F,
            0x0F,
            "output port, not the loopback byte: {port:#04x}"
        );
        assert_eq!(r.status() & OBF, 0);
    }

    #[test]
    fn key_flood_keeps_queues_bounded() {
        let mut r = Rig::new();
        for _ in 0..500 {
            for &k in Key::ALL {
                r.dev.key_event(k, true);
                r.dev.key_event(k, false);
            }
        }
        assert!(
            r.dev.keyboard().pending_len() <= crate::devices::ps2_keyboard::KEYBOARD_QUEUE_BYTES
        );
        // With the byte in the output buffer, never more than Linux's flush limit (16).
        let flushed = r.flush().len();
        assert!((1..=16).contains(&flushed), "{flushed}");
    }

    #[test]
    fn reset_requests_via_pulse_and_output_port() {
        let mut r = Rig::new();
        r.outb(COMMAND_PORT, 0xFF); // null command (Linux a20.c)
        r.outb(COMMAND_PORT, 0xF1);
        assert_eq!(r.system.take(), None);
        r.outb(COMMAND_PORT, 0xFE);
        assert!(matches!(r.system.take(), Some(SystemRequest::Reset(_))));
        r.outb(COMMAND_PORT, 0xF0);
        assert!(matches!(r.system.take(), Some(SystemRequest::Reset(_))));
        r.command(0xD1, Some(0xDF), 0);
        assert_eq!(r.system.take(), None);
        r.command(0xD1, Some(0xDE), 0);
        assert!(matches!(r.system.take(), Some(SystemRequest::Reset(_))));
    }

    #[test]
    fn a20_through_output_port_and_hp_commands() {
        let mut r = Rig::new();
        assert!(r.system.a20());
        assert_eq!(r.command(0xD0, None, 1)[0] & 0x03, 0x03);
        r.command(0xD1, Some(0xDD), 0);
        assert!(!r.system.a20());
        assert_eq!(r.command(0xD0, None, 1)[0] & 0x03, 0x01);
        r.command(0xDF, None, 0);
        assert!(r.system.a20());
        r.command(0xDD, None, 0);
        assert!(!r.system.a20());
        // Another device (port 0x92) changing A20 shows in the output port.
        r.system.set_a20(true);
        assert_eq!(r.command(0xD0, None, 1)[0] & 0x02, 0x02);
        assert_eq!(r.command(0xC0, None, 1), [0x80]);
    }

    #[test]
    fn d2_loops_back_as_keyboard_data() {
        let mut r = Rig::new();
        r.outb(COMMAND_PORT, 0xD2);
        r.outb(DATA_PORT, 0x9C);
        assert_eq!(r.status() & (OBF | AUXDATA), OBF);
        assert!(r.irqs.level(1));
        assert_eq!(r.inb(DATA_PORT), 0x9C);
    }

    #[test]
    fn typematic_through_the_controller() {
        let mut r = Rig::new();
        r.dev.key_event(Key::Space, true);
        assert_eq!(r.flush(), [0x39]);
        let due = r.dev.next_deadline().expect("repeat scheduled");
        assert_eq!(due, Duration::from_millis(500));
        r.clock.set(due);
        r.dev.poll();
        assert_eq!(r.flush(), [0x39]);
        r.dev.key_event(Key::Space, false);
        assert_eq!(r.flush(), [0xB9]);
        assert_eq!(r.dev.next_deadline(), None);
    }

    #[test]
    fn release_all_on_focus_loss() {
        let mut r = Rig::new();
        r.dev.key_event(Key::ControlLeft, true);
        r.flush();
        r.dev.release_all();
        assert_eq!(r.flush(), [0x9D]);
    }

    #[test]
    fn mouse_through_the_aux_port() {
        let mut r = Rig::new();
        r.write_ctr(0x47 | ctr::AUXINT); // aux enabled, interrupts on
        r.command(0xD4, Some(0xFF), 0);
        assert_eq!(r.status() & AUXDATA, AUXDATA);
        assert!(r.irqs.level(12));
        assert_eq!(r.inb(DATA_PORT), 0xFA);
        assert_eq!(r.read_now(), 0xAA);
        assert_eq!(r.read_now(), 0x00);
        r.command(0xD4, Some(0xF2), 0);
        assert_eq!((r.read_now(), r.read_now()), (0xFA, 0x00));
        r.command(0xD4, Some(0xF4), 0);
        assert_eq!(r.read_now(), 0xFA);
        let edges = r.irqs.rising_edges(12);
        r.dev.mouse_input(moved(3, -2, 0));
        assert_eq!(r.flush(), [0x08, 3, 2]);
        assert_eq!(r.irqs.rising_edges(12), edges + 3);
        assert_eq!(r.irqs.rising_edges(1), 0);
        // Disabled aux port holds mouse bytes back.
        r.command(0xA7, None, 0);
        r.clock.advance(Duration::from_millis(10));
        r.dev.mouse_input(moved(1, 0, 0));
        assert!(r.flush().is_empty());
        r.command(0xA8, None, 0);
        assert_eq!(r.flush(), [0x08, 1, 0]);
    }

    fn moved(dx: i32, dy: i32, buttons: u8) -> MouseInput {
        MouseInput {
            dx,
            dy,
            wheel: 0,
            buttons,
        }
    }

    #[test]
    fn d4_reenables_a_disabled_aux_port() {
        // QEMU `kbd_write_data`: sending data to the mouse clears CTR.AUXDIS, so a driver
        // that talks to the mouse before `A8` still gets its ACK.
        let mut r = Rig::new();
        assert_ne!(r.read_ctr() & ctr::AUXDIS, 0);
        r.command(0xD4, Some(0xF2), 0);
        assert_eq!(r.flush(), [0xFA, 0x00]);
        assert_eq!(r.read_ctr() & ctr::AUXDIS, 0);
        // Loopback (D3) is the controller's own byte and leaves the CTR alone.
        r.command(0xA7, None, 0);
        r.command(0xD3, Some(0x42), 0);
        assert_eq!(r.flush(), [0x42]);
        assert_ne!(r.read_ctr() & ctr::AUXDIS, 0);
    }

    #[test]
    fn irq12_follows_the_ctr_interrupt_bit() {
        let mut r = Rig::new();
        r.write_ctr(0x41); // aux enabled, AUXINT clear
        r.command(0xD4, Some(0xF2), 0);
        assert_eq!(r.status() & (OBF | AUXDATA), OBF | AUXDATA);
        assert!(!r.irqs.level(12));
        r.write_ctr(0x43);
        assert!(
            r.irqs.level(12),
            "enabling AUXINT with an aux byte waiting raises IRQ12"
        );
        assert_eq!(r.irqs.rising_edges(12), 1);
        r.write_ctr(0x41);
        assert!(!r.irqs.level(12));
        assert_eq!(r.inb(DATA_PORT), 0xFA);
        r.write_ctr(0x43);
        assert_eq!(r.irqs.rising_edges(12), 2);
        assert_eq!(r.read_now(), 0x00);
        assert_eq!(r.irqs.rising_edges(1), 0);
    }

    #[test]
    fn keyboard_bytes_own_the_buffer_before_mouse_bytes() {
        let mut r = Rig::new();
        r.write_ctr(0x43);
        r.command(0xD4, Some(0xF4), 0);
        assert_eq!(r.read_now(), 0xFA);
        r.dev.mouse_input(moved(5, 0, 0)); // latched at once: the buffer was empty
        r.dev.key_event(Key::A, true);
        // The mouse byte already in the buffer goes first; then the keyboard wins the
        // buffer over the rest of the packet.
        assert_eq!(r.status() & AUXDATA, AUXDATA);
        assert_eq!(r.inb(DATA_PORT), 0x08);
        assert_eq!(r.status() & AUXDATA, 0);
        assert_eq!(r.inb(DATA_PORT), 0x1E);
        assert_eq!(r.flush(), [5, 0]);
    }

    #[test]
    fn intellimouse_through_the_controller_with_paced_packets() {
        let mut r = Rig::new();
        r.write_ctr(0x43);
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        r.dev.set_observer(Box::new(move |e| {
            sink.lock().expect("not poisoned").push(e);
        }));
        for b in [0xF3, 200, 0xF3, 100, 0xF3, 80] {
            r.command(0xD4, Some(b), 0);
            assert_eq!(r.read_now(), 0xFA);
        }
        r.command(0xD4, Some(0xF2), 0);
        assert_eq!(r.flush(), [0xFA, 0x03]);
        r.command(0xD4, Some(0xF4), 0);
        assert_eq!(r.flush(), [0xFA]);
        r.dev.mouse_input(MouseInput {
            dx: -2,
            dy: 1,
            wheel: 1,
            buttons: 0,
        });
        assert_eq!(r.flush(), [0x38, 0xFE, 0xFF, 0xFF]);
        // The next packet waits for the sample period (80/s = 12.5 ms).
        r.dev.mouse_input(moved(1, 0, 0));
        assert!(r.flush().is_empty());
        let due = r.dev.next_deadline().expect("a packet is due later");
        assert_eq!(due, Duration::from_micros(12_500));
        r.clock.set(due);
        r.dev.poll();
        assert_eq!(r.flush(), [0x08, 1, 0, 0]);
        let packets: Vec<Vec<u8>> = events
            .lock()
            .expect("not poisoned")
            .iter()
            .filter_map(|e| match e {
                KbdEvent::MousePacket { bytes } => Some(bytes.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(packets, [vec![0x38, 0xFE, 0xFF, 0xFF], vec![0x08, 1, 0, 0]]);
    }

    #[test]
    fn observer_sees_the_keystroke_journey() {
        let mut r = Rig::new();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        r.dev.set_observer(Box::new(move |e| {
            sink.lock().expect("not poisoned").push(e);
        }));
        r.dev.key_event(Key::A, false); // not held: nothing queued
        r.dev.key_event(Key::A, true);
        r.inb(DATA_PORT);
        let got = events.lock().expect("not poisoned").clone();
        assert_eq!(
            got,
            [
                KbdEvent::HostKey {
                    key: Key::A,
                    pressed: false,
                    set2: vec![0xF0, 0x1C],
                    queued: false
                },
                KbdEvent::HostKey {
                    key: Key::A,
                    pressed: true,
                    set2: vec![0x1C],
                    queued: true
                },
                KbdEvent::Latched {
                    byte: 0x1E,
                    source: ByteSource::Keyboard,
                    translated_from: Some(0x1C)
                },
                KbdEvent::IrqRaised {
                    line: IrqKind::Keyboard
                },
                KbdEvent::GuestRead {
                    byte: 0x1E,
                    source: Some(ByteSource::Keyboard)
                },
            ]
        );
    }

    #[test]
    fn odd_access_sizes_and_ports_are_harmless() {
        let mut r = Rig::new();
        let mut wide = [0u8; 4];
        r.dev.read(COMMAND_PORT, &mut wide);
        assert_eq!(wide[1..], [0xFF; 3]);
        r.dev.read(DATA_PORT, &mut []);
        r.dev.write(DATA_PORT, &[]);
        r.dev.write(0x61, &[0xFE]);
        let mut b = [0u8];
        r.dev.read(0x65, &mut b);
        assert_eq!(b[0], 0xFF);
        assert_eq!(r.system.take(), None);
    }

    use crate::test_rng::Rng;

    #[test]
    fn random_port_traffic_never_panics_and_stays_bounded() {
        for seed in 1..=20u64 {
            let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut r = Rig::new();
            for _ in 0..20_000 {
                let v = rng.byte();
                match rng.byte() % 8 {
                    0 => r.outb(COMMAND_PORT, v),
                    1 | 2 => r.outb(DATA_PORT, v),
                    3 => {
                        r.inb(DATA_PORT);
                    }
                    4 => {
                        r.status();
                    }
                    5 => {
                        let key = Key::ALL[usize::from(v) % Key::ALL.len()];
                        r.dev.key_event(key, rng.byte() & 1 == 0);
                    }
                    6 => r.dev.mouse_input(MouseInput {
                        dx: i32::from(v as i8) * 100,
                        dy: i32::from(rng.byte() as i8),
                        wheel: i32::from(rng.byte() as i8 >> 4),
                        buttons: rng.byte(),
                    }),
                    _ => {
                        r.clock.advance(Duration::from_millis(u64::from(v)));
                        r.dev.poll();
                    }
                }
                assert!(r.dev.keyboard().pending_len() <= 15 + 8);
                assert!(r.dev.mouse().pending_len() <= 32 + 8);
                // A due deadline is work that polling does, never a busy loop.
                if let Some(due) = r.dev.next_deadline() {
                    if due <= r.clock.now() {
                        r.dev.poll();
                        assert!(r.dev.next_deadline().is_none_or(|n| n > r.clock.now()));
                    }
                }
                // Never stalled: an enabled device with bytes means a full buffer.
                if r.status() & OBF == 0 {
                    let c = r.dev.ctr();
                    assert!(c & ctr::AUXDIS != 0 || !r.dev.mouse().has_output());
                    assert!(c & ctr::KBDDIS != 0 || !r.dev.keyboard().has_output());
                }
            }
            // Whatever state it ended in, the controller drains and still answers.
            let mut drained = 0;
            while r.status() & OBF != 0 {
                r.inb(DATA_PORT);
                drained += 1;
                assert!(drained < 200, "output never drains");
            }
            assert_eq!(r.command(0xAA, None, 1), [0x55]);
        }
    }
}
