//! Starting a PC: memory, VM, board and the vCPU thread, and the handle the front end
//! keeps (input channel, shared display state, statistics).

use std::io::Write;
use std::sync::{Arc, Mutex};

use crossbeam_channel::{bounded, unbounded};

use super::deadline::DeadlineKicker;
use super::events::{RunEnd, VmChannels, VmEvent, VmInput, host_channel};
use super::handle::MachineHandle;
use super::journey::JourneyRecorder;
use super::layout::pc_memory;
use super::pc::{PcBoard, SharedParts};
use super::stats::ExitStats;
use super::vcpu_loop::{LoopContext, power_on, run};
use crate::clock::{Clock, HostClock};
use crate::devices::system::SystemControl;
use crate::devices::uart::SerialLog;
use crate::devices::vga::VgaState;
use crate::error::{HvError, Result};
use crate::hypervisor::{Hypervisor, Vcpu, VcpuX86, Vm, VmConfig};
use crate::loader::BootImage;
use crate::loader::disk::Drives;

/// How to build the PC.
#[derive(Debug)]
pub struct PcConfig {
    /// RAM in MiB.
    pub memory_mib: u64,
    /// What to boot (reloaded on every reset).
    pub image: Box<dyn BootImage>,
    /// Where COM1's output goes besides the log (stdout, a file, or nowhere).
    pub serial_out: Option<SerialSink>,
    /// Stop instead of resetting on a triple fault.
    pub no_reboot: bool,
    /// Disks for the BIOS (drive 0x00 and 0x80).
    pub drives: Drives,
}

/// A boxed output stream for COM1.
pub struct SerialSink(pub Box<dyn Write + Send>);

impl std::fmt::Debug for SerialSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SerialSink")
    }
}

/// Builds a PC on `hv` and starts its vCPU thread.
pub fn launch<H: Hypervisor>(hv: &H, config: PcConfig) -> Result<MachineHandle>
where
    H::Vm: 'static,
    <H::Vm as Vm>::Vcpu: VcpuX86,
{
    let memory = pc_memory(config.memory_mib)?;
    let mut vm = hv.create_vm(&VmConfig::default())?;
    vm.map_memory(&memory)?;

    let clock: Arc<dyn Clock> = Arc::new(HostClock::new());
    let shared = SharedParts {
        memory: memory.clone(),
        clock: clock.clone(),
        vga: Arc::new(Mutex::new(VgaState::default())),
        serial_log: SerialLog::shared(),
        stats: Arc::new(ExitStats::default()),
        system: Arc::new(SystemControl::new()),
    };
    let mut board = PcBoard::new(shared.clone(), config.serial_out.map(|s| s.0));
    board.drives = config.drives;
    let journey = JourneyRecorder::new(clock.clone());
    let (host_tx, host_rx, parking) = host_channel();
    let loop_parking = parking.clone();
    let (vm_tx, vm_rx) = unbounded();
    let (ready_tx, ready_rx) = bounded(1);
    let image = config.image;
    let no_reboot = config.no_reboot;
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
                image,
                no_reboot,
                journey: loop_journey,
            };
            let mut board = board;
            board.attach_journey(&ctx.journey);
            if let Err(e) = power_on(&mut vcpu, &board, &ctx) {
                let _ = ready_tx.send(Err(HvError::InvalidArgument(e.clone())));
                return RunEnd::Error(e);
            }
            let _ = ready_tx.send(Ok(kicker));
            let (end, _board) = run(&mut vcpu, board, &mut ctx);
            let _ = ctx.channels.tx.send(VmEvent::Ended(end.clone()));
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
        memory,
        vga: shared.vga,
        serial_log: shared.serial_log,
        stats: shared.stats,
        journey,
        clock,
        backend: hv.name(),
        thread: Some(thread),
    })
}
