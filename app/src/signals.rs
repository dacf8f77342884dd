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
use std::sync::{Mutex, PoisonError};

use hv_core::machine::events::{HostEvent, VmInput};

/// Exit status after an interrupt or termination request (128 + SIGINT, as shells report
/// a Ctrl-C).
pub const INTERRUPTED_STATUS: i32 = 130;

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// Where requests go once the VM runs.
static TARGET: Mutex<Option<VmInput>> = Mutex::new(None);

/// Installs the handler. Call once, before the VM starts, so that a request that arrives
/// while the machine is still booting is not lost to the default action (which would
/// kill hv without flushing disks).
pub fn install() -> anyhow::Result<()> {
    ctrlc::set_handler(|| {
        if REQUESTED.swap(true, Ordering::SeqCst) {
            eprintln!("hv: second interrupt; exiting without cleanup");
            std::process::exit(INTERRUPTED_STATUS);
        }
        eprintln!("hv: interrupted; stopping the guest and flushing disks");
        if let Some(input) = TARGET
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            input.send(HostEvent::Quit);
        }
    })
    .map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))
}

/// Routes requests to the running VM as a Quit; one that already arrived is delivered
/// now.
pub fn forward_to(input: VmInput) {
    let mut target = TARGET.lock().unwrap_or_else(PoisonError::into_inner);
    if REQUESTED.load(Ordering::SeqCst) {
        input.send(HostEvent::Quit);
    }
    *target = Some(input);
}

/// Whether an interrupt or termination request ended (or is ending) the run.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
