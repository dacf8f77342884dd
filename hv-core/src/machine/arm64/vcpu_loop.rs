//! The arm64 half of the vCPU loop: the IRQ line or the GIC, when a halted vCPU wakes,
//! what PSCI exits mean, and what the board loads at power-on. The loop itself is
//! [`crate::machine::run_loop`].
//!
//! The backend does the architecture work inside `run`: MMIO completion, PSCI over
//! HVC/SMC, the virtual timer, and WFI sleeps while the timer is armed. What comes back
//! here is `Halt` (WFI with nothing but a device able to wake the guest), `Shutdown`
//! (PSCI SYSTEM_OFF or CPU_OFF), `Reset` (PSCI SYSTEM_RESET), `Kicked` and `Io`.
//!
//! WFI wakes on a pending interrupt even when PSTATE.I masks it, so unlike x86 `hlt`
//! with IF=0 a halt never ends the run.

use crate::arch::arm64::{Arm64Reg, Arm64SysReg};
use crate::exit::VcpuExit;
use crate::hypervisor::VcpuArm64;
use crate::machine::board::clear_memory;
use crate::machine::events::RunEnd;
use crate::machine::journey::JourneyRecorder;
use crate::machine::run_loop::{Arch, Boot, ExitAction};
use crate::machine::stats::ExitKind;

use super::board::Arm64Board;
use super::boot::{self, BootPlan};

/// What to load at power-on and on every reset.
#[derive(Debug, Clone)]
pub struct BootSource {
    /// The kernel or raw image.
    pub image: std::sync::Arc<[u8]>,
    /// The device tree blob.
    pub dtb: Vec<u8>,
    /// Main RAM size in bytes.
    pub ram_size: u64,
}

/// The arm64 vCPU's side of the loop for the arm64 board.
#[derive(Debug)]
pub struct Arm64Cpu {
    /// The image and DTB to (re)load.
    boot: BootSource,
    /// The IRQ input level last given to the vCPU (CPU-line mode).
    irq_line: Option<bool>,
    /// Rising edges already answered by waking a halted vCPU.
    edges_seen: u64,
}

impl Arm64Cpu {
    /// Boots `boot`.
    pub fn new(boot: BootSource) -> Self {
        Self {
            boot,
            irq_line: None,
            edges_seen: 0,
        }
    }
}

/// Resets the vCPU, lowers every line, resets the GIC, zeroes memory, loads the image and
/// the DTB and sets the entry registers.
pub fn power_on<V: VcpuArm64>(
    vcpu: &mut V,
    board: &Arm64Board,
    boot: &BootSource,
) -> Result<BootPlan, String> {
    // Order matters: the vCPU first (its virtual timer off, so the timer's PPI cannot
    // become pending again), then every device line low, then the GIC's own reset, which
    // clears whatever the old guest left pending, active or enabled there.
    vcpu.reset().map_err(|e| e.to_string())?;
    board.irqs.reset();
    board
        .irqs
        .reset_controller()
        .map_err(|e| format!("resetting the interrupt controller: {e}"))?;
    let mem = &board.shared.memory;
    clear_memory(mem)?;
    let plan = boot::load(mem, &boot.image, &boot.dtb, boot.ram_size)
        .map_err(|e| format!("loading the image: {e}"))?;
    if !board.irqs.has_gic() {
        vcpu.set_irq_line(false).map_err(|e| e.to_string())?;
    }
    boot::apply_entry_state(vcpu, &boot::entry_state(&plan)).map_err(|e| e.to_string())?;
    log::info!(
        "arm64: {:?} image at {:#x}..{:#x}, DTB at {:#x}",
        plan.kind,
        plan.kernel_addr,
        plan.kernel_end,
        plan.dtb_addr
    );
    Ok(plan)
}

impl<V: VcpuArm64> Arch<V> for Arm64Cpu {
    type Board = Arm64Board;

    fn power_on(&mut self, vcpu: &mut V, board: &Arm64Board, boot: Boot) -> Result<(), String> {
        power_on(vcpu, board, &self.boot)?;
        self.irq_line = None;
        // The edge counter lives in the interrupt router, which survives a reset: edges
        // from before it must not wake the new guest.
        if boot == Boot::Reset {
            self.edges_seen = board.irqs.rising_edges();
        }
        Ok(())
    }

    /// With a GIC the devices already told it; without, the vCPU's IRQ input is the OR
    /// of the lines.
    fn deliver_interrupts(
        &mut self,
        vcpu: &mut V,
        board: &mut Arm64Board,
        _journey: &JourneyRecorder,
    ) -> crate::Result<()> {
        if board.irqs.has_gic() {
            return Ok(());
        }
        let level = board.irqs.any_asserted();
        if self.irq_line != Some(level) {
            vcpu.set_irq_line(level)?;
            self.irq_line = Some(level);
            if level {
                board.shared.stats.count_injection();
            }
        }
        Ok(())
    }

    /// WFI always wakes on a pending interrupt, masked or not.
    fn halted(&mut self, _vcpu: &V) -> Option<RunEnd> {
        None
    }

    /// A line rose since the last wake-up (with a GIC the interrupt may now be pending
    /// there), or, without a GIC, the IRQ input is high. A level that was already high
    /// at the last wake-up does not count again with a GIC: the guest has masked it
    /// there, and re-entering would only spin.
    fn should_wake(&mut self, board: &Arm64Board) -> bool {
        let edges = board.irqs.rising_edges();
        let new_edge = edges != self.edges_seen;
        self.edges_seen = edges;
        new_edge || (!board.irqs.has_gic() && board.irqs.any_asserted())
    }

    fn exit(&mut self, _vcpu: &mut V, board: &mut Arm64Board, exit: VcpuExit) -> ExitAction {
        let stats = &board.shared.stats;
        match exit {
            VcpuExit::Io => ExitAction::Continue,
            VcpuExit::Shutdown => {
                stats.count(ExitKind::Other);
                log::info!("guest powered off (PSCI)");
                ExitAction::End(RunEnd::PowerOff)
            }
            VcpuExit::Reset => {
                stats.count(ExitKind::Other);
                ExitAction::Reset("guest requested reset (PSCI SYSTEM_RESET)".into())
            }
            other => {
                stats.count(ExitKind::Other);
                log::trace!("exit {}", other.name());
                ExitAction::Continue
            }
        }
    }

    fn register_dump(vcpu: &V) -> String {
        register_dump(vcpu)
    }
}

/// One line with the registers that explain where a guest died.
pub fn register_dump<V: VcpuArm64>(vcpu: &V) -> String {
    let reg = |r: Arm64Reg| {
        vcpu.reg(r)
            .map_or_else(|e| format!("({e})"), |v| format!("{v:#x}"))
    };
    let sys = |r: Arm64SysReg| {
        vcpu.sys_reg(r)
            .map_or_else(|e| format!("({e})"), |v| format!("{v:#x}"))
    };
    format!(
        "pc={} cpsr={} x0={} x1={} x30={} sp_el1={} sctlr={} vbar={} esr_el1={} far_el1={} elr_el1={}",
        reg(Arm64Reg::Pc),
        reg(Arm64Reg::Cpsr),
        reg(Arm64Reg::X(0)),
        reg(Arm64Reg::X(1)),
        reg(Arm64Reg::X(30)),
        sys(Arm64SysReg::SP_EL1),
        sys(Arm64SysReg::SCTLR_EL1),
        sys(Arm64SysReg::VBAR_EL1),
        sys(Arm64SysReg::ESR_EL1),
        sys(Arm64SysReg::FAR_EL1),
        sys(Arm64SysReg::ELR_EL1),
    )
}

#[cfg(test)]
mod tests {
    //! The loop against a scripted vCPU: each `run` executes the next step of a script
    //! that plays the guest (checks registers, does MMIO through the board, returns an
    //! exit). This is the whole board + loop as a backend drives it, minus the CPU.

    use std::collections::{HashMap, VecDeque};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use crossbeam_channel::{Sender, unbounded};

    use super::*;
    use crate::clock::HostClock;
    use crate::devices::keymap::Key;
    use crate::hypervisor::{IoHandler, Kicker, Vcpu};
    use crate::machine::arm64::fdt::{self, DtConfig};
    use crate::machine::arm64::interrupts::{SpiRouter, SpiSink};
    use crate::machine::arm64::layout::{self, ISA_WINDOW_BASE, PL011_BASE, RAM_BASE};
    use crate::machine::deadline::DeadlineKicker;
    use crate::machine::events::{HostEvent, VmChannels, VmEvent};
    use crate::machine::pc::SharedParts;
    use crate::machine::run_loop::{LoopContext, run};

    #[derive(Debug)]
    struct NoKick;
    impl Kicker for NoKick {
        fn kick(&self) {}
    }

    #[derive(Default)]
    struct Cpu {
        regs: HashMap<Arm64Reg, u64>,
        sys: HashMap<Arm64SysReg, u64>,
        /// Every level given to `set_irq_line`, in order.
        irq_line: Vec<bool>,
        /// `Vcpu::reset` calls.
        resets: u32,
        /// Resets of the vCPU and of the GIC, in order.
        order: Arc<Mutex<Vec<&'static str>>>,
    }

    type Step = Box<dyn FnMut(&mut Cpu, &mut dyn IoHandler) -> crate::Result<VcpuExit>>;

    struct ScriptedVcpu {
        cpu: Cpu,
        script: VecDeque<Step>,
    }

    impl ScriptedVcpu {
        fn new(steps: Vec<Step>) -> Self {
            Self {
                cpu: Cpu::default(),
                script: steps.into(),
            }
        }
    }

    impl Vcpu for ScriptedVcpu {
        fn run(&mut self, io: &mut dyn IoHandler) -> crate::Result<VcpuExit> {
            match self.script.pop_front() {
                Some(mut step) => step(&mut self.cpu, io),
                None => Err(crate::HvError::InvalidArgument("script ran out".into())),
            }
        }
        fn kicker(&self) -> Arc<dyn Kicker> {
            Arc::new(NoKick)
        }
        fn reset(&mut self) -> crate::Result<()> {
            self.cpu.resets += 1;
            self.cpu.order.lock().expect("order").push("vcpu");
            Ok(())
        }
    }

    impl VcpuArm64 for ScriptedVcpu {
        fn reg(&self, reg: Arm64Reg) -> crate::Result<u64> {
            Ok(self.cpu.regs.get(&reg).copied().unwrap_or(0))
        }
        fn set_reg(&mut self, reg: Arm64Reg, value: u64) -> crate::Result<()> {
            self.cpu.regs.insert(reg, value);
            Ok(())
        }
        fn sys_reg(&self, reg: Arm64SysReg) -> crate::Result<u64> {
            Ok(self.cpu.sys.get(&reg).copied().unwrap_or(0))
        }
        fn set_sys_reg(&mut self, reg: Arm64SysReg, value: u64) -> crate::Result<()> {
            self.cpu.sys.insert(reg, value);
            Ok(())
        }
        fn set_irq_line(&mut self, level: bool) -> crate::Result<()> {
            self.cpu.irq_line.push(level);
            Ok(())
        }
    }

    struct Rig {
        board: Arm64Board,
        cpu: Arm64Cpu,
        ctx: LoopContext,
        host: Sender<HostEvent>,
        news: crossbeam_channel::Receiver<VmEvent>,
    }

    const IMAGE: &[u8] = &[0x1F, 0x20, 0x03, 0xD5, 0xC0, 0x03, 0x5F, 0xD6]; // nop; ret

    fn rig(gic: Option<Arc<dyn SpiSink>>) -> Rig {
        let memory = layout::arm64_memory(16).expect("memory");
        let clock: Arc<dyn crate::clock::Clock> = Arc::new(HostClock::new());
        let shared = SharedParts::new(memory, clock.clone());
        let has_gic = gic.is_some();
        let board = Arm64Board::new(shared, SpiRouter::new(gic), None);
        let dtb = fdt::build(&DtConfig {
            ram_size: 16 << 20,
            vcpus: 1,
            gic: has_gic.then(|| layout::GicRegions::qemu_virt(1)),
            bootargs: String::new(),
        })
        .expect("dtb");
        let (host, rx, parking) = crate::machine::events::host_channel();
        let (tx, news) = unbounded();
        let ctx = LoopContext {
            channels: VmChannels { rx, tx, parking },
            deadline: DeadlineKicker::spawn(
                Arc::new(NoKick),
                Arc::new(crate::clock::HostClock::new()),
            )
            .expect("deadline thread"),
            journey: JourneyRecorder::new(clock),
        };
        let cpu = Arm64Cpu::new(BootSource {
            image: IMAGE.into(),
            dtb,
            ram_size: 16 << 20,
        });
        Rig {
            board,
            cpu,
            ctx,
            host,
            news,
        }
    }

    fn boot_and_run(rig: Rig, vcpu: &mut ScriptedVcpu) -> (RunEnd, Arm64Board, Vec<VmEvent>) {
        let Rig {
            board,
            mut cpu,
            mut ctx,
            host,
            news,
        } = rig;
        cpu.power_on(vcpu, &board, Boot::Cold).expect("power on");
        let (end, board) = run(vcpu, board, &mut cpu, &mut ctx);
        drop(host);
        (end, board, news.try_iter().collect())
    }

    fn step(
        f: impl FnMut(&mut Cpu, &mut dyn IoHandler) -> crate::Result<VcpuExit> + 'static,
    ) -> Step {
        Box::new(f)
    }

    fn serial(io: &mut dyn IoHandler, text: &[u8]) {
        for &b in text {
            io.mmio_write(PL011_BASE, &u32::from(b).to_le_bytes());
        }
    }

    #[test]
    fn boots_prints_and_powers_off() {
        let rig = rig(None);
        let mut vcpu = ScriptedVcpu::new(vec![
            step(|cpu, io| {
                assert_eq!(cpu.regs[&Arm64Reg::Pc], RAM_BASE + 0x8_0000);
                assert_eq!(cpu.regs[&Arm64Reg::Cpsr], 0x3C5);
                let dtb = cpu.regs[&Arm64Reg::X(0)];
                assert_eq!(dtb, RAM_BASE + (2 << 20));
                assert_eq!(cpu.regs[&Arm64Reg::X(1)], 0);
                assert_eq!(cpu.sys[&Arm64SysReg::CPACR_EL1], 3 << 20);
                serial(io, b"hv arm64 demo\n");
                Ok(VcpuExit::Io)
            }),
            step(|_, _| Ok(VcpuExit::Shutdown)),
        ]);
        let (end, board, news) = boot_and_run(rig, &mut vcpu);
        assert_eq!(end, RunEnd::PowerOff);
        assert_eq!(news.first(), Some(&VmEvent::Started));
        let text = board.shared.serial_log.lock().expect("log").text();
        assert_eq!(text, "hv arm64 demo\n");
        // The DTB is in guest memory where X0 pointed.
        let mut magic = [0u8; 4];
        board
            .shared
            .memory
            .read(RAM_BASE + (2 << 20), &mut magic)
            .expect("dtb");
        assert_eq!(magic, [0xD0, 0x0D, 0xFE, 0xED]);
    }

    #[test]
    fn a_key_raises_the_cpu_line_and_reading_port_0x60_lowers_it() {
        let rig = rig(None);
        rig.host
            .send(HostEvent::Key {
                key: Key::A,
                pressed: true,
            })
            .expect("send");
        let mut vcpu = ScriptedVcpu::new(vec![
            step(|cpu, io| {
                assert_eq!(cpu.irq_line.last(), Some(&true), "line high before entry");
                let mut v = [0u8];
                io.mmio_read(ISA_WINDOW_BASE + 0x60, &mut v);
                assert_eq!(v[0], 0x1E);
                Ok(VcpuExit::Io)
            }),
            step(|cpu, _| {
                assert_eq!(cpu.irq_line.last(), Some(&false), "lowered after the read");
                Ok(VcpuExit::Shutdown)
            }),
        ]);
        let (end, _, _) = boot_and_run(rig, &mut vcpu);
        assert_eq!(end, RunEnd::PowerOff);
    }

    #[test]
    fn a_halted_vcpu_waits_for_a_key_without_spinning() {
        let rig = rig(None);
        let host = rig.host.clone();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            host.send(HostEvent::Key {
                key: Key::B,
                pressed: true,
            })
            .expect("send");
        });
        let started = Instant::now();
        let mut vcpu = ScriptedVcpu::new(vec![
            step(|_, _| Ok(VcpuExit::Halt)),
            step(move |cpu, io| {
                assert!(started.elapsed() >= std::time::Duration::from_millis(40));
                assert_eq!(cpu.irq_line.last(), Some(&true));
                let mut v = [0u8];
                io.mmio_read(ISA_WINDOW_BASE + 0x60, &mut v);
                assert_eq!(v[0], 0x30, "set 1 make code of B");
                Ok(VcpuExit::Shutdown)
            }),
        ]);
        let (end, _, _) = boot_and_run(rig, &mut vcpu);
        sender.join().expect("sender");
        assert_eq!(end, RunEnd::PowerOff);
    }

    #[test]
    fn psci_reset_reloads_memory_and_registers() {
        let rig = rig(None);
        let mut vcpu = ScriptedVcpu::new(vec![
            step(|cpu, io| {
                cpu.regs.insert(Arm64Reg::X(5), 7);
                cpu.regs.insert(Arm64Reg::Pc, 0x1234);
                serial(io, b"1");
                Ok(VcpuExit::Reset)
            }),
            step(|cpu, io| {
                assert_eq!(cpu.regs[&Arm64Reg::X(5)], 0);
                assert_eq!(cpu.regs[&Arm64Reg::Pc], RAM_BASE + 0x8_0000);
                serial(io, b"2");
                Ok(VcpuExit::Shutdown)
            }),
        ]);
        let (end, board, news) = boot_and_run(rig, &mut vcpu);
        assert_eq!(end, RunEnd::PowerOff);
        assert_eq!(
            vcpu.cpu.resets, 2,
            "the vCPU is reset at power-on and on reset"
        );
        assert!(
            news.iter()
                .any(|e| matches!(e, VmEvent::Reset(why) if why.contains("PSCI")))
        );
        assert_eq!(board.shared.serial_log.lock().expect("log").text(), "12");
        let mut code = [0u8; 8];
        board
            .shared
            .memory
            .read(RAM_BASE + 0x8_0000, &mut code)
            .expect("image");
        assert_eq!(code, IMAGE);
    }

    #[test]
    fn with_a_gic_lines_go_to_spis_and_the_cpu_line_is_untouched() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let c = calls.clone();
        let sink: Arc<dyn SpiSink> = Arc::new(move |intid: u32, level: bool| {
            c.lock().expect("calls").push((intid, level));
            Ok(())
        });
        let rig = rig(Some(sink));
        rig.host
            .send(HostEvent::Key {
                key: Key::A,
                pressed: true,
            })
            .expect("send");
        let mut vcpu = ScriptedVcpu::new(vec![
            step(|_, io| {
                let mut v = [0u8];
                io.mmio_read(ISA_WINDOW_BASE + 0x60, &mut v);
                Ok(VcpuExit::Halt)
            }),
            // The edge since the last wake-up wakes the halt once; then a quit ends it.
            step(|_, _| Ok(VcpuExit::Shutdown)),
        ]);
        let (end, _, _) = boot_and_run(rig, &mut vcpu);
        assert_eq!(end, RunEnd::PowerOff);
        assert!(vcpu.cpu.irq_line.is_empty(), "{:?}", vcpu.cpu.irq_line);
        assert_eq!(*calls.lock().expect("calls"), [(42, true), (42, false)]);
    }

    /// A GIC whose resets are logged next to the vCPU's.
    struct LoggingGic(Arc<Mutex<Vec<&'static str>>>);

    impl SpiSink for LoggingGic {
        fn set_spi(&self, _intid: u32, _level: bool) -> crate::Result<()> {
            Ok(())
        }
        fn reset(&self) -> crate::Result<()> {
            self.0.lock().expect("order").push("gic");
            Ok(())
        }
    }

    #[test]
    fn the_gic_is_reset_after_the_vcpu_at_power_on_and_on_every_reset() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let rig = rig(Some(Arc::new(LoggingGic(order.clone()))));
        let mut vcpu = ScriptedVcpu::new(vec![
            step(|_, _| Ok(VcpuExit::Reset)),
            step(|_, _| Ok(VcpuExit::Shutdown)),
        ]);
        vcpu.cpu.order = order.clone();
        let (end, _, _) = boot_and_run(rig, &mut vcpu);
        assert_eq!(end, RunEnd::PowerOff);
        assert_eq!(
            *order.lock().expect("order"),
            ["vcpu", "gic", "vcpu", "gic"]
        );
    }

    #[test]
    fn i8042_reset_command_resets_and_quit_ends() {
        let rig = rig(None);
        let host = rig.host.clone();
        let mut vcpu = ScriptedVcpu::new(vec![
            step(|_, io| {
                io.mmio_write(ISA_WINDOW_BASE + 0x64, &[0xFE]);
                Ok(VcpuExit::Io)
            }),
            step(move |cpu, _| {
                assert_eq!(cpu.regs[&Arm64Reg::Pc], RAM_BASE + 0x8_0000);
                host.send(HostEvent::Quit).expect("send");
                Ok(VcpuExit::Io)
            }),
        ]);
        let (end, _, news) = boot_and_run(rig, &mut vcpu);
        assert_eq!(end, RunEnd::Quit);
        assert!(news.iter().any(|e| matches!(e, VmEvent::Reset(_))));
    }

    #[test]
    fn backend_errors_end_the_run_with_a_register_dump() {
        let rig = rig(None);
        let mut vcpu = ScriptedVcpu::new(vec![]);
        let (end, _, _) = boot_and_run(rig, &mut vcpu);
        assert!(matches!(end, RunEnd::Error(e) if e.contains("script ran out")));
        assert!(register_dump(&vcpu).contains("pc=0x40080000"));
    }
}
