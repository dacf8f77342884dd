//! `hv run`: boot, feed `--type`, watch for `--until-text`, enforce `--timeout`, and write
//! the final screen.

use std::fs::File;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hv_core::machine::events::VmEvent;
use hv_core::machine::handle::MachineHandle;
use hv_core::machine::launch::SerialSink;

use crate::cli::RunArgs;
use crate::runner::{self, Outcome, Watch};

const POLL: Duration = Duration::from_millis(10);

fn serial_sink(spec: &str) -> Result<Option<SerialSink>> {
    Ok(match spec {
        "none" => None,
        "stdio" | "stdout" | "-" => Some(SerialSink(Box::new(std::io::stdout()))),
        path => Some(SerialSink(Box::new(File::create(path).with_context(
            || format!("cannot create serial output file {path}"),
        )?))),
    })
}

/// Runs the machine headless and returns the process exit status.
pub fn run(args: &RunArgs) -> Result<i32> {
    let handle = start(args)?;
    let outcome = watch(&handle, args);
    runner::finish(handle, args, outcome)
}

/// Boots the machine as the options say; shared with the window. (`--type` is sent by the
/// [`Watch`], which knows when `--type-after` has appeared.)
pub fn start(args: &RunArgs) -> Result<MachineHandle> {
    if let Some(t) = args.timeout {
        if !(t > 0.0 && t.is_finite()) {
            bail!("--timeout must be a positive number of seconds");
        }
    }
    crate::signals::install()?;
    let handle = crate::backend::boot(args, serial_sink(&args.serial)?)?;
    log::info!("booted on {}", handle.backend);
    crate::signals::forward_to(handle.input.clone());
    Ok(handle)
}

/// Waits for the end, a match, or the timeout.
fn watch(handle: &MachineHandle, args: &RunArgs) -> Outcome {
    let mut watch = Watch::new(args);
    loop {
        match handle.events.recv_timeout(POLL) {
            Ok(VmEvent::Ended(end)) => return watch.ended(handle, end),
            Ok(VmEvent::Reset(why)) => log::info!("reset: {why}"),
            Ok(_) => {}
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Outcome::default(),
        }
        if let Some(outcome) = watch.check(handle) {
            return outcome;
        }
    }
}
