//! Interrupts raised vs delivered: a guest that polls the BIOS (int 16h AH=01h in a loop
//! with interrupts on) runs for a few seconds; the rows compare the interrupt requests
//! the devices raised (`ExitStats` raised: the PIT's due ticks, other lines' edges) with
//! the interrupts injected, and the BIOS tick count's rate with the PIT's 18.2 Hz. Before
//! BIOS calls let pending interrupts in, this guest got a fraction of its ticks: the
//! others were coalesced (raised, never delivered).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hv_core::Hypervisor;
use hv_core::loader::flat::FlatImage;
use hv_core::machine::events::HostEvent;
use hv_core::machine::launch::{PcConfig, launch};

use super::exits::{MEMORY_MIB, wait_started};
use super::guests::{LOAD_ADDR, bios_poll_guest};
use crate::backend::Backend;

/// The BIOS tick count in the BDA.
const BDA_TICKS: u64 = 0x46C;
/// Time for the guest to start polling before the window opens.
const SETTLE: Duration = Duration::from_millis(500);

/// What one run saw, per second of host time.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct IrqRates {
    /// Length of the measured window.
    pub seconds: f64,
    /// Interrupt requests raised by devices.
    pub raised: f64,
    /// Interrupts injected.
    pub delivered: f64,
    /// The BIOS tick count's advance.
    pub bios_ticks: f64,
}

impl IrqRates {
    /// Raised and not delivered, per second.
    pub fn coalesced(&self) -> f64 {
        self.raised - self.delivered
    }
}

/// Runs the polling guest for `seconds` (after a short settle) and reads the counters
/// and the guest's tick count at both ends of the window.
pub fn measure(seconds: f64) -> Result<IrqRates> {
    let hv = Backend::probe()?;
    let image = FlatImage::new(bios_poll_guest(), LOAD_ADDR).context("bench guest")?;
    let handle = launch(
        &hv,
        PcConfig {
            memory_mib: MEMORY_MIB,
            image: Box::new(image),
            serial_out: None,
            no_reboot: true,
            drives: Default::default(),
        },
    )?;
    wait_started(&handle)?;
    std::thread::sleep(SETTLE);
    let ticks = || {
        handle
            .memory
            .read_u32(BDA_TICKS)
            .context("reading the tick count")
    };
    let (t0, s0, k0) = (Instant::now(), handle.stats.snapshot(), ticks()?);
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let (t1, s1, k1) = (Instant::now(), handle.stats.snapshot(), ticks()?);
    handle.input.send(HostEvent::Quit);
    let _ = handle.join();
    let secs = (t1 - t0).as_secs_f64();
    let delta = s1.since(&s0);
    let raised = delta
        .raised
        .context("the PC board did not count raised interrupts")?;
    Ok(IrqRates {
        seconds: secs,
        raised: raised as f64 / secs,
        delivered: delta.injected as f64 / secs,
        bios_ticks: f64::from(k1.wrapping_sub(k0)) / secs,
    })
}
