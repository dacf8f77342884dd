//! The hv-core backend conformance suite, run against WHP (Windows only: it needs the
//! Windows Hypervisor Platform feature and a CPU with virtualization enabled).
#![cfg(windows)]

hv_core::conformance_tests!(hv_windows::Whp);
