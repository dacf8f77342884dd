//! The i8042 controller with its PS/2 keyboard and mouse, driven by interleaved guest port
//! accesses (0x60/0x64, any width) and host events (keys, mouse motion, time).
//!
//! Invariants: the device queues stay within their documented bounds whatever the guest
//! and host do; IRQ1/IRQ12 are high only when the output buffer holds a byte for that
//! port and the CTR enables the interrupt (and never both); reading the status port has
//! no side effects; and the controller never stalls with an empty output buffer while an
//! enabled device has bytes queued (a stall is a dead keyboard).
#![no_main]

use std::sync::Arc;

use arbitrary::Arbitrary;
use hv_core::bus::BusDevice;
use hv_core::clock::{Clock, FakeClock};
use hv_core::devices::SystemControl;
use hv_core::devices::i8042::{COMMAND_PORT, DATA_PORT, I8042, ctr};
use hv_core::devices::keymap::Key;
use hv_core::devices::ps2_keyboard::KEYBOARD_QUEUE_BYTES;
use hv_core::devices::ps2_mouse::{MOUSE_QUEUE_PACKETS, MouseInput};
use hv_core::irq::IrqRecorder;
use hv_fuzz::{Step, Width};
use libfuzzer_sys::fuzz_target;

/// Command replies a PS/2 device may hold on top of its data queue.
const REPLY_ROOM: usize = 8;
/// Status bits (the i8042 module keeps its own copy private).
const OBF: u8 = 0x01;
const AUXDATA: u8 = 0x20;

#[derive(Debug, Arbitrary)]
enum Op {
    ReadData(Width),
    ReadStatus(Width),
    WriteData(u8),
    WriteCommand(u8),
    /// A host key by index into `Key::ALL`.
    Key(u16, bool),
    ReleaseAll,
    Mouse(i32, i32, i8, u8),
    Advance(Step),
    Poll,
}

fn status_now(dev: &mut I8042) -> u8 {
    let mut b = [0u8];
    dev.read(COMMAND_PORT, &mut b);
    b[0]
}

fn check(dev: &mut I8042, irqs: &IrqRecorder) {
    assert!(dev.keyboard().pending_len() <= KEYBOARD_QUEUE_BYTES + REPLY_ROOM);
    assert!(dev.mouse().pending_len() <= 4 * MOUSE_QUEUE_PACKETS + REPLY_ROOM);
    let st = status_now(dev);
    assert_eq!(st, status_now(dev), "status reads have no side effects");
    let obf = st & OBF != 0;
    let aux = st & AUXDATA != 0;
    assert!(!aux || obf, "AUXDATA without OBF: {st:#04x}");
    let (kbd_irq, aux_irq) = (irqs.level(1), irqs.level(12));
    assert!(!(kbd_irq && aux_irq), "IRQ1 and IRQ12 both high");
    let c = dev.ctr();
    if kbd_irq {
        assert!(
            obf && !aux && c & ctr::KBDINT != 0,
            "IRQ1 high: st {st:#04x} ctr {c:#04x}"
        );
    }
    if aux_irq {
        assert!(
            obf && aux && c & ctr::AUXINT != 0,
            "IRQ12 high: st {st:#04x} ctr {c:#04x}"
        );
    }
    if !obf {
        assert!(
            c & ctr::KBDDIS != 0 || !dev.keyboard().has_output(),
            "stalled: keyboard has bytes, port enabled, output buffer empty (ctr {c:#04x})"
        );
        assert!(
            c & ctr::AUXDIS != 0 || !dev.mouse().has_output(),
            "stalled: mouse has bytes, port enabled, output buffer empty (ctr {c:#04x})"
        );
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let clock = Arc::new(FakeClock::new());
    let irqs = IrqRecorder::new();
    let system = Arc::new(SystemControl::new());
    let mut dev = I8042::new(irqs.line(1), irqs.line(12), system.clone(), clock.clone());
    for op in ops.into_iter().take(4096) {
        match op {
            Op::ReadData(w) => dev.read(DATA_PORT, &mut vec![0; w.len()]),
            Op::ReadStatus(w) => dev.read(COMMAND_PORT, &mut vec![0; w.len()]),
            Op::WriteData(b) => dev.write(DATA_PORT, &[b]),
            Op::WriteCommand(b) => dev.write(COMMAND_PORT, &[b]),
            Op::Key(i, pressed) => {
                let key = Key::ALL[usize::from(i) % Key::ALL.len()];
                dev.key_event(key, pressed);
            }
            Op::ReleaseAll => dev.release_all(),
            Op::Mouse(dx, dy, wheel, buttons) => dev.mouse_input(MouseInput {
                dx,
                dy,
                wheel: i32::from(wheel),
                buttons,
            }),
            Op::Advance(s) => clock.advance(s.duration()),
            Op::Poll => dev.poll(),
        }
        // Reset requests (0xFE, output port) are the machine's business; drain them.
        let _ = system.take();
        check(&mut dev, &irqs);
        if let Some(d) = dev.next_deadline() {
            // A deadline is a time on the same clock; polling at it must not panic and
            // must move the deadline forward (no busy loop in the vCPU thread).
            if d <= clock.now() {
                dev.poll();
                assert!(
                    dev.next_deadline().is_none_or(|n| n > clock.now()),
                    "deadline did not advance"
                );
                check(&mut dev, &irqs);
            }
        }
    }
});
