//! Keystroke latency and interrupt delivery, through the real front-end API.
//!
//! The bench sends `HostEvent::Key` with `VmInput::send` (channel + kick), exactly as the
//! window does, to a guest whose IRQ1 handler reads port 0x60 as its first instruction.
//! The i8042 raises IRQ1 in the same step in which the vCPU loop takes the event, so the
//! JourneyRecorder gives two intervals per keystroke:
//!
//! * **keystroke latency**: `send` -> the guest's read of 0x60 (channel, kick, wake-up,
//!   injection, guest entry, the handler's first instruction);
//! * **interrupt delivery**: IRQ1 raised -> that read (`JourneyRecorder::latencies()`:
//!   injection and guest entry only).
//!
//! Each is measured for a guest halted in `hlt` and for one spinning in `jmp $` without
//! exits, which only the kick can interrupt.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hv_core::Hypervisor;
use hv_core::devices::keymap::Key;
use hv_core::loader::flat::FlatImage;
use hv_core::machine::events::HostEvent;
use hv_core::machine::launch::{PcConfig, launch};

use super::exits::{MEMORY_MIB, wait_started};
use super::guests::{LOAD_ADDR, key_guest};
use crate::backend::Backend;

/// How long a single keystroke may take before the bench gives up.
const KEY_LIMIT: Duration = Duration::from_secs(2);
/// Time for the guest to install its handler and program the PIC before the first key.
const GUEST_SETUP: Duration = Duration::from_millis(300);

/// Samples for one guest state, in µs.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct KeySamples {
    /// `VmInput::send` -> guest reads port 0x60.
    pub send_to_read_us: Vec<f64>,
    /// IRQ1 raised (event taken by the vCPU loop) -> guest reads port 0x60.
    pub irq_to_read_us: Vec<f64>,
    /// vCPU exits per keystroke, by kind (port I/O, MMIO, hlt, window, kick, other).
    pub exits_per_key: [f64; 6],
}

/// Sends `presses` key events (alternating down/up) to the keyboard guest and records
/// each one's journey.
pub fn measure(spin: bool, presses: usize) -> Result<KeySamples> {
    let hv = Backend::probe()?;
    let image = FlatImage::new(key_guest(spin), LOAD_ADDR).context("bench guest")?;
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
    std::thread::sleep(GUEST_SETUP);
    let mut samples = KeySamples::default();
    let before = handle.stats.snapshot();
    let result = (|| -> Result<()> {
        for i in 0..presses {
            let seen = handle.journey.latencies().len();
            let sent = handle.clock.now();
            if !handle.input.send(HostEvent::Key {
                key: Key::A,
                pressed: i % 2 == 0,
            }) {
                bail!("the VM is gone");
            }
            let deadline = Instant::now() + KEY_LIMIT;
            while handle.journey.latencies().len() == seen {
                if Instant::now() > deadline {
                    bail!("keystroke {i} never reached the guest");
                }
                std::thread::sleep(Duration::from_micros(300));
            }
            let journeys = handle.journey.journeys();
            let j = journeys.last().context("no journey recorded")?;
            let irq_to_read = j.latency().context("journey without a read")?;
            let read_at = j.started() + irq_to_read;
            samples
                .send_to_read_us
                .push(read_at.saturating_sub(sent).as_secs_f64() * 1e6);
            samples.irq_to_read_us.push(irq_to_read.as_secs_f64() * 1e6);
            // An irregular gap, so keystrokes do not phase-lock with anything periodic.
            std::thread::sleep(Duration::from_micros(1500 + (i as u64 * 7919) % 2500));
        }
        Ok(())
    })();
    let delta = handle.stats.snapshot().since(&before);
    for (i, n) in delta.exits.iter().enumerate() {
        samples.exits_per_key[i] = *n as f64 / presses as f64;
    }
    handle.input.send(HostEvent::Quit);
    let _ = handle.join();
    result.map(|()| samples)
}
