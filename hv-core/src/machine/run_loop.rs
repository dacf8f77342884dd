//! The vCPU loop, shared by every board and architecture.
//!
//! One iteration: take host events (keys, mouse, typing, serial input, pause, reset,
//! quit) -> advance device time -> act on device requests (reset, debug-exit) -> let the
//! architecture deliver interrupts -> arm the deadline kicker -> enter the guest -> let
//! the architecture say what the exit means.
//!
//! A halted vCPU blocks on the event channel with the next device deadline as timeout;
//! it never spins. It runs again when the architecture says an interrupt can wake it, a
//! host event arrives or a deadline passes.
//!
//! What differs between x86 and arm64 is behind [`Arch`] (interrupt delivery, wake-up,
//! exits, loading the guest); what differs between boards is behind [`Board`]. The loop
//! itself owns waiting, pausing, typing and resets, so those behave the same everywhere.

use std::time::Duration;

use crate::devices::system::SystemRequest;
use crate::exit::VcpuExit;
use crate::hypervisor::Vcpu;

use super::board::Board;
use super::deadline::DeadlineKicker;
use super::events::{HostEvent, RunEnd, VmChannels, VmEvent, Wait};
use super::journey::JourneyRecorder;
use super::stats::ExitKind;
use super::typing::Typist;

/// Why the guest is being loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boot {
    /// At launch: memory is fresh and the board new.
    Cold,
    /// After a reset: the board was rebuilt, memory holds the old guest.
    Reset,
}

/// What an exit means for the run, as the architecture sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitAction {
    /// Enter the guest again.
    Continue,
    /// The run is over.
    End(RunEnd),
    /// Reset the machine, for this reason.
    Reset(String),
}

/// The architecture's half of the loop, for vCPUs of type `V`.
///
/// An implementation also carries what it loads at power-on (the image, the DTB) and its
/// interrupt-delivery state, so one value is the whole per-architecture story.
pub trait Arch<V: Vcpu> {
    /// The board this architecture runs.
    type Board: Board;

    /// Loads the guest into memory and sets the vCPU's entry registers; forgets any
    /// interrupt-delivery state. Called at launch and after every reset.
    fn power_on(&mut self, vcpu: &mut V, board: &Self::Board, boot: Boot) -> Result<(), String>;

    /// Gives the vCPU what the interrupt controller has for it, just before entry.
    fn deliver_interrupts(
        &mut self,
        vcpu: &mut V,
        board: &mut Self::Board,
        journey: &JourneyRecorder,
    ) -> crate::Result<()>;

    /// The vCPU has been in the guest since the last delivery (whatever was injected
    /// has been taken).
    fn entered_guest(&mut self) {}

    /// The vCPU halted. `Some(end)` if nothing can ever wake it.
    fn halted(&mut self, vcpu: &V) -> Option<RunEnd>;

    /// Whether a halted vCPU should run again (an interrupt is waiting for it).
    fn should_wake(&mut self, board: &Self::Board) -> bool;

    /// What any exit other than `Halt` and `Kicked` means (those two are the loop's).
    fn exit(&mut self, vcpu: &mut V, board: &mut Self::Board, exit: VcpuExit) -> ExitAction;

    /// One line with the registers that explain where a guest died.
    fn register_dump(vcpu: &V) -> String;
}

/// What the loop needs besides the vCPU, the board and the architecture.
#[derive(Debug)]
pub struct LoopContext {
    /// Channels to and from the front end.
    pub channels: VmChannels,
    /// Kicks the vCPU at device deadlines.
    pub deadline: DeadlineKicker,
    /// Where keystroke journeys are recorded for the overlay.
    pub journey: JourneyRecorder,
}

/// Loop state that is neither device nor architecture state.
#[derive(Debug, Default)]
struct LoopState {
    paused: bool,
    typist: Typist,
}

/// Control flow out of a helper.
enum Flow {
    Continue,
    End(RunEnd),
}

/// A reset was requested (by the guest or the user); carried as the `Err` side so `?`
/// unwinds to the top of the loop.
struct Reset(String);

/// Runs the machine until it ends. `board` is replaced on reset; the last one is
/// returned with how the run ended.
pub fn run<V: Vcpu, A: Arch<V>>(
    vcpu: &mut V,
    mut board: A::Board,
    arch: &mut A,
    ctx: &mut LoopContext,
) -> (RunEnd, A::Board) {
    let mut state = LoopState::default();
    let _ = ctx.channels.tx.send(VmEvent::Started);
    loop {
        match step(vcpu, &mut board, arch, ctx, &mut state) {
            Ok(Flow::Continue) => {}
            Ok(Flow::End(end)) => {
                let s = board.shared().stats.snapshot();
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
                if let Err(e) = arch.power_on(vcpu, &board, Boot::Reset) {
                    return (RunEnd::Error(e), board);
                }
                state = LoopState {
                    paused: state.paused,
                    ..Default::default()
                };
                log::info!("machine reset: {why}");
                let _ = ctx.channels.tx.send(VmEvent::Reset(why));
            }
        }
    }
}

fn step<V: Vcpu, A: Arch<V>>(
    vcpu: &mut V,
    board: &mut A::Board,
    arch: &mut A,
    ctx: &mut LoopContext,
    state: &mut LoopState,
) -> Result<Flow, Reset> {
    // 1. Host events (blocking while paused).
    if let Some(end) = take_events(Wait::No, board, ctx, state)? {
        return Ok(Flow::End(end));
    }
    while state.paused {
        ctx.deadline.arm(None);
        if let Some(end) = take_events(Wait::Forever, board, ctx, state)? {
            return Ok(Flow::End(end));
        }
    }

    // 2. Device time, typing, device requests.
    advance(board, &mut state.typist);
    if let Some(end) = take_request(board)? {
        return Ok(Flow::End(end));
    }

    // 3. Interrupts.
    if let Err(e) = arch.deliver_interrupts(vcpu, board, &ctx.journey) {
        return Ok(Flow::End(RunEnd::Error(e.to_string())));
    }

    // 4. Run.
    ctx.deadline.arm(next_deadline(board, &state.typist));
    let exit = vcpu.run(board);
    arch.entered_guest();
    let action = match exit {
        Ok(VcpuExit::Halt) => {
            board.shared().stats.count(ExitKind::Halt);
            if let Some(end) = arch.halted(vcpu) {
                return Ok(Flow::End(end));
            }
            return wait_halted(board, arch, ctx, state);
        }
        Ok(VcpuExit::Kicked) => {
            board.shared().stats.count(ExitKind::Kick);
            ctx.deadline.fired();
            ExitAction::Continue
        }
        Ok(exit) => arch.exit(vcpu, board, exit),
        Err(e) => {
            log::error!("vCPU stopped: {e}; registers: {}", A::register_dump(vcpu));
            ExitAction::End(RunEnd::Error(e.to_string()))
        }
    };
    match action {
        ExitAction::Continue => Ok(Flow::Continue),
        ExitAction::End(end) => Ok(Flow::End(end)),
        ExitAction::Reset(why) => Err(Reset(why)),
    }
}

fn handle_event<B: Board>(
    ev: HostEvent,
    board: &mut B,
    ctx: &mut LoopContext,
    state: &mut LoopState,
) -> Result<Flow, Reset> {
    match ev {
        HostEvent::Key { key, pressed } => {
            ctx.journey.host_key(key, pressed);
            board.key_event(key, pressed);
        }
        HostEvent::ReleaseAllKeys => board.release_all(),
        HostEvent::Mouse(input) => {
            ctx.journey.host_mouse(input);
            board.mouse_event(input);
        }
        HostEvent::Type(text) => {
            let skipped = state.typist.push_text(&text);
            if !skipped.is_empty() {
                log::warn!("--type: no US-layout key for {skipped:?}; skipped");
            }
        }
        HostEvent::SerialInput(bytes) => board.queue_serial_input(&bytes),
        HostEvent::Pause => {
            state.paused = true;
            let _ = ctx.channels.tx.send(VmEvent::Paused(true));
        }
        HostEvent::Resume => {
            state.paused = false;
            let _ = ctx.channels.tx.send(VmEvent::Paused(false));
        }
        HostEvent::Reset => return Err(Reset("reset by the user".into())),
        HostEvent::Quit => return Ok(Flow::End(RunEnd::Quit)),
    }
    Ok(Flow::Continue)
}

fn advance<B: Board>(board: &mut B, typist: &mut Typist) {
    board.poll();
    if typist.pending() > 0 {
        let now = board.shared().clock.now();
        if let Some((key, pressed)) = typist.next(now, board.keyboard_idle()) {
            board.key_event(key, pressed);
        }
    }
}

fn next_deadline<B: Board>(board: &B, typist: &Typist) -> Option<Duration> {
    [board.next_deadline(), typist.deadline()]
        .into_iter()
        .flatten()
        .min()
}

/// Device requests: debug-exit ends the run; a reset line (the i8042's command 0xFE,
/// port 0x92, 0xCF9) resets the board.
fn take_request<B: Board>(board: &B) -> Result<Option<RunEnd>, Reset> {
    match board.shared().system.take() {
        None => Ok(None),
        Some(SystemRequest::Exit(status)) => Ok(Some(RunEnd::DebugExit(status))),
        Some(SystemRequest::Reset(who)) => Err(Reset(format!("guest reset through {who}"))),
    }
}

/// Blocks until the architecture says an interrupt can wake the vCPU, a host event
/// arrives, or a device deadline passes.
fn wait_halted<V: Vcpu, A: Arch<V>>(
    board: &mut A::Board,
    arch: &mut A,
    ctx: &mut LoopContext,
    state: &mut LoopState,
) -> Result<Flow, Reset> {
    ctx.deadline.arm(None);
    loop {
        advance(board, &mut state.typist);
        if let Some(end) = take_request(board)? {
            return Ok(Flow::End(end));
        }
        if arch.should_wake(board) || state.paused {
            return Ok(Flow::Continue);
        }
        let wait = match next_deadline(board, &state.typist) {
            Some(d) => Wait::For(d.saturating_sub(board.shared().clock.now())),
            None => Wait::Forever,
        };
        if let Some(end) = take_events(wait, board, ctx, state)? {
            return Ok(Flow::End(end));
        }
    }
}

/// Receives host events (waiting for the first as `wait` says), handles every one that is
/// queued, and says whether the run ends.
fn take_events<B: Board>(
    wait: Wait,
    board: &mut B,
    ctx: &mut LoopContext,
    state: &mut LoopState,
) -> Result<Option<RunEnd>, Reset> {
    let channels = ctx.channels.clone();
    channels.dispatch(wait, |ev| match handle_event(ev, board, ctx, state)? {
        Flow::End(end) => Ok(Some(end)),
        Flow::Continue => Ok(None),
    })
}
