//! Starting a PC: memory, VM and board; the vCPU thread and the handle the front end
//! keeps come from [`super::vcpu_thread`].

use std::io::Write;
use std::sync::Arc;

use super::handle::MachineHandle;
use super::layout::pc_memory;
use super::pc::{PcBoard, SharedParts};
use super::vcpu_loop::X86Cpu;
use super::vcpu_thread::start;
use crate::clock::HostClock;
use crate::error::Result;
use crate::hypervisor::{Hypervisor, VcpuX86, Vm, VmConfig};
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

    let shared = SharedParts::new(memory, Arc::new(HostClock::new()));
    let mut board = PcBoard::new(shared, config.serial_out.map(|s| s.0));
    board.drives = config.drives;
    start(
        Arc::new(vm),
        hv.name(),
        board,
        X86Cpu::new(config.image, config.no_reboot),
    )
}
