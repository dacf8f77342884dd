//! arm64 conformance snippets: tiny guest programs every arm64 backend must run the same.
//!
//! Instructions are A64 words (little-endian), each commented with its assembly; they
//! were assembled with `llvm-mc --triple=aarch64 -show-encoding`. Every case runs with
//! the MMU off (so MMIO-style Device memory everywhere: only aligned accesses) from RAM at
//! [`RAM_BASE`], one VM at a time (Hypervisor.framework allows one per process), and ends
//! with PSCI SYSTEM_OFF over HVC.

use std::fmt::Write as _;

use crate::VcpuExit;
use crate::arch::arm64::{Arm64Reg, Arm64SysReg};
use crate::hypervisor::{Hypervisor, IoHandler, Vcpu, VcpuArm64, Vm, VmConfig};
use crate::memory::{GuestMemory, RegionSpec};

/// Guest RAM base (QEMU `virt` layout).
pub const RAM_BASE: u64 = 0x4000_0000;
/// Guest RAM size: four 16 KiB granules.
pub const RAM_SIZE: u64 = 0x1_0000;
/// The MMIO address the snippets access (unmapped; QEMU `virt` PL011).
pub const MMIO_ADDR: u64 = 0x0900_0000;
/// EL1h with D, A, I, F masked: the state a boot loader leaves.
pub const CPSR_EL1H_MASKED: u64 = 0x3c5;

/// x0 = PSCI SYSTEM_OFF; hvc #0.
const SYSTEM_OFF: [u32; 3] = [
    0xd2b0_8000, // movz x0, #0x8400, lsl #16
    0xf280_0100, // movk x0, #0x0008
    0xd400_0002, // hvc #0
];

/// x1 = MMIO_ADDR; x2 = 0xdef0_9abc_5678_1234.
const SETUP_X1_X2: [u32; 5] = [
    0xd2a1_2001, // movz x1, #0x0900, lsl #16
    0xd282_4682, // movz x2, #0x1234
    0xf2aa_cf02, // movk x2, #0x5678, lsl #16
    0xf2d3_5782, // movk x2, #0x9abc, lsl #32
    0xf2fb_de02, // movk x2, #0xdef0, lsl #48
];

const X2_VALUE: u64 = 0xdef0_9abc_5678_1234;

/// Stores of each size, then a store from XZR.
const MMIO_STORES: [u32; 5] = [
    0x3900_0022, // strb w2, [x1]
    0x7900_0022, // strh w2, [x1]
    0xb900_0022, // str  w2, [x1]
    0xf900_0022, // str  x2, [x1]
    0xb900_003f, // str  wzr, [x1]
];

/// Loads of each size, zero- and sign-extending, into W and X registers.
const MMIO_LOADS: [u32; 7] = [
    0x3940_0023, // ldrb  w3, [x1]
    0x7940_0024, // ldrh  w4, [x1]
    0xb940_0025, // ldr   w5, [x1]
    0xf940_0026, // ldr   x6, [x1]
    0x3980_0027, // ldrsb x7, [x1]
    0x79c0_0028, // ldrsh w8, [x1]
    0xb980_0029, // ldrsw x9, [x1]
];

/// The bytes the test device returns for any load.
const LOAD_PATTERN: [u8; 8] = [0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88];

/// Only `wfi`; the timer is off, so the backend must report Halt.
const WFI: [u32; 1] = [
    0xd503_207f, // wfi
];

/// PSCI_VERSION, result kept in x20.
const PSCI_VERSION: [u32; 3] = [
    0xd2b0_8000, // movz x0, #0x8400, lsl #16
    0xd400_0002, // hvc #0
    0xaa00_03f4, // mov x20, x0
];

/// Reads the u64 at RAM_BASE+0x800, adds one, writes it to RAM_BASE+0x808.
const MEMORY_ROUND_TRIP: [u32; 4] = [
    0xd2a8_000a, // movz x10, #0x4000, lsl #16
    0xf944_014b, // ldr x11, [x10, #0x800]
    0x9100_056b, // add x11, x11, #1
    0xf904_054b, // str x11, [x10, #0x808]
];

/// Records MMIO and answers loads with [`LOAD_PATTERN`].
#[derive(Debug, Default)]
struct RecordingBus {
    writes: Vec<(u64, Vec<u8>)>,
    reads: Vec<(u64, usize)>,
    pio: usize,
}

impl IoHandler for RecordingBus {
    fn pio_read(&mut self, _port: u16, data: &mut [u8]) {
        self.pio += 1;
        data.fill(0xff);
    }
    fn pio_write(&mut self, _port: u16, _data: &[u8]) {
        self.pio += 1;
    }
    fn mmio_read(&mut self, gpa: u64, data: &mut [u8]) {
        self.reads.push((gpa, data.len()));
        let n = data.len().min(LOAD_PATTERN.len());
        data[..n].copy_from_slice(&LOAD_PATTERN[..n]);
    }
    fn mmio_write(&mut self, gpa: u64, data: &[u8]) {
        self.writes.push((gpa, data.to_vec()));
    }
}

/// One guest: VM, memory and vCPU (dropped vCPU first).
struct Guest<H: Hypervisor> {
    vcpu: <H::Vm as Vm>::Vcpu,
    memory: GuestMemory,
    _vm: H::Vm,
}

type CaseResult = Result<(), String>;

fn err(context: &str, e: impl std::fmt::Display) -> String {
    format!("{context}: {e}")
}

fn boot<H>(hv: &H, code: &[&[u32]]) -> Result<Guest<H>, String>
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let memory = GuestMemory::new(&[RegionSpec {
        gpa: RAM_BASE,
        size: RAM_SIZE,
        read_only: false,
    }])
    .map_err(|e| err("guest memory", e))?;
    let bytes: Vec<u8> = code
        .iter()
        .flat_map(|part| part.iter())
        .flat_map(|w| w.to_le_bytes())
        .collect();
    memory
        .write(RAM_BASE, &bytes)
        .map_err(|e| err("load code", e))?;
    let mut vm = hv
        .create_vm(&VmConfig::default())
        .map_err(|e| err("create_vm", e))?;
    vm.map_memory(&memory).map_err(|e| err("map_memory", e))?;
    let mut vcpu = vm.create_vcpu(0).map_err(|e| err("create_vcpu", e))?;
    vcpu.set_reg(Arm64Reg::Pc, RAM_BASE)
        .map_err(|e| err("set PC", e))?;
    vcpu.set_reg(Arm64Reg::Cpsr, CPSR_EL1H_MASKED)
        .map_err(|e| err("set CPSR", e))?;
    Ok(Guest {
        vcpu,
        memory,
        _vm: vm,
    })
}

/// Runs until an exit other than `Io`, at most `limit` runs.
fn run_until_stop<V: Vcpu>(
    vcpu: &mut V,
    bus: &mut RecordingBus,
    limit: usize,
) -> Result<VcpuExit, String> {
    for _ in 0..limit {
        match vcpu.run(bus).map_err(|e| err("run", e))? {
            VcpuExit::Io | VcpuExit::Spurious => {}
            other => return Ok(other),
        }
    }
    Err(format!("no stop within {limit} runs"))
}

fn expect_exit(got: VcpuExit, want: VcpuExit) -> CaseResult {
    if got == want {
        Ok(())
    } else {
        Err(format!("exit {got:?}, expected {want:?}"))
    }
}

fn expect_eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> CaseResult {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:x?}, expected {want:x?}"))
    }
}

fn x<V: VcpuArm64>(vcpu: &V, n: u8) -> Result<u64, String> {
    vcpu.reg(Arm64Reg::X(n)).map_err(|e| err("read X", e))
}

/// Stores of 1, 2, 4 and 8 bytes and from XZR reach `mmio_write` with exactly those bytes.
pub fn mmio_stores<H>(hv: &H) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let mut g = boot(hv, &[&SETUP_X1_X2, &MMIO_STORES, &SYSTEM_OFF])?;
    let mut bus = RecordingBus::default();
    expect_exit(
        run_until_stop(&mut g.vcpu, &mut bus, 16)?,
        VcpuExit::Shutdown,
    )?;
    let v = X2_VALUE.to_le_bytes();
    let want = vec![
        (MMIO_ADDR, v[..1].to_vec()),
        (MMIO_ADDR, v[..2].to_vec()),
        (MMIO_ADDR, v[..4].to_vec()),
        (MMIO_ADDR, v.to_vec()),
        (MMIO_ADDR, vec![0; 4]),
    ];
    expect_eq("MMIO writes", bus.writes, want)
}

/// Loads zero-extend, `ldrsb`/`ldrsh`/`ldrsw` sign-extend, and a W destination clears
/// bits [63:32].
pub fn mmio_loads<H>(hv: &H) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let mut g = boot(hv, &[&SETUP_X1_X2, &MMIO_LOADS, &SYSTEM_OFF])?;
    for n in 3..=9 {
        g.vcpu
            .set_reg(Arm64Reg::X(n), u64::MAX)
            .map_err(|e| err("preset X", e))?;
    }
    let mut bus = RecordingBus::default();
    expect_exit(
        run_until_stop(&mut g.vcpu, &mut bus, 16)?,
        VcpuExit::Shutdown,
    )?;
    let sizes: Vec<usize> = bus.reads.iter().map(|r| r.1).collect();
    expect_eq("MMIO read sizes", sizes, vec![1, 2, 4, 8, 1, 2, 4])?;
    let want = [
        (3, 0x81),
        (4, 0x8281),
        (5, 0x8483_8281),
        (6, 0x8887_8685_8483_8281),
        (7, 0xffff_ffff_ffff_ff81),
        (8, 0xffff_8281),
        (9, 0xffff_ffff_8483_8281),
    ];
    for (n, value) in want {
        expect_eq(&format!("x{n}"), x(&g.vcpu, n)?, value)?;
    }
    Ok(())
}

/// WFI with no timer armed returns Halt with PC past the `wfi`; the next run continues.
pub fn wfi_halts<H>(hv: &H) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let mut g = boot(hv, &[&WFI, &SYSTEM_OFF])?;
    let mut bus = RecordingBus::default();
    expect_exit(run_until_stop(&mut g.vcpu, &mut bus, 4)?, VcpuExit::Halt)?;
    let pc = g.vcpu.reg(Arm64Reg::Pc).map_err(|e| err("read PC", e))?;
    expect_eq("PC after wfi", pc, RAM_BASE + 4)?;
    expect_exit(
        run_until_stop(&mut g.vcpu, &mut bus, 4)?,
        VcpuExit::Shutdown,
    )
}

/// PSCI_VERSION answers 1.0+ in x0 and HVC leaves PC just past itself; SYSTEM_OFF stops.
pub fn psci_over_hvc<H>(hv: &H) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let mut g = boot(hv, &[&PSCI_VERSION, &SYSTEM_OFF])?;
    let mut bus = RecordingBus::default();
    expect_exit(
        run_until_stop(&mut g.vcpu, &mut bus, 8)?,
        VcpuExit::Shutdown,
    )?;
    let version = x(&g.vcpu, 20)?;
    if !(0x1_0000..=0xffff_ffff).contains(&version) {
        return Err(format!("PSCI_VERSION returned {version:#x}"));
    }
    // Six instructions; the last is the SYSTEM_OFF hvc, which must not be re-executed.
    let pc = g.vcpu.reg(Arm64Reg::Pc).map_err(|e| err("read PC", e))?;
    expect_eq("PC after SYSTEM_OFF hvc", pc, RAM_BASE + 6 * 4)
}

/// Every X register, PC and a few EL1 system registers read back what was written.
pub fn register_round_trip<H>(hv: &H) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let mut g = boot(hv, &[&SYSTEM_OFF])?;
    let v = &mut g.vcpu;
    for n in 0..=30u8 {
        let value = 0x0101_0101_0101_0101u64.wrapping_mul(u64::from(n) + 1) ^ 0x8000_0000_0000_0000;
        v.set_reg(Arm64Reg::X(n), value)
            .map_err(|e| err("set X", e))?;
    }
    for n in 0..=30u8 {
        let value = 0x0101_0101_0101_0101u64.wrapping_mul(u64::from(n) + 1) ^ 0x8000_0000_0000_0000;
        expect_eq(&format!("x{n}"), x(v, n)?, value)?;
    }
    if v.reg(Arm64Reg::X(31)).is_ok() {
        return Err("X(31) must be refused (it is XZR/SP, not a register)".into());
    }
    v.set_reg(Arm64Reg::Pc, RAM_BASE + 0x40)
        .map_err(|e| err("set PC", e))?;
    expect_eq(
        "PC",
        v.reg(Arm64Reg::Pc).map_err(|e| err("PC", e))?,
        RAM_BASE + 0x40,
    )?;
    for (reg, value) in [
        (Arm64SysReg::VBAR_EL1, RAM_BASE + 0x800),
        (Arm64SysReg::TPIDR_EL1, 0x1234_5678_9abc_def0),
        (Arm64SysReg::SP_EL1, RAM_BASE + RAM_SIZE - 16),
    ] {
        v.set_sys_reg(reg, value)
            .map_err(|e| err("set sysreg", e))?;
        let got = v.sys_reg(reg).map_err(|e| err("sysreg", e))?;
        expect_eq(&format!("{reg:?}"), got, value)?;
    }
    Ok(())
}

/// The guest reads what the host wrote and the host reads what the guest wrote.
pub fn guest_memory_round_trip<H>(hv: &H) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let mut g = boot(hv, &[&MEMORY_ROUND_TRIP, &SYSTEM_OFF])?;
    let value = 0x0123_4567_89ab_cdefu64;
    g.memory
        .write_u64(RAM_BASE + 0x800, value)
        .map_err(|e| err("host write", e))?;
    let mut bus = RecordingBus::default();
    expect_exit(
        run_until_stop(&mut g.vcpu, &mut bus, 8)?,
        VcpuExit::Shutdown,
    )?;
    expect_eq(
        "MMIO during RAM access",
        bus.writes.len() + bus.reads.len(),
        0,
    )?;
    let got = g
        .memory
        .read_u64(RAM_BASE + 0x808)
        .map_err(|e| err("host read", e))?;
    expect_eq("guest store", got, value + 1)
}

/// A kick before `run` is not lost: the run returns Kicked without entering.
pub fn kick_before_run<H>(hv: &H) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let mut g = boot(hv, &[&SYSTEM_OFF])?;
    g.vcpu.kicker().kick();
    let mut bus = RecordingBus::default();
    expect_exit(run_until_stop(&mut g.vcpu, &mut bus, 2)?, VcpuExit::Kicked)?;
    expect_exit(
        run_until_stop(&mut g.vcpu, &mut bus, 4)?,
        VcpuExit::Shutdown,
    )
}

/// A named conformance case.
pub type Case<H> = (&'static str, fn(&H) -> CaseResult);

/// All arm64 cases, in the order they run.
pub fn cases<H>() -> Vec<Case<H>>
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    vec![
        ("register_round_trip", register_round_trip::<H>),
        ("guest_memory_round_trip", guest_memory_round_trip::<H>),
        ("mmio_stores", mmio_stores::<H>),
        ("mmio_loads", mmio_loads::<H>),
        ("wfi_halts", wfi_halts::<H>),
        ("psci_over_hvc", psci_over_hvc::<H>),
        ("kick_before_run", kick_before_run::<H>),
    ]
}

/// Probes `H` and runs every case one after another (one VM at a time). Returns one line
/// per failed case.
pub fn run_all<H>() -> Result<(), String>
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let hv = H::probe().map_err(|e| err("probe", e))?;
    let mut failures = String::new();
    for (name, case) in cases::<H>() {
        match case(&hv) {
            Ok(()) => log::info!("arm64 conformance {name}: ok"),
            Err(e) => {
                let _ = writeln!(failures, "{name}: {e}");
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The comments above are the source of truth; spot-check a few encodings against
    /// the A64 field layout so a typo cannot hide.
    #[test]
    fn encodings_match_their_comments() {
        // hvc #imm16: 0xd4000002 | imm16 << 5.
        assert_eq!(SYSTEM_OFF[2], 0xd400_0002);
        // str (unsigned offset) Rt=2, Rn=1 with size bits [31:30].
        for (i, size) in [0u32, 1, 2, 3].iter().enumerate() {
            assert_eq!(MMIO_STORES[i], (size << 30) | 0x3900_0000 | (1 << 5) | 2);
        }
        // wfi is the hint with CRm=0, op2=3.
        assert_eq!(WFI[0], 0xd503_207f);
        // ldr x11, [x10, #0x800]: imm12 = 0x800 / 8.
        assert_eq!(
            MEMORY_ROUND_TRIP[1],
            0xf940_0000 | (0x100 << 10) | (10 << 5) | 11
        );
    }
}
