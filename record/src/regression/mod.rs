//! The regression gate: a finished run condensed into a
//! [`Baseline`] — per journey × phase, the per-interval (1 s) p50, p99 and
//! request rate — and a later run compared with it. A statistic regresses
//! only when the bootstrap confidence interval of the change of its median
//! lies entirely beyond the tolerance, in the bad direction (latency up,
//! rate down); noise alone stays inside. [`gate`] does it to a finished
//! run: the comparison ([`Regression`]) and its verdicts go into the run's
//! report, which the reports render.
//!
//! ```
//! use somon_record::regression::{compare, Baseline, RegressionSettings, Series, Stat};
//! use somon_record::Outcome;
//!
//! let series = |p50: f64| Series {
//!     journey: "load_cached".into(),
//!     phase: "steady".into(),
//!     p50_ms: vec![p50; 10],
//!     p99_ms: vec![p50 * 3.0; 10],
//!     rps: vec![200.0; 10],
//! };
//! let before = Baseline { scenario: "quick".into(), series: vec![series(0.4)], ..Baseline::default() };
//! let after = Baseline { scenario: "quick".into(), series: vec![series(20.4)], ..Baseline::default() };
//! let found = compare(&before, &after, &RegressionSettings::default());
//! let p50 = found.iter().find(|c| c.stat == Stat::P50).unwrap();
//! assert_eq!(p50.to_verdict().outcome, Outcome::Fail);
//! assert_eq!(p50.to_verdict().claim, "regression:load_cached:p50");
//! ```

mod condense;
pub mod stats;

use serde::{Deserialize, Serialize};

use std::time::Duration;

use crate::{Outcome, RunReport, Verdict, VerdictKind};

pub use condense::condense;

/// The regression gate's settings: a change counts as a
/// regression only when its confidence interval lies entirely beyond the
/// tolerance, in the bad direction.
#[derive(Clone, Debug, PartialEq)]
pub struct RegressionSettings {
    /// Allowed change as a share of the baseline's median (`"10%"`).
    pub relative: f64,
    /// Allowed change of a latency statistic in absolute terms (`"5ms"`).
    /// A latency regresses only beyond both.
    pub absolute: Duration,
    /// Confidence of the interval (`"95%"`).
    pub confidence: f64,
    /// Bootstrap resamples.
    pub resamples: u32,
}

impl Default for RegressionSettings {
    fn default() -> RegressionSettings {
        RegressionSettings {
            relative: 0.10,
            absolute: Duration::from_millis(1),
            confidence: 0.95,
            resamples: 2000,
        }
    }
}

/// Fewest intervals on each side for a comparison to mean anything.
pub const MIN_INTERVALS: usize = 5;

/// What a baseline keeps of a run: enough to compare with, nothing more.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// The scenario (suite) that ran.
    pub scenario: String,
    /// `git rev-parse HEAD` of the build, when known.
    #[serde(default)]
    pub git_sha: Option<String>,
    /// When the run started (RFC 3339 UTC).
    #[serde(default)]
    pub started_at: String,
    /// Defect twins the run had switched on (a baseline should have none).
    #[serde(default)]
    pub defects: Vec<String>,
    /// One entry per journey × phase.
    pub series: Vec<Series>,
}

/// Per-interval values of one journey in one phase.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The journey (op).
    pub journey: String,
    /// The phase.
    pub phase: String,
    /// Median latency of each interval, in ms.
    pub p50_ms: Vec<f64>,
    /// 99th percentile latency of each interval, in ms.
    pub p99_ms: Vec<f64>,
    /// Requests completed per second in each interval.
    pub rps: Vec<f64>,
}

/// A compared statistic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stat {
    /// Per-interval median latency.
    P50,
    /// Per-interval 99th percentile latency.
    P99,
    /// Per-interval request rate.
    Rps,
}

impl Stat {
    /// `p50`, `p99`, `rps`.
    pub fn name(self) -> &'static str {
        match self {
            Stat::P50 => "p50",
            Stat::P99 => "p99",
            Stat::Rps => "rps",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Stat::P50 | Stat::P99 => "ms",
            Stat::Rps => "/s",
        }
    }

    fn of(self, s: &Series) -> &[f64] {
        match self {
            Stat::P50 => &s.p50_ms,
            Stat::P99 => &s.p99_ms,
            Stat::Rps => &s.rps,
        }
    }
}

/// What a comparison found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Finding {
    /// Significantly worse, beyond the tolerance.
    Regressed,
    /// Significantly better, beyond the tolerance.
    Improved,
    /// No change beyond the tolerance at this confidence.
    Unchanged,
    /// Too few intervals on one side, or the journey is missing.
    Unknown,
}

/// One journey × phase × statistic compared.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The journey.
    pub journey: String,
    /// The phase.
    pub phase: String,
    /// The statistic.
    pub stat: Stat,
    /// Median of the baseline's intervals.
    pub baseline: Option<f64>,
    /// Median of this run's intervals.
    pub current: Option<f64>,
    /// Confidence interval of `current − baseline`: (low, high).
    pub interval: Option<(f64, f64)>,
    /// Its confidence (0.95).
    pub confidence: f64,
    /// The change allowed either way before it counts.
    pub tolerance: f64,
    /// Intervals on each side: (baseline, current).
    pub intervals: (usize, usize),
    /// The finding.
    pub finding: Finding,
}

impl Comparison {
    /// The comparison as a verdict `regression:<journey>:<stat>`: FAIL on a
    /// regression, UNKNOWN when it could not be judged, else PASS.
    pub fn to_verdict(&self) -> Verdict {
        let unit = self.stat.unit();
        let evidence = match (self.baseline, self.current, self.interval) {
            (Some(b), Some(c), Some((lo, hi))) => format!(
                "median {b:.3}{unit} → {c:.3}{unit}; {:.0}% CI of the change [{lo:+.3}, {hi:+.3}]{unit} \
                 (bootstrap, {} vs {} intervals); tolerance ±{:.3}{unit}: {}",
                self.confidence * 100.0,
                self.intervals.0,
                self.intervals.1,
                self.tolerance,
                match self.finding {
                    Finding::Regressed => "REGRESSION (the whole interval is beyond the tolerance)",
                    Finding::Improved => "improved",
                    Finding::Unchanged => "no significant change beyond the tolerance",
                    Finding::Unknown => "not judged",
                }
            ),
            _ => format!(
                "{} baseline and {} current intervals; a comparison needs {MIN_INTERVALS} on each side",
                self.intervals.0, self.intervals.1
            ),
        };
        // Written so the threshold ends the text in its unit (the reports
        // format the measured value by it): the bound of the interval in
        // the bad direction, latency in seconds, rate per second.
        let (delta, bound) = match self.stat {
            Stat::Rps => (
                format!("≥ -{:.3}/s", self.tolerance),
                self.interval.map(|(_, hi)| hi),
            ),
            Stat::P50 | Stat::P99 => (
                format!("≤ {:.3}ms", self.tolerance),
                self.interval.map(|(lo, _)| lo / 1e3),
            ),
        };
        Verdict {
            kind: VerdictKind::Regression,
            claim: format!("regression:{}:{}", self.journey, self.stat.name()),
            source: "regression gate: baseline comparison".into(),
            phase: Some(self.phase.clone()),
            outcome: match self.finding {
                Finding::Regressed => Outcome::Fail,
                Finding::Unknown => Outcome::Unknown,
                Finding::Improved | Finding::Unchanged => Outcome::Pass,
            },
            expected: format!(
                "at {:.0}% confidence: Δ{}({}) {delta}",
                self.confidence * 100.0,
                self.stat.name(),
                self.journey,
            ),
            measured: bound,
            samples: self.intervals.1 as u64,
            evidence,
        }
    }
}

/// A run compared with a saved baseline: which baseline, and every
/// journey × phase × statistic compared. It is part of the run's report
/// ([`RunReport::regression`]), so the reports render it from the record
/// like everything else.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    /// The baseline compared with.
    pub baseline: BaselineRef,
    /// One per journey × phase × statistic of the baseline.
    pub comparisons: Vec<Comparison>,
}

/// Which baseline a run was compared with (its series left out).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BaselineRef {
    /// Where it was read from, as given (`ci/baselines/regression`).
    pub location: String,
    /// The scenario (suite) it is of.
    pub scenario: String,
    /// `git rev-parse HEAD` of its build, when known.
    pub git_sha: Option<String>,
    /// When its run started (RFC 3339 UTC), or empty.
    pub started_at: String,
}

impl Regression {
    /// How many statistics regressed.
    pub fn regressed(&self) -> usize {
        self.comparisons
            .iter()
            .filter(|c| c.finding == Finding::Regressed)
            .count()
    }
}

/// The regression gate on a finished run: `report` condensed and compared
/// with `baseline` (read from `location`) under `settings`. The comparison
/// goes into [`RunReport::regression`] and its [`verdicts`] among the
/// report's verdicts, so a regression fails the run. A run cut short
/// compares nothing: it is left as it is, its exit code already says it
/// proved nothing.
///
/// # Errors
/// An interval log of the record that does not parse.
pub fn gate(
    report: &mut RunReport,
    baseline: &Baseline,
    location: &str,
    settings: &RegressionSettings,
) -> Result<(), String> {
    if !report.status.is_complete() {
        return Ok(());
    }
    let current = condense(report)?;
    let comparisons = compare(baseline, &current, settings);
    let found = verdicts(&comparisons, report);
    report.verdicts.extend(found);
    report.regression = Some(Regression {
        baseline: BaselineRef {
            location: location.to_owned(),
            scenario: baseline.scenario.clone(),
            git_sha: baseline.git_sha.clone(),
            started_at: baseline.started_at.clone(),
        },
        comparisons,
    });
    Ok(())
}

/// The comparisons as verdicts for `report`. A regression found on a
/// phase whose load generator did not keep up is UNKNOWN, not FAIL: on a
/// stalled machine the slowdown may be the machine's, not the build's.
pub fn verdicts(comparisons: &[Comparison], report: &RunReport) -> Vec<Verdict> {
    comparisons
        .iter()
        .map(|c| c.to_verdict().earned(&report.validity))
        .collect()
}

/// Compares `current` with `baseline`, every journey × phase of the
/// baseline and every statistic. A baseline series of fewer than
/// [`MIN_INTERVALS`] seconds (a short warm-up) is not compared: no run of
/// the same suite could give it more.
pub fn compare(
    baseline: &Baseline,
    current: &Baseline,
    settings: &RegressionSettings,
) -> Vec<Comparison> {
    let mut out = Vec::new();
    for (n, base) in baseline.series.iter().enumerate() {
        if base.p50_ms.len() < MIN_INTERVALS {
            continue;
        }
        let now = current
            .series
            .iter()
            .find(|s| s.journey == base.journey && s.phase == base.phase);
        for (k, stat) in [Stat::P50, Stat::P99, Stat::Rps].into_iter().enumerate() {
            let before = stat.of(base);
            let after = now.map_or(&[][..], |s| stat.of(s));
            let b = stats::median(before);
            let tolerance = match stat {
                Stat::Rps => b.unwrap_or(0.0).abs() * settings.relative,
                Stat::P50 | Stat::P99 => (b.unwrap_or(0.0).abs() * settings.relative)
                    .max(settings.absolute.as_secs_f64() * 1e3),
            };
            let mut c = Comparison {
                journey: base.journey.clone(),
                phase: base.phase.clone(),
                stat,
                baseline: b,
                current: stats::median(after),
                interval: None,
                confidence: settings.confidence,
                tolerance,
                intervals: (before.len(), after.len()),
                finding: Finding::Unknown,
            };
            if before.len() >= MIN_INTERVALS && after.len() >= MIN_INTERVALS {
                // A fixed seed per comparison: the same two runs always
                // give the same interval.
                let seed = 0x5EED ^ ((n as u64) << 8) ^ k as u64;
                if let Some(ci) = stats::bootstrap_median_difference(
                    before,
                    after,
                    settings.resamples,
                    settings.confidence,
                    seed,
                ) {
                    c.interval = Some((ci.low, ci.high));
                    let worse = match stat {
                        Stat::Rps => -1.0,
                        Stat::P50 | Stat::P99 => 1.0,
                    };
                    // In the bad direction, the whole interval beyond.
                    let (lo, hi) = if worse > 0.0 {
                        (ci.low, ci.high)
                    } else {
                        (-ci.high, -ci.low)
                    };
                    c.finding = if lo > tolerance {
                        Finding::Regressed
                    } else if hi < -tolerance {
                        Finding::Improved
                    } else {
                        Finding::Unchanged
                    };
                }
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn series(p50: &[f64], rps: f64) -> Series {
        Series {
            journey: "load_cached".into(),
            phase: "steady".into(),
            p50_ms: p50.to_vec(),
            p99_ms: p50.iter().map(|v| v * 2.0).collect(),
            rps: vec![rps; p50.len()],
        }
    }

    fn baseline(s: Series) -> Baseline {
        Baseline {
            scenario: "quick".into(),
            series: vec![s],
            ..Baseline::default()
        }
    }

    const NOISY: [f64; 10] = [0.40, 0.42, 0.39, 0.55, 0.41, 0.38, 0.44, 0.40, 0.47, 0.41];

    #[test]
    fn noise_within_tolerance_is_not_a_regression() {
        let jitter: Vec<f64> = NOISY.iter().rev().map(|v| v * 1.05).collect();
        let found = compare(
            &baseline(series(&NOISY, 200.0)),
            &baseline(series(&jitter, 199.0)),
            &RegressionSettings::default(),
        );
        assert_eq!(found.len(), 3);
        assert!(
            found.iter().all(|c| c.finding == Finding::Unchanged),
            "{found:#?}"
        );
    }

    #[test]
    fn twenty_ms_more_is_a_regression_and_fewer_requests_too() {
        let slower: Vec<f64> = NOISY.iter().map(|v| v + 20.0).collect();
        let found = compare(
            &baseline(series(&NOISY, 200.0)),
            &baseline(series(&slower, 100.0)),
            &RegressionSettings::default(),
        );
        assert!(
            found.iter().all(|c| c.finding == Finding::Regressed),
            "{found:#?}"
        );
        let v = found[0].to_verdict();
        assert_eq!(v.outcome, Outcome::Fail);
        assert!(
            v.evidence.contains("95% CI of the change [+"),
            "{}",
            v.evidence
        );
    }

    #[test]
    fn a_regression_on_an_invalid_phase_is_unknown() {
        let slower: Vec<f64> = NOISY.iter().map(|v| v + 20.0).collect();
        let found = compare(
            &baseline(series(&NOISY, 200.0)),
            &baseline(series(&slower, 200.0)),
            &RegressionSettings::default(),
        );
        let mut report = RunReport {
            manifest: Default::default(),
            status: crate::RunStatus::Completed,
            reason: None,
            validity: vec![crate::PhaseValidity {
                phase: "steady".into(),
                valid: true,
                reasons: vec![],
            }],
            steady_state: vec![],
            verdicts: vec![],
            record: Default::default(),
            history: vec![],
            regression: None,
        };
        assert_eq!(verdicts(&found, &report)[0].outcome, Outcome::Fail);
        report.validity[0].valid = false;
        report.validity[0].reasons = vec!["send lag p99 2 s".into()];
        let v = &verdicts(&found, &report)[0];
        assert_eq!(v.outcome, Outcome::Unknown);
        assert!(
            v.evidence.contains("INVALID (send lag p99 2 s)"),
            "{}",
            v.evidence
        );
    }

    #[test]
    fn the_gate_puts_its_comparison_and_verdicts_into_the_report() {
        let mut report = RunReport {
            manifest: Default::default(),
            status: crate::RunStatus::Completed,
            reason: None,
            validity: vec![],
            steady_state: vec![],
            verdicts: vec![],
            record: Default::default(),
            history: vec![],
            regression: None,
        };
        let base = Baseline {
            git_sha: Some("abc1234".into()),
            ..baseline(series(&NOISY, 200.0))
        };
        let settings = RegressionSettings::default();
        // Cut short: nothing compared, nothing added.
        report.status = crate::RunStatus::Interrupted;
        gate(&mut report, &base, "ci/baselines/quick", &settings).unwrap();
        assert!(report.regression.is_none() && report.verdicts.is_empty());
        // Complete, but without the baseline's journey: each statistic is
        // compared and UNKNOWN.
        report.status = crate::RunStatus::Completed;
        gate(&mut report, &base, "ci/baselines/quick", &settings).unwrap();
        let regression = report.regression.as_ref().unwrap();
        assert_eq!(regression.baseline.location, "ci/baselines/quick");
        assert_eq!(regression.baseline.git_sha.as_deref(), Some("abc1234"));
        assert_eq!(regression.comparisons.len(), 3);
        assert_eq!(regression.regressed(), 0);
        let claims: Vec<&str> = report.verdicts.iter().map(|v| v.claim.as_str()).collect();
        assert_eq!(
            claims,
            [
                "regression:load_cached:p50",
                "regression:load_cached:p99",
                "regression:load_cached:rps"
            ]
        );
        assert!(report
            .verdicts
            .iter()
            .all(|v| v.outcome == Outcome::Unknown));
        // It travels with the record, and a record without one reads back.
        let text = serde_json::to_string(&report).unwrap();
        let back: RunReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back.regression, report.regression);
        report.regression = None;
        let text = serde_json::to_string(&report).unwrap();
        assert!(!text.contains("\"regression\":"), "{text}");
        let back: RunReport = serde_json::from_str(&text).unwrap();
        assert!(back.regression.is_none());
    }

    #[test]
    fn faster_is_an_improvement_and_passes() {
        let faster: Vec<f64> = NOISY.iter().map(|v| v / 4.0).collect();
        let settings = RegressionSettings {
            absolute: Duration::ZERO,
            ..RegressionSettings::default()
        };
        let found = compare(
            &baseline(series(&NOISY, 200.0)),
            &baseline(series(&faster, 200.0)),
            &settings,
        );
        assert_eq!(found[0].finding, Finding::Improved);
        assert_eq!(found[0].to_verdict().outcome, Outcome::Pass);
    }

    #[test]
    fn a_missing_or_short_series_is_unknown() {
        let mut other = series(&NOISY, 200.0);
        other.journey = "ops".into();
        let found = compare(
            &baseline(series(&NOISY, 200.0)),
            &baseline(other),
            &RegressionSettings::default(),
        );
        assert!(found.iter().all(|c| c.finding == Finding::Unknown));
        assert_eq!(found[0].to_verdict().outcome, Outcome::Unknown);
        let short = compare(
            &baseline(series(&NOISY, 200.0)),
            &baseline(series(&NOISY[..3], 200.0)),
            &RegressionSettings::default(),
        );
        assert_eq!(short[0].finding, Finding::Unknown);
        // A baseline too short to compare is left out.
        let none = compare(
            &baseline(series(&NOISY[..3], 200.0)),
            &baseline(series(&NOISY, 200.0)),
            &RegressionSettings::default(),
        );
        assert!(none.is_empty());
    }
}
