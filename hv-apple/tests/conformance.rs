//! The arm64 conformance suite on the real Hypervisor.framework (macOS, Apple Silicon,
//! signed binary: see docs/backends.md, Hypervisor.framework section). One test
//! function, because HVF allows one VM per process and the cases must not run in
//! parallel.
#![cfg(all(target_os = "macos", target_arch = "aarch64"))]

use hv_apple::{Hvf, gic_conformance_vm};

#[test]
fn arm64_conformance_on_hvf() {
    let mut failures = String::new();
    if let Err(f) = hv_core::testing::arm64::run_all::<Hvf>() {
        failures.push_str(&f);
    }
    if let Err(f) = hv_core::testing::arm64::run_gic_all::<Hvf>(gic_conformance_vm) {
        failures.push_str(&f);
    }
    assert!(
        failures.is_empty(),
        "HVF arm64 conformance failed:\n{failures}"
    );
}
