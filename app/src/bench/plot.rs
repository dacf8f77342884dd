//! The performance plot (`hv bench --plot PATH`): exit cost per path and keystroke
//! latency distributions, drawn with plotters into a buffer and written as PNG with the
//! `png` crate the app already uses (plotters' own encoder would pull in `image`).

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::screen::write_png;
use hv_core::devices::vga::Frame;

/// Plot size in pixels.
pub const SIZE: (u32, u32) = (1400, 560);

/// Where a sans-serif TrueType font usually is (plotters' ab_glyph backend has no
/// built-in font; one is loaded from the system at run time).
const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// What the plot shows.
#[derive(Debug, Clone, Default)]
pub struct PlotData {
    /// (exit kind, raw µs per exit, hv µs per exit).
    pub exits: Vec<(String, f64, f64)>,
    /// (label, latency samples in µs) for each keystroke scenario.
    pub latencies: Vec<(String, Vec<f64>)>,
    /// The keystroke target (2 exit round trips), µs.
    pub key_target_us: f64,
}

fn register_font() -> Result<()> {
    for p in FONT_PATHS {
        if let Ok(bytes) = std::fs::read(p) {
            // plotters keeps fonts for the life of the process; the bytes must be 'static.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return Ok(());
            }
        }
    }
    Err(anyhow!(
        "no TrueType font found for the plot labels (looked for DejaVuSans.ttf); install fonts-dejavu-core"
    ))
}

/// Empirical CDF points (value, fraction <= value) of `samples`.
pub fn cdf(samples: &[f64]) -> Vec<(f64, f64)> {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    v.iter()
        .enumerate()
        .map(|(i, &x)| (x, (i + 1) as f64 / n))
        .collect()
}

/// Draws the plot and writes it to `path` as PNG.
pub fn write(path: &Path, data: &PlotData) -> Result<()> {
    register_font()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let (w, h) = SIZE;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    draw(&mut rgb, data).map_err(|e| anyhow!("drawing the plot: {e}"))?;
    let frame = Frame {
        width: w,
        height: h,
        rgba: rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 0xFF])
            .collect(),
    };
    write_png(path, &frame).with_context(|| format!("writing the plot to {}", path.display()))
}

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn draw(rgb: &mut [u8], data: &PlotData) -> DrawResult {
    let root = BitMapBackend::with_buffer(rgb, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(SIZE.0 * 9 / 20);
    draw_exits(&left, data)?;
    draw_latencies(&right, data)?;
    root.present()?;
    Ok(())
}

fn draw_exits<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    data: &PlotData,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let n = data.exits.len().max(1) as f64;
    let ymax = data
        .exits
        .iter()
        .map(|e| e.1.max(e.2))
        .fold(1.0_f64, f64::max)
        * 1.25;
    let mut chart = ChartBuilder::on(area)
        .caption("Exit round trip (µs per exit, median)", ("sans-serif", 22))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..3.0 * n, 0.0..ymax)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("µs per exit")
        .label_style(("sans-serif", 15))
        .draw()?;
    let colours = [RGBColor(120, 120, 120), RGBColor(31, 119, 180)];
    for (series, (label, colour)) in ["raw KVM_RUN loop", "hv full path"]
        .into_iter()
        .zip(colours)
        .enumerate()
    {
        chart
            .draw_series(data.exits.iter().enumerate().map(|(i, e)| {
                let x0 = 3.0 * i as f64 + 0.3 + 1.2 * series as f64;
                let y = if series == 0 { e.1 } else { e.2 };
                Rectangle::new([(x0, 0.0), (x0 + 1.1, y)], colour.filled())
            }))?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
        chart.draw_series(data.exits.iter().enumerate().map(|(i, e)| {
            let x0 = 3.0 * i as f64 + 0.3 + 1.2 * series as f64;
            let y = if series == 0 { e.1 } else { e.2 };
            Text::new(
                format!("{y:.1}"),
                (x0 + 0.2, y + ymax * 0.05),
                ("sans-serif", 15),
            )
        }))?;
    }
    chart.draw_series(data.exits.iter().enumerate().map(|(i, e)| {
        let ratio = e.2 / e.1;
        Text::new(
            format!("{}  ({ratio:.2}x)", e.0),
            (3.0 * i as f64 + 0.3, ymax * 0.97),
            ("sans-serif", 15),
        )
    }))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()?;
    Ok(())
}

fn draw_latencies<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    data: &PlotData,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    // Up to the largest p99.5, so a single scheduling outlier does not flatten the
    // curves (the table reports p99 and the JSON every sample).
    let xmax = data
        .latencies
        .iter()
        .filter_map(|(_, s)| super::stats::percentile(s, 99.5))
        .fold(data.key_target_us, f64::max)
        * 1.3;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Keystroke: VmInput::send -> guest reads port 0x60 (CDF)",
            ("sans-serif", 22),
        )
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..xmax.max(1.0), 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("µs")
        .y_desc("fraction of keystrokes")
        .label_style(("sans-serif", 15))
        .draw()?;
    let palette = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
    ];
    for ((label, samples), colour) in data.latencies.iter().zip(palette.iter().cycle()) {
        let colour = *colour;
        chart
            .draw_series(LineSeries::new(
                cdf(samples).into_iter().filter(|&(x, _)| x <= xmax),
                colour.stroke_width(2),
            ))?
            .label(label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    let t = data.key_target_us;
    chart
        .draw_series(LineSeries::new(
            vec![(t, 0.0), (t, 1.0)],
            BLACK.stroke_width(1),
        ))?
        .label(format!("target: 2 exit round trips ({t:.0} µs)"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_is_sorted_and_ends_at_one() {
        let c = cdf(&[3.0, 1.0, 2.0, f64::NAN]);
        assert_eq!(c, vec![(1.0, 1.0 / 3.0), (2.0, 2.0 / 3.0), (3.0, 1.0)]);
        assert!(cdf(&[]).is_empty());
    }

    #[test]
    fn writes_a_png() {
        if register_font().is_err() {
            eprintln!("skipped: no TrueType font on this machine");
            return;
        }
        let data = PlotData {
            exits: vec![
                ("pio-out".into(), 9.0, 9.5),
                ("pio-in".into(), 9.2, 9.8),
                ("mmio-read".into(), 12.0, 13.0),
            ],
            latencies: vec![
                ("halted".into(), vec![20.0, 25.0, 30.0]),
                ("spinning".into(), vec![15.0, 18.0, 40.0]),
            ],
            key_target_us: 19.0,
        };
        let dir = std::env::temp_dir().join(format!("hv-plot-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join("perf.png");
        write(&p, &data).expect("plot written");
        let bytes = std::fs::read(&p).expect("read back");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(bytes.len() > 5_000, "a real picture, not an empty one");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
