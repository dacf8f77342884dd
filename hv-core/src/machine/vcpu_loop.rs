//! The x86 vCPU loop: run, handle the exit, inject interrupts, honour deadlines.
//!
//! One iteration: take host events (keys, commands) -> advance timers -> act on device
//! requests (reset, debug-exit) -> inject the PIC's vector if the guest can take it, else
//! ask for an interrupt window -> arm the deadline kicker -> enter the guest. `hlt` with
//! interrupts on blocks on the event channel with the next timer deadline as timeout; it
//! never spins.

use crate::arch::x86::regs::RFLAGS_IF;
use crate::devices::system::SystemRequest;
use crate::exit::VcpuExit;
use crate::hypervisor::VcpuX86;
use crate::loader::BootImage;

use super::deadline::DeadlineKicker;
use super::events::{HostEvent, RunEnd, VmChannels, VmEvent, Wait};
use super::journey::JourneyRecorder;
use super::pc::PcBoard;
use super::stats::ExitKind;
use super::typing::Typist;

/// What the loop needs besides the vCPU and the board.
#[derive(Debug)]
pub struct LoopContext {
    /// Channels to and from the front end.
    pub channels: VmChannels,
    /// Kicks the vCPU at timer deadlines.
    pub deadline: DeadlineKicker,
    /// The image to reload on reset.
    pub image: Box<dyn BootImage>,
    /// Stop instead of resetting on a triple fault.
    pub no_reboot: bool,
    /// Where keystroke journeys are recorded for the overlay.
    pub journey: JourneyRecorder,
}

/// Loop state that is not device state.
#[derive(Debug, Default)]
struct CpuState {
    window_requested: bool,
    /// An interrupt was injected and the vCPU has not entered the guest since.
    injection_pending: bool,
    paused: bool,
}

/// Control flow out of a helper.
enum Flow {
    Continue,
    End(RunEnd),
}

/// Runs the machine until it ends. `board` is replaced on reset.
pub fn run<V: VcpuX86>(
    vcpu: &mut V,
    mut board: PcBoard,
    ctx: &mut LoopContext,
) -> (RunEnd, PcBoard) {
    let mut cpu = CpuState::default();
    let mut typist = Typist::default();
    let _ = ctx.channels.tx.send(VmEvent::Started);
    loop {
        let flow = step(vcpu, &mut board, ctx, &mut cpu, &mut typist);
        match flow {
            Ok(Flow::Continue) => {}
            Ok(Flow::End(end)) => {
                let s = board.shared.stats.snapshot();
                log::info!(
                    "run ended ({end}); exits: {} port I/O, {} MMIO, {} hlt, {} window, {} kick, {} other; {} interrupts injected",
                    s.exits[0],
                    s.exits[1],
                    s.exits[2],
                    s.exits[3],
                    s.exits[4],
                    s.exits[5],
                    s.injected
                );
                return (end, board);
            }
            Err(Reset(why)) => {
                board = board.reset();
                board.attach_journey(&ctx.journey);
                if let Err(e) = clear_memory(&board).and_then(|()| power_on(vcpu, &board, ctx)) {
                    return (RunEnd::Error(e), board);
                }
                cpu = CpuState {
                    paused: cpu.paused,
                    ..Default::default()
                };
                typist = Typist::default();
                log::info!("machine reset: {why}");
                let _ = ctx.channels.tx.send(VmEvent::Reset(why));
            }
        }
    }
}

/// A reset was requested (by the guest or the user); carried as the `Err` side so `?`
/// unwinds to the top of the loop.
struct Reset(String);

/// Zeroes guest memory, so a reset starts from the same memory as power-on.
///
/// Only resets need it: at launch the memory is fresh anonymous mappings, already zero,
/// and writing zeros there would fault in every page of guest RAM (64 MiB by default:
/// tens of milliseconds of start-up and the whole guest RAM resident before the guest
/// has touched any of it).
fn clear_memory(board: &PcBoard) -> Result<(), String> {
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
    Ok(())
}

/// Loads firmware and the image into (zeroed) memory and sets the entry registers.
pub fn power_on<V: VcpuX86>(
    vcpu: &mut V,
    board: &PcBoard,
    ctx: &LoopContext,
) -> Result<(), String> {
    let mem = &board.shared.memory;
    crate::firmware::install(board).map_err(|e| format!("firmware: {e}"))?;
    let loaded = ctx
        .image
        .load(mem, &board.drives)
        .map_err(|e| format!("loading the image: {e}"))?;
    vcpu.set_sregs(&loaded.entry.sregs)
        .map_err(|e| e.to_string())?;
    vcpu.set_regs(&loaded.entry.regs)
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn step<V: VcpuX86>(
    vcpu: &mut V,
    board: &mut PcBoard,
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

    // 2. Timers, typing, device requests.
    advance(board, typist);
    if let Some(end) = take_request(board)? {
        return Ok(Flow::End(end));
    }

    // 3. Interrupts.
    if let Err(e) = inject(vcpu, board, cpu, &ctx.journey) {
        return Ok(Flow::End(RunEnd::Error(e.to_string())));
    }

    // 4. Run.
    ctx.deadline.arm(next_deadline(board, typist));
    let exit = vcpu.run(board);
    cpu.injection_pending = false;
    let stats = &board.shared.stats;
    match exit {
        Ok(VcpuExit::Io) => {
            if let Some(vector) = board.take_bios_trap() {
                if let Err(e) = crate::firmware::service(vector, vcpu, board) {
                    return Ok(Flow::End(RunEnd::Error(format!(
                        "BIOS int {vector:02x}h: {e}"
                    ))));
                }
            }
        }
        Ok(VcpuExit::Halt) => {
            stats.count(ExitKind::Halt);
            return wait_halted(vcpu, board, ctx, cpu, typist);
        }
        Ok(VcpuExit::InterruptWindow) => {
            stats.count(ExitKind::Window);
            cpu.window_requested = false;
            if let Err(e) = vcpu.request_interrupt_window(false) {
                return Ok(Flow::End(RunEnd::Error(e.to_string())));
            }
        }
        Ok(VcpuExit::Kicked) => {
            stats.count(ExitKind::Kick);
            ctx.deadline.fired();
        }
        Ok(VcpuExit::Shutdown) => {
            stats.count(ExitKind::Other);
            log::warn!("guest triple fault; registers: {}", register_dump(vcpu));
            if ctx.no_reboot {
                return Ok(Flow::End(RunEnd::Shutdown));
            }
            return Err(Reset("triple fault".into()));
        }
        Ok(VcpuExit::Reset) => {
            stats.count(ExitKind::Other);
            return Err(Reset("guest requested reset".into()));
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

fn handle_event(
    ev: HostEvent,
    board: &mut PcBoard,
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

fn advance(board: &mut PcBoard, typist: &mut Typist) {
    board.poll();
    if typist.pending() > 0 {
        let now = board.shared.clock.now();
        if let Some((key, pressed)) = typist.next(now, board.i8042.is_idle()) {
            board.i8042.key_event(key, pressed);
        }
    }
}

fn next_deadline(board: &PcBoard, typist: &Typist) -> Option<std::time::Duration> {
    [board.next_deadline(), typist.deadline()]
        .into_iter()
        .flatten()
        .min()
}

fn take_request(board: &PcBoard) -> Result<Option<RunEnd>, Reset> {
    match board.shared.system.take() {
        None => Ok(None),
        Some(SystemRequest::Exit(status)) => Ok(Some(RunEnd::DebugExit(status))),
        Some(SystemRequest::Reset(who)) => Err(Reset(format!("guest reset through {who}"))),
    }
}

fn inject<V: VcpuX86>(
    vcpu: &mut V,
    board: &mut PcBoard,
    cpu: &mut CpuState,
    journey: &JourneyRecorder,
) -> crate::Result<()> {
    if cpu.injection_pending || !board.pic.has_interrupt() {
        return Ok(());
    }
    if vcpu.ready_for_interrupt() {
        if let Some(vector) = board.pic.acknowledge() {
            vcpu.inject_interrupt(vector)?;
            cpu.injection_pending = true;
            board.shared.stats.count_injection();
            journey.injected(vector);
        }
        if cpu.window_requested {
            vcpu.request_interrupt_window(false)?;
            cpu.window_requested = false;
        }
    } else if !cpu.window_requested {
        vcpu.request_interrupt_window(true)?;
        cpu.window_requested = true;
    }
    Ok(())
}

/// The guest executed `hlt`. With interrupts off nothing can wake it; otherwise block until
/// an interrupt is pending, a host event arrives, or a device deadline passes.
fn wait_halted<V: VcpuX86>(
    vcpu: &mut V,
    board: &mut PcBoard,
    ctx: &mut LoopContext,
    cpu: &mut CpuState,
    typist: &mut Typist,
) -> Result<Flow, Reset> {
    match vcpu.regs() {
        Ok(regs) if regs.rflags & RFLAGS_IF == 0 => {
            let at = vcpu
                .sregs()
                .map(|s| s.code_linear(regs.rip))
                .unwrap_or(regs.rip);
            return Ok(Flow::End(RunEnd::HaltedWithInterruptsOff { at }));
        }
        Ok(_) => {}
        Err(e) => return Ok(Flow::End(RunEnd::Error(e.to_string()))),
    }
    ctx.deadline.arm(None);
    loop {
        advance(board, typist);
        if let Some(end) = take_request(board)? {
            return Ok(Flow::End(end));
        }
        if board.pic.has_interrupt() || cpu.paused {
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
    board: &mut PcBoard,
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
pub fn register_dump<V: VcpuX86>(vcpu: &V) -> String {
    match (vcpu.regs(), vcpu.sregs()) {
        (Ok(r), Ok(s)) => format!(
            "{} cs={:04x} rip={:#x} rsp={:#x} rflags={:#x} rax={:#x} rbx={:#x} rcx={:#x} rdx={:#x} \
             rsi={:#x} rdi={:#x} cr0={:#x} cr3={:#x} cr4={:#x} efer={:#x} idt={:#x}/{:#x} gdt={:#x}/{:#x}",
            s.mode_name(),
            s.cs.selector,
            r.rip,
            r.rsp,
            r.rflags,
            r.rax,
            r.rbx,
            r.rcx,
            r.rdx,
            r.rsi,
            r.rdi,
            s.cr0,
            s.cr3,
            s.cr4,
            s.efer,
            s.idt.base,
            s.idt.limit,
            s.gdt.base,
            s.gdt.limit
        ),
        (Err(e), _) | (_, Err(e)) => format!("(unavailable: {e})"),
    }
}
