//! `/dev/kvm`: probing and VM creation.

use hv_core::arch::x86::cpuid::{self, CpuidResult};
use hv_core::{HvError, Hypervisor, Result, VmConfig};
use kvm_bindings::{KVM_API_VERSION, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::Cap;

use crate::error::os;
use crate::vm::KvmVm;

/// The KVM hypervisor (an open `/dev/kvm`).
#[derive(Debug)]
pub struct Kvm {
    kvm: kvm_ioctls::Kvm,
}

/// Environment variable naming the KVM device to open instead of `/dev/kvm`: for hosts
/// that put it elsewhere (containers), and for tests of the error messages (point it at
/// a missing path or a regular file).
pub const DEVICE_ENV: &str = "HV_KVM_DEVICE";

/// The KVM device path: `$HV_KVM_DEVICE` if set and non-empty, else `/dev/kvm`.
fn device_path() -> std::ffi::OsString {
    std::env::var_os(DEVICE_ENV)
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/dev/kvm".into())
}

/// One line saying what is wrong with the KVM device `dev` and what to do.
fn open_error(dev: &str, errno: i32) -> HvError {
    match errno {
        libc::ENOENT | libc::ENODEV | libc::ENXIO => HvError::Unavailable(format!(
            "{dev} not found: KVM is not available on this host (enable virtualization in \
             firmware, load kvm_intel/kvm_amd)"
        )),
        libc::EACCES | libc::EPERM => HvError::Unavailable(format!(
            "{dev}: permission denied; add your user to the 'kvm' group (sudo usermod -aG \
             kvm $USER, then log in again) or fix the device permissions"
        )),
        _ => HvError::Unavailable(format!(
            "{dev} cannot be opened: {}",
            std::io::Error::from_raw_os_error(errno)
        )),
    }
}

/// Which KVM implementations are loaded (`/sys/module/<name>`): kvm_intel and kvm_amd are
/// hardware-assisted; others (kvm_pvm, for example) are worth naming in a bug report.
fn kvm_modules() -> String {
    let found: Vec<&str> = ["kvm_intel", "kvm_amd", "kvm_pvm", "kvm_arm"]
        .into_iter()
        .filter(|m| std::path::Path::new("/sys/module").join(m).exists())
        .collect();
    if found.is_empty() {
        "unknown (no kvm_* module in /sys/module)".into()
    } else {
        found.join(", ")
    }
}

/// Opens the KVM device, mapping every failure to one actionable line.
fn open_device() -> Result<kvm_ioctls::Kvm> {
    use std::os::unix::ffi::OsStrExt;
    let path = device_path();
    let shown = path.to_string_lossy().into_owned();
    let c_path = std::ffi::CString::new(path.as_bytes()).map_err(|_| {
        HvError::Unavailable(format!("{DEVICE_ENV} contains a NUL byte: {shown:?}"))
    })?;
    let kvm = kvm_ioctls::Kvm::new_with_path(&c_path).map_err(|e| open_error(&shown, e.errno()))?;
    // A regular file or another device opens fine; the first ioctl tells.
    if kvm.get_api_version() < 0 {
        return Err(HvError::Unavailable(format!(
            "{shown} is not a KVM device (KVM_GET_API_VERSION failed: {})",
            std::io::Error::last_os_error()
        )));
    }
    Ok(kvm)
}

impl Hypervisor for Kvm {
    type Vm = KvmVm;

    fn probe() -> Result<Self> {
        let kvm = open_device()?;
        let version = kvm.get_api_version();
        if i64::from(version) != i64::from(KVM_API_VERSION) {
            return Err(HvError::Unavailable(format!(
                "/dev/kvm speaks KVM API version {version}, hv needs {KVM_API_VERSION}"
            )));
        }
        // The kick protocol depends on kvm_run.immediate_exit (Linux 4.11).
        if !kvm.check_extension(Cap::ImmediateExit) {
            return Err(HvError::Unavailable(
                "this kernel's KVM lacks KVM_CAP_IMMEDIATE_EXIT (Linux 4.11+ needed)".into(),
            ));
        }
        Ok(Self { kvm })
    }

    fn name(&self) -> &'static str {
        "KVM"
    }

    fn features(&self) -> Vec<(&'static str, String)> {
        let yes_no = |cap| {
            if self.kvm.check_extension(cap) {
                "yes"
            } else {
                "no"
            }
            .to_owned()
        };
        vec![
            ("device", device_path().to_string_lossy().into_owned()),
            ("API version", self.kvm.get_api_version().to_string()),
            ("module", kvm_modules()),
            ("immediate exit", yes_no(Cap::ImmediateExit)),
            ("vCPU events", yes_no(Cap::VcpuEvents)),
            ("max vCPUs", self.kvm.get_max_vcpus().to_string()),
            (
                "vCPU mmap size",
                self.kvm
                    .get_vcpu_mmap_size()
                    .map_or_else(|e| format!("unknown ({e})"), |n| format!("{n} bytes")),
            ),
        ]
    }

    fn create_vm(&self, config: &VmConfig) -> Result<KvmVm> {
        let max = self.kvm.get_max_vcpus();
        if config.vcpus == 0 || usize::try_from(config.vcpus).map_or(true, |n| n > max) {
            return Err(HvError::InvalidArgument(format!(
                "{} vCPUs requested; KVM allows 1 to {max}",
                config.vcpus
            )));
        }
        let mut cpuid = self
            .kvm
            .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
            .map_err(|e| os("KVM_GET_SUPPORTED_CPUID", e))?;
        for entry in cpuid.as_mut_slice() {
            let mut r = CpuidResult {
                eax: entry.eax,
                ebx: entry.ebx,
                ecx: entry.ecx,
                edx: entry.edx,
            };
            cpuid::adjust(entry.function, entry.index, &mut r);
            (entry.eax, entry.ebx, entry.ecx, entry.edx) = (r.eax, r.ebx, r.ecx, r.edx);
        }
        let fd = self.kvm.create_vm().map_err(|e| os("KVM_CREATE_VM", e))?;
        KvmVm::new(fd, cpuid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_errors_are_one_actionable_line() {
        let missing = open_error("/dev/kvm", libc::ENOENT).to_string();
        assert!(missing.starts_with("/dev/kvm not found") && missing.contains("kvm_intel"));
        let denied = open_error("/dev/kvm", libc::EACCES).to_string();
        assert!(denied.contains("permission denied") && denied.contains("usermod -aG kvm"));
        assert!(!denied.contains('\n'), "one line: {denied}");
        let other = open_error("/dev/kvm", libc::EBUSY).to_string();
        assert!(other.starts_with("/dev/kvm cannot be opened"), "{other}");
        for e in [missing, denied, other] {
            assert!(!e.contains('\n'));
        }
    }
}
