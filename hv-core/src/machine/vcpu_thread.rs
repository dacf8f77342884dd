//! Starting a machine's vCPU thread and building the front end's handle: the part of
//! launching that is the same for every board.
//!
//! A vCPU is not `Send` (HVF binds it to the thread that created it), so the thread
//! creates it, powers the guest on and only then reports ready. The caller waits for
//! that report, so a backend that cannot create the vCPU or a guest that cannot be
//! loaded fails `launch` with the reason instead of failing later on another thread.

use std::sync::Arc;

use crossbeam_channel::{bounded, unbounded};

use super::board::Board;
use super::deadline::DeadlineKicker;
use super::events::{RunEnd, VmChannels, VmEvent, VmInput, host_channel};
use super::handle::MachineHandle;
use super::journey::JourneyRecorder;
use super::run_loop::{Arch, Boot, LoopContext, run};
use crate::error::{HvError, Result};
use crate::hypervisor::{Vcpu, Vm};

/// Starts `hv-vcpu0` running `board` on `vm` with `arch`, and returns once the guest is
/// loaded (or with the reason it could not be). `backend` is the name the front end
/// shows.
pub fn start<V, A>(
    vm: Arc<V>,
    backend: &'static str,
    board: A::Board,
    mut arch: A,
) -> Result<MachineHandle>
where
    V: Vm + 'static,
    A: Arch<V::Vcpu> + Send + 'static,
    A::Board: Send + 'static,
{
    let shared = board.shared().clone();
    let clock = shared.clock.clone();
    let journey = JourneyRecorder::new(clock.clone());
    let (host_tx, host_rx, parking) = host_channel();
    let loop_parking = parking.clone();
    let (vm_tx, vm_rx) = unbounded();
    let (ready_tx, ready_rx) = bounded(1);
    let loop_journey = journey.clone();
    let thread_clock = clock.clone();

    let thread = std::thread::Builder::new()
        .name("hv-vcpu0".into())
        .spawn(move || {
            // The VM is declared first so it is dropped after the vCPU.
            let vm = vm;
            let mut vcpu = match vm.create_vcpu(0) {
                Ok(v) => v,
                Err(e) => {
                    let msg = e.to_string();
                    let _ = ready_tx.send(Err(e));
                    return RunEnd::Error(msg);
                }
            };
            let kicker = vcpu.kicker();
            let deadline = match DeadlineKicker::spawn(kicker.clone(), thread_clock) {
                Ok(d) => d,
                Err(e) => {
                    let _ = ready_tx.send(Err(HvError::Os {
                        op: "spawning the deadline thread",
                        source: e,
                    }));
                    return RunEnd::Error("cannot start the deadline thread".into());
                }
            };
            let mut ctx = LoopContext {
                channels: VmChannels {
                    rx: host_rx,
                    parking: loop_parking,
                    tx: vm_tx,
                },
                deadline,
                journey: loop_journey,
            };
            let mut board = board;
            board.attach_journey(&ctx.journey);
            if let Err(e) = arch.power_on(&mut vcpu, &board, Boot::Cold) {
                let _ = ready_tx.send(Err(HvError::InvalidArgument(e.clone())));
                return RunEnd::Error(e);
            }
            let _ = ready_tx.send(Ok(kicker));
            let (end, board) = run(&mut vcpu, board, &mut arch, &mut ctx);
            let _ = ctx.channels.tx.send(VmEvent::Ended(end.clone()));
            // Devices (and a GIC hook's VM reference) go before the vCPU and the VM.
            drop(board);
            drop(vcpu);
            end
        })
        .map_err(|e| HvError::Os {
            op: "spawning the vCPU thread",
            source: e,
        })?;

    let kicker = match ready_rx.recv() {
        Ok(Ok(k)) => k,
        Ok(Err(e)) => {
            let _ = thread.join();
            return Err(e);
        }
        Err(_) => {
            let _ = thread.join();
            return Err(HvError::InvalidArgument(
                "the vCPU thread ended before starting".into(),
            ));
        }
    };
    Ok(MachineHandle {
        input: VmInput::new(host_tx, kicker, parking),
        events: vm_rx,
        memory: shared.memory,
        vga: shared.vga,
        serial_log: shared.serial_log,
        stats: shared.stats,
        journey,
        clock,
        backend,
        thread: Some(thread),
    })
}
