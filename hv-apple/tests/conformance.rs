//! The arm64 conformance suite on the real Hypervisor.framework (macOS, Apple Silicon,
//! signed binary: see docs/backends.md, Hypervisor.framework section). One test
//! function, because HVF allows one VM per process and the cases must not run in
//! parallel.
#![cfg(all(target_os = "macos", target_arch = "aarch64"))]

use hv_apple::{Hvf, HvfOptions, HvfVm};
use hv_core::machine::arm64::GicWiring;
use hv_core::{HvError, VmConfig};

/// A VM with the in-kernel GIC at the default layout, or `None` before macOS 15.
fn gic_vm(hv: &Hvf) -> Result<Option<(HvfVm, GicWiring<HvfVm>)>, String> {
    let options = HvfOptions {
        gic: Some(Default::default()),
    };
    match hv.create_vm_with(&VmConfig::default(), &options) {
        Ok(vm) => {
            let regions = vm.gic_regions().ok_or("a GIC VM without GIC regions")?;
            let wiring = GicWiring {
                regions,
                set_spi: HvfVm::set_spi,
                reset: HvfVm::reset_gic,
            };
            Ok(Some((vm, wiring)))
        }
        Err(HvError::Unavailable(why)) => {
            eprintln!("no in-kernel GIC ({why}); GIC cases skipped");
            Ok(None)
        }
        Err(e) => Err(format!("create a GIC VM: {e}")),
    }
}

#[test]
fn arm64_conformance_on_hvf() {
    let mut failures = String::new();
    if let Err(f) = hv_core::testing::arm64::run_all::<Hvf>() {
        failures.push_str(&f);
    }
    if let Err(f) = hv_core::testing::arm64::run_gic_all::<Hvf>(gic_vm) {
        failures.push_str(&f);
    }
    assert!(
        failures.is_empty(),
        "HVF arm64 conformance failed:\n{failures}"
    );
}
