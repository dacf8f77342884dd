//! The hv-core backend conformance suite, run on KVM (one `#[test]` per case).
#![cfg(target_os = "linux")]

hv_core::conformance_tests!(hv_linux::Kvm);
