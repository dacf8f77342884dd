//! Boots the board this host can run: the PC on KVM (Linux) and WHP (Windows), the arm64
//! board on Hypervisor.framework (Apple Silicon). Each path is compiled only for the
//! systems it runs on; CI builds and lints every one for its real target.

use anyhow::Result;
use hv_core::machine::handle::MachineHandle;
use hv_core::machine::launch::SerialSink;

use crate::cli::RunArgs;

/// This host's x86 backend, for code that drives the PC directly (`hv bench`, Linux only).
#[cfg(target_os = "linux")]
pub use hv_linux::Kvm as Backend;

/// What `hv run` says on a host without a hypervisor backend.
#[cfg(all(target_os = "macos", not(has_backend)))]
pub const NO_BACKEND: &str = "hv has no hypervisor backend on Intel Macs: it runs guests \
     through Hypervisor.framework on Apple Silicon, KVM on Linux and the Windows Hypervisor \
     Platform on Windows";
/// What `hv run` says on a host without a hypervisor backend.
#[cfg(all(not(target_os = "macos"), not(has_backend)))]
pub const NO_BACKEND: &str = "hv runs on Linux (KVM), Windows (Windows Hypervisor Platform) \
     and macOS on Apple Silicon (Hypervisor.framework); this system has none of them";

/// The arm64 demo (built by `assets/arm64/build.sh`), booted when no IMAGE is given on a
/// Mac.
#[cfg(hvf_host)]
pub const ARM64_DEMO_IMAGE: &[u8] = include_bytes!("../../assets/arm64-demo.img");

/// Boots the PC on `H` (KVM or WHP).
#[cfg(pc_host)]
fn boot_pc<H: hv_core::Hypervisor>(
    args: &RunArgs,
    serial: Option<SerialSink>,
) -> Result<MachineHandle>
where
    H::Vm: 'static,
    <H::Vm as hv_core::Vm>::Vcpu: hv_core::VcpuX86,
{
    // The drives travel into the machine and are dropped (flushing `--writable` writes)
    // when the vCPU thread ends; on an error before that, when `boot` goes out of scope.
    use hv_core::machine::launch::{PcConfig, launch};
    let boot = crate::image::prepare(args)?;
    let hv = H::probe()?;
    Ok(launch(
        &hv,
        PcConfig {
            memory_mib: args.memory,
            image: boot.image,
            serial_out: serial,
            no_reboot: args.no_reboot,
            drives: boot.drives,
        },
    )?)
}

/// Boots the arm64 board on Hypervisor.framework: the in-kernel GICv3 where macOS has one
/// (15+), else the vCPU's IRQ line.
#[cfg(hvf_host)]
fn boot_arm64(args: &RunArgs, serial: Option<SerialSink>) -> Result<MachineHandle> {
    use hv_core::Hypervisor;
    use hv_core::machine::arm64::{Arm64Config, launch as launch_arm64};
    let image: std::sync::Arc<[u8]> = match &args.image {
        Some(path) => crate::image::read_image(path)?.into(),
        None => ARM64_DEMO_IMAGE.into(),
    };
    let config = Arm64Config {
        memory_mib: args.memory,
        image,
        bootargs: args.append.clone().unwrap_or_default(),
        serial_out: serial.map(|s| s.0),
    };
    let hv = hv_apple::Hvf::probe()?;
    let vm_config = hv_core::VmConfig::default();
    match hv.create_vm_with(
        &vm_config,
        &hv_apple::HvfOptions {
            gic: Some(Default::default()),
        },
    ) {
        Ok(vm) => Ok(launch_arm64(
            vm,
            "HVF",
            config,
            Some(hv_apple::HvfVm::set_spi),
        )?),
        Err(e) => {
            log::info!("no in-kernel GIC ({e}); using the vCPU IRQ line");
            let vm = hv.create_vm_with(&vm_config, &hv_apple::HvfOptions { gic: None })?;
            Ok(launch_arm64(vm, "HVF", config, None)?)
        }
    }
}

/// Boots this host's board with `args`.
pub fn boot(args: &RunArgs, serial: Option<SerialSink>) -> Result<MachineHandle> {
    #[cfg(target_os = "linux")]
    return boot_pc::<hv_linux::Kvm>(args, serial);
    #[cfg(windows)]
    return boot_pc::<hv_windows::Whp>(args, serial);
    #[cfg(hvf_host)]
    return boot_arm64(args, serial);
    #[cfg(not(has_backend))]
    {
        let _ = (args, serial);
        anyhow::bail!(NO_BACKEND);
    }
}
