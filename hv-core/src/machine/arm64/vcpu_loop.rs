//! The arm64 vCPU loop: the counterpart of `machine::vcpu_loop` for [`VcpuArm64`].
//!
//! One iteration: take host events (keys into the i8042, typing, serial input, pause,
//! reset, quit) -> advance device time -> act on device requests -> drive the vCPU's IRQ
//! input (only without a GIC) -> arm the deadline kicker -> enter the guest.
//!
//! The backend does the architecture work inside `run`: MMIO completion, PSCI over
//! HVC/SMC, the virtual timer, and WFI sleeps while the timer is armed. What comes back
//! here is `Halt` (WFI with nothing but a device able to wake the guest), `Shutdown`
//! (PSCI SYSTEM_OFF or CPU_OFF), `Reset` (PSCI SYSTEM_RESET), `Kicked` and `Io`.
//!
//! A halted vCPU blocks on the event channel with the next device deadline as timeout;
//! it runs again when an interrupt line rises, a host event arrives or a deadline
//! passes. WFI wakes on a pending interrupt even when PSTATE.I masks it, so unlike x86
//! `hlt` with IF=0 a halt never ends the run.

use std::time::Duration;

use crate::arch::arm64::{Arm64Reg, Arm64SysReg};
use crate::devices::system::SystemRequest;
use crate::exit::VcpuExit;
use crate::hypervisor::VcpuArm64;
use crate::machine::deadline::DeadlineKicker;
use crate::machine::events::{HostEvent, RunEnd, VmChannels, VmEvent, Wait};
use crate::machine::journey::JourneyRecorder;
use crate::machine::stats::ExitKind;
use crate::machine::typing::Typist;

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

/// What the loop needs besides the vCPU and the board.
#[derive(Debug)]
pub struct LoopContext {
    /// Channels to and from the front end.
    pub channels: VmChannels,
    /// Kicks the vCPU at device deadlines.
    pub deadline: DeadlineKicker,
    /// The image and DTB to (re)load.
    pub boot: BootSource,
    /// Where keystroke journeys are recorded for the overlay.
    pub journey: JourneyRecorder,
}

/// Loop state that is not device state.
#[derive(Debug, Default)]
struct CpuState {
    paused: bool,
    /// The IRQ input level last given to the vCPU (CPU-line mode).
    irq_line: Option<bool>,
    /// Rising edges already answered by waking a halted vCPU.
    edges_seen: u64,
}

enum Flow {
    Continue,
    End(RunEnd),
}

/// A reset was requested; carried as the `Err` side so `?` unwinds to the top.
struct Reset(String);

/// Zeroes memory, loads the image and the DTB, lowers every line and sets the entry
/// registers.
pub fn power_on<V: VcpuArm64>(
    vcpu: &mut V,
    board: &Arm64Board,
    boot: &BootSource,
) -> Result<BootPlan, String> {
    let mem = &board.shared.memory;
    let zeros = vec![0u8; 1 << 16];
    for r in mem.regions() {
        let mut off = 0;
        while off < r.size {
            let n = (r.size - off).min(zeros.len() as u64) as usize;
            mem.write(r.gpa + off, &zeros[..n])
                .map_err(|e| e.to_string())?;
            off += n as u64;
        }
    }
    let plan = boot::load(mem, &boot.image, &boot.dtb, boot.ram_size)
        .map_err(|e| format!("loading the image: {e}"))?;
    board.irqs.reset();
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

/// Runs the machine until it ends. `board` is replaced on reset.
pub fn run<V: VcpuArm64>(
    vcpu: &mut V,
    mut board: Arm64Board,
    ctx: &mut LoopContext,
) -> (RunEnd, Arm64Board) {
    let mut cpu = CpuState::default();
    let mut typist = Typist::default();
    let _ = ctx.channels.tx.send(VmEvent::Started);
    loop {
        match step(vcpu, &mut board, ctx, &mut cpu, &mut typist) {
            Ok(Flow::Continue) => {}
            Ok(Flow::End(end)) => return (end, board),
            Err(Reset(why)) => {
                board = board.reset();
                board.attach_journey(&ctx.journey);
                if let Err(e) = power_on(vcpu, &board, &ctx.boot) {
                    return (RunEnd::Error(e), board);
                }
                cpu = CpuState {
                    paused: cpu.paused,
                    edges_seen: board.irqs.rising_edges(),
                    ..Default::default()
                };
                typist = Typist::default();
                log::info!("machine reset: {why}");
                let _ = ctx.channels.tx.send(VmEvent::Reset(why));
            }
        }
    }
}

fn step<V: VcpuArm64>(
    vcpu: &mut V,
    board: &mut Arm64Board,
    ctx: &mut LoopContext,
    cpu: &mut CpuState,
    typist: &mut Typist,
) -> Result<Flow, Reset> {
    // 1. Host events (blocking while paused).
    if let Some(end) = take_events(Wait::No, board, ctx, cpu, typist)? {
        return Ok(Flow::End(end));
    }
    while cpu.paused {
        ctx.deadline.arm(None);
        if let Some(end) = take_events(Wait::Forever, board, ctx, cpu, typist)? {
            return Ok(Flow::End(end));
        }
    }

    // 2. Device time, typing, device requests.
    advance(board, typist);
    if let Some(end) = take_request(board)? {
        return Ok(Flow::End(end));
    }

    // 3. Interrupts: with a GIC the devices already told it; without, the vCPU's IRQ
    //    input is the OR of the lines.
    if let Err(e) = drive_irq_line(vcpu, board, cpu) {
        return Ok(Flow::End(RunEnd::Error(e.to_string())));
    }

    // 4. Run.
    ctx.deadline.arm(next_deadline(board, typist));
    let exit = vcpu.run(board);
    let stats = &board.shared.stats;
    match exit {
        Ok(VcpuExit::Io) => {}
        Ok(VcpuExit::Halt) => {
            stats.count(ExitKind::Halt);
            return wait_halted(board, ctx, cpu, typist);
        }
        Ok(VcpuExit::Kicked) => {
            stats.count(ExitKind::Kick);
            ctx.deadline.fired();
        }
        Ok(VcpuExit::Shutdown) => {
            stats.count(ExitKind::Other);
            log::info!("guest powered off (PSCI)");
            return Ok(Flow::End(RunEnd::PowerOff));
        }
        Ok(VcpuExit::Reset) => {
            stats.count(ExitKind::Other);
            return Err(Reset("guest requested reset (PSCI SYSTEM_RESET)".into()));
        }
        Ok(other) => {
            stats.count(ExitKind::Other);
            log::trace!("exit {}", other.name());
        }
        Err(e) => {
            log::error!("vCPU stopped: {e}; registers: {}", register_dump(vcpu));
            return Ok(Flow::End(RunEnd::Error(e.to_string())));
        }
    }
    Ok(Flow::Continue)
}

fn drive_irq_line<V: VcpuArm64>(
    vcpu: &mut V,
    board: &Arm64Board,
    cpu: &mut CpuState,
) -> crate::Result<()> {
    if board.irqs.has_gic() {
        return Ok(());
    }
    let level = board.irqs.any_asserted();
    if cpu.irq_line != Some(level) {
        vcpu.set_irq_line(level)?;
        cpu.irq_line = Some(level);
        if level {
            board.shared.stats.count_injection();
        }
    }
    Ok(())
}

fn handle_event(
    ev: HostEvent,
    board: &mut Arm64Board,
    ctx: &mut LoopContext,
    cpu: &mut CpuState,
    typist: &mut Typist,
) -> Result<Flow, Reset> {
    match ev {
        HostEvent::Key { key, pressed } => {
            ctx.journey.host_key(key, pressed);
            board.i8042.key_event(key, pressed);
        }
        HostEvent::ReleaseAllKeys => board.i8042.release_all(),
        HostEvent::Type(text) => {
            let skipped = typist.push_text(&text);
            if !skipped.is_empty() {
                log::warn!("--type: no US-layout key for {skipped:?}; skipped");
            }
        }
        HostEvent::SerialInput(bytes) => board.queue_serial_input(&bytes),
        HostEvent::Pause => {
            cpu.paused = true;
            let _ = ctx.channels.tx.send(VmEvent::Paused(true));
        }
        HostEvent::Resume => {
            cpu.paused = false;
            let _ = ctx.channels.tx.send(VmEvent::Paused(false));
        }
        HostEvent::Reset => return Err(Reset("reset by the user".into())),
        HostEvent::Quit => return Ok(Flow::End(RunEnd::Quit)),
    }
    Ok(Flow::Continue)
}

fn advance(board: &mut Arm64Board, typist: &mut Typist) {
    board.poll();
    if typist.pending() > 0 {
        let now = board.shared.clock.now();
        if let Some((key, pressed)) = typist.next(now, board.i8042.is_idle()) {
            board.i8042.key_event(key, pressed);
        }
    }
}

fn next_deadline(board: &Arm64Board, typist: &Typist) -> Option<Duration> {
    [board.next_deadline(), typist.deadline()]
        .into_iter()
        .flatten()
        .min()
}

/// Device requests: the i8042's reset line (command 0xFE) resets the board, as on a PC.
fn take_request(board: &Arm64Board) -> Result<Option<RunEnd>, Reset> {
    match board.shared.system.take() {
        None => Ok(None),
        Some(SystemRequest::Exit(status)) => Ok(Some(RunEnd::DebugExit(status))),
        Some(SystemRequest::Reset(who)) => Err(Reset(format!("guest reset through {who}"))),
    }
}

/// Whether a halted vCPU should run again: a line rose since the last wake-up (with a
/// GIC the interrupt may now be pending there), or, without a GIC, the IRQ input is
/// high. A level that was already high at the last wake-up does not count again with a
/// GIC: the guest has masked it there, and re-entering would only spin.
fn should_wake(board: &Arm64Board, cpu: &mut CpuState) -> bool {
    let edges = board.irqs.rising_edges();
    let new_edge = edges != cpu.edges_seen;
    cpu.edges_seen = edges;
    new_edge || (!board.irqs.has_gic() && board.irqs.any_asserted())
}

fn wait_halted(
    board: &mut Arm64Board,
    ctx: &mut LoopContext,
    cpu: &mut CpuState,
    typist: &mut Typist,
) -> Result<Flow, Reset> {
    ctx.deadline.arm(None);
    loop {
        advance(board, typist);
        if let Some(end) = take_request(board)? {
            return Ok(Flow::End(end));
        }
        if should_wake(board, cpu) || cpu.paused {
            return Ok(Flow::Continue);
        }
        let wait = match next_deadline(board, typist) {
            Some(d) => Wait::For(d.saturating_sub(board.shared.clock.now())),
            None => Wait::Forever,
        };
        if let Some(end) = take_events(wait, board, ctx, cpu, typist)? {
            return Ok(Flow::End(end));
        }
    }
}

/// Receives host events (waiting for the first as `wait` says), handles every one that is
/// queued, and says whether the run ends.
fn take_events(
    wait: Wait,
    board: &mut Arm64Board,
    ctx: &mut LoopContext,
    cpu: &mut CpuState,
    typist: &mut Typist,
) -> Result<Option<RunEnd>, Reset> {
    let channels = ctx.channels.clone();
    channels.dispatch(wait, |ev| {
        match handle_event(ev, board, ctx, cpu, typist)? {
            Flow::End(end) => Ok(Some(end)),
            Flow::Continue => Ok(None),
        }
    })
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
    use crate::devices::system::SystemControl;
    use crate::devices::uart::SerialLog;
    use crate::devices::vga::VgaState;
    use crate::hypervisor::{IoHandler, Kicker, Vcpu};
    use crate::machine::arm64::fdt::{self, DtConfig};
    use crate::machine::arm64::interrupts::{SpiRouter, SpiSink};
    use crate::machine::arm64::layout::{self, ISA_WINDOW_BASE, PL011_BASE, RAM_BASE};
    use crate::machine::pc::SharedParts;
    use crate::machine::stats::ExitStats;

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
        ctx: LoopContext,
        host: Sender<HostEvent>,
        news: crossbeam_channel::Receiver<VmEvent>,
    }

    const IMAGE: &[u8] = &[0x1F, 0x20, 0x03, 0xD5, 0xC0, 0x03, 0x5F, 0xD6]; // nop; ret

    fn rig(gic: Option<Arc<dyn SpiSink>>) -> Rig {
        let memory = layout::arm64_memory(16).expect("memory");
        let clock: Arc<dyn crate::clock::Clock> = Arc::new(HostClock::new());
        let shared = SharedParts {
            memory,
            clock: clock.clone(),
            vga: Arc::new(Mutex::new(VgaState::default())),
            serial_log: SerialLog::shared(),
            stats: Arc::new(ExitStats::default()),
            system: Arc::new(SystemControl::new()),
        };
        let has_gic = gic.is_some();
        let board = Arm64Board::new(shared, SpiRouter::new(gic), None);
        let dtb = fdt::build(&DtConfig {
            ram_size: 16 << 20,
            vcpus: 1,
            gic: has_gic,
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
            boot: BootSource {
                image: IMAGE.into(),
                dtb,
                ram_size: 16 << 20,
            },
            journey: JourneyRecorder::new(clock),
        };
        Rig {
            board,
            ctx,
            host,
            news,
        }
    }

    fn boot_and_run(rig: Rig, vcpu: &mut ScriptedVcpu) -> (RunEnd, Arm64Board, Vec<VmEvent>) {
        let Rig {
            board,
            mut ctx,
            host,
            news,
        } = rig;
        power_on(vcpu, &board, &ctx.boot).expect("power on");
        let (end, board) = run(vcpu, board, &mut ctx);
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
