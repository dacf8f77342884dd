//! x86 conformance cases and the harness they share.
//!
//! Every case is `fn(&H)` for any [`X86Backend`] and panics with a message on failure.
//! Guests are a few instructions assembled with iced-x86 at [`CODE`] in a 64 KiB RAM
//! ([`RAM_SIZE`]); they report results with `out` and stop with `hlt`.

use std::time::Duration;

use iced_x86::IcedError;
use iced_x86::code_asm::CodeAssembler;

use super::io_log::RecordingIo;
use super::watchdog::Watchdog;
use crate::arch::x86::{EntryState, long_mode, protected_mode, real_mode};
use crate::{GuestMemory, HvError, Hypervisor, Vcpu, VcpuExit, VcpuX86, Vm, VmConfig};

pub mod fault;
pub mod interrupts;
pub mod io;
pub mod kick;
pub mod memory;
pub mod mmio;
pub mod modes;
pub mod regs;

/// A hypervisor whose vCPUs are x86 (what every x86 case needs).
pub trait X86Backend: Hypervisor<Vm: Vm<Vcpu: VcpuX86>> {}
impl<H: Hypervisor<Vm: Vm<Vcpu: VcpuX86>>> X86Backend for H {}

/// The vCPU type of backend `H`.
pub type VcpuOf<H> = <<H as Hypervisor>::Vm as Vm>::Vcpu;

/// Guest RAM: 0..64 KiB.
pub const RAM_SIZE: u64 = 0x1_0000;
/// Where guest code is loaded and starts.
pub const CODE: u64 = 0x1000;
/// Initial stack pointer.
pub const STACK: u64 = 0x8000;
/// GDT for protected and long mode.
pub const GDT: u64 = 0x500;
/// Scratch data the guest and the host exchange.
pub const DATA: u64 = 0x600;
/// Long-mode page tables (24 KiB).
pub const PAGE_TABLES: u64 = 0x9000;
/// An address with no memory behind it (below 4 GiB, so every mode can reach it).
pub const UNMAPPED: u64 = 0xD000_0000;

/// A case gives up after this long (each should finish in milliseconds).
pub const TIME_LIMIT: Duration = Duration::from_secs(3);
/// A case gives up after this many exits.
pub const MAX_EXITS: usize = 10_000;

/// Assembles `program` for `bitness` (16, 32, 64) at `ip`.
pub fn assemble(
    bitness: u32,
    ip: u64,
    program: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>,
) -> Vec<u8> {
    let mut a = CodeAssembler::new(bitness).expect("valid bitness");
    program(&mut a).expect("test program is valid assembly");
    a.assemble(ip).expect("test program assembles")
}

/// Assembles `program` at `at` and copies it into `mem`.
pub fn load(
    mem: &GuestMemory,
    bitness: u32,
    at: u64,
    program: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>,
) {
    mem.write(at, &assemble(bitness, at, program))
        .expect("program fits in guest memory");
}

/// Plain RAM of [`RAM_SIZE`].
pub fn ram() -> GuestMemory {
    GuestMemory::ram(RAM_SIZE).expect("guest RAM")
}

/// A VM with one vCPU in a given entry state, an I/O recorder and a watchdog.
pub struct Guest<H: X86Backend> {
    // Field order is drop order: stop the watchdog, then the vCPU, then the VM.
    watchdog: Watchdog,
    /// The vCPU under test.
    pub vcpu: VcpuOf<H>,
    /// The VM (kept alive for the vCPU).
    pub vm: H::Vm,
    /// Guest memory, shared with the VM.
    pub mem: GuestMemory,
    /// Every completed access.
    pub io: RecordingIo,
}

impl<H: X86Backend> std::fmt::Debug for Guest<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guest")
            .field("mem", &self.mem)
            .field("io", &self.io)
            .finish_non_exhaustive()
    }
}

impl<H: X86Backend> Guest<H> {
    /// Maps `mem`, creates vCPU 0 and loads `entry`.
    pub fn new(hv: &H, mem: GuestMemory, entry: &EntryState) -> Self {
        let mut vm = hv.create_vm(&VmConfig::default()).expect("create VM");
        vm.map_memory(&mem).expect("map guest memory");
        let mut vcpu = vm.create_vcpu(0).expect("create vCPU");
        vcpu.set_sregs(&entry.sregs).expect("set sregs");
        vcpu.set_regs(&entry.regs).expect("set regs");
        let watchdog = Watchdog::start(vcpu.kicker(), TIME_LIMIT);
        Self {
            watchdog,
            vcpu,
            vm,
            mem,
            io: RecordingIo::default(),
        }
    }

    /// 16-bit real mode at `0:CODE` running `program`.
    pub fn real(hv: &H, program: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>) -> Self {
        let mem = ram();
        load(&mem, 16, CODE, program);
        Self::new(hv, mem, &real_mode(0, CODE as u16, STACK as u16))
    }

    /// Flat 32-bit protected mode at `CODE` running `program`.
    pub fn protected(
        hv: &H,
        program: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>,
    ) -> Self {
        let mem = ram();
        Self::protected_in(hv, mem, program)
    }

    /// Flat 32-bit protected mode in `mem` (which may have more regions).
    pub fn protected_in(
        hv: &H,
        mem: GuestMemory,
        program: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>,
    ) -> Self {
        load(&mem, 32, CODE, program);
        let entry = protected_mode(&mem, GDT, CODE as u32, STACK as u32).expect("entry");
        Self::new(hv, mem, &entry)
    }

    /// 64-bit long mode (first 4 GiB identity-mapped) at `CODE` running `program`.
    pub fn long(hv: &H, program: impl FnOnce(&mut CodeAssembler) -> Result<(), IcedError>) -> Self {
        let mem = ram();
        load(&mem, 64, CODE, program);
        let entry = long_mode(&mem, PAGE_TABLES, GDT, CODE, STACK).expect("entry");
        Self::new(hv, mem, &entry)
    }

    /// One `run`. Panics if the watchdog had to stop the guest.
    pub fn run_once(&mut self) -> Result<VcpuExit, HvError> {
        let exit = self.vcpu.run(&mut self.io);
        assert!(
            !self.watchdog.expired(),
            "the guest was still running after {TIME_LIMIT:?} (last result {exit:?})"
        );
        exit
    }

    /// Runs until `stop` accepts an exit and returns it. `Io` and `Spurious` exits are
    /// passed over; anything else (or an error) fails the case.
    pub fn run_until(&mut self, what: &str, stop: impl Fn(VcpuExit) -> bool) -> VcpuExit {
        for _ in 0..MAX_EXITS {
            let exit = self
                .run_once()
                .unwrap_or_else(|e| panic!("waiting for {what}: run failed: {e}"));
            if stop(exit) {
                return exit;
            }
            assert!(
                matches!(exit, VcpuExit::Io | VcpuExit::Spurious),
                "waiting for {what}: unexpected exit {exit:?}; I/O so far: {:?}",
                self.io.events
            );
        }
        panic!("waiting for {what}: no result after {MAX_EXITS} exits");
    }

    /// Runs until the guest halts.
    pub fn run_to_halt(&mut self) {
        self.run_until("hlt", |e| e == VcpuExit::Halt);
    }

    /// Runs until the next `Io` exit (or fails on anything other than `Spurious`).
    pub fn run_to_io(&mut self) {
        self.run_until("an I/O exit", |e| e == VcpuExit::Io);
    }
}

/// The x86 cases, in the order they run: calls `$cb!($hv; x86::group::case)` for each.
/// This list is the only one: the `#[test]` functions of
/// [`conformance_tests!`](crate::conformance_tests) and [`cases`] (for `hv selftest`) are
/// both generated from it, so adding a case is one line.
#[doc(hidden)]
#[macro_export]
macro_rules! __x86_conformance_cases {
    ($cb:path; $hv:ty) => {
        $cb!($hv; x86::io::pio_out_sizes);
        $cb!($hv; x86::io::pio_in_sizes);
        $cb!($hv; x86::io::rep_outsb);
        $cb!($hv; x86::io::rep_insw);
        $cb!($hv; x86::mmio::mmio_write_sizes);
        $cb!($hv; x86::mmio::mmio_read_sizes);
        $cb!($hv; x86::modes::hlt_exits_after_the_instruction);
        $cb!($hv; x86::modes::entry_real_mode);
        $cb!($hv; x86::modes::entry_protected_mode);
        $cb!($hv; x86::modes::entry_long_mode);
        $cb!($hv; x86::memory::guest_writes_host_reads);
        $cb!($hv; x86::memory::host_writes_guest_reads);
        $cb!($hv; x86::memory::rom_writes_exit_as_mmio);
        $cb!($hv; x86::interrupts::interrupt_injection_real_mode);
        $cb!($hv; x86::interrupts::interrupt_window_opens_after_sti);
        $cb!($hv; x86::interrupts::reset_discards_queued_events);
        $cb!($hv; x86::kick::kick_while_spinning);
        $cb!($hv; x86::kick::kick_before_run_is_sticky);
        $cb!($hv; x86::kick::kick_after_vcpu_drop_is_harmless);
        $cb!($hv; x86::regs::regs_round_trip);
        $cb!($hv; x86::regs::sregs_round_trip);
        $cb!($hv; x86::fault::triple_fault_stops_the_guest);
    };
}

/// One case of the suite, for runners outside `#[test]` (`hv selftest`).
pub struct Case<H: X86Backend> {
    /// `x86::<case>`.
    pub name: &'static str,
    /// Runs the case; panics with the reason on failure.
    pub run: fn(&H),
}

impl<H: X86Backend> std::fmt::Debug for Case<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Every x86 case, in suite order.
pub fn cases<H: X86Backend>() -> Vec<Case<H>> {
    let mut all = Vec::new();
    macro_rules! push {
        ($h:ty; $arch:ident :: $group:ident :: $case:ident) => {
            all.push(Case {
                name: concat!(stringify!($arch), "::", stringify!($case)),
                run: $group::$case::<$h>,
            });
        };
    }
    crate::__x86_conformance_cases!(push; H);
    all
}
