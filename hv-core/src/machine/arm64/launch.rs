//! Starting the arm64 board: memory, device tree and board; the vCPU thread and the
//! handle the front end keeps come from [`crate::machine::vcpu_thread`], as for the PC.
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
use std::sync::Arc;

use crate::clock::HostClock;
use crate::error::{HvError, Result};
use crate::hypervisor::{Hypervisor, VcpuArm64, Vm, VmConfig};
use crate::machine::handle::MachineHandle;
use crate::machine::pc::SharedParts;
use crate::machine::vcpu_thread::start;
use crate::memory::GuestMemory;

use super::board::Arm64Board;
use super::fdt::{self, DtConfig};
use super::interrupts::{SpiRouter, SpiSink};
use super::layout;
use super::vcpu_loop::{Arm64Cpu, BootSource};

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

    let shared = SharedParts::new(memory, Arc::new(HostClock::new()));
    let board = Arm64Board::new(shared, irqs, config.serial_out);
    let boot = BootSource {
        image: config.image,
        dtb,
        ram_size,
    };
    start(vm, backend, board, Arm64Cpu::new(boot))
}
