//! The regression gate's section of a run directory, rendered from the
//! record's [`Regression`](somon_record::regression::Regression) (a run
//! compared with a saved baseline): `regression.json` (the comparisons, for
//! machines), `regression.md` (a table per journey × phase × statistic with
//! the medians, the confidence interval of the change and the finding),
//! the same table at the end of `summary.md`, and a section of
//! `report.html`.

use std::fmt::Write as _;

use serde::Serialize;
use somon_record::regression::{BaselineRef, Comparison, Finding, Regression, Stat};

use crate::format::NONE;

/// `regression.json`.
#[derive(Serialize)]
struct RegressionFile<'a> {
    baseline: &'a BaselineRef,
    regressed: usize,
    comparisons: &'a [Comparison],
}

/// One comparison as the Markdown and HTML tables show it.
#[derive(Serialize)]
pub(crate) struct Row {
    journey: String,
    phase: String,
    stat: &'static str,
    baseline: String,
    current: String,
    interval: String,
    tolerance: String,
    intervals: String,
    /// `REGRESSED`, `improved`, `unchanged` or `UNKNOWN`.
    finding: &'static str,
    /// The verdict colour of the finding: `FAIL`, `PASS` or `UNKNOWN`.
    class: &'static str,
}

/// What `report.html` shows of the regression section.
#[derive(Serialize)]
pub(crate) struct Section {
    location: String,
    scenario: String,
    git_sha: String,
    started_at: String,
    regressed: usize,
    rows: Vec<Row>,
}

fn row(c: &Comparison) -> Row {
    let unit = match c.stat {
        Stat::Rps => "/s",
        Stat::P50 | Stat::P99 => " ms",
    };
    let value = |v: Option<f64>| v.map_or(NONE.to_string(), |v| format!("{v:.3}{unit}"));
    let (finding, class) = match c.finding {
        Finding::Regressed => ("REGRESSED", "FAIL"),
        Finding::Improved => ("improved", "PASS"),
        Finding::Unchanged => ("unchanged", "PASS"),
        Finding::Unknown => ("UNKNOWN", "UNKNOWN"),
    };
    Row {
        journey: c.journey.clone(),
        phase: c.phase.clone(),
        stat: c.stat.name(),
        baseline: value(c.baseline),
        current: value(c.current),
        interval: c.interval.map_or(NONE.to_string(), |(lo, hi)| {
            format!("[{lo:+.3}, {hi:+.3}]{unit} ({:.0}%)", c.confidence * 100.0)
        }),
        tolerance: format!("±{:.3}{unit}", c.tolerance),
        intervals: format!("{} / {}", c.intervals.0, c.intervals.1),
        finding,
        class,
    }
}

fn or_unknown(text: &str) -> String {
    if text.is_empty() {
        "unknown".into()
    } else {
        text.into()
    }
}

/// The section for `report.html`.
pub(crate) fn section(regression: &Regression) -> Section {
    let b = &regression.baseline;
    Section {
        location: b.location.clone(),
        scenario: b.scenario.clone(),
        git_sha: or_unknown(b.git_sha.as_deref().unwrap_or_default()),
        started_at: or_unknown(&b.started_at),
        regressed: regression.regressed(),
        rows: regression.comparisons.iter().map(row).collect(),
    }
}

/// The text of `regression.json`.
pub(crate) fn json(regression: &Regression) -> serde_json::Result<String> {
    let file = RegressionFile {
        baseline: &regression.baseline,
        regressed: regression.regressed(),
        comparisons: &regression.comparisons,
    };
    serde_json::to_string_pretty(&file).map(|json| json + "\n")
}

/// The Markdown section (`regression.md`, and the end of `summary.md`):
/// what was compared with what, and one row per comparison.
///
/// ```
/// use somon_record::regression::{compare, gate, Baseline, Regression, BaselineRef};
/// use somon_record::regression::{RegressionSettings, Series};
///
/// let s = |v: f64| Series { journey: "health".into(), phase: "steady".into(),
///     p50_ms: vec![v; 6], p99_ms: vec![v; 6], rps: vec![50.0; 6] };
/// let base = Baseline { scenario: "quick".into(), series: vec![s(0.3)], ..Baseline::default() };
/// let now = Baseline { scenario: "quick".into(), series: vec![s(30.0)], ..Baseline::default() };
/// let regression = Regression {
///     baseline: BaselineRef { location: "ci/baselines/quick".into(), scenario: "quick".into(),
///         ..BaselineRef::default() },
///     comparisons: compare(&base, &now, &RegressionSettings::default()),
/// };
/// let md = somon_reports::regression_markdown(&regression);
/// assert!(md.contains("| `health` | steady | p50 | 0.300 ms | 30.000 ms |"));
/// assert!(md.contains("**REGRESSED**"));
/// ```
pub fn regression_markdown(regression: &Regression) -> String {
    let s = section(regression);
    let mut out = String::from("### Regression against the baseline\n\n");
    let _ = writeln!(
        out,
        "Baseline `{}` (scenario {}, git {}, started {}). Per journey × phase, the \
         per-second values of this run against the baseline's: the bootstrap confidence \
         interval of the change of their median; a regression is an interval entirely beyond \
         the tolerance in the bad direction.\n",
        s.location, s.scenario, s.git_sha, s.started_at,
    );
    let _ = writeln!(
        out,
        "**{} of {} statistics regressed.**\n",
        s.regressed,
        s.rows.len()
    );
    out.push_str("| Journey | Phase | Stat | Baseline | This run | CI of the change | Tolerance | Intervals | Finding |\n");
    out.push_str("|---|---|---|--:|--:|--:|--:|--:|---|\n");
    for r in &s.rows {
        let finding = match r.class {
            "PASS" => r.finding.to_string(),
            _ => format!("**{}**", r.finding),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {finding} |",
            r.journey, r.phase, r.stat, r.baseline, r.current, r.interval, r.tolerance, r.intervals,
        );
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{self, assert_text_eq};

    #[test]
    fn the_table_has_a_row_per_comparison_with_its_finding() {
        let expected = "### Regression against the baseline

Baseline `ci/baselines/quick` (scenario cache-smoke, git def5678, started 2024-12-31T00:00:00Z). Per journey × phase, the per-second values of this run against the baseline's: the bootstrap confidence interval of the change of their median; a regression is an interval entirely beyond the tolerance in the bad direction.

**1 of 2 statistics regressed.**

| Journey | Phase | Stat | Baseline | This run | CI of the change | Tolerance | Intervals | Finding |
|---|---|---|--:|--:|--:|--:|--:|---|
| `load_cached` | steady | p50 | 0.400 ms | 20.400 ms | [+19.950, +20.050] ms (95%) | ±1.000 ms | 10 / 10 | **REGRESSED** |
| `load_cached` | steady | rps | 200.000/s | — | — | ±20.000/s | 10 / 0 | **UNKNOWN** |

";
        let report = fixture::compared();
        assert_text_eq!(
            expected,
            regression_markdown(report.regression.as_ref().unwrap())
        );
    }

    #[test]
    fn the_json_names_the_baseline_and_counts_the_regressions() {
        let report = fixture::compared();
        let text = json(report.regression.as_ref().unwrap()).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["baseline"]["location"], "ci/baselines/quick");
        assert_eq!(value["baseline"]["git_sha"], "def5678");
        assert_eq!(value["regressed"], 1);
        assert_eq!(value["comparisons"].as_array().unwrap().len(), 2);
        assert_eq!(value["comparisons"][0]["finding"], "regressed");
    }
}
