//! ARM PrimeCell PL011 UART (the console of QEMU `virt` and of Linux's `ttyAMA0`).
//!
//! Register facts come from the PL011 Technical Reference Manual (ARM DDI 0183) and
//! match what QEMU's model exposes. The model is written for a hostile guest: every
//! offset and size is checked, unknown registers read as zero and ignore writes, and the
//! receive FIFO never holds more than the 16 entries the hardware has (host input waits
//! in the board's bounded queue until there is room).
//!
//! Timing is not modelled: a transmitted byte leaves at once (so TXFE is always set and
//! the TX interrupt is raised after every write, as when the FIFO drains), and the
//! receive-timeout interrupt is raised as soon as data sits below the RX trigger level
//! (the real 32-bit-period timeout is effectively immediate at emulated speed).

use std::collections::VecDeque;
use std::io::Write;

use crate::bus::BusDevice;
use crate::devices::uart::SerialOutput;
use crate::irq::IrqLine;

/// Register offsets.
pub mod reg {
    /// Data register: read pops the RX FIFO, write transmits.
    pub const DR: u64 = 0x000;
    /// Receive status (read) / error clear (write).
    pub const RSR_ECR: u64 = 0x004;
    /// Flag register.
    pub const FR: u64 = 0x018;
    /// IrDA low-power counter (not implemented: reads zero).
    pub const ILPR: u64 = 0x020;
    /// Integer baud-rate divisor.
    pub const IBRD: u64 = 0x024;
    /// Fractional baud-rate divisor.
    pub const FBRD: u64 = 0x028;
    /// Line control.
    pub const LCR_H: u64 = 0x02C;
    /// Control.
    pub const CR: u64 = 0x030;
    /// Interrupt FIFO level select.
    pub const IFLS: u64 = 0x034;
    /// Interrupt mask set/clear.
    pub const IMSC: u64 = 0x038;
    /// Raw interrupt status.
    pub const RIS: u64 = 0x03C;
    /// Masked interrupt status.
    pub const MIS: u64 = 0x040;
    /// Interrupt clear.
    pub const ICR: u64 = 0x044;
    /// DMA control.
    pub const DMACR: u64 = 0x048;
    /// First PrimeCell identification register (PeriphID0).
    pub const ID_BASE: u64 = 0xFE0;
}

/// Flag register bits.
pub mod fr {
    /// UART busy transmitting.
    pub const BUSY: u32 = 1 << 3;
    /// Receive FIFO empty.
    pub const RXFE: u32 = 1 << 4;
    /// Transmit FIFO full.
    pub const TXFF: u32 = 1 << 5;
    /// Receive FIFO full.
    pub const RXFF: u32 = 1 << 6;
    /// Transmit FIFO empty.
    pub const TXFE: u32 = 1 << 7;
}

/// Interrupt bits (RIS, MIS, IMSC, ICR).
pub mod int {
    /// Receive.
    pub const RX: u32 = 1 << 4;
    /// Transmit.
    pub const TX: u32 = 1 << 5;
    /// Receive timeout.
    pub const RT: u32 = 1 << 6;
    /// All eleven interrupt sources (modem, RX, TX, RT, errors).
    pub const ALL: u32 = 0x7FF;
}

/// LCR_H: FIFOs enabled.
pub const LCR_H_FEN: u32 = 1 << 4;
/// CR reset value: TXE | RXE, UART disabled (TRM).
pub const CR_RESET: u32 = 0x0300;
/// IFLS reset value: both triggers at half full.
pub const IFLS_RESET: u32 = 0x12;
/// Hardware FIFO depth.
pub const FIFO_DEPTH: usize = 16;

/// PeriphID0-3 then PCellID0-3 (PL011 r1p5, as QEMU's `arm,pl011`).
const ID_BYTES: [u8; 8] = [0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1];

/// The PL011 register model.
pub struct Pl011 {
    base: u64,
    irq: IrqLine,
    out: SerialOutput,
    rx: VecDeque<u8>,
    ibrd: u32,
    fbrd: u32,
    lcr_h: u32,
    cr: u32,
    ifls: u32,
    imsc: u32,
    ris: u32,
    dmacr: u32,
    irq_level: bool,
}

impl std::fmt::Debug for Pl011 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pl011")
            .field("base", &format_args!("{:#x}", self.base))
            .field("rx", &self.rx.len())
            .field("cr", &format_args!("{:#x}", self.cr))
            .field("imsc", &format_args!("{:#x}", self.imsc))
            .field("ris", &format_args!("{:#x}", self.ris))
            .finish_non_exhaustive()
    }
}

impl Pl011 {
    /// A PL011 in its reset state at guest-physical `base`, interrupting on `irq` and
    /// transmitting into `out`.
    pub fn new(base: u64, irq: IrqLine, out: SerialOutput) -> Self {
        Self {
            base,
            irq,
            out,
            rx: VecDeque::with_capacity(FIFO_DEPTH),
            ibrd: 0,
            fbrd: 0,
            lcr_h: 0,
            cr: CR_RESET,
            ifls: IFLS_RESET,
            imsc: 0,
            ris: 0,
            dmacr: 0,
            irq_level: false,
        }
    }

    /// Hands back the output stream (kept across machine resets).
    pub fn into_output(self) -> SerialOutput {
        self.out
    }

    /// RX FIFO depth in the current mode: 16 with FIFOs on, else one holding register.
    fn rx_capacity(&self) -> usize {
        if self.lcr_h & LCR_H_FEN != 0 {
            FIFO_DEPTH
        } else {
            1
        }
    }

    /// Entries at which the RX interrupt fires (IFLS RXIFLSEL; reserved values act as
    /// the reset setting, half full). Without FIFOs every character interrupts.
    fn rx_trigger(&self) -> usize {
        if self.lcr_h & LCR_H_FEN == 0 {
            return 1;
        }
        match (self.ifls >> 3) & 0x7 {
            0 => 2,
            1 => 4,
            3 => 12,
            4 => 14,
            _ => 8,
        }
    }

    /// How many more bytes the RX FIFO takes now.
    pub fn receive_capacity(&self) -> usize {
        self.rx_capacity().saturating_sub(self.rx.len())
    }

    /// Puts host bytes into the RX FIFO; returns how many fitted.
    pub fn receive(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.receive_capacity());
        if n == 0 {
            return 0;
        }
        self.rx.extend(&data[..n]);
        if self.rx.len() >= self.rx_trigger() {
            self.ris |= int::RX;
        }
        // Data below the trigger level times out at once (see the module docs).
        self.ris |= int::RT;
        self.update_irq();
        n
    }

    fn flags(&self) -> u32 {
        let mut f = fr::TXFE;
        if self.rx.is_empty() {
            f |= fr::RXFE;
        }
        if self.rx.len() >= self.rx_capacity() {
            f |= fr::RXFF;
        }
        f
    }

    fn pop_rx(&mut self) -> u32 {
        let byte = self.rx.pop_front().map_or(0, u32::from);
        if self.rx.len() < self.rx_trigger() {
            self.ris &= !int::RX;
        }
        if self.rx.is_empty() {
            self.ris &= !int::RT;
        }
        byte
    }

    fn transmit(&mut self, byte: u8) {
        // Firmware leaves the UART enabled and early consoles write without checking,
        // so (like QEMU) bytes go out whatever CR says.
        if let Err(e) = self.out.write_all(&[byte]) {
            log::warn!("pl011: output failed: {e}");
        }
        self.ris |= int::TX;
    }

    fn update_irq(&mut self) {
        let level = self.ris & self.imsc != 0;
        if level != self.irq_level {
            self.irq_level = level;
            self.irq.set_level(level);
        }
    }

    /// Reads the 32-bit register at `offset` (word aligned, inside the 4 KiB page).
    pub fn read_register(&mut self, offset: u64) -> u32 {
        let value = match offset {
            reg::DR => self.pop_rx(),
            reg::RSR_ECR => 0,
            reg::FR => self.flags(),
            reg::ILPR => 0,
            reg::IBRD => self.ibrd,
            reg::FBRD => self.fbrd,
            reg::LCR_H => self.lcr_h,
            reg::CR => self.cr,
            reg::IFLS => self.ifls,
            reg::IMSC => self.imsc,
            reg::RIS => self.ris,
            reg::MIS => self.ris & self.imsc,
            reg::DMACR => self.dmacr,
            0xFE0..=0xFFC => {
                let index = usize::try_from((offset - reg::ID_BASE) / 4).unwrap_or(usize::MAX);
                ID_BYTES.get(index).copied().map_or(0, u32::from)
            }
            _ => {
                log::debug!("pl011: read of unimplemented offset {offset:#x}");
                0
            }
        };
        self.update_irq();
        value
    }

    /// Writes the 32-bit register at `offset` (word aligned, inside the 4 KiB page).
    pub fn write_register(&mut self, offset: u64, value: u32) {
        match offset {
            // Only bits [7:0] are data; the byte is truncated on purpose.
            reg::DR => self.transmit(value as u8),
            reg::RSR_ECR => {} // no errors are modelled, so there is nothing to clear
            reg::IBRD => self.ibrd = value & 0xFFFF,
            reg::FBRD => self.fbrd = value & 0x3F,
            reg::LCR_H => {
                let fifo_was_on = self.lcr_h & LCR_H_FEN != 0;
                self.lcr_h = value & 0xFF;
                if fifo_was_on && self.lcr_h & LCR_H_FEN == 0 {
                    // Character mode holds one entry; the TRM flushes on FEN changes.
                    self.rx.clear();
                    self.ris &= !(int::RX | int::RT);
                }
            }
            reg::CR => self.cr = value & 0xFF87,
            reg::IFLS => self.ifls = value & 0x3F,
            reg::IMSC => self.imsc = value & int::ALL,
            reg::ICR => self.ris &= !(value & int::ALL),
            reg::DMACR => self.dmacr = value & 0x7,
            _ => log::debug!(
                "pl011: write {value:#x} to read-only or unimplemented offset {offset:#x}"
            ),
        }
        self.update_irq();
    }

    /// The register offset and byte lane for an access, if it is one the bus honours:
    /// 1, 2 or 4 bytes, inside the page, not crossing a register.
    fn decode(&self, addr: u64, len: usize) -> Option<(u64, u32)> {
        let offset = addr.checked_sub(self.base)?;
        let lane = offset & 3;
        let fits = matches!(len, 1 | 2 | 4) && lane + len as u64 <= 4;
        (offset < crate::machine::arm64::layout::PL011_SIZE && fits)
            .then_some((offset & !3, (lane * 8) as u32))
    }
}

impl BusDevice for Pl011 {
    fn read(&mut self, addr: u64, data: &mut [u8]) {
        data.fill(0);
        let Some((offset, shift)) = self.decode(addr, data.len()) else {
            log::debug!("pl011: ignored {}-byte read at {addr:#x}", data.len());
            return;
        };
        // A narrow read of DR still pops one entry, as the hardware does.
        let bytes = (self.read_register(offset) >> shift).to_le_bytes();
        let n = data.len();
        data.copy_from_slice(&bytes[..n]);
    }

    fn write(&mut self, addr: u64, data: &[u8]) {
        let Some((offset, shift)) = self.decode(addr, data.len()) else {
            log::debug!("pl011: ignored {}-byte write at {addr:#x}", data.len());
            return;
        };
        if shift != 0 {
            // Upper-lane writes would need read-modify-write of live registers (DR, ICR);
            // no driver does them.
            log::debug!(
                "pl011: ignored write to byte lane {} at {addr:#x}",
                shift / 8
            );
            return;
        }
        let mut bytes = [0u8; 4];
        bytes[..data.len()].copy_from_slice(data);
        self.write_register(offset, u32::from_le_bytes(bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::uart::SerialLog;
    use crate::irq::IrqRecorder;
    use std::sync::{Arc, Mutex};

    const BASE: u64 = 0x0900_0000;

    struct Rig {
        uart: Pl011,
        irqs: Arc<IrqRecorder>,
        log: Arc<Mutex<SerialLog>>,
    }

    fn rig() -> Rig {
        let irqs = IrqRecorder::new();
        let log = SerialLog::shared();
        let uart = Pl011::new(BASE, irqs.line(1), SerialOutput::new(None, log.clone()));
        Rig { uart, irqs, log }
    }

    fn rd(u: &mut Pl011, off: u64) -> u32 {
        let mut b = [0u8; 4];
        u.read(BASE + off, &mut b);
        u32::from_le_bytes(b)
    }

    fn wr(u: &mut Pl011, off: u64, v: u32) {
        u.write(BASE + off, &v.to_le_bytes());
    }

    #[test]
    fn reset_values_and_ids() {
        let Rig { mut uart, .. } = rig();
        assert_eq!(rd(&mut uart, reg::FR), fr::TXFE | fr::RXFE);
        assert_eq!(rd(&mut uart, reg::CR), CR_RESET);
        assert_eq!(rd(&mut uart, reg::IFLS), IFLS_RESET);
        assert_eq!(rd(&mut uart, reg::RIS), 0);
        let ids: Vec<u32> = (0..8).map(|i| rd(&mut uart, 0xFE0 + 4 * i)).collect();
        assert_eq!(ids, [0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1]);
    }

    #[test]
    fn transmit_reaches_the_log_and_raises_tx() {
        let Rig {
            mut uart,
            irqs,
            log,
            ..
        } = rig();
        wr(&mut uart, reg::IMSC, int::TX);
        assert!(!irqs.level(1));
        for &b in b"hv arm64 demo\n" {
            uart.write(BASE, &[b]);
        }
        assert_eq!(log.lock().expect("log").text(), "hv arm64 demo\n");
        assert_eq!(rd(&mut uart, reg::MIS), int::TX);
        assert!(irqs.level(1));
        wr(&mut uart, reg::ICR, int::TX);
        assert_eq!(rd(&mut uart, reg::RIS), 0);
        assert!(!irqs.level(1));
        // Only the low byte of DR is data.
        wr(&mut uart, reg::DR, 0x1234_5641);
        assert!(log.lock().expect("log").text().ends_with('A'));
    }

    #[test]
    fn receive_fifo_is_bounded_and_flags_follow() {
        let Rig { mut uart, irqs, .. } = rig();
        // Character mode: one entry.
        assert_eq!(uart.receive(b"xyz"), 1);
        assert_eq!(rd(&mut uart, reg::FR) & (fr::RXFE | fr::RXFF), fr::RXFF);
        assert_eq!(rd(&mut uart, reg::DR), u32::from(b'x'));
        assert_eq!(rd(&mut uart, reg::FR) & fr::RXFE, fr::RXFE);
        // FIFO mode: sixteen.
        wr(&mut uart, reg::LCR_H, LCR_H_FEN | 0x60);
        let flood = [b'a'; 100];
        assert_eq!(uart.receive(&flood), FIFO_DEPTH);
        assert_eq!(uart.receive(&flood), 0);
        assert_eq!(uart.receive_capacity(), 0);
        assert!(rd(&mut uart, reg::FR) & fr::RXFF != 0);
        wr(&mut uart, reg::IMSC, int::RX | int::RT);
        assert!(irqs.level(1));
        for _ in 0..FIFO_DEPTH {
            assert_eq!(rd(&mut uart, reg::DR), u32::from(b'a'));
        }
        assert_eq!(rd(&mut uart, reg::RIS) & (int::RX | int::RT), 0);
        assert!(!irqs.level(1), "draining the FIFO lowers the line");
        // Reading an empty FIFO is harmless.
        assert_eq!(rd(&mut uart, reg::DR), 0);
    }

    #[test]
    fn rx_trigger_level_and_timeout() {
        let Rig { mut uart, .. } = rig();
        wr(&mut uart, reg::LCR_H, LCR_H_FEN);
        wr(&mut uart, reg::IFLS, 0); // RX at 1/8 = 2 entries
        uart.receive(b"a");
        assert_eq!(rd(&mut uart, reg::RIS) & (int::RX | int::RT), int::RT);
        uart.receive(b"b");
        assert_eq!(
            rd(&mut uart, reg::RIS) & (int::RX | int::RT),
            int::RX | int::RT
        );
        rd(&mut uart, reg::DR);
        assert_eq!(rd(&mut uart, reg::RIS) & (int::RX | int::RT), int::RT);
        wr(&mut uart, reg::ICR, int::RT);
        assert_eq!(
            rd(&mut uart, reg::RIS) & int::RT,
            0,
            "ICR clears the timeout"
        );
        // Turning the FIFO off flushes it.
        wr(&mut uart, reg::LCR_H, 0);
        assert!(rd(&mut uart, reg::FR) & fr::RXFE != 0);
    }

    #[test]
    fn register_widths_are_masked() {
        let Rig { mut uart, .. } = rig();
        wr(&mut uart, reg::IBRD, 0xFFFF_FFFF);
        wr(&mut uart, reg::FBRD, 0xFFFF_FFFF);
        wr(&mut uart, reg::IFLS, 0xFFFF_FFFF);
        wr(&mut uart, reg::IMSC, 0xFFFF_FFFF);
        wr(&mut uart, reg::DMACR, 0xFFFF_FFFF);
        assert_eq!(rd(&mut uart, reg::IBRD), 0xFFFF);
        assert_eq!(rd(&mut uart, reg::FBRD), 0x3F);
        assert_eq!(rd(&mut uart, reg::IFLS), 0x3F);
        assert_eq!(rd(&mut uart, reg::IMSC), int::ALL);
        assert_eq!(rd(&mut uart, reg::DMACR), 0x7);
        // Read-only registers ignore writes.
        wr(&mut uart, reg::FR, 0);
        wr(&mut uart, reg::RIS, 0xFFFF);
        assert_eq!(rd(&mut uart, reg::FR), fr::TXFE | fr::RXFE);
        assert_eq!(rd(&mut uart, reg::RIS), 0);
    }

    #[test]
    fn hostile_accesses_never_panic() {
        let Rig { mut uart, log, .. } = rig();
        let mut b8 = [0xAAu8; 8];
        uart.read(BASE, &mut b8);
        assert_eq!(b8, [0; 8], "8-byte reads are refused and read as zero");
        uart.write(BASE, &[b'Z'; 8]);
        let mut b1 = [0u8; 1];
        uart.read(BASE + 0xFE0, &mut b1);
        assert_eq!(b1, [0x11], "byte reads of ID registers work");
        uart.read(BASE + 0xFE1, &mut b1);
        assert_eq!(b1, [0x00]);
        let mut b2 = [0u8; 2];
        uart.read(BASE + 0x3, &mut b2); // crosses a register
        uart.read(BASE + 0x1000, &mut b1); // outside the page
        uart.read(BASE - 1, &mut b1); // below the base
        uart.read(u64::MAX, &mut b1);
        uart.write(BASE + 0x1, b"Q"); // upper lane of DR
        uart.write(BASE + 0xFFF, &[0]);
        uart.write(BASE, &[]);
        let mut empty = [0u8; 0];
        uart.read(BASE, &mut empty);
        assert_eq!(log.lock().expect("log").total(), 0);
        // A byte store to DR (strb) transmits.
        uart.write(BASE, b"!");
        assert_eq!(log.lock().expect("log").text(), "!");
    }
}
