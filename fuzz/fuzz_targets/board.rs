//! The whole PC board as the vCPU loop drives it: arbitrary port accesses at any of the
//! 65536 ports with any width, MMIO at any address with any size, host keys and serial
//! input, time, interrupt acknowledges, and resets when a device asks for one.
//!
//! Invariants: nothing panics (a panic on the vCPU thread is a guest-triggered VMM
//! crash); every access is counted once in the exit statistics; MMIO nobody claims
//! reads as all-ones; the debug-exit port turns `v` into status `(v << 1) | 1`; the BIOS
//! trap port records the vector written; the PIC's INT output and `acknowledge` agree;
//! the serial log stays bounded; the VGA state still renders to a frame of the size its
//! mode reports.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arbitrary::Arbitrary;
use hv_core::IoHandler;
use hv_core::clock::FakeClock;
use hv_core::devices::SystemRequest;
use hv_core::devices::keymap::Key;
use hv_core::devices::uart::SERIAL_LOG_CAPACITY;
use hv_core::devices::vga::{Frame, render};
use hv_core::firmware::TRAP_PORT;
use hv_core::machine::layout::pc_memory;
use hv_core::machine::pc::PcBoard;
use hv_core::memory::GuestMemory;
use hv_fuzz::{Step, Width, shared_parts};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Op {
    PioRead(u16, Width),
    PioWrite(u16, Width, u32),
    /// A legacy-device port (0x00-0x3FF, where all the devices are) for denser coverage.
    IsaWrite(u16, u8),
    MmioRead(u64, u8),
    MmioWrite(u64, u8, u64),
    Key(u16, bool),
    Serial(Vec<u8>),
    Advance(Step),
    Poll,
    Inta,
    Render,
}

fn memory() -> &'static GuestMemory {
    static MEM: OnceLock<GuestMemory> = OnceLock::new();
    MEM.get_or_init(|| pc_memory(2).expect("2 MiB guest"))
}

fn check_render(board: &PcBoard, frame: &mut Frame) {
    let state = board.shared.vga.lock().unwrap().clone();
    let info = render(&state, &board.shared.memory, Duration::ZERO, frame);
    let (w, h) = info.mode.resolution();
    assert_eq!(frame.rgba.len(), w as usize * h as usize * 4);
}

fuzz_target!(|ops: Vec<Op>| {
    let mem = memory();
    // Only the VGA window is written by devices (the plane-2 font window).
    mem.write(0xA0000, &vec![0u8; 0x20000]).unwrap();
    let clock = Arc::new(FakeClock::new());
    let mut board = PcBoard::new(shared_parts(mem.clone(), clock.clone()), None);
    let mut accesses = 0u64;
    let mut frame = Frame::new();
    let mut renders = 0;
    for op in ops.into_iter().take(2048) {
        match op {
            Op::PioRead(port, w) => {
                accesses += 1;
                board.pio_read(port, &mut vec![0; w.len()]);
            }
            Op::PioWrite(port, w, v) => {
                accesses += 1;
                let data = &v.to_le_bytes()[..w.len()];
                board.pio_write(port, data);
                if port == TRAP_PORT {
                    assert_eq!(board.take_bios_trap(), Some(data[0]));
                } else if port == 0xF4 {
                    assert_eq!(
                        board.shared.system.take(),
                        Some(SystemRequest::Exit((i32::from(data[0]) << 1) | 1))
                    );
                }
            }
            Op::IsaWrite(port, v) => {
                accesses += 1;
                board.pio_write(port % 0x400, &[v]);
                let _ = board.take_bios_trap();
            }
            Op::MmioRead(gpa, size) => {
                accesses += 1;
                let mut data = vec![0; usize::from(size % 8) + 1];
                board.mmio_read(gpa, &mut data);
                assert!(
                    data.iter().all(|&b| b == 0xFF),
                    "unclaimed MMIO read {data:?}"
                );
            }
            Op::MmioWrite(gpa, size, v) => {
                accesses += 1;
                board.mmio_write(gpa, &v.to_le_bytes()[..usize::from(size % 8) + 1]);
            }
            Op::Key(i, pressed) => board
                .i8042
                .key_event(Key::ALL[usize::from(i) % Key::ALL.len()], pressed),
            Op::Serial(bytes) => board.queue_serial_input(&bytes),
            Op::Advance(s) => clock.advance(s.duration()),
            Op::Poll => board.poll(),
            Op::Inta => {
                let pending = board.pic.has_interrupt();
                assert_eq!(board.pic.acknowledge().is_some(), pending);
            }
            Op::Render if renders < 2 => {
                check_render(&board, &mut frame);
                renders += 1;
            }
            Op::Render => {}
        }
        match board.shared.system.take() {
            Some(SystemRequest::Reset(_)) => board = board.reset(),
            Some(SystemRequest::Exit(status)) => assert_eq!(status & 1, 1),
            None => {}
        }
        assert_eq!(
            board.shared.stats.snapshot().total(),
            accesses,
            "exit accounting"
        );
        let log = board.shared.serial_log.lock().unwrap();
        assert!(log.text().chars().count() <= SERIAL_LOG_CAPACITY);
    }
    check_render(&board, &mut frame);
});
