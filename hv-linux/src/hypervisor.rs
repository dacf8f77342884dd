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

/// One line saying what is wrong with `/dev/kvm` and what to do.
fn open_error(errno: i32) -> HvError {
    match errno {
        libc::ENOENT | libc::ENODEV | libc::ENXIO => HvError::Unavailable(
            "/dev/kvm not found: KVM is not available on this host (enable virtualization in \
             firmware, load kvm_intel/kvm_amd)"
                .into(),
        ),
        libc::EACCES | libc::EPERM => HvError::Unavailable(
            "/dev/kvm: permission denied; add your user to the 'kvm' group (sudo usermod -aG \
             kvm $USER, then log in again) or fix the device permissions"
                .into(),
        ),
        _ => HvError::Unavailable(format!(
            "/dev/kvm cannot be opened: {}",
            std::io::Error::from_raw_os_error(errno)
        )),
    }
}

impl Hypervisor for Kvm {
    type Vm = KvmVm;

    fn probe() -> Result<Self> {
        let kvm = kvm_ioctls::Kvm::new().map_err(|e| open_error(e.errno()))?;
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
        let missing = open_error(libc::ENOENT).to_string();
        assert!(missing.starts_with("/dev/kvm not found") && missing.contains("kvm_intel"));
        let denied = open_error(libc::EACCES).to_string();
        assert!(denied.contains("permission denied") && denied.contains("usermod -aG kvm"));
        let other = open_error(libc::EBUSY).to_string();
        assert!(other.starts_with("/dev/kvm cannot be opened"), "{other}");
        for e in [missing, denied, other] {
            assert!(!e.contains('\n'));
        }
    }
}
