//! The VGA register file and renderer: arbitrary register accesses on 0x3B0-0x3DF (any
//! width, through the same bus device the board uses) and arbitrary video memory, then
//! `render` and `text_screen`.
//!
//! Invariants: the frame is exactly `width * height * 4` bytes for the resolution the
//! mode reports, never empty and never larger than 4096 x 4096 (the window allocates a
//! texture of that size); every pixel is opaque; the text snapshot has `rows x cols`
//! cells and answers `None` off screen; the state generation never goes backwards.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::Arbitrary;
use hv_core::bus::BusDevice;
use hv_core::devices::vga::{Frame, Vga, VgaMode, render, text_screen};
use hv_core::machine::layout::pc_memory;
use hv_core::memory::GuestMemory;
use hv_fuzz::Width;
use libfuzzer_sys::fuzz_target;

/// Largest picture side the front end must handle.
const MAX_SIDE: u32 = 4096;
/// VGA memory: 0xA0000-0xBFFFF.
const VRAM: u64 = 0xA0000;
const VRAM_LEN: u64 = 0x20000;

#[derive(Debug, Arbitrary)]
enum Op {
    /// Port offset from 0x3B0 (wrapped into the 48 ports, a few beyond to test edges).
    Write(u8, Width, u32),
    Read(u8, Width),
    /// A run of bytes at an offset into VGA memory.
    Vram(u16, u8, Vec<u8>),
    /// Render now, at this many milliseconds (blink phases).
    Render(u16),
}

fn memory() -> &'static GuestMemory {
    static MEM: OnceLock<GuestMemory> = OnceLock::new();
    MEM.get_or_init(|| pc_memory(2).expect("2 MiB guest"))
}

fn port(off: u8) -> u64 {
    0x3B0 + u64::from(off % 0x34)
}

fn check_render(vga: &Vga, mem: &GuestMemory, ms: u16, frame: &mut Frame) {
    let shared = vga.shared();
    let state = shared.lock().unwrap().clone();
    let info = render(&state, mem, Duration::from_millis(ms.into()), frame);
    let (w, h) = info.mode.resolution();
    assert_eq!(
        (frame.width, frame.height),
        (w, h),
        "frame size vs mode {:?}",
        info.mode
    );
    assert!(w > 0 && h > 0, "empty picture for {:?}", info.mode);
    assert!(
        w <= MAX_SIDE && h <= MAX_SIDE,
        "{w}x{h} for {:?}",
        info.mode
    );
    assert_eq!(frame.rgba.len(), w as usize * h as usize * 4);
    assert!(
        frame.rgba.chunks_exact(4).all(|p| p[3] == 0xFF),
        "transparent pixel"
    );
    match (text_screen(&state, mem), info.mode) {
        (Some(t), VgaMode::Text { cols, rows, .. }) => {
            assert_eq!((t.cols(), t.row_count()), (cols, rows));
            assert_eq!(t.rows().len(), usize::from(rows));
            assert!(t.code_at(rows, 0).is_none() && t.code_at(0, cols).is_none());
            if rows > 0 && cols > 0 {
                assert!(t.code_at(rows - 1, cols - 1).is_some());
            }
            for r in t.rows() {
                assert!(r.chars().count() <= usize::from(cols));
            }
        }
        (None, VgaMode::Text { .. }) => panic!("text mode without a text screen"),
        (Some(_), m) => panic!("text screen in {m:?}"),
        (None, _) => {}
    }
    if let Some((row, col)) = info.cursor {
        assert!(matches!(info.mode, VgaMode::Text { rows, cols, .. } if row < rows && col < cols));
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mem = memory();
    mem.write(VRAM, &vec![0u8; VRAM_LEN as usize]).unwrap();
    let mut vga = Vga::new(mem.clone());
    let mut frame = Frame::new();
    let mut generation = 0;
    let mut renders = 0;
    for op in ops.into_iter().take(2048) {
        match op {
            Op::Write(p, w, v) => vga.write(port(p), &v.to_le_bytes()[..w.len()]),
            Op::Read(p, w) => vga.read(port(p), &mut vec![0; w.len()]),
            Op::Vram(off, fill, bytes) => {
                let at = VRAM + u64::from(off) * 2;
                let len = (bytes.len().max(1) as u64).min(VRAM + VRAM_LEN - at) as usize;
                let data = if bytes.is_empty() {
                    vec![fill; 256.min(len)]
                } else {
                    bytes[..len].to_vec()
                };
                mem.write(at, &data).unwrap();
            }
            // Rendering costs ~1 ms; a few per input is enough to catch mid-sequence states.
            Op::Render(ms) if renders < 4 => {
                check_render(&vga, mem, ms, &mut frame);
                renders += 1;
            }
            Op::Render(_) => {}
        }
        let g = vga.shared().lock().unwrap().generation();
        assert!(g >= generation, "generation went backwards");
        generation = g;
    }
    if renders == 0 {
        check_render(&vga, mem, 0, &mut frame);
    }
});
