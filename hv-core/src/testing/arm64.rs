//! arm64 conformance snippets: tiny guest programs every arm64 backend must run the same.
//!
//! Instructions are A64 words (little-endian), each commented with its assembly; they
//! were assembled with `llvm-mc --triple=aarch64 -show-encoding`. Every case runs with
//! the MMU off (so MMIO-style Device memory everywhere: only aligned accesses) from RAM at
//! [`RAM_BASE`], one VM at a time (Hypervisor.framework allows one per process), and ends
//! with PSCI SYSTEM_OFF over HVC.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::VcpuExit;
use crate::arch::arm64::{Arm64Reg, Arm64SysReg};
use crate::hypervisor::{Hypervisor, IoHandler, Vcpu, VcpuArm64, Vm, VmConfig};
use crate::machine::arm64::launch::GicWiring;
use crate::memory::{GuestMemory, RegionSpec};
use crate::testing::watchdog::Watchdog;

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

/// Where the vector-table cases put VBAR_EL1 (2 KiB aligned, inside RAM).
pub const VBAR: u64 = RAM_BASE + 0x800;
/// Vector offsets from VBAR_EL1 for exceptions taken from EL1h.
const VEC_SYNC: u64 = 0x200;
const VEC_IRQ: u64 = 0x280;
const VEC_FIQ: u64 = 0x300;

/// x1 = MMIO_ADDR.
const SETUP_X1: [u32; 1] = [
    0xd2a1_2001, // movz x1, #0x0900, lsl #16
];

/// An access to a system register hv does not emulate, then a marker that must not be
/// reached. PMCR_EL0 traps on HVF (QEMU's hvf.c emulates the PMU registers because of
/// that); ID_AA64DFR0_EL1 may still advertise a PMU, but hv emulates none.
const UNDEF_MAIN: [u32; 3] = [
    0xd53b_9c03, // mrs x3, pmcr_el0
    0x5281_75a5, // mov w5, #0xbad
    0xb900_0025, // str w5, [x1]
];

/// The synchronous vector: report ESR_EL1 and ELR_EL1, then power off.
const SYNC_REPORT: [u32; 4] = [
    0xd538_5206, // mrs x6, esr_el1
    0xf900_0026, // str x6, [x1]
    0xd538_4027, // mrs x7, elr_el1
    0xf900_0027, // str x7, [x1]
];

/// CNTVCT, CNTPCT (trapped), CNTVCT and CNTFRQ, stored in that order.
const COUNTERS: [u32; 8] = [
    0xd53b_e043, // mrs x3, cntvct_el0
    0xd53b_e024, // mrs x4, cntpct_el0
    0xd53b_e045, // mrs x5, cntvct_el0
    0xd53b_e006, // mrs x6, cntfrq_el0
    0xf900_0023, // str x3, [x1]
    0xf900_0024, // str x4, [x1]
    0xf900_0025, // str x5, [x1]
    0xf900_0026, // str x6, [x1]
];

/// `brk #0x77`.
const BRK_77: [u32; 1] = [
    0xd420_0ee0, // brk #0x77
];

/// Unmask IRQs (FIQs stay masked), then wait for interrupts forever.
const IRQ_MAIN: [u32; 3] = [
    0xd503_42ff, // msr daifclr, #2
    0xd503_207f, // wfi
    0x17ff_ffff, // b .-4
];

/// IRQ vector: store 1. FIQ vector: store 0xf. Each then powers off.
const IRQ_VECTOR: [u32; 2] = [
    0x5280_0025, // mov w5, #0x1
    0xb900_0025, // str w5, [x1]
];
const FIQ_VECTOR: [u32; 2] = [
    0x5280_01e5, // mov w5, #0xf
    0xb900_0025, // str w5, [x1]
];

/// Arms the vtimer CNTFRQ/64 ticks ahead, unmasks IRQs, spins without exits until the
/// handler ran (x19 != 0), then spins CNTFRQ/8 ticks more (still no exits) and stores x19.
const VTIMER_MAIN: [u32; 17] = [
    0xd53b_e002, // mrs x2, cntfrq_el0
    0xd346_fc42, // lsr x2, x2, #6
    0xd53b_e043, // mrs x3, cntvct_el0
    0x8b02_0063, // add x3, x3, x2
    0xd51b_e343, // msr cntv_cval_el0, x3
    0xd280_0024, // mov x4, #1
    0xd51b_e324, // msr cntv_ctl_el0, x4
    0xd503_42ff, // msr daifclr, #2
    0xb400_0013, // cbz x19, .
    0xd53b_e002, // mrs x2, cntfrq_el0
    0xd343_fc42, // lsr x2, x2, #3
    0xd53b_e043, // mrs x3, cntvct_el0
    0x8b02_0063, // add x3, x3, x2
    0xd53b_e045, // mrs x5, cntvct_el0
    0xeb03_00bf, // cmp x5, x3
    0x54ff_ffc3, // b.lo .-8
    0xf900_0033, // str x19, [x1]
];

/// The vtimer's IRQ handler: turn the timer off (an acknowledgement that does not trap),
/// count, return.
const VTIMER_HANDLER: [u32; 3] = [
    0xd51b_e33f, // msr cntv_ctl_el0, xzr
    0x9100_0673, // add x19, x19, #1
    0xd69f_03e0, // eret
];

/// Arms the vtimer CNTFRQ/16 ticks (62.5 ms) ahead with IRQs masked, executes WFI, and
/// stores how far past the deadline it woke.
const WFI_TIMER: [u32; 11] = [
    0xd53b_e002, // mrs x2, cntfrq_el0
    0xd344_fc42, // lsr x2, x2, #4
    0xd53b_e043, // mrs x3, cntvct_el0
    0x8b02_0063, // add x3, x3, x2
    0xd51b_e343, // msr cntv_cval_el0, x3
    0xd280_0024, // mov x4, #1
    0xd51b_e324, // msr cntv_ctl_el0, x4
    0xd503_207f, // wfi
    0xd53b_e045, // mrs x5, cntvct_el0
    0xcb03_00a5, // sub x5, x5, x3
    0xf900_0025, // str x5, [x1]
];

/// With x20 = GICD base and x21 = GICR base: enable Group 1 and affinity routing, make
/// INTID 32 Group 1, priority 0x80, routed to affinity 0 and enabled; wake the
/// redistributor; enable the CPU interface (SRE, PMR 0xff, IGRPEN1). Then tell the host
/// (a store to MMIO_ADDR) and WFI with interrupts masked.
const GIC_SETUP_AND_WFI: [u32; 26] = [
    0x5280_0242, // mov w2, #0x12
    0xb900_0282, // str w2, [x20]              GICD_CTLR = ARE | EnableGrp1
    0x1280_0002, // mov w2, #-1
    0xb900_8682, // str w2, [x20, #0x84]       GICD_IGROUPR1
    0x5290_1002, // mov w2, #0x8080
    0x72b0_1002, // movk w2, #0x8080, lsl #16
    0xb904_2282, // str w2, [x20, #0x420]      GICD_IPRIORITYR8
    0xf930_829f, // str xzr, [x20, #0x6100]    GICD_IROUTER32
    0x5280_0022, // mov w2, #1
    0xb901_0682, // str w2, [x20, #0x104]      GICD_ISENABLER1
    0xb940_16a2, // ldr w2, [x21, #0x14]       GICR_WAKER
    0x121e_7842, // and w2, w2, #~2            ProcessorSleep = 0
    0xb900_16a2, // str w2, [x21, #0x14]
    0xb940_16a2, // ldr w2, [x21, #0x14]
    0x3717_ffe2, // tbnz w2, #2, .-4           wait for ChildrenAsleep = 0
    0xd538_cca2, // mrs x2, icc_sre_el1
    0xb240_0042, // orr x2, x2, #1
    0xd518_cca2, // msr icc_sre_el1, x2
    0xd503_3fdf, // isb
    0xd280_1fe2, // mov x2, #0xff
    0xd518_4602, // msr icc_pmr_el1, x2
    0xd280_0022, // mov x2, #1
    0xd518_cce2, // msr icc_igrpen1_el1, x2
    0xd503_3fdf, // isb
    0xb900_003f, // str wzr, [x1]
    0xd503_207f, // wfi
];

/// Stores GICD_CTLR, GICD_ISENABLER1 and GICD_ISPENDR1.
const GIC_READ_STATE: [u32; 6] = [
    0xb940_0282, // ldr w2, [x20]
    0xb900_0022, // str w2, [x1]
    0xb941_0682, // ldr w2, [x20, #0x104]
    0xb900_0022, // str w2, [x1]
    0xb942_0682, // ldr w2, [x20, #0x204]
    0xb900_0022, // str w2, [x1]
];

/// Stores GICD_PIDR2, GICR_PIDR2 and GICR_TYPER.
const GIC_READ_IDS: [u32; 7] = [
    0xd29f_fd09, // mov x9, #0xffe8
    0xb869_6a82, // ldr w2, [x20, x9]
    0xb900_0022, // str w2, [x1]
    0xb869_6aa2, // ldr w2, [x21, x9]
    0xb900_0022, // str w2, [x1]
    0xf940_06a2, // ldr x2, [x21, #8]
    0xf900_0022, // str x2, [x1]
];

/// How long a case may run before the watchdog stops it.
const CASE_LIMIT: Duration = Duration::from_secs(3);

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

/// Writes `code` at `gpa` in the guest's RAM.
fn write_code(memory: &GuestMemory, gpa: u64, code: &[&[u32]]) -> Result<(), String> {
    let bytes: Vec<u8> = code
        .iter()
        .flat_map(|part| part.iter())
        .flat_map(|w| w.to_le_bytes())
        .collect();
    memory.write(gpa, &bytes).map_err(|e| err("load code", e))
}

/// Boots `main` with a vector table at [`VBAR`] holding `vectors` (offset, code).
fn boot_with_vectors<H>(
    hv: &H,
    main: &[&[u32]],
    vectors: &[(u64, &[&[u32]])],
) -> Result<Guest<H>, String>
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let mut g = boot(hv, main)?;
    for (offset, code) in vectors {
        write_code(&g.memory, VBAR + offset, code)?;
    }
    g.vcpu
        .set_sys_reg(Arm64SysReg::VBAR_EL1, VBAR)
        .map_err(|e| err("set VBAR_EL1", e))?;
    Ok(g)
}

/// The MMIO stores the guest made, as little-endian integers.
fn stored(bus: &RecordingBus) -> Vec<u64> {
    bus.writes
        .iter()
        .map(|(_, data)| {
            let mut b = [0u8; 8];
            let n = data.len().min(8);
            b[..n].copy_from_slice(&data[..n]);
            u64::from_le_bytes(b)
        })
        .collect()
}

/// Runs under a watchdog: a guest that never stops yields `Kicked` (a failure) instead
/// of hanging the test.
fn run_watched<V: Vcpu>(
    vcpu: &mut V,
    bus: &mut RecordingBus,
    limit: usize,
) -> Result<VcpuExit, String> {
    let dog = Watchdog::start(vcpu.kicker(), CASE_LIMIT);
    let exit = run_until_stop(vcpu, bus, limit);
    if dog.expired() {
        return Err(format!(
            "the guest did not stop within {CASE_LIMIT:?} ({exit:?})"
        ));
    }
    exit
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

/// A system register the backend does not emulate is UNDEFINED: the guest takes an
/// Undefined Instruction exception (ESR_EL1.EC = 0, IL = 1) at the `mrs` itself.
pub fn undefined_sysreg_reaches_the_guest<H>(hv: &H) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let mut g = boot_with_vectors(
        hv,
        &[&SETUP_X1, &UNDEF_MAIN, &SYSTEM_OFF],
        &[(VEC_SYNC, &[&SYNC_REPORT, &SYSTEM_OFF])],
    )?;
    let mut bus = RecordingBus::default();
    expect_exit(run_watched(&mut g.vcpu, &mut bus, 16)?, VcpuExit::Shutdown)?;
    let mrs_at = RAM_BASE + 4 * SETUP_X1.len() as u64;
    expect_eq("ESR_EL1, ELR_EL1", stored(&bus), vec![0x0200_0000, mrs_at])
}

/// A trapped CNTPCT_EL0 reads the guest's counter (between two CNTVCT_EL0 reads), and
/// the counter starts near zero when the vCPU is created.
pub fn counters_start_near_zero_and_agree<H>(hv: &H) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let mut g = boot(hv, &[&SETUP_X1, &COUNTERS, &SYSTEM_OFF])?;
    let mut bus = RecordingBus::default();
    expect_exit(run_watched(&mut g.vcpu, &mut bus, 16)?, VcpuExit::Shutdown)?;
    let v = stored(&bus);
    let [vct0, pct, vct1, freq] = v[..] else {
        return Err(format!("expected 4 stores, got {v:x?}"));
    };
    if !(vct0 <= pct && pct <= vct1) {
        return Err(format!(
            "CNTPCT {pct:#x} not between CNTVCT {vct0:#x} and {vct1:#x}"
        ));
    }
    if freq == 0 || vct0 / freq > 10 {
        return Err(format!(
            "the guest counter reads {vct0:#x} at {freq} Hz just after vCPU creation \
             (the offset was not taken from the framework's clock)"
        ));
    }
    Ok(())
}

/// A guest `brk` with no exception vectors (VBAR_EL1 = 0, not RAM) is reported as a guest
/// failure that names the `brk`.
pub fn brk_without_vectors_fails_clearly<H>(hv: &H) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let mut g = boot(hv, &[&BRK_77, &SYSTEM_OFF])?;
    let mut bus = RecordingBus::default();
    let dog = Watchdog::start(g.vcpu.kicker(), CASE_LIMIT);
    let result = g.vcpu.run(&mut bus);
    drop(dog);
    match result {
        Err(e) if e.to_string().contains("brk #0x77") => Ok(()),
        other => Err(format!(
            "expected a guest failure naming brk #0x77, got {other:?}"
        )),
    }
}

/// A guest `brk` reaches the guest's own synchronous vector with EC 0x3C and the comment.
pub fn brk_reaches_the_guest_vector<H>(hv: &H) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let mut g = boot_with_vectors(
        hv,
        &[&SETUP_X1, &BRK_77, &SYSTEM_OFF],
        &[(VEC_SYNC, &[&SYNC_REPORT, &SYSTEM_OFF])],
    )?;
    let mut bus = RecordingBus::default();
    expect_exit(run_watched(&mut g.vcpu, &mut bus, 16)?, VcpuExit::Shutdown)?;
    let brk_at = RAM_BASE + 4 * SETUP_X1.len() as u64;
    expect_eq("ESR_EL1, ELR_EL1", stored(&bus), vec![0xf200_0077, brk_at])
}

/// The IRQ line raises an IRQ (vector +0x280), not an FIQ: with FIQs masked and IRQs
/// unmasked the guest must take it.
pub fn irq_line_is_an_irq<H>(hv: &H) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let mut g = boot_with_vectors(
        hv,
        &[&SETUP_X1, &IRQ_MAIN],
        &[
            (VEC_IRQ, &[&IRQ_VECTOR, &SYSTEM_OFF]),
            (VEC_FIQ, &[&FIQ_VECTOR, &SYSTEM_OFF]),
        ],
    )?;
    g.vcpu
        .set_irq_line(true)
        .map_err(|e| err("set_irq_line", e))?;
    let mut bus = RecordingBus::default();
    let exit = run_watched(&mut g.vcpu, &mut bus, 16);
    expect_eq("vector markers (1 = IRQ, 0xf = FIQ)", stored(&bus), vec![1])?;
    expect_exit(exit?, VcpuExit::Shutdown)
}

/// Without a GIC the vtimer interrupt reaches the guest once per expiry, and a handler
/// that acknowledges it without trapping (CNTV_CTL_EL0 = 0) is not re-entered forever:
/// the guest gets back to its main loop with no help from other exits.
pub fn vtimer_irq_does_not_storm<H>(hv: &H) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let mut g = boot_with_vectors(
        hv,
        &[&SETUP_X1, &VTIMER_MAIN, &SYSTEM_OFF],
        &[(VEC_IRQ, &[&VTIMER_HANDLER])],
    )?;
    g.vcpu
        .set_reg(Arm64Reg::X(19), 0)
        .map_err(|e| err("clear x19", e))?;
    let mut bus = RecordingBus::default();
    expect_exit(run_watched(&mut g.vcpu, &mut bus, 16)?, VcpuExit::Shutdown)?;
    match stored(&bus)[..] {
        [n] if n >= 1 => Ok(()),
        ref other => Err(format!(
            "expected one store of the handler count, got {other:x?}"
        )),
    }
}

/// WFI with the vtimer armed 62.5 ms ahead (IRQs masked) sleeps about that long: not
/// forever, and not a busy return.
pub fn wfi_sleeps_until_the_vtimer<H>(hv: &H) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let mut g = boot(hv, &[&SETUP_X1, &WFI_TIMER, &SYSTEM_OFF])?;
    let mut bus = RecordingBus::default();
    let start = Instant::now();
    expect_exit(run_watched(&mut g.vcpu, &mut bus, 64)?, VcpuExit::Shutdown)?;
    let took = start.elapsed();
    if took < Duration::from_millis(50) || took > Duration::from_secs(2) {
        return Err(format!("WFI for 62.5 ms of guest time took {took:?}"));
    }
    match stored(&bus)[..] {
        // Woke after the deadline (the difference is small and not negative).
        [late] if late < 1 << 40 => Ok(()),
        ref other => Err(format!("woke before the deadline: {other:x?}")),
    }
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
        (
            "undefined_sysreg_reaches_the_guest",
            undefined_sysreg_reaches_the_guest::<H>,
        ),
        (
            "counters_start_near_zero_and_agree",
            counters_start_near_zero_and_agree::<H>,
        ),
        (
            "brk_without_vectors_fails_clearly",
            brk_without_vectors_fails_clearly::<H>,
        ),
        (
            "brk_reaches_the_guest_vector",
            brk_reaches_the_guest_vector::<H>,
        ),
        ("irq_line_is_an_irq", irq_line_is_an_irq::<H>),
        ("vtimer_irq_does_not_storm", vtimer_irq_does_not_storm::<H>),
        (
            "wfi_sleeps_until_the_vtimer",
            wfi_sleeps_until_the_vtimer::<H>,
        ),
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

/// Makes a VM with an in-kernel GIC, or `None` when this host has none (e.g. HVF before
/// macOS 15). Only the backend knows how to ask for one.
pub type GicFactory<H> =
    fn(&H) -> Result<Option<(<H as Hypervisor>::Vm, GicWiring<<H as Hypervisor>::Vm>)>, String>;

/// A guest on a GIC VM (fields drop in order: vCPU first).
struct GicGuest<H: Hypervisor> {
    vcpu: <H::Vm as Vm>::Vcpu,
    memory: GuestMemory,
    wiring: GicWiring<H::Vm>,
    vm: H::Vm,
}

/// Sets the entry state: PC at RAM_BASE, EL1h masked, x1 = MMIO_ADDR, x20 = GICD base,
/// x21 = GICR base.
fn gic_entry<V: VcpuArm64>(vcpu: &mut V, wiring_dist: u64, wiring_redist: u64) -> CaseResult {
    for (reg, value) in [
        (Arm64Reg::Pc, RAM_BASE),
        (Arm64Reg::Cpsr, CPSR_EL1H_MASKED),
        (Arm64Reg::X(1), MMIO_ADDR),
        (Arm64Reg::X(20), wiring_dist),
        (Arm64Reg::X(21), wiring_redist),
    ] {
        vcpu.set_reg(reg, value)
            .map_err(|e| err("set entry registers", e))?;
    }
    Ok(())
}

fn boot_gic<H>(
    hv: &H,
    factory: GicFactory<H>,
    code: &[&[u32]],
) -> Result<Option<GicGuest<H>>, String>
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let Some((mut vm, wiring)) = factory(hv)? else {
        return Ok(None);
    };
    let memory = GuestMemory::new(&[RegionSpec {
        gpa: RAM_BASE,
        size: RAM_SIZE,
        read_only: false,
    }])
    .map_err(|e| err("guest memory", e))?;
    write_code(&memory, RAM_BASE, code)?;
    vm.map_memory(&memory).map_err(|e| err("map_memory", e))?;
    let mut vcpu = vm.create_vcpu(0).map_err(|e| err("create_vcpu", e))?;
    gic_entry(
        &mut vcpu,
        wiring.regions.dist_base,
        wiring.regions.redist_base,
    )?;
    Ok(Some(GicGuest {
        vcpu,
        memory,
        wiring,
        vm,
    }))
}

/// Runs the GIC set-up snippet to its "ready" store, then raises SPI 32 and runs on.
fn gic_setup_then_spi<H>(g: &mut GicGuest<H>, bus: &mut RecordingBus) -> Result<VcpuExit, String>
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let dog = Watchdog::start(g.vcpu.kicker(), CASE_LIMIT);
    let first = g.vcpu.run(bus).map_err(|e| err("run", e))?;
    if first != VcpuExit::Io || bus.writes.is_empty() {
        return Err(format!(
            "GIC set-up stopped with {first:?}, writes {:x?}",
            bus.writes
        ));
    }
    (g.wiring.set_spi)(&g.vm, 32, true).map_err(|e| err("set SPI 32", e))?;
    let exit = run_until_stop(&mut g.vcpu, bus, 16);
    if dog.expired() {
        return Err(format!(
            "the guest did not stop within {CASE_LIMIT:?} ({exit:?})"
        ));
    }
    exit
}

/// An SPI that is pending and enabled in the GIC when the guest executes WFI (with IRQs
/// masked) completes the WFI: the backend must not report Halt for it.
pub fn gic_pending_spi_completes_wfi<H>(hv: &H, factory: GicFactory<H>) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let Some(mut g) = boot_gic(hv, factory, &[&GIC_SETUP_AND_WFI, &SYSTEM_OFF])? else {
        log::info!("no in-kernel GIC on this host: skipped");
        return Ok(());
    };
    let mut bus = RecordingBus::default();
    expect_exit(gic_setup_then_spi(&mut g, &mut bus)?, VcpuExit::Shutdown)
}

/// The vCPU reset plus the VM's GIC reset leave no enable or pending state from the old
/// guest in the distributor.
pub fn gic_reset_clears_the_old_guest<H>(hv: &H, factory: GicFactory<H>) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let Some(mut g) = boot_gic(hv, factory, &[&GIC_SETUP_AND_WFI, &SYSTEM_OFF])? else {
        return Ok(());
    };
    let mut bus = RecordingBus::default();
    // Whatever WFI does here is the previous case's business.
    gic_setup_then_spi(&mut g, &mut bus)?;
    // The machine's power-on order: vCPU, lines low, GIC.
    g.vcpu.reset().map_err(|e| err("vCPU reset", e))?;
    (g.wiring.set_spi)(&g.vm, 32, false).map_err(|e| err("lower SPI 32", e))?;
    (g.wiring.reset)(&g.vm).map_err(|e| err("GIC reset", e))?;
    write_code(&g.memory, RAM_BASE, &[&GIC_READ_STATE, &SYSTEM_OFF])?;
    let (dist, redist) = (g.wiring.regions.dist_base, g.wiring.regions.redist_base);
    gic_entry(&mut g.vcpu, dist, redist)?;
    let mut bus = RecordingBus::default();
    expect_exit(run_watched(&mut g.vcpu, &mut bus, 16)?, VcpuExit::Shutdown)?;
    match stored(&bus)[..] {
        [ctlr, enabled, pending] if ctlr & 0b11 == 0 && enabled & 1 == 0 && pending & 1 == 0 => {
            Ok(())
        }
        ref other => Err(format!(
            "after reset GICD_CTLR, ISENABLER1, ISPENDR1 = {other:x?} (want the group \
             enables and INTID 32's bits clear)"
        )),
    }
}

/// The GIC answers at the addresses the backend reported: GICv3 ID registers in the
/// distributor and in the first redistributor, which belongs to affinity 0.
pub fn gic_is_where_the_regions_say<H>(hv: &H, factory: GicFactory<H>) -> CaseResult
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let Some(mut g) = boot_gic(hv, factory, &[&GIC_READ_IDS, &SYSTEM_OFF])? else {
        return Ok(());
    };
    let mut bus = RecordingBus::default();
    expect_exit(run_watched(&mut g.vcpu, &mut bus, 16)?, VcpuExit::Shutdown)?;
    let arch_rev = |pidr2: u64| (pidr2 >> 4) & 0xf;
    match stored(&bus)[..] {
        [d, r, typer] if arch_rev(d) == 3 && arch_rev(r) == 3 && typer >> 32 == 0 => Ok(()),
        ref other => Err(format!(
            "GICD_PIDR2, GICR_PIDR2, GICR_TYPER = {other:x?} (want ArchRev 3 twice and \
             affinity 0)"
        )),
    }
}

/// A named GIC case.
pub type GicCase<H> = (&'static str, fn(&H, GicFactory<H>) -> CaseResult);

/// The GIC cases, in the order they run.
pub fn gic_cases<H>() -> Vec<GicCase<H>>
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    vec![
        (
            "gic_is_where_the_regions_say",
            gic_is_where_the_regions_say::<H>,
        ),
        (
            "gic_pending_spi_completes_wfi",
            gic_pending_spi_completes_wfi::<H>,
        ),
        (
            "gic_reset_clears_the_old_guest",
            gic_reset_clears_the_old_guest::<H>,
        ),
    ]
}

/// Probes `H` and runs every GIC case with VMs from `factory`. Returns one line per
/// failed case.
pub fn run_gic_all<H>(factory: GicFactory<H>) -> Result<(), String>
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let hv = H::probe().map_err(|e| err("probe", e))?;
    let mut failures = String::new();
    for (name, case) in gic_cases::<H>() {
        match case(&hv, factory) {
            Ok(()) => log::info!("arm64 GIC conformance {name}: ok"),
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
        // brk #imm16: 0xd4200000 | imm16 << 5.
        assert_eq!(BRK_77[0], 0xd420_0000 | (0x77 << 5));
        // mrs: 0xd5300000 | op0[0] << 19 | op1 << 16 | CRn << 12 | CRm << 8 | op2 << 5 | Rt.
        let mrs = |op1: u32, crn: u32, crm: u32, op2: u32, rt: u32| {
            0xd530_0000 | (1 << 19) | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5) | rt
        };
        assert_eq!(UNDEF_MAIN[0], mrs(3, 9, 12, 0, 3), "pmcr_el0");
        assert_eq!(COUNTERS[1], mrs(3, 14, 0, 1, 4), "cntpct_el0");
        assert_eq!(SYNC_REPORT[0], mrs(0, 5, 2, 0, 6), "esr_el1");
        // The vector table is 2 KiB aligned and each handler fits its 0x80-byte slot.
        assert_eq!(VBAR % 0x800, 0);
        assert!((SYNC_REPORT.len() + SYSTEM_OFF.len()) * 4 <= 0x80);
        assert!((IRQ_VECTOR.len() + SYSTEM_OFF.len()) * 4 <= 0x80);
        // Main programs end before the vector table.
        for len in [
            SETUP_X1.len() + VTIMER_MAIN.len() + SYSTEM_OFF.len(),
            GIC_SETUP_AND_WFI.len() + SYSTEM_OFF.len(),
        ] {
            assert!(RAM_BASE + 4 * len as u64 <= VBAR);
        }
        // ldr x11, [x10, #0x800]: imm12 = 0x800 / 8.
        assert_eq!(
            MEMORY_ROUND_TRIP[1],
            0xf940_0000 | (0x100 << 10) | (10 << 5) | 11
        );
    }
}
