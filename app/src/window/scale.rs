//! Where the guest picture goes in the window: integer scaling with aspect correction,
//! letterboxing, and the nearest-neighbour blit.
//!
//! Every VGA mode was shown on a 4:3 monitor, whatever its pixel grid: 720x400 text and
//! 320x200 mode 13h both filled the same glass. So each axis gets its own integer factor,
//! chosen so the picture is as large as the window allows and its shape as close to 4:3
//! as whole factors can get (320x200 becomes 640x400, 960x800, 1280x1000, then exactly
//! 1600x1200). Whole factors keep every guest pixel the same size: crisp, no shimmer.
//! Only a window smaller than the picture itself gets a fractional (nearest-neighbour)
//! shrink, so the whole screen stays visible. All sizes here are physical pixels.

/// The shape a VGA picture had on its monitor.
const DISPLAY_ASPECT: f64 = 4.0 / 3.0;
/// Largest per-axis factor considered (beyond this the picture is larger than any screen).
const MAX_FACTOR: u32 = 32;

/// A width and height in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
}

impl Size {
    /// A size.
    pub const fn new(width: u32, height: u32) -> Self {
        Self { width, height }
    }

    fn is_empty(self) -> bool {
        self.width == 0 || self.height == 0
    }

    fn fits_in(self, outer: Size) -> bool {
        self.width <= outer.width && self.height <= outer.height
    }
}

/// Where the picture lands in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Left edge of the picture.
    pub x: u32,
    /// Top edge of the picture.
    pub y: u32,
    /// Picture size on screen.
    pub size: Size,
    /// The per-axis integer factors, or `None` for a fractional shrink.
    pub factors: Option<(u32, u32)>,
}

/// How much taller than wide a guest pixel must be for `frame` to look 4:3.
pub fn pixel_aspect(frame: Size) -> f64 {
    if frame.is_empty() {
        return 1.0;
    }
    f64::from(frame.width) / (DISPLAY_ASPECT * f64::from(frame.height))
}

/// The vertical factors worth trying for horizontal factor `sx`, best shape first.
fn vertical_candidates(sx: u32, par: f64) -> [u32; 2] {
    let ideal = f64::from(sx) * par;
    let below = (ideal.floor() as u32).max(1);
    let above = (ideal.ceil() as u32).max(1);
    if (ideal - f64::from(below)).abs() <= (f64::from(above) - ideal).abs() {
        [below, above]
    } else {
        [above, below]
    }
}

/// The picture size for factors (sx, sy).
fn scaled(frame: Size, sx: u32, sy: u32) -> Size {
    Size::new(
        frame.width.saturating_mul(sx),
        frame.height.saturating_mul(sy),
    )
}

/// The largest integer factors whose picture fits `area`: the largest horizontal factor,
/// with the vertical factor nearest the 4:3 shape that still fits.
pub fn integer_factors(frame: Size, area: Size) -> Option<(u32, u32)> {
    if frame.is_empty() {
        return None;
    }
    let par = pixel_aspect(frame);
    let max_sx = (area.width / frame.width).min(MAX_FACTOR);
    (1..=max_sx).rev().find_map(|sx| {
        vertical_candidates(sx, par)
            .into_iter()
            .find(|&sy| scaled(frame, sx, sy).fits_in(area))
            .map(|sy| (sx, sy))
    })
}

/// Places `frame` in a `window`: integer factors, centred (letterboxed); or, in a window
/// smaller than the picture, the largest 4:3-shaped fractional shrink.
pub fn place(frame: Size, window: Size) -> Placement {
    let (size, factors) = match integer_factors(frame, window) {
        Some((sx, sy)) => (scaled(frame, sx, sy), Some((sx, sy))),
        None => (shrink_to_fit(frame, window), None),
    };
    Placement {
        x: (window.width - size.width.min(window.width)) / 2,
        y: (window.height - size.height.min(window.height)) / 2,
        size,
        factors,
    }
}

/// The largest picture with `frame`'s 4:3-corrected shape inside `window`.
fn shrink_to_fit(frame: Size, window: Size) -> Size {
    if frame.is_empty() || window.is_empty() {
        return Size::new(0, 0);
    }
    let shape = f64::from(frame.width) / (f64::from(frame.height) * pixel_aspect(frame));
    let by_width = Size::new(
        window.width,
        (f64::from(window.width) / shape).round() as u32,
    );
    let size = if by_width.height <= window.height {
        by_width
    } else {
        Size::new(
            (f64::from(window.height) * shape).round() as u32,
            window.height,
        )
    };
    Size::new(
        size.width.clamp(1, window.width),
        size.height.clamp(1, window.height),
    )
}

/// The window's first inner size (physical pixels): `scale` guest pixels per logical
/// pixel horizontally, scaled by the HiDPI factor and rounded to a whole factor so the
/// picture starts crisp, with the vertical factor nearest 4:3.
pub fn window_size_for_scale(frame: Size, scale: u32, hidpi: f64) -> Size {
    let hidpi = if hidpi.is_finite() && hidpi > 0.0 {
        hidpi
    } else {
        1.0
    };
    let sx = ((f64::from(scale.max(1)) * hidpi).round() as u32).clamp(1, MAX_FACTOR);
    let [sy, _] = vertical_candidates(sx, pixel_aspect(frame));
    scaled(frame, sx, sy)
}

/// The window's first inner size when the user gave no `--scale`: the largest picture
/// (up to 2 guest pixels per logical pixel) that fits in `screen`, the usable part of
/// the monitor in physical pixels.
pub fn default_window_size(frame: Size, screen: Size, hidpi: f64) -> Size {
    let preferred = window_size_for_scale(frame, 2, hidpi);
    let area = Size::new(
        preferred.width.min(screen.width),
        preferred.height.min(screen.height),
    );
    match integer_factors(frame, area) {
        Some((sx, sy)) => scaled(frame, sx, sy),
        None => frame,
    }
}

/// Copies `src` (RGBA, `src_size`) into `dst` (RGBA, `dst_size`) at `placement`,
/// nearest-neighbour. With integer factors every source pixel becomes an exact
/// sx-by-sy block. Rows repeated from the previous destination row are copied whole.
pub fn blit(src: &[u8], src_size: Size, dst: &mut [u8], dst_size: Size, placement: &Placement) {
    let pic = placement.size;
    if src_size.is_empty() || pic.is_empty() || dst_size.is_empty() {
        return;
    }
    let src_stride = src_size.width as usize * 4;
    let dst_stride = dst_size.width as usize * 4;
    if src.len() < src_stride * src_size.height as usize
        || dst.len() < dst_stride * dst_size.height as usize
    {
        log::debug!("blit: buffer smaller than its size; skipped");
        return;
    }
    let x0 = placement.x.min(dst_size.width) as usize;
    let visible_w = (pic.width as usize).min(dst_size.width as usize - x0);
    // Source column for every destination column: computed once per blit.
    let columns: Vec<usize> = (0..visible_w)
        .map(|dx| (dx * src_size.width as usize / pic.width as usize) * 4)
        .collect();
    let mut previous: Option<(usize, usize)> = None; // (source row, destination offset)
    for dy in 0..pic.height as usize {
        let y = placement.y as usize + dy;
        if y >= dst_size.height as usize {
            break;
        }
        let sy = dy * src_size.height as usize / pic.height as usize;
        let dst_start = y * dst_stride + x0 * 4;
        let row_bytes = visible_w * 4;
        match previous {
            Some((prev_sy, prev_start)) if prev_sy == sy => {
                dst.copy_within(prev_start..prev_start + row_bytes, dst_start);
            }
            _ => {
                let src_row = &src[sy * src_stride..(sy + 1) * src_stride];
                let dst_row = &mut dst[dst_start..dst_start + row_bytes];
                for (out, &sx) in dst_row.chunks_exact_mut(4).zip(&columns) {
                    out.copy_from_slice(&src_row[sx..sx + 4]);
                }
            }
        }
        previous = Some((sy, dst_start));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: Size = Size::new(720, 400);
    const MODE13: Size = Size::new(320, 200);
    const VGA480: Size = Size::new(640, 480);

    #[test]
    fn mode_13h_doubles_to_640x400_then_approaches_4_3() {
        assert_eq!(integer_factors(MODE13, Size::new(640, 400)), Some((2, 2)));
        assert_eq!(integer_factors(MODE13, Size::new(960, 800)), Some((3, 4)));
        assert_eq!(integer_factors(MODE13, Size::new(1280, 1000)), Some((4, 5)));
        // Exactly 4:3 at 5x6: 1600x1200.
        assert_eq!(integer_factors(MODE13, Size::new(1600, 1200)), Some((5, 6)));
    }

    #[test]
    fn text_mode_gets_taller_when_there_is_room() {
        assert_eq!(integer_factors(TEXT, Size::new(720, 400)), Some((1, 1)));
        // 2x wide: 2.7x tall is ideal; 3 fits a tall window, 2 a 1080p screen.
        assert_eq!(integer_factors(TEXT, Size::new(1440, 1200)), Some((2, 3)));
        assert_eq!(integer_factors(TEXT, Size::new(1440, 1000)), Some((2, 2)));
    }

    #[test]
    fn square_pixel_modes_keep_square_pixels() {
        assert_eq!(integer_factors(VGA480, Size::new(1920, 1440)), Some((3, 3)));
        assert!((pixel_aspect(VGA480) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_picture_is_centred_in_a_larger_window() {
        let p = place(MODE13, Size::new(1000, 500));
        // 3x3 and 3x4 are too tall; 3x2 would be far too wide for 4:3, so 2x2.
        assert_eq!(p.factors, Some((2, 2)));
        assert_eq!(p.size, Size::new(640, 400));
        assert_eq!((p.x, p.y), (180, 50));
    }

    #[test]
    fn a_window_smaller_than_the_frame_shrinks_the_whole_picture() {
        let p = place(TEXT, Size::new(360, 400));
        assert_eq!(p.factors, None);
        // 4:3 shape inside 360 wide: 360x270, centred vertically.
        assert_eq!(p.size, Size::new(360, 270));
        assert_eq!((p.x, p.y), (0, 65));
        let tiny = place(MODE13, Size::new(1, 1));
        assert_eq!(tiny.size, Size::new(1, 1));
        assert_eq!(place(MODE13, Size::new(0, 0)).size, Size::new(0, 0));
    }

    #[test]
    fn hidpi_factors_round_to_whole_pixels() {
        assert_eq!(window_size_for_scale(TEXT, 1, 1.0), Size::new(720, 400));
        // Retina: 1 logical = 2 physical; 2x wide, 3x tall (2.7 rounds to 3).
        assert_eq!(window_size_for_scale(TEXT, 1, 2.0), Size::new(1440, 1200));
        // 150 %: --scale 1 gives 2 physical pixels (1.5 rounds up).
        assert_eq!(window_size_for_scale(MODE13, 1, 1.5), Size::new(640, 400));
        // 125 %: 1.25 rounds to 1.
        assert_eq!(window_size_for_scale(MODE13, 1, 1.25), Size::new(320, 200));
        assert_eq!(
            window_size_for_scale(MODE13, 2, f64::NAN),
            Size::new(640, 400)
        );
        // And placing the frame in that window finds the same factors again.
        let w = window_size_for_scale(MODE13, 3, 2.0);
        assert_eq!(place(MODE13, w).factors, Some((6, 7)));
        assert_eq!(place(MODE13, w).size, w);
    }

    #[test]
    fn the_default_window_fits_the_screen() {
        let small_screen = Size::new(1366, 700);
        let s = default_window_size(TEXT, small_screen, 1.0);
        assert!(s.width <= 1366 && s.height <= 700, "{s:?}");
        assert_eq!(s, Size::new(720, 400));
        assert_eq!(
            default_window_size(TEXT, Size::new(2560, 1400), 1.0),
            Size::new(1440, 1200)
        );
        assert_eq!(
            default_window_size(MODE13, Size::new(5000, 3000), 2.0),
            Size::new(1280, 1000)
        );
    }

    fn solid(size: Size, f: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
        let mut v = Vec::new();
        for y in 0..size.height {
            for x in 0..size.width {
                v.extend_from_slice(&f(x, y));
            }
        }
        v
    }

    #[test]
    fn blit_makes_exact_blocks_and_leaves_the_letterbox_alone() {
        let src_size = Size::new(2, 2);
        let src = solid(src_size, |x, y| [x as u8, y as u8, 9, 255]);
        let dst_size = Size::new(8, 8);
        let mut dst = vec![7u8; 8 * 8 * 4];
        let p = place(src_size, dst_size);
        blit(&src, src_size, &mut dst, dst_size, &p);
        let px = |x: usize, y: usize| &dst[(y * 8 + x) * 4..(y * 8 + x) * 4 + 4];
        let (sx, sy) = p.factors.expect("integer");
        for dy in 0..p.size.height as usize {
            for dx in 0..p.size.width as usize {
                let want = [(dx / sx as usize) as u8, (dy / sy as usize) as u8, 9, 255];
                assert_eq!(px(p.x as usize + dx, p.y as usize + dy), want);
            }
        }
        // Outside the picture nothing was written.
        if p.y > 0 {
            assert_eq!(px(0, 0), [7, 7, 7, 7]);
        }
    }

    #[test]
    fn blit_clips_to_the_destination() {
        let src_size = Size::new(4, 4);
        let src = solid(src_size, |_, _| [1, 2, 3, 4]);
        let dst_size = Size::new(3, 3);
        let mut dst = vec![0u8; 3 * 3 * 4];
        let p = Placement {
            x: 1,
            y: 1,
            size: Size::new(4, 4),
            factors: Some((1, 1)),
        };
        blit(&src, src_size, &mut dst, dst_size, &p);
        assert_eq!(&dst[0..4], &[0, 0, 0, 0]);
        assert_eq!(&dst[(3 * 3 - 1) * 4..], &[1, 2, 3, 4]);
    }
}
