//! Rendering cost on one core: VGA state + video memory -> RGBA, the integer scaling a
//! window applies, and the check that lets a window skip an unchanged screen.
//!
//! Baseline: copying one frame of the same size (`memcpy`), the least any renderer that
//! produces a fresh RGBA frame must do.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;
use hv_core::GuestMemory;
use hv_core::devices::vga::{
    CHAR_BLINK_HALF_PERIOD, COLOUR_TEXT_BASE, CURSOR_BLINK_HALF_PERIOD, Frame, GRAPHICS_BASE,
    VgaState, render,
};
use hv_core::machine::layout::pc_memory;

use super::stats::median;

/// Frames per timed batch.
const BATCH: u32 = 20;
/// Bytes of an 80x25 text page.
const TEXT_PAGE: usize = 80 * 25 * 2;
/// Bytes of a mode 13h screen.
const MODE13_PAGE: usize = 320 * 200;

/// Milliseconds per frame for each case (medians over batches).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RenderCosts {
    /// 80x25 text -> 720x400 RGBA.
    pub text_1x: f64,
    /// ... then scaled 2x (1440x800).
    pub text_2x: f64,
    /// ... then scaled 3x (2160x1200).
    pub text_3x: f64,
    /// Mode 13h -> 320x200 RGBA.
    pub mode13: f64,
    /// Mode 13h at 2x (640x400).
    pub mode13_2x: f64,
    /// The unchanged-screen check (text), when it says "skip".
    pub skip_check: f64,
    /// Copying a 720x400 RGBA frame.
    pub memcpy_720x400: f64,
}

/// Scales `src` by an integer `factor` with nearest-neighbour sampling into `dst`
/// (resized as needed): each pixel becomes a `factor` x `factor` block, so text stays
/// crisp, and each output row is built once and copied `factor` times.
pub fn scale_nearest(src: &Frame, factor: u32, dst: &mut Vec<u8>) {
    let f = factor.max(1) as usize;
    let (w, h) = (src.width as usize, src.height as usize);
    let row_bytes = w * f * 4;
    dst.resize(row_bytes * h * f, 0);
    for (y, src_row) in src.rgba.chunks_exact(w * 4).enumerate().take(h) {
        let first = y * f * row_bytes;
        let out = &mut dst[first..first + row_bytes];
        for (px, block) in src_row.chunks_exact(4).zip(out.chunks_exact_mut(4 * f)) {
            for d in block.chunks_exact_mut(4) {
                d.copy_from_slice(px);
            }
        }
        for k in 1..f {
            dst.copy_within(first..first + row_bytes, first + k * row_bytes);
        }
    }
}

/// What a window remembers to decide that the screen did not change: the register
/// generation, the visible video memory, and the blink phases.
#[derive(Debug, Default)]
pub struct SkipCheck {
    generation: Option<u64>,
    vram: Vec<u8>,
    blink: (u128, u128),
}

impl SkipCheck {
    /// True when the frame must be redrawn; remembers what it saw. Video memory is
    /// compared because guest writes to it never exit (nothing else notices them).
    pub fn changed(
        &mut self,
        vga: &Mutex<VgaState>,
        mem: &GuestMemory,
        window: (u64, usize),
        time: Duration,
    ) -> bool {
        let generation = vga.lock().map(|v| v.generation()).unwrap_or(u64::MAX);
        let blink = (
            time.as_nanos() / CURSOR_BLINK_HALF_PERIOD.as_nanos(),
            time.as_nanos() / CHAR_BLINK_HALF_PERIOD.as_nanos(),
        );
        let mut changed = self.generation != Some(generation) || self.blink != blink;
        self.vram.resize(window.1, 0);
        let mut now = [0u8; 4096];
        let mut off = 0;
        while off < window.1 {
            let n = (window.1 - off).min(now.len());
            if mem.read(window.0 + off as u64, &mut now[..n]).is_err() {
                return true;
            }
            if self.vram[off..off + n] != now[..n] {
                self.vram[off..off + n].copy_from_slice(&now[..n]);
                changed = true;
            }
            off += n;
        }
        self.generation = Some(generation);
        self.blink = blink;
        changed
    }
}

/// Median ms per call of `f` over `batches` batches of [`BATCH`] calls.
fn time_ms(batches: usize, mut f: impl FnMut(u32)) -> f64 {
    let mut per = Vec::with_capacity(batches);
    let mut frame = 0u32;
    for _ in 0..batches {
        let t = Instant::now();
        for _ in 0..BATCH {
            f(frame);
            frame = frame.wrapping_add(1);
        }
        per.push(t.elapsed().as_secs_f64() * 1e3 / f64::from(BATCH));
    }
    median(&per).unwrap_or(f64::NAN)
}

/// A text screen with every cell different (characters 0x21-0x7E, 16 attributes, no
/// blinking), and a mode 13h screen with every colour.
fn test_screens(mem: &GuestMemory) -> Result<()> {
    let text: Vec<u8> = (0..TEXT_PAGE / 2)
        .flat_map(|i| [0x21 + (i % 94) as u8, (i % 16) as u8 | 0x10])
        .collect();
    mem.write(COLOUR_TEXT_BASE, &text)?;
    let pixels: Vec<u8> = (0..MODE13_PAGE).map(|i| (i % 256) as u8).collect();
    mem.write(GRAPHICS_BASE, &pixels)?;
    Ok(())
}

/// Measures every case with `batches` batches each.
pub fn measure(batches: usize) -> Result<RenderCosts> {
    let mem = pc_memory(2)?;
    test_screens(&mem)?;
    let text = VgaState::default();
    let mut mode13 = VgaState::default();
    mode13.set_mode_13h();
    let mut frame = Frame::new();
    let mut scaled = Vec::new();
    // Frame time advances 16.7 ms per frame, as at 60 Hz, so blinking costs what it costs.
    let t = |n: u32| Duration::from_micros(16_667) * n;

    let text_1x = time_ms(batches, |n| {
        render(&text, &mem, t(n), &mut frame);
    });
    let mut scaled_case = |state: &VgaState, factor: u32| {
        time_ms(batches, |n| {
            render(state, &mem, t(n), &mut frame);
            scale_nearest(&frame, factor, &mut scaled);
        })
    };
    let text_2x = scaled_case(&text, 2);
    let text_3x = scaled_case(&text, 3);
    let mode13_2x = scaled_case(&mode13, 2);
    let mode13_t = time_ms(batches, |n| {
        render(&mode13, &mem, t(n), &mut frame);
    });

    let shared = Mutex::new(text.clone());
    let mut check = SkipCheck::default();
    let window = (COLOUR_TEXT_BASE, TEXT_PAGE);
    check.changed(&shared, &mem, window, Duration::ZERO);
    let mut skipped = true;
    let skip_check = time_ms(batches, |_| {
        // Same instant: nothing changed, so every call must say "skip".
        skipped &= !check.changed(&shared, &mem, window, Duration::ZERO);
    });
    if !skipped {
        anyhow::bail!("the unchanged-screen check redrew an unchanged screen");
    }

    let src = vec![0x5Au8; 720 * 400 * 4];
    let mut dst = vec![0u8; src.len()];
    let memcpy_720x400 = time_ms(batches, |_| {
        // black_box on both ends: the copy must really happen every time.
        std::hint::black_box(&mut dst).copy_from_slice(std::hint::black_box(&src));
    });

    Ok(RenderCosts {
        text_1x,
        text_2x,
        text_3x,
        mode13: mode13_t,
        mode13_2x,
        skip_check,
        memcpy_720x400,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_neighbour_blocks() {
        let src = Frame {
            width: 2,
            height: 1,
            rgba: vec![1, 2, 3, 4, 5, 6, 7, 8],
        };
        let mut dst = Vec::new();
        scale_nearest(&src, 2, &mut dst);
        let row = [1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 5, 6, 7, 8];
        assert_eq!(dst.len(), 32);
        assert_eq!(&dst[..16], &row);
        assert_eq!(&dst[16..], &row);
    }

    #[test]
    fn skip_check_sees_register_memory_and_blink_changes() {
        let mem = pc_memory(2).expect("memory");
        let vga = Mutex::new(VgaState::default());
        let w = (COLOUR_TEXT_BASE, TEXT_PAGE);
        let mut c = SkipCheck::default();
        assert!(c.changed(&vga, &mem, w, Duration::ZERO));
        assert!(!c.changed(&vga, &mem, w, Duration::ZERO));
        mem.write(COLOUR_TEXT_BASE + 10, b"x").expect("write");
        assert!(c.changed(&vga, &mem, w, Duration::ZERO));
        vga.lock().expect("lock").set_cursor_location(5);
        assert!(c.changed(&vga, &mem, w, Duration::ZERO));
        assert!(c.changed(&vga, &mem, w, CURSOR_BLINK_HALF_PERIOD));
        assert!(!c.changed(&vga, &mem, w, CURSOR_BLINK_HALF_PERIOD));
    }
}
