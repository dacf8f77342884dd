//! Starting the arm64 board: memory, device tree and board; the vCPU thread and the
//! handle the front end keeps come from [`crate::machine::vcpu_thread`], as for the PC.
//!
//! The VM is created by the caller, because only the caller knows backend-specific
//! options (HVF's in-kernel GIC is requested at VM creation). With a GIC the caller also
//! passes where the GIC really is and the backend's "set SPI level" and "reset" hooks,
//! e.g. on macOS:
//!
//! ```ignore
//! let vm = hvf.create_vm_with(&VmConfig::default(), &HvfOptions { gic: Some(GicLayout::default()) })?;
//! let gic = vm.gic_regions().map(|regions| GicWiring {
//!     regions,
//!     set_spi: HvfVm::set_spi,
//!     reset: HvfVm::reset_gic,
//! });
//! let handle = arm64::launch(vm, "HVF", config, gic)?;
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
use super::layout::{self, GicRegions};
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

/// A backend's "reset the GIC" function, e.g. `hv_apple::HvfVm::reset_gic`.
pub type ResetGicFn<V> = fn(&V) -> Result<()>;

/// How the board reaches a VM's in-kernel GIC.
#[derive(Debug)]
pub struct GicWiring<V> {
    /// Where the GIC is, as the backend created it (described in the device tree).
    pub regions: GicRegions,
    /// Drives an SPI.
    pub set_spi: SetSpiFn<V>,
    /// Resets the distributor and redistributors (on every power-on).
    pub reset: ResetGicFn<V>,
}

/// Adapts a VM and its GIC hooks to [`SpiSink`].
struct VmSpi<V> {
    vm: Arc<V>,
    set_spi: SetSpiFn<V>,
    reset: ResetGicFn<V>,
}

impl<V: Vm> SpiSink for VmSpi<V> {
    fn set_spi(&self, intid: u32, level: bool) -> Result<()> {
        (self.set_spi)(&self.vm, intid, level)
    }

    fn reset(&self) -> Result<()> {
        (self.reset)(&self.vm)
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

/// Builds the board on `vm` and starts its vCPU thread. With `gic`, device lines go to
/// the VM's in-kernel GIC and the device tree describes it where it really is.
pub fn launch<V>(
    mut vm: V,
    backend: &'static str,
    config: Arm64Config,
    gic: Option<GicWiring<V>>,
) -> Result<MachineHandle>
where
    V: Vm + 'static,
    V::Vcpu: VcpuArm64,
{
    let regions = layout::memory_regions(config.memory_mib)?;
    let gic_regions = gic.as_ref().map(|g| g.regions);
    layout::check_map(&regions, &layout::mmio_windows(gic_regions.as_ref()))?;
    let memory = GuestMemory::new(&regions)?;
    vm.map_memory(&memory)?;
    if config.image.is_empty() {
        return Err(HvError::InvalidArgument("the image is empty".into()));
    }

    let ram_size = layout::ram_size(config.memory_mib)?;
    let dtb = fdt::build(&DtConfig {
        ram_size,
        vcpus: 1,
        gic: gic_regions,
        bootargs: config.bootargs.clone(),
    })?;
    let vm = Arc::new(vm);
    let sink: Option<Arc<dyn SpiSink>> = gic.map(|g| {
        Arc::new(VmSpi {
            vm: vm.clone(),
            set_spi: g.set_spi,
            reset: g.reset,
        }) as Arc<dyn SpiSink>
    });
    let irqs = SpiRouter::new(sink);

    let shared = SharedParts::new(memory, Arc::new(HostClock::new()));
    let board = Arm64Board::new(shared, irqs, config.serial_out);
    let boot = BootSource {
        image: config.image,
        dtb,
        ram_size,
    };
    start(vm, backend, board, Arm64Cpu::new(boot))
}
