//! Running the conformance suite outside `cargo test`: what `hv selftest` shows a user.
//!
//! The cases are the same functions the backends' `#[test]`s run. Each runs on the
//! calling thread, one after another (Hypervisor.framework allows one VM per process), and
//! a failing case's panic is caught and turned into its reason, so one broken behaviour
//! does not hide the rest of the report.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::x86::{self, X86Backend};
use crate::hypervisor::{Hypervisor, VcpuArm64, Vm};

/// How one case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The backend behaved as hv-core assumes.
    Pass,
    /// It did not; the reason (the case's assertion message and where it failed).
    Fail(String),
}

/// One case's result.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// `x86::pio_out_sizes`, `arm64::mmio_stores`, ...
    pub name: String,
    /// Pass or why not.
    pub outcome: Outcome,
    /// Wall time of the case.
    pub elapsed: Duration,
}

/// Runs `f`, turning a panic into `Err(message)`. The panic is not printed: the default
/// hook is replaced for the duration and put back afterwards (panics on other threads
/// while it is replaced are still printed by the previous hook).
fn catch(f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let this_thread = std::thread::current().id();
    // The message of this thread's panic, written by the hook.
    let captured = Arc::new(Mutex::new(None::<String>));
    let sink = Arc::clone(&captured);
    // The previous hook is shared with the replacement so other threads keep theirs.
    let previous = Arc::new(panic::take_hook());
    let fallback = Arc::clone(&previous);
    panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == this_thread {
            *sink.lock().unwrap_or_else(PoisonError::into_inner) = Some(info.to_string());
        } else {
            fallback(info);
        }
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    // Dropping the replacement drops its clone; hooks run under the hook lock, which
    // `take_hook` holds, so no other thread can still be inside it.
    drop(panic::take_hook());
    if let Ok(hook) = Arc::try_unwrap(previous) {
        panic::set_hook(hook);
    }
    match result {
        Ok(r) => r,
        Err(payload) => Err(captured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panicked".to_owned())),
    }
}

fn time(name: String, f: impl FnOnce() -> Result<(), String>) -> CaseResult {
    let start = Instant::now();
    let outcome = match catch(f) {
        Ok(()) => Outcome::Pass,
        Err(why) => Outcome::Fail(why),
    };
    CaseResult {
        name,
        outcome,
        elapsed: start.elapsed(),
    }
}

/// Runs every x86 case on `hv`, calling `progress` after each.
pub fn run_x86<H: X86Backend>(hv: &H, mut progress: impl FnMut(&CaseResult)) -> Vec<CaseResult> {
    x86::cases::<H>()
        .into_iter()
        .map(|case| {
            let run = case.run;
            let r = time(case.name.to_owned(), || {
                run(hv);
                Ok(())
            });
            progress(&r);
            r
        })
        .collect()
}

/// Runs every arm64 case on `hv`, calling `progress` after each.
pub fn run_arm64<H>(hv: &H, mut progress: impl FnMut(&CaseResult)) -> Vec<CaseResult>
where
    H: Hypervisor,
    <H::Vm as Vm>::Vcpu: VcpuArm64,
{
    super::arm64::cases::<H>()
        .into_iter()
        .map(|(name, case)| {
            let r = time(format!("arm64::{name}"), || case(hv));
            progress(&r);
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_reason_and_the_hook_is_restored() {
        let r = time("t".into(), || {
            assert_eq!(1 + 1, 3, "arithmetic is broken");
            Ok(())
        });
        match &r.outcome {
            Outcome::Fail(why) => {
                assert!(why.contains("arithmetic is broken"), "{why}");
                assert!(why.contains("selftest.rs"), "names the place: {why}");
            }
            Outcome::Pass => panic!("a failing case passed"),
        }
        assert_eq!(time("ok".into(), || Ok(())).outcome, Outcome::Pass);
        assert_eq!(
            time("err".into(), || Err("said no".into())).outcome,
            Outcome::Fail("said no".into())
        );
        let again = time("again".into(), || panic!("second"));
        assert!(matches!(again.outcome, Outcome::Fail(w) if w.contains("second")));
    }
}
