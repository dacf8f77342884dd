//! Picks the hypervisor backend for this host.

#[cfg(target_os = "linux")]
pub use hv_linux::Kvm as Backend;

#[cfg(windows)]
pub use hv_windows::Whp as Backend;

#[cfg(not(any(target_os = "linux", windows)))]
compile_error!(
    "hv runs x86 guests on Linux (KVM) and Windows (WHP); the Apple Silicon board is built by hv-apple"
);
