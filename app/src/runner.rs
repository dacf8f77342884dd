//! What `hv run` does the same with or without a window: watch for `--until-text` and
//! `--timeout`, then stop the VM, write `--dump-screen`/`--screenshot` and pick the exit
//! status.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;
use hv_core::GuestMemory;
use hv_core::devices::vga::VgaState;
use hv_core::machine::events::{HostEvent, RunEnd};
use hv_core::machine::handle::MachineHandle;

use crate::cli::{RunArgs, unescape};
use crate::screen;

/// Exit status for `--timeout` (as coreutils' timeout).
pub const TIMEOUT_STATUS: i32 = 124;

/// Why the front end stopped watching.
#[derive(Debug, Default)]
pub struct Outcome {
    /// How the VM ended, when it ended by itself.
    pub end: Option<RunEnd>,
    /// `--until-text` appeared.
    pub matched: bool,
    /// `--timeout` passed first.
    pub timed_out: bool,
}

/// The end conditions given on the command line, and `--type` waiting for its cue.
#[derive(Debug)]
pub struct Watch {
    needle: Option<String>,
    deadline: Option<Instant>,
    to_type: Option<String>,
    type_after: Option<String>,
}

impl Watch {
    /// Starts the `--timeout` clock now.
    pub fn new(args: &RunArgs) -> Self {
        Self {
            needle: args.until_text.as_deref().map(unescape),
            deadline: args
                .timeout
                .map(|t| Instant::now() + Duration::from_secs_f64(t)),
            to_type: args.r#type.as_deref().map(unescape),
            type_after: args.type_after.as_deref().map(unescape),
        }
    }

    /// Sends `--type` once `--type-after` (if given) is visible.
    fn type_when_cued(&mut self, handle: &MachineHandle) {
        if self.to_type.is_none() {
            return;
        }
        if self
            .type_after
            .as_deref()
            .is_none_or(|cue| text_visible(handle, cue))
        {
            if let Some(text) = self.to_type.take() {
                handle.input.send(HostEvent::Type(text));
            }
        }
    }

    /// Whether `--until-text` is on the screen or in the serial output.
    pub fn matched(&self, handle: &MachineHandle) -> bool {
        self.needle
            .as_deref()
            .is_some_and(|n| text_visible(handle, n))
    }

    /// Whether `--timeout` has passed.
    pub fn timed_out(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Types `--type` when its cue appears; returns the outcome if watching should stop
    /// now, while the VM still runs.
    pub fn check(&mut self, handle: &MachineHandle) -> Option<Outcome> {
        self.type_when_cued(handle);
        if self.matched(handle) {
            return Some(Outcome {
                matched: true,
                ..Outcome::default()
            });
        }
        self.timed_out().then(|| Outcome {
            timed_out: true,
            ..Outcome::default()
        })
    }

    /// The outcome for a VM that ended by itself.
    pub fn ended(&self, handle: &MachineHandle, end: RunEnd) -> Outcome {
        Outcome {
            matched: self.matched(handle),
            end: Some(end),
            timed_out: false,
        }
    }
}

fn text_visible(handle: &MachineHandle, needle: &str) -> bool {
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

/// Stops the VM if it still runs, writes the final screen and returns the exit status.
pub fn finish(handle: MachineHandle, args: &RunArgs, outcome: Outcome) -> Result<i32> {
    let vga = handle.vga.clone();
    let mem = handle.memory.clone();
    let clock = handle.clock.clone();
    let end = match outcome.end {
        Some(end) => {
            let _ = handle.join();
            end
        }
        None => {
            handle.input.send(HostEvent::Quit);
            handle.join()
        }
    };
    write_outputs(args, &vga, &mem, clock.now())?;
    if crate::signals::requested() {
        return Ok(crate::signals::INTERRUPTED_STATUS);
    }
    Ok(status_for(&end, outcome.matched, outcome.timed_out, args))
}

fn write_outputs(
    args: &RunArgs,
    vga: &Mutex<VgaState>,
    mem: &GuestMemory,
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
        RunEnd::Quit | RunEnd::PowerOff => 0,
    }
}
