//! Helpers shared by hv's fuzz targets: fake clocks and I/O sinks, and the few
//! structured inputs several targets use.
//!
//! Every target drives one piece of hv with guest-controlled input and then checks
//! invariants the rest of the VMM relies on (queues stay bounded, frames have the size
//! the window expects, timers never ask to be polled in the past, ...). A panic or a
//! failed `assert!` is a finding; see docs/security.md.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arbitrary::Arbitrary;
use hv_core::IoHandler;
use hv_core::clock::{Clock, FakeClock};
use hv_core::devices::SystemControl;
use hv_core::devices::cmos::WallClock;
use hv_core::devices::uart::SerialLog;
use hv_core::devices::vga::VgaState;
use hv_core::machine::pc::SharedParts;
use hv_core::machine::stats::ExitStats;
use hv_core::memory::GuestMemory;

/// A wall clock at whatever time the input sets (any `u64` seconds, so dates far after
/// 9999 and past `i64::MAX` are exercised too). Clones share the time.
#[derive(Debug, Clone, Default)]
pub struct SettableWallClock(pub Arc<Mutex<Duration>>);

impl SettableWallClock {
    /// Moves the clock to `t`.
    pub fn set(&self, t: Duration) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }
}

impl WallClock for SettableWallClock {
    fn now(&self) -> Duration {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One access an [`IoRecorder`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A port read of this many bytes.
    PioRead(u16, usize),
    /// A port write.
    PioWrite(u16, Vec<u8>),
    /// An MMIO read of this many bytes.
    MmioRead(u64, usize),
    /// An MMIO write.
    MmioWrite(u64, Vec<u8>),
}

/// An [`IoHandler`] that records every access and answers reads with a fixed byte, so a
/// decoder's use of the handler can be checked against what it decoded.
#[derive(Debug, Default)]
pub struct IoRecorder {
    /// Accesses in order.
    pub log: Vec<Access>,
    /// The byte reads return.
    pub fill: u8,
}

impl IoHandler for IoRecorder {
    fn pio_read(&mut self, port: u16, data: &mut [u8]) {
        data.fill(self.fill);
        self.log.push(Access::PioRead(port, data.len()));
    }
    fn pio_write(&mut self, port: u16, data: &[u8]) {
        self.log.push(Access::PioWrite(port, data.to_vec()));
    }
    fn mmio_read(&mut self, gpa: u64, data: &mut [u8]) {
        data.fill(self.fill);
        self.log.push(Access::MmioRead(gpa, data.len()));
    }
    fn mmio_write(&mut self, gpa: u64, data: &[u8]) {
        self.log.push(Access::MmioWrite(gpa, data.to_vec()));
    }
}

/// The parts a [`hv_core::machine::pc::PcBoard`] shares, over `memory` and a fake clock
/// the caller advances.
pub fn shared_parts(memory: GuestMemory, clock: Arc<FakeClock>) -> SharedParts {
    let clock: Arc<dyn Clock> = clock;
    SharedParts {
        memory,
        clock,
        vga: Arc::new(Mutex::new(VgaState::new())),
        serial_log: SerialLog::shared(),
        stats: Arc::new(ExitStats::default()),
        system: Arc::new(SystemControl::new()),
    }
}

/// An access width a guest can use with `in`/`out`.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Width {
    /// `in al` / `out al`.
    Byte,
    /// `in ax`.
    Word,
    /// `in eax`.
    Dword,
}

impl Width {
    /// Bytes moved.
    pub fn len(self) -> usize {
        match self {
            Width::Byte => 1,
            Width::Word => 2,
            Width::Dword => 4,
        }
    }

    /// Always false; present for clippy's `len` convention.
    pub fn is_empty(self) -> bool {
        false
    }
}

/// Time steps the input may take: small ones (microseconds) are common, large ones
/// (up to about an hour) let timers wrap and coalesce.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Step {
    /// Up to 65 ms in microseconds.
    Micros(u16),
    /// Up to 65 s in milliseconds.
    Millis(u16),
    /// Up to ~18 h in seconds.
    Seconds(u16),
}

impl Step {
    /// The step as a duration.
    pub fn duration(self) -> Duration {
        match self {
            Step::Micros(n) => Duration::from_micros(n.into()),
            Step::Millis(n) => Duration::from_millis(n.into()),
            Step::Seconds(n) => Duration::from_secs(n.into()),
        }
    }
}

/// A vCPU that only holds registers (as the firmware's unit tests use), so BIOS services
/// can be driven through [`hv_core::firmware::service`] without a hypervisor.
#[derive(Debug, Default)]
pub struct FakeVcpu {
    /// General registers.
    pub regs: hv_core::arch::x86::regs::Regs,
    /// Segment and control registers.
    pub sregs: hv_core::arch::x86::regs::Sregs,
    /// `set_sregs` was called.
    pub sregs_written: bool,
}

#[derive(Debug)]
struct NoKick;

impl hv_core::Kicker for NoKick {
    fn kick(&self) {}
}

impl hv_core::Vcpu for FakeVcpu {
    fn run(&mut self, _io: &mut dyn IoHandler) -> hv_core::Result<hv_core::VcpuExit> {
        Ok(hv_core::VcpuExit::Spurious)
    }
    fn kicker(&self) -> Arc<dyn hv_core::Kicker> {
        Arc::new(NoKick)
    }
    fn reset(&mut self) -> hv_core::Result<()> {
        Ok(())
    }
}

impl hv_core::VcpuX86 for FakeVcpu {
    fn regs(&self) -> hv_core::Result<hv_core::arch::x86::regs::Regs> {
        Ok(self.regs)
    }
    fn set_regs(&mut self, regs: &hv_core::arch::x86::regs::Regs) -> hv_core::Result<()> {
        self.regs = *regs;
        Ok(())
    }
    fn sregs(&self) -> hv_core::Result<hv_core::arch::x86::regs::Sregs> {
        Ok(self.sregs)
    }
    fn set_sregs(&mut self, sregs: &hv_core::arch::x86::regs::Sregs) -> hv_core::Result<()> {
        self.sregs = *sregs;
        self.sregs_written = true;
        Ok(())
    }
    fn ready_for_interrupt(&self) -> bool {
        false
    }
    fn inject_interrupt(&mut self, _vector: u8) -> hv_core::Result<()> {
        Ok(())
    }
    fn request_interrupt_window(&mut self, _on: bool) -> hv_core::Result<()> {
        Ok(())
    }
}

/// A copy of all of guest memory (regions are contiguous from 0 in a PC layout), to
/// compare before and after an operation.
pub fn snapshot(mem: &GuestMemory) -> Vec<u8> {
    let mut out = Vec::new();
    snapshot_into(mem, &mut out);
    out
}

/// [`snapshot`] into an existing buffer (no allocation once it has the size).
pub fn snapshot_into(mem: &GuestMemory, out: &mut Vec<u8>) {
    let end = mem.regions().map(|r| r.gpa + r.size).max().unwrap_or(0);
    out.resize(end as usize, 0);
    for r in mem.regions() {
        let (a, b) = (r.gpa as usize, (r.gpa + r.size) as usize);
        mem.read(r.gpa, &mut out[a..b]).unwrap();
    }
}

/// Addresses where `a` and `b` differ (compared 4 KiB at a time, so equal memory is cheap).
pub fn changed(a: &[u8], b: &[u8]) -> Vec<u64> {
    assert_eq!(a.len(), b.len());
    let mut out = Vec::new();
    for (i, (x, y)) in a.chunks(4096).zip(b.chunks(4096)).enumerate() {
        if x != y {
            out.extend(
                x.iter()
                    .zip(y)
                    .enumerate()
                    .filter(|(_, (p, q))| p != q)
                    .map(|(j, _)| (i * 4096 + j) as u64),
            );
        }
    }
    out
}

/// A set of guest-physical ranges `[start, end)`.
#[derive(Debug, Default, Clone)]
pub struct Ranges(pub Vec<(u64, u64)>);

impl Ranges {
    /// Adds `[start, start + len)` (saturating).
    pub fn add(&mut self, start: u64, len: u64) {
        self.0.push((start, start.saturating_add(len)));
    }
    /// True if `addr` is in one of the ranges.
    pub fn contains(&self, addr: u64) -> bool {
        self.0.iter().any(|&(a, b)| (a..b).contains(&addr))
    }
}

/// Raw bytes. As the last field of an input it is all the remaining input as-is (a
/// `Vec<u8>` there takes a continuation byte before every byte, so a real image in a
/// seed would have to be interleaved with 0x01s).
#[derive(Debug, Clone, Default)]
pub struct RawBytes(pub Vec<u8>);

impl<'a> Arbitrary<'a> for RawBytes {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let n = u.arbitrary_len::<u8>()?;
        Ok(Self(u.bytes(n)?.to_vec()))
    }

    fn arbitrary_take_rest(u: arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self(u.take_rest().to_vec()))
    }
}
