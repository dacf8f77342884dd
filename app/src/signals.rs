//! Ctrl-C and termination requests (SIGINT, SIGTERM, SIGHUP; Ctrl-C/Ctrl-Break and
//! console close on Windows) end the run through the normal path.
//!
//! Without this the default action kills the process at once: a `--writable` disk would
//! lose writes still in the page cache that nobody synced, and `--screenshot` and
//! `--dump-screen` would not be written. Instead the handler (running on ctrlc's own
//! thread) sends [`HostEvent::Quit`] and kicks the vCPU; the vCPU loop returns, the board
//! and its disks are dropped and flushed on the vCPU thread, and `hv` exits with
//! [`INTERRUPTED_STATUS`]. A second request while the first is being served exits at
//! once, for a guest or host that is truly stuck.

use std::sync::atomic::{AtomicBool, Ordering};

use hv_core::machine::events::{HostEvent, VmInput};

/// Exit status after an interrupt or termination request (128 + SIGINT, as shells report
/// a Ctrl-C).
pub const INTERRUPTED_STATUS: i32 = 130;

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Routes interrupt and termination requests to `input` as a Quit. Call once per process.
pub fn forward_to(input: VmInput) -> anyhow::Result<()> {
    ctrlc::set_handler(move || {
        if REQUESTED.swap(true, Ordering::SeqCst) {
            eprintln!("hv: second interrupt; exiting without cleanup");
            std::process::exit(INTERRUPTED_STATUS);
        }
        eprintln!("hv: interrupted; stopping the guest and flushing disks");
        input.send(HostEvent::Quit);
    })
    .map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))
}

/// Whether an interrupt or termination request ended (or is ending) the run.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
