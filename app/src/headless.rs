//! `hv run`: boot, feed `--type`, watch for `--until-text`, enforce `--timeout`, and write
//! the final screen.

use std::fs::File;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hv_core::Hypervisor;
use hv_core::machine::events::{HostEvent, RunEnd, VmEvent};
use hv_core::machine::launch::{PcConfig, PcHandle, SerialSink, launch};

use crate::backend::Backend;
use crate::cli::{RunArgs, unescape};
use crate::image::prepare;
use crate::screen;

/// Exit status for `--timeout` (as coreutils' timeout).
pub const TIMEOUT_STATUS: i32 = 124;
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
    if !args.headless {
        bail!("the window is not built yet; add --headless");
    }
    if let Some(t) = args.timeout {
        if !(t > 0.0 && t.is_finite()) {
            bail!("--timeout must be a positive number of seconds");
        }
    }
    // The drives travel into the machine and are dropped (flushing `--writable` writes)
    // when the vCPU thread ends; on an error before that, when `boot` goes out of scope.
    let boot = prepare(args)?;
    let hv = Backend::probe()?;
    let handle = launch(
        &hv,
        PcConfig {
            memory_mib: args.memory,
            image: boot.image,
            serial_out: serial_sink(&args.serial)?,
            no_reboot: args.no_reboot,
            drives: boot.drives,
        },
    )?;
    log::info!("booted on {}", handle.backend);
    crate::signals::forward_to(handle.input.clone())?;
    if let Some(text) = &args.r#type {
        handle.input.send(HostEvent::Type(unescape(text)));
    }
    let (end, matched, timed_out) = watch(&handle, args);
    let status = finish(handle, args, end, matched, timed_out)?;
    Ok(if crate::signals::requested() {
        crate::signals::INTERRUPTED_STATUS
    } else {
        status
    })
}

fn text_visible(handle: &PcHandle, needle: &str) -> bool {
    if handle
        .serial_log
        .lock()
        .map(|l| l.text().contains(needle))
        .unwrap_or(false)
    {
        return true;
    }
    let vga = handle.vga.lock().map(|v| v.clone());
    match vga {
        Ok(vga) => screen::screen_text(&vga, &handle.memory).is_some_and(|t| t.contains(needle)),
        Err(_) => false,
    }
}

/// Waits for the end, a match, or the timeout.
fn watch(handle: &PcHandle, args: &RunArgs) -> (Option<RunEnd>, bool, bool) {
    let deadline = args
        .timeout
        .map(|t| Instant::now() + Duration::from_secs_f64(t));
    let needle = args.until_text.as_deref().map(unescape);
    loop {
        match handle.events.recv_timeout(POLL) {
            Ok(VmEvent::Ended(end)) => {
                let matched = needle.as_deref().is_some_and(|n| text_visible(handle, n));
                return (Some(end), matched, false);
            }
            Ok(VmEvent::Reset(why)) => log::info!("reset: {why}"),
            Ok(_) => {}
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return (None, false, false),
        }
        if let Some(n) = needle.as_deref() {
            if text_visible(handle, n) {
                return (None, true, false);
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return (None, false, true);
        }
    }
}

fn finish(
    handle: PcHandle,
    args: &RunArgs,
    end: Option<RunEnd>,
    matched: bool,
    timed_out: bool,
) -> Result<i32> {
    let end = match end {
        Some(e) => e,
        None => {
            handle.input.send(HostEvent::Quit);
            let vga = handle.vga.clone();
            let mem = handle.memory.clone();
            let clock = handle.clock.clone();
            let end = handle.join();
            write_outputs(args, &vga, &mem, clock.now())?;
            return Ok(status_for(&end, matched, timed_out, args));
        }
    };
    let vga = handle.vga.clone();
    let mem = handle.memory.clone();
    let clock = handle.clock.clone();
    let _ = handle.join();
    write_outputs(args, &vga, &mem, clock.now())?;
    Ok(status_for(&end, matched, timed_out, args))
}

fn write_outputs(
    args: &RunArgs,
    vga: &std::sync::Mutex<hv_core::devices::vga::VgaState>,
    mem: &hv_core::GuestMemory,
    now: Duration,
) -> Result<()> {
    let state = vga
        .lock()
        .map(|v| v.clone())
        .unwrap_or_else(|e| e.into_inner().clone());
    if let Some(p) = &args.dump_screen {
        screen::dump_screen(p, &state, mem)?;
    }
    if let Some(p) = &args.screenshot {
        screen::write_png(p, &screen::frame(&state, mem, now))?;
    }
    Ok(())
}

fn status_for(end: &RunEnd, matched: bool, timed_out: bool, args: &RunArgs) -> i32 {
    if matched {
        return 0;
    }
    if timed_out {
        eprintln!("hv: timed out after {} s", args.timeout.unwrap_or_default());
        return TIMEOUT_STATUS;
    }
    match end {
        RunEnd::Error(e) => {
            eprintln!("hv: error: {e}");
            1
        }
        RunEnd::HaltedWithInterruptsOff { .. } | RunEnd::Shutdown => {
            eprintln!("hv: {end}");
            if args.until_text.is_some() {
                eprintln!("hv: the text given to --until-text never appeared");
                1
            } else {
                0
            }
        }
        RunEnd::DebugExit(s) => *s,
        RunEnd::Quit => 0,
    }
}
