//! The statistics of the regression gate: a percentile bootstrap
//! confidence interval of the difference of two medians, over per-interval
//! values, with a seeded generator so the same two runs always give the
//! same interval.

/// A bootstrap confidence interval of `median(current) − median(baseline)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// The observed difference of the medians.
    pub estimate: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// The median of `values` (the mean of the middle two for an even count);
/// `None` when empty or when a value is NaN.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(median_sorted(&sorted))
}

fn median_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// SplitMix64: small, fast, and enough for resampling indices.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n ≥ 1); the modulo bias is below 2⁻⁵⁰ for the
    /// sample sizes here.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Percentile bootstrap CI at `confidence` (e.g. 0.95) of the difference of
/// medians, `current − baseline`, from `resamples` resamples of each side
/// drawn with replacement. `None` when either side is empty or holds NaN.
///
/// ```
/// use somon_record::regression::stats::bootstrap_median_difference;
///
/// let base = [1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 1.0, 1.02];
/// let slower: Vec<f64> = base.iter().map(|v| v + 20.0).collect();
/// let ci = bootstrap_median_difference(&base, &slower, 2000, 0.95, 7).unwrap();
/// assert!(ci.low > 19.0 && ci.high < 21.0);
/// ```
pub fn bootstrap_median_difference(
    baseline: &[f64],
    current: &[f64],
    resamples: u32,
    confidence: f64,
    seed: u64,
) -> Option<Interval> {
    let estimate = median(current)? - median(baseline)?;
    let mut rng = SplitMix(seed);
    let mut scratch_a = vec![0.0; baseline.len()];
    let mut scratch_b = vec![0.0; current.len()];
    let resample = |from: &[f64], into: &mut [f64], rng: &mut SplitMix| {
        for slot in into.iter_mut() {
            *slot = from[rng.below(from.len())];
        }
        into.sort_by(f64::total_cmp);
        median_sorted(into)
    };
    let mut diffs: Vec<f64> = (0..resamples.max(1))
        .map(|_| {
            let b = resample(current, &mut scratch_b, &mut rng);
            let a = resample(baseline, &mut scratch_a, &mut rng);
            b - a
        })
        .collect();
    diffs.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    let at = |q: f64| {
        let i = (q * (diffs.len() - 1) as f64).round() as usize;
        diffs[i.min(diffs.len() - 1)]
    };
    Some(Interval {
        estimate,
        low: at(tail),
        high: at(1.0 - tail),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn the_same_seed_gives_the_same_interval() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [2.0, 3.0, 4.0, 5.0, 6.0, 9.0];
        let one = bootstrap_median_difference(&a, &b, 500, 0.95, 3).unwrap();
        assert_eq!(
            one,
            bootstrap_median_difference(&a, &b, 500, 0.95, 3).unwrap()
        );
        assert!(one.low <= one.estimate && one.estimate <= one.high);
    }

    proptest! {
        /// Two identical samples: the interval always straddles zero, so
        /// no tolerance ≥ 0 can call it a change.
        #[test]
        fn identical_samples_are_never_significant(
            values in proptest::collection::vec(0.0f64..1000.0, 5..60),
            seed in any::<u64>(),
        ) {
            let ci = bootstrap_median_difference(&values, &values, 500, 0.95, seed).unwrap();
            prop_assert_eq!(ci.estimate, 0.0);
            prop_assert!(ci.low <= 0.0 && ci.high >= 0.0, "{:?}", ci);
        }

        /// A shift larger than the spread of the values is always found:
        /// every resampled difference of medians lies within shift ± spread.
        #[test]
        fn shifted_samples_are_detected(
            values in proptest::collection::vec(0.0f64..10.0, 5..60),
            shift in 20.0f64..500.0,
            seed in any::<u64>(),
        ) {
            let shifted: Vec<f64> = values.iter().map(|v| v + shift).collect();
            let ci = bootstrap_median_difference(&values, &shifted, 500, 0.95, seed).unwrap();
            prop_assert!(ci.low >= shift - 10.0 && ci.high <= shift + 10.0, "{:?}", ci);
        }
    }
}
