//! Starting the arm64 board: memory, device tree, board and the vCPU thread, and the
//! handle the front end keeps. The same shape as `machine::launch` for the PC.
//!
//! The VM is created by the caller, because only the caller knows backend-specific
//! options (HVF's in-kernel GIC is requested at VM creation). With a GIC the caller also
//! passes the backend's "set SPI level" function, e.g. on macOS:
//!
//! ```ignore
//! let vm = hvf.create_vm_with(&VmConfig::default(), &HvfOptions { gic: Some(GicLayout::default()) })?;
//! let handle = arm64::launch(vm, "HVF", config, Some(HvfVm::set_spi))?;
//! ```

use std::io::Write;
use std::sync::{Arc, Mutex};

use crossbeam_channel::{bounded, unbounded};

use crate::clock::{Clock, HostClock};
use crate::devices::system::SystemControl;
use crate::devices::uart::SerialLog;
use crate::devices::vga::VgaState;
use crate::error::{HvError, Result};
use crate::hypervisor::{Hypervisor, Vcpu, VcpuArm64, Vm, VmConfig};
use crate::machine::deadline::DeadlineKicker;
use crate::machine::events::{RunEnd, VmChannels, VmEvent, VmInput, host_channel};
use crate::machine::handle::MachineHandle;
use crate::machine::journey::JourneyRecorder;
use crate::machine::pc::SharedParts;
use crate::machine::stats::ExitStats;
use crate::memory::GuestMemory;

use super::board::Arm64Board;
use super::fdt::{self, DtConfig};
use super::interrupts::{SpiRouter, SpiSink};
use super::layout;
use super::vcpu_loop::{BootSource, LoopContext, power_on, run};

/// Kernel command line used when none is given: the PL011 console, early output too.
pub const DEFAULT_BOOTARGS: &str = "console=ttyAMA0 earlycon";

/// How to build the board.
pub struct Arm64Config {
    /// RAM in MiB.
    pub memory_mib: u64,
    /// The kernel `Image` or raw binary (reloaded on every reset).
    pub image: Arc<[u8]>,
    /// `/chosen/bootargs`.
    pub bootargs: String,
    /// Where the PL011's output goes besides the log (stdout, a file, or nowhere).
    pub serial_out: Option<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for Arm64Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arm64Config")
            .field("memory_mib", &self.memory_mib)
            .field("image_len", &self.image.len())
            .field("bootargs", &self.bootargs)
            .finish_non_exhaustive()
    }
}

/// A backend's "set SPI level" function, e.g. `hv_apple::HvfVm::set_spi`.
pub type SetSpiFn<V> = fn(&V, u32, bool) -> Result<()>;

/// Adapts a VM and its set-SPI function to [`SpiSink`].
struct VmSpi<V> {
    vm: Arc<V>,
    set_spi: SetSpiFn<V>,
}

impl<V: Vm> SpiSink for VmSpi<V> {
    fn set_spi(&self, intid: u32, level: bool) -> Result<()> {
        (self.set_spi)(&self.vm, intid, level)
    }
}

/// Builds the board on a VM from `hv` without a GIC (the vCPU's IRQ line is the OR of
/// the device lines).
pub fn launch_on<H: Hypervisor>(hv: &H, config: Arm64Config) -> Result<MachineHandle>
where
    H::Vm: 'static,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    let vm = hv.create_vm(&VmConfig::default())?;
    launch(vm, hv.name(), config, None)
}

/// Builds the board on `vm` and starts its vCPU thread. With `set_spi`, device lines go
/// to the VM's in-kernel GIC and the device tree describes it.
pub fn launch<V>(
    mut vm: V,
    backend: &'static str,
    config: Arm64Config,
    set_spi: Option<SetSpiFn<V>>,
) -> Result<MachineHandle>
where
    V: Vm + 'static,
    V::Vcpu: VcpuArm64,
{
    let regions = layout::memory_regions(config.memory_mib)?;
    layout::check_map(&regions, &layout::mmio_windows(1))?;
    let memory = GuestMemory::new(&regions)?;
    vm.map_memory(&memory)?;
    if config.image.is_empty() {
        return Err(HvError::InvalidArgument("the image is empty".into()));
    }

    let ram_size = layout::ram_size(config.memory_mib)?;
    let dtb = fdt::build(&DtConfig {
        ram_size,
        vcpus: 1,
        gic: set_spi.is_some(),
        bootargs: config.bootargs.clone(),
    })?;
    let vm = Arc::new(vm);
    let gic: Option<Arc<dyn SpiSink>> = set_spi.map(|f| {
        Arc::new(VmSpi {
            vm: vm.clone(),
            set_spi: f,
        }) as Arc<dyn SpiSink>
    });
    let irqs = SpiRouter::new(gic);

    let clock: Arc<dyn Clock> = Arc::new(HostClock::new());
    let shared = SharedParts {
        memory: memory.clone(),
        clock: clock.clone(),
        vga: Arc::new(Mutex::new(VgaState::default())),
        serial_log: SerialLog::shared(),
        stats: Arc::new(ExitStats::default()),
        system: Arc::new(SystemControl::new()),
    };
    let board = Arm64Board::new(shared.clone(), irqs, config.serial_out);
    let boot = BootSource {
        image: config.image,
        dtb,
        ram_size,
    };
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
                boot,
                journey: loop_journey,
            };
            let mut board = board;
            board.attach_journey(&ctx.journey);
            if let Err(e) = power_on(&mut vcpu, &board, &ctx.boot) {
                let _ = ready_tx.send(Err(HvError::InvalidArgument(e.clone())));
                return RunEnd::Error(e);
            }
            let _ = ready_tx.send(Ok(kicker));
            let (end, board) = run(&mut vcpu, board, &mut ctx);
            let _ = ctx.channels.tx.send(VmEvent::Ended(end.clone()));
            // Devices (and the GIC hook's VM reference) go before the vCPU and the VM.
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
        memory,
        vga: shared.vga,
        serial_log: shared.serial_log,
        stats: shared.stats,
        journey,
        clock,
        backend,
        thread: Some(thread),
    })
}
