//! What the vCPU loop needs from a board, whichever architecture it is.
//!
//! The PC and the arm64 board are different schematics (port map vs MMIO map, PIC vs
//! GIC, 16550 vs PL011) but the loop talks to both the same way: advance device time,
//! ask for the next deadline, route host keys and serial input, rebuild on reset. This
//! trait is that conversation and nothing more; interrupt delivery is the architecture's
//! business (see [`super::run_loop::Arch`]).

use std::time::Duration;

use crate::devices::i8042::I8042;
use crate::devices::keymap::Key;
use crate::devices::ps2_mouse::MouseInput;
use crate::hypervisor::IoHandler;
use crate::memory::GuestMemory;

use super::journey::JourneyRecorder;
use super::pc::SharedParts;

/// A board the generic vCPU loop can run. It is the vCPU's [`IoHandler`]: exits go
/// straight to its devices.
pub trait Board: IoHandler + Sized {
    /// The parts shared with the front end: clock, counters, device requests, memory.
    fn shared(&self) -> &SharedParts;

    /// Advances every time-driven device to now and feeds queued serial input.
    fn poll(&mut self);

    /// The earliest time a device needs the loop to look at it again.
    fn next_deadline(&self) -> Option<Duration>;

    /// The keyboard controller: both boards reach the same i8042 model (the PC at ports
    /// 0x60/0x64, arm64 through its ISA window), so the keystroke path is written once.
    fn i8042(&self) -> &I8042;

    /// The keyboard controller, mutably.
    fn i8042_mut(&mut self) -> &mut I8042;

    /// A host key went down or up.
    fn key_event(&mut self, key: Key, pressed: bool) {
        self.i8042_mut().key_event(key, pressed);
    }

    /// Host mouse input for the PS/2 mouse on the aux port.
    fn mouse_event(&mut self, input: MouseInput) {
        self.i8042_mut().mouse_input(input);
    }

    /// The host lost focus: release every key the guest thinks is held.
    fn release_all(&mut self) {
        self.i8042_mut().release_all();
    }

    /// Whether the keyboard has sent everything it was given (the typist waits for this
    /// before the next key, so typed text is never lost to a full buffer).
    fn keyboard_idle(&self) -> bool {
        self.i8042().is_idle()
    }

    /// Queues host serial input for the console UART.
    fn queue_serial_input(&mut self, data: &[u8]);

    /// Routes keystroke and mouse-packet events into `journey` (for the overlay).
    fn attach_journey(&mut self, journey: &JourneyRecorder) {
        let j = journey.clone();
        self.i8042_mut()
            .set_observer(Box::new(move |ev| j.kbd_event(&ev)));
    }

    /// Rebuilds every device in power-on state, keeping what survives a reset.
    fn reset(self) -> Self;
}

/// Zeroes guest memory (every region), so a reset starts from power-on memory.
pub fn clear_memory(mem: &GuestMemory) -> Result<(), String> {
    let zeros = vec![0u8; 1 << 16];
    for r in mem.regions() {
        let mut off = 0;
        while off < r.size {
            let n = (r.size - off).min(zeros.len() as u64) as usize;
            mem.write(r.gpa + off, &zeros[..n])
                .map_err(|e| e.to_string())?;
            off += n as u64;
        }
    }
    Ok(())
}
