//! `KVM_INTERRUPT`, which kvm-ioctls does not wrap.
//!
//! With no in-kernel irqchip, userspace queues an external interrupt with
//! `KVM_INTERRUPT` (vector in `kvm_interrupt.irq`) when `kvm_run` says the guest is ready.

use std::os::fd::AsRawFd;

use hv_core::{HvError, Result};
use kvm_bindings::kvm_interrupt;

/// The `ioctl` type byte of every KVM request.
const KVMIO: u32 = 0xAE;
/// Linux `_IOC_WRITE`: userspace passes data to the kernel.
const IOC_WRITE: u32 = 1;

/// Linux `_IOW(type, nr, T)`: direction in bits 30-31, size in 16-29, type 8-15, nr 0-7.
const fn iow(ty: u32, nr: u32, size: usize) -> u32 {
    (IOC_WRITE << 30) | ((size as u32) << 16) | (ty << 8) | nr
}

/// `KVM_INTERRUPT = _IOW(KVMIO, 0x86, struct kvm_interrupt)` (include/uapi/linux/kvm.h).
pub(crate) const KVM_INTERRUPT: u32 = iow(KVMIO, 0x86, size_of::<kvm_interrupt>());

/// Queues external interrupt `vector` on the vCPU `fd`.
pub(crate) fn inject(fd: &impl AsRawFd, vector: u8) -> Result<()> {
    let irq = kvm_interrupt {
        irq: u32::from(vector),
    };
    // SAFETY: `fd` is a KVM vCPU fd, KVM_INTERRUPT reads exactly one kvm_interrupt from
    // the pointer, which outlives the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), KVM_INTERRUPT as _, &irq) };
    if rc < 0 {
        return Err(HvError::last_os_error("KVM_INTERRUPT"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_number_matches_linux_header() {
        // _IOW(0xAE, 0x86, 4 bytes) as the kernel computes it.
        assert_eq!(KVM_INTERRUPT, 0x4004_AE86);
    }
}
