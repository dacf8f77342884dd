//! The final screen: as text (`--dump-screen`) or as a PNG (`--screenshot`).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use hv_core::devices::vga::{Frame, VgaState, render, text_screen};
use hv_core::memory::GuestMemory;

/// The VGA text screen as UTF-8 lines, or None in graphics modes.
pub fn screen_text(vga: &VgaState, mem: &GuestMemory) -> Option<String> {
    text_screen(vga, mem).map(|t| t.to_string())
}

/// Writes the text screen to `path` (an explanatory line in graphics modes).
pub fn dump_screen(path: &Path, vga: &VgaState, mem: &GuestMemory) -> Result<()> {
    let text =
        screen_text(vga, mem).unwrap_or_else(|| format!("(graphics mode: {:?})\n", vga.mode()));
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Renders the current frame.
pub fn frame(vga: &VgaState, mem: &GuestMemory, time: Duration) -> Frame {
    let mut f = Frame::default();
    render(vga, mem, time, &mut f);
    f
}

/// Writes `frame` as an RGBA PNG.
pub fn write_png(path: &Path, frame: &Frame) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), frame.width, frame.height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc
        .write_header()
        .with_context(|| format!("cannot write {}", path.display()))?;
    w.write_image_data(&frame.rgba)
        .with_context(|| format!("cannot write {}", path.display()))?;
    w.finish()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
