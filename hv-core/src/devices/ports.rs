//! The small ISA ports every PC has: POST codes, system control port A (fast A20 and
//! reset), the PCI reset control register, and QEMU's debug-exit port.

use std::sync::Arc;

use super::system::{SystemControl, SystemRequest};
use crate::bus::BusDevice;

/// Port 0x80: POST diagnostic codes. Guests also write it as an I/O delay; the last code
/// is kept for the log.
#[derive(Debug, Default)]
pub struct PostCode {
    last: u8,
}

impl PostCode {
    /// The last POST code written.
    pub fn last(&self) -> u8 {
        self.last
    }
}

impl BusDevice for PostCode {
    fn read(&mut self, _addr: u64, data: &mut [u8]) {
        data.fill(0xFF);
    }

    fn write(&mut self, _addr: u64, data: &[u8]) {
        if let Some(&v) = data.first() {
            self.last = v;
        }
    }
}

/// Port 0x92, system control port A: bit 1 is the A20 gate, writing bit 0 = 1 resets
/// the CPU (the "fast reset" Linux and memtest86+ try).
#[derive(Debug)]
pub struct SystemControlPortA {
    system: Arc<SystemControl>,
}

impl SystemControlPortA {
    /// Port 0x92 acting on `system`.
    pub fn new(system: Arc<SystemControl>) -> Self {
        Self { system }
    }
}

impl BusDevice for SystemControlPortA {
    fn read(&mut self, _addr: u64, data: &mut [u8]) {
        if let Some(b) = data.first_mut() {
            *b = if self.system.a20() { 0x02 } else { 0 };
        }
    }

    fn write(&mut self, _addr: u64, data: &[u8]) {
        let Some(&v) = data.first() else { return };
        self.system.set_a20(v & 0x02 != 0);
        if v & 0x01 != 0 {
            self.system
                .request(SystemRequest::Reset("port 0x92 fast reset"));
        }
    }
}

/// Port 0xCF9, the reset control register of PC chipsets: writing bit 2 (RST_CPU)
/// resets; bit 1 (SYS_RST) selects a hard reset, which for hv is the same thing.
#[derive(Debug)]
pub struct ResetControl {
    system: Arc<SystemControl>,
    value: u8,
}

impl ResetControl {
    /// Port 0xCF9 acting on `system`.
    pub fn new(system: Arc<SystemControl>) -> Self {
        Self { system, value: 0 }
    }
}

impl BusDevice for ResetControl {
    fn read(&mut self, _addr: u64, data: &mut [u8]) {
        if let Some(b) = data.first_mut() {
            *b = self.value;
        }
    }

    fn write(&mut self, _addr: u64, data: &[u8]) {
        let Some(&v) = data.first() else { return };
        self.value = v & 0x0E;
        if v & 0x04 != 0 {
            self.system
                .request(SystemRequest::Reset("port 0xCF9 reset control"));
        }
    }
}

/// The debug-exit port (0xF4 by default), compatible with QEMU's `isa-debug-exit`: a byte
/// `v` written ends the run with process status `(v << 1) | 1`.
#[derive(Debug)]
pub struct DebugExit {
    system: Arc<SystemControl>,
}

impl DebugExit {
    /// The port acting on `system`.
    pub fn new(system: Arc<SystemControl>) -> Self {
        Self { system }
    }

    /// The exit status a write of `v` produces.
    pub fn status_for(v: u8) -> i32 {
        (i32::from(v) << 1) | 1
    }
}

impl BusDevice for DebugExit {
    fn read(&mut self, _addr: u64, data: &mut [u8]) {
        data.fill(0xFF);
    }

    fn write(&mut self, _addr: u64, data: &[u8]) {
        if let Some(&v) = data.first() {
            self.system
                .request(SystemRequest::Exit(Self::status_for(v)));
        }
    }
}

/// Ports that only need to exist (the FPU error ports 0xF0/0xF1, the floppy motor
/// register guests turn off before booting): writes are accepted, reads float high.
#[derive(Debug, Default)]
pub struct Sink;

impl BusDevice for Sink {
    fn read(&mut self, _addr: u64, data: &mut [u8]) {
        data.fill(0xFF);
    }

    fn write(&mut self, _addr: u64, _data: &[u8]) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_exit_status_matches_qemu() {
        let sys = Arc::new(SystemControl::new());
        let mut d = DebugExit::new(sys.clone());
        d.write(0xF4, &[0x10]);
        assert_eq!(sys.take(), Some(SystemRequest::Exit(0x21)));
        d.write(0xF4, &[0xFF, 0xFF]);
        assert_eq!(sys.take(), Some(SystemRequest::Exit(0x1FF)));
        d.write(0xF4, &[]);
        assert_eq!(sys.take(), None);
        assert_eq!(DebugExit::status_for(0), 1);
    }

    #[test]
    fn port_92_a20_and_fast_reset() {
        let sys = Arc::new(SystemControl::new());
        let mut p = SystemControlPortA::new(sys.clone());
        let mut b = [0u8];
        p.read(0x92, &mut b);
        assert_eq!(b[0], 0x02);
        p.write(0x92, &[0x00]);
        assert!(!sys.a20());
        assert_eq!(sys.take(), None);
        p.write(0x92, &[0x03]);
        assert!(sys.a20());
        assert!(matches!(sys.take(), Some(SystemRequest::Reset(_))));
    }

    #[test]
    fn cf9_resets_only_with_rst_cpu() {
        let sys = Arc::new(SystemControl::new());
        let mut r = ResetControl::new(sys.clone());
        r.write(0xCF9, &[0x02]);
        assert_eq!(sys.take(), None);
        let mut b = [0u8];
        r.read(0xCF9, &mut b);
        assert_eq!(b[0], 0x02);
        r.write(0xCF9, &[0x06]);
        assert!(matches!(sys.take(), Some(SystemRequest::Reset(_))));
    }

    #[test]
    fn post_code_and_sink() {
        let mut p = PostCode::default();
        p.write(0x80, &[0x55]);
        assert_eq!(p.last(), 0x55);
        let mut b = [0u8; 2];
        p.read(0x80, &mut b);
        assert_eq!(b, [0xFF, 0xFF]);
        let mut s = Sink;
        s.write(0xF0, &[1]);
        s.read(0xF1, &mut b);
        assert_eq!(b, [0xFF, 0xFF]);
    }
}
