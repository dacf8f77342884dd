//! Backend conformance suite (feature `testing`): small guest programs that every backend
//! runs through the public traits.
//!
//! A backend's integration test calls [`conformance_tests!`](crate::conformance_tests) with
//! its [`Hypervisor`] type; that expands to one `#[test]` per case, each calling
//! [`run_case`]. Cases check one behaviour each and use only the traits, [`GuestMemory`]
//! and the entry helpers in [`crate::arch::x86::entry`], so a passing suite means the
//! backend behaves the way the machine code in hv-core assumes.
//!
//! Layout: [`io_log`] and [`watchdog`] are shared harness pieces; [`x86`] holds the x86
//! cases; the aarch64 cases go in an `arm64` module beside it, with a matching
//! `#[cfg(target_arch = "aarch64")] mod arm64` arm in `conformance_tests!`.
//!
//! [`GuestMemory`]: crate::GuestMemory

use crate::Hypervisor;

pub mod io_log;
pub mod selftest;
pub mod watchdog;
pub mod x86;

/// Set to `1` to make an unavailable backend fail the suite instead of skipping it (CI
/// machines that are supposed to have the hypervisor).
pub const REQUIRE_BACKEND_ENV: &str = "HV_REQUIRE_BACKEND";

/// True when a failed probe must fail the test rather than skip it: forced by
/// [`REQUIRE_BACKEND_ENV`], and always on Linux hosts that have `/dev/kvm` (there, a probe
/// failure is a bug or a misconfiguration, never "no hypervisor here").
pub fn backend_required() -> bool {
    let forced = std::env::var(REQUIRE_BACKEND_ENV).is_ok_and(|v| v == "1");
    forced || (cfg!(target_os = "linux") && std::path::Path::new("/dev/kvm").exists())
}

/// Probes `H` and runs `case` on it. If the probe fails, prints why and returns (the test
/// is skipped), unless [`backend_required`], in which case it panics.
pub fn run_case<H: Hypervisor>(name: &str, case: fn(&H)) {
    match H::probe() {
        Ok(hv) => case(&hv),
        Err(e) if backend_required() => {
            panic!("{name}: the backend must be available here but its probe failed: {e}")
        }
        Err(e) => eprintln!("skipping {name}: {e}"),
    }
}

/// Expands to one `#[test]` per conformance case for the hypervisor type `$hv`, in a
/// module per architecture (`x86::pio_out_sizes`, ...). Use it once in an integration
/// test: `hv_core::conformance_tests!(hv_linux::Kvm);`.
#[macro_export]
macro_rules! conformance_tests {
    ($hv:ty) => {
        #[cfg(target_arch = "x86_64")]
        mod x86 {
            #[allow(unused_imports)]
            use super::*;
            $crate::__x86_conformance_cases!($crate::__conformance_test; $hv);
        }
    };
}

/// One generated conformance `#[test]` (an implementation detail of
/// [`conformance_tests!`](crate::conformance_tests)).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test {
    ($hv:ty; $arch:ident :: $group:ident :: $case:ident) => {
        #[test]
        fn $case() {
            $crate::testing::run_case::<$hv>(
                stringify!($case),
                $crate::testing::$arch::$group::$case::<$hv>,
            );
        }
    };
}
pub mod arm64;
