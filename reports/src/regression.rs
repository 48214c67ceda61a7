//! The regression gate's section of a run directory: `regression.json`
//! (the comparisons, for machines) and `regression.md` (a table per
//! journey × phase × statistic with the medians, the confidence interval
//! of the change and the finding), also appended to `summary.md`.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::Serialize;
use somon_record::regression::{Baseline, Comparison, Finding, Stat};

#[derive(Serialize)]
struct RegressionFile<'a> {
    baseline: BaselineRef<'a>,
    regressed: usize,
    comparisons: &'a [Comparison],
}

#[derive(Serialize)]
struct BaselineRef<'a> {
    location: &'a str,
    scenario: &'a str,
    git_sha: Option<&'a str>,
    started_at: &'a str,
}

/// The Markdown section: what was compared with what, and one row per
/// comparison.
///
/// ```
/// use somon_record::regression::{compare, Baseline, Series};
/// use somon_record::regression::RegressionSettings;
///
/// let s = |v: f64| Series { journey: "health".into(), phase: "steady".into(),
///     p50_ms: vec![v; 6], p99_ms: vec![v; 6], rps: vec![50.0; 6] };
/// let base = Baseline { scenario: "quick".into(), series: vec![s(0.3)], ..Baseline::default() };
/// let now = Baseline { scenario: "quick".into(), series: vec![s(30.0)], ..Baseline::default() };
/// let md = somon_reports::regression_markdown("ci/baselines/quick", &base,
///     &compare(&base, &now, &RegressionSettings::default()));
/// assert!(md.contains("| `health` | steady | p50 | 0.300 ms | 30.000 ms |"));
/// assert!(md.contains("**REGRESSED**"));
/// ```
pub fn regression_markdown(
    location: &str,
    baseline: &Baseline,
    comparisons: &[Comparison],
) -> String {
    let regressed = comparisons
        .iter()
        .filter(|c| c.finding == Finding::Regressed)
        .count();
    let mut out = String::from("### Regression against the baseline\n\n");
    let _ = writeln!(
        out,
        "Baseline `{location}` (scenario {}, git {}, started {}). Per journey × phase, the \
         per-second values of this run against the baseline's: the bootstrap confidence \
         interval of the change of their median; a regression is an interval entirely beyond \
         the tolerance in the bad direction.\n",
        baseline.scenario,
        baseline.git_sha.as_deref().unwrap_or("unknown"),
        if baseline.started_at.is_empty() {
            "unknown"
        } else {
            &baseline.started_at
        },
    );
    let _ = writeln!(
        out,
        "**{regressed} of {} statistics regressed.**\n",
        comparisons.len()
    );
    out.push_str("| Journey | Phase | Stat | Baseline | This run | CI of the change | Tolerance | Intervals | Finding |\n");
    out.push_str("|---|---|---|--:|--:|--:|--:|--:|---|\n");
    for c in comparisons {
        let unit = match c.stat {
            Stat::Rps => "/s",
            Stat::P50 | Stat::P99 => " ms",
        };
        let value = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.3}{unit}"));
        let ci = c.interval.map_or("—".to_string(), |(lo, hi)| {
            format!("[{lo:+.3}, {hi:+.3}]{unit} ({:.0}%)", c.confidence * 100.0)
        });
        let finding = match c.finding {
            Finding::Regressed => "**REGRESSED**",
            Finding::Improved => "improved",
            Finding::Unchanged => "unchanged",
            Finding::Unknown => "**UNKNOWN**",
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {ci} | ±{:.3}{unit} | {} / {} | {finding} |",
            c.journey,
            c.phase,
            c.stat.name(),
            value(c.baseline),
            value(c.current),
            c.tolerance,
            c.intervals.0,
            c.intervals.1,
        );
    }
    out.push('\n');
    out
}

/// Writes `regression.json` and `regression.md` into the run directory
/// `dir` and appends the Markdown section to its `summary.md`. Returns the
/// paths written.
///
/// # Errors
/// Any file that cannot be written.
pub fn write_regression(
    dir: &Path,
    location: &str,
    baseline: &Baseline,
    comparisons: &[Comparison],
) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    let file = RegressionFile {
        baseline: BaselineRef {
            location,
            scenario: &baseline.scenario,
            git_sha: baseline.git_sha.as_deref(),
            started_at: &baseline.started_at,
        },
        regressed: comparisons
            .iter()
            .filter(|c| c.finding == Finding::Regressed)
            .count(),
        comparisons,
    };
    let json = serde_json::to_string_pretty(&file).map_err(io::Error::other)?;
    let markdown = regression_markdown(location, baseline, comparisons);
    let json_path = dir.join("regression.json");
    fs::write(&json_path, json + "\n")?;
    let md_path = dir.join("regression.md");
    fs::write(&md_path, &markdown)?;
    let summary = dir.join("summary.md");
    let mut f = fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&summary)?;
    f.write_all(b"\n")?;
    f.write_all(markdown.as_bytes())?;
    Ok(vec![json_path, md_path, summary])
}
