//! Turns kvm-ioctls errors into [`HvError`].

use hv_core::HvError;

/// Wraps a failed KVM ioctl as an OS error naming the operation.
pub(crate) fn os(op: &'static str, e: kvm_ioctls::Error) -> HvError {
    HvError::Os {
        op,
        source: std::io::Error::from_raw_os_error(e.errno()),
    }
}
