//! Order statistics for noisy samples.
//!
//! This machine's two cores are shared, so single timings mean little: every figure the
//! bench reports is a median (or a percentile) over repetitions, and comparisons are
//! ratios of figures taken in the same run.

/// The `p`-th percentile (0..=100) by nearest rank, or None for no samples.
///
/// Nearest rank (not interpolation) so that a reported p99 is a latency that actually
/// happened.
pub fn percentile(samples: &[f64], p: f64) -> Option<f64> {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((p.clamp(0.0, 100.0) / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

/// The median (mean of the two middle values for an even count), or None for no samples.
pub fn median(samples: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 0 {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    })
}

/// Cost per unit from two measurements at different sizes: `(y2 - y1) / (x2 - x1)`.
///
/// Fixed costs (process start, VM creation, the guest's setup code) appear in both
/// measurements and cancel, which is why exit costs are taken as slopes.
pub fn slope(x1: f64, y1: f64, x2: f64, y2: f64) -> Option<f64> {
    let dx = x2 - x1;
    (dx != 0.0).then(|| (y2 - y1) / dx)
}

/// A distribution summary.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Median.
    pub p50: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
}

impl Summary {
    /// Summarises `samples`, or None when there are none.
    pub fn of(samples: &[f64]) -> Option<Self> {
        Some(Self {
            n: samples.len(),
            p50: median(samples)?,
            p99: percentile(samples, 99.0)?,
            min: percentile(samples, 0.0)?,
            max: percentile(samples, 100.0)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN]), None);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        // p99 of 10 samples is the largest: a real sample, not an interpolation.
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&ten, 99.0), Some(10.0));
    }

    #[test]
    fn slope_cancels_fixed_cost() {
        // 100 units of fixed cost + 3 per exit.
        assert_eq!(slope(1000.0, 3100.0, 6000.0, 18100.0), Some(3.0));
        assert_eq!(slope(5.0, 1.0, 5.0, 2.0), None);
    }

    #[test]
    fn summary() {
        let s = Summary::of(&[5.0, 1.0, 3.0]).expect("samples");
        assert_eq!((s.n, s.p50, s.p99, s.min, s.max), (3, 3.0, 5.0, 1.0, 5.0));
        assert!(Summary::of(&[]).is_none());
    }
}
