//! The capacity curve of a stepped run: the plain input type the
//! `capacity` command fills in — one [`CapacityStep`] per offered-load step
//! with its measured p99, achieved throughput, error rate and verdict, plus
//! the knee — and [`write_capacity_dir`], which draws it
//! (`charts/capacity.svg|png`) and writes `capacity.html` and
//! `capacity.md` beside it.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use minijinja::Environment;
use serde::{Deserialize, Serialize};

use crate::charts::capacity::Capacity;
use crate::charts::ChartFile;
use crate::format::{decimals, seconds, NONE};
use crate::markdown::text;
use crate::run_dir::{sync_dir, write_atomically};

/// One offered-load step of a capacity run, as measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapacityStep {
    /// The load offered: users (closed model) or requests per second (open
    /// model).
    pub load: f64,
    /// What `load` counts: `users`, `rps`, ….
    pub unit: String,
    /// p99 latency of the step in seconds; `None` when nothing completed.
    pub p99_s: Option<f64>,
    /// Requests per second the target completed.
    pub achieved_rps: f64,
    /// Failed share of the step's requests, 0 to 1.
    pub error_rate: f64,
    /// Whether every claim held at this step.
    pub passed: bool,
}

impl CapacityStep {
    /// `400 users`, `1500 rps`.
    pub(crate) fn load_label(&self) -> String {
        let load = decimals(self.load);
        if self.unit.is_empty() {
            load
        } else {
            format!("{load} {}", self.unit)
        }
    }
}

/// A capacity run's curve: its steps in the order they were run, the knee
/// and the latency threshold the steps were judged against.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CapacityCurve {
    /// What was measured (the scenario's name); titles the chart and page.
    #[serde(default)]
    pub name: String,
    /// The steps, lowest load first.
    pub steps: Vec<CapacityStep>,
    /// Index into `steps` of the knee: the highest step such that it and
    /// every step below passed. `None` when the first step failed.
    pub knee: Option<usize>,
    /// The p99 threshold (seconds) the steps were judged against, if the
    /// verdict had one; drawn across the latency panel.
    pub threshold_s: Option<f64>,
}

impl CapacityCurve {
    /// The knee as defined on [`CapacityCurve::knee`], computed from the
    /// steps' verdicts, for callers that want it filled in consistently.
    pub fn knee_of(steps: &[CapacityStep]) -> Option<usize> {
        steps.iter().take_while(|s| s.passed).count().checked_sub(1)
    }

    /// Checks the curve can be drawn: at least one step, finite
    /// non-negative numbers, one unit, the knee inside the steps.
    ///
    /// # Errors
    /// The first problem found, in words naming the step.
    pub fn check(&self) -> Result<(), String> {
        if self.steps.is_empty() {
            return Err("the capacity curve has no steps".into());
        }
        let unit = &self.steps[0].unit;
        for (i, step) in self.steps.iter().enumerate() {
            let finite = |v: f64| v.is_finite() && v >= 0.0;
            if !finite(step.load) || !finite(step.achieved_rps) || !finite(step.error_rate) {
                return Err(format!(
                    "capacity step {i}: load, achieved_rps and error_rate must be finite and ≥ 0"
                ));
            }
            if step.p99_s.is_some_and(|p| !finite(p)) {
                return Err(format!("capacity step {i}: p99_s must be finite and ≥ 0"));
            }
            if &step.unit != unit {
                return Err(format!(
                    "capacity step {i}: unit {:?} differs from step 0's {unit:?}",
                    step.unit
                ));
            }
        }
        if let Some(knee) = self.knee {
            if knee >= self.steps.len() {
                return Err(format!(
                    "capacity knee {knee} is past the last step ({})",
                    self.steps.len() - 1
                ));
            }
        }
        if self.threshold_s.is_some_and(|t| !t.is_finite() || t < 0.0) {
            return Err("capacity threshold_s must be finite and ≥ 0".into());
        }
        Ok(())
    }
}

/// Writes the capacity curve into `dir` (created if needed) and returns
/// the paths written: `charts/capacity.svg`, `charts/capacity.png`,
/// `capacity.md` and a self-contained `capacity.html` (inline SVG and
/// CSS, no script, nothing fetched). Each file is replaced whole.
///
/// # Errors
/// [`io::ErrorKind::InvalidData`] when [`CapacityCurve::check`] fails or
/// the chart cannot be drawn, else any I/O error; nothing is written
/// for an invalid curve.
///
/// # Example
///
/// ```
/// use somon_reports::capacity::{CapacityCurve, CapacityStep};
///
/// let step = |load: f64, p99: f64, passed: bool| CapacityStep {
///     load,
///     unit: "users".into(),
///     p99_s: Some(p99),
///     achieved_rps: load * 9.5,
///     error_rate: 0.0,
///     passed,
/// };
/// let steps = vec![step(100.0, 0.020, true), step(200.0, 0.045, true), step(400.0, 0.180, false)];
/// let curve = CapacityCurve {
///     name: "load-ceiling".into(),
///     knee: CapacityCurve::knee_of(&steps),
///     steps,
///     threshold_s: Some(0.1),
/// };
/// assert_eq!(curve.knee, Some(1));
/// let dir = tempfile::tempdir().unwrap();
/// let written = somon_reports::capacity::write_capacity_dir(dir.path(), &curve).unwrap();
/// assert_eq!(written.len(), 4);
/// let md = std::fs::read_to_string(dir.path().join("capacity.md")).unwrap();
/// assert!(md.contains("Knee: **200 users**"));
/// ```
pub fn write_capacity_dir(dir: &Path, curve: &CapacityCurve) -> io::Result<Vec<PathBuf>> {
    let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidData, e);
    curve.check().map_err(invalid)?;
    let title = if curve.name.is_empty() {
        "Capacity curve".to_string()
    } else {
        format!("Capacity curve of {}", curve.name)
    };
    let chart = ChartFile::draw("capacity".into(), title, &Capacity { curve }).map_err(invalid)?;
    let page = html(curve, &chart).map_err(invalid)?;
    let md = markdown(curve);
    let charts = dir.join("charts");
    std::fs::create_dir_all(&charts)?;
    let files = [
        (charts.join("capacity.svg"), chart.svg.as_bytes()),
        (charts.join("capacity.png"), &chart.png[..]),
        (dir.join("capacity.md"), md.as_bytes()),
        (dir.join("capacity.html"), page.as_bytes()),
    ];
    let mut written = Vec::new();
    for (path, bytes) in files {
        write_atomically(&path, bytes)?;
        written.push(path);
    }
    sync_dir(&charts)?;
    sync_dir(dir)?;
    Ok(written)
}

/// A table row of a step, as both pages show it.
#[derive(Serialize)]
struct Row {
    load: String,
    p99: String,
    achieved_rps: String,
    error_rate: String,
    result: &'static str,
    knee: bool,
}

fn rows(curve: &CapacityCurve) -> Vec<Row> {
    curve
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| Row {
            load: s.load_label(),
            p99: s.p99_s.map_or_else(|| NONE.to_string(), seconds),
            achieved_rps: format!("{}/s", decimals(s.achieved_rps)),
            error_rate: format!("{}%", decimals(s.error_rate * 100.0)),
            result: if s.passed { "PASS" } else { "FAIL" },
            knee: curve.knee == Some(i),
        })
        .collect()
}

/// One sentence on the knee.
fn knee_sentence(curve: &CapacityCurve) -> (String, bool) {
    match curve.knee.and_then(|k| curve.steps.get(k)) {
        Some(step) => (step.load_label(), true),
        None => ("no step passed".into(), false),
    }
}

fn markdown(curve: &CapacityCurve) -> String {
    let mut out = format!(
        "## {}\n\n",
        if curve.name.is_empty() {
            "Capacity curve".to_string()
        } else {
            format!("Capacity curve of {}", text(&curve.name))
        }
    );
    let (knee, found) = knee_sentence(curve);
    if found {
        let _ = write!(
            out,
            "Knee: **{}** (highest step with every step up to it passing)",
            text(&knee)
        );
    } else {
        out += "Knee: **none** — the first step already failed";
    }
    if let Some(t) = curve.threshold_s {
        let _ = write!(out, "; p99 threshold {}", seconds(t));
    }
    out += ".\n\n| Offered load | p99 | Achieved | Errors | Verdict |\n|--:|--:|--:|--:|---|\n";
    for row in rows(curve) {
        let verdict = match (row.result, row.knee) {
            ("PASS", true) => "PASS (knee)".to_string(),
            ("PASS", false) => "PASS".to_string(),
            (other, _) => format!("**{other}**"),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {verdict} |",
            text(&row.load),
            row.p99,
            row.achieved_rps,
            row.error_rate
        );
    }
    out += "\n![capacity curve](charts/capacity.png)\n";
    out
}

const TEMPLATE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.5em; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.5em; text-align: right; }
th { background: #f2f2f2; }
.PASS { background: #d8f0d8; color: #185c18; font-weight: bold; text-align: left; }
.FAIL { background: #f6d2d2; color: #8a1414; font-weight: bold; text-align: left; }
tr.knee td { border-top: 2px solid #6a1b9a; border-bottom: 2px solid #6a1b9a; }
figure svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p>Knee: <strong>{{ knee }}</strong>{% if found %} (highest step with every step up to it passing){% endif %}{% if threshold %}; p99 threshold {{ threshold }}{% endif %}.</p>
<figure id="chart-capacity">
{{ svg|safe }}
<figcaption>charts/capacity.svg, .png</figcaption>
</figure>
<table class="capacity">
<tr><th>Offered load</th><th>p99</th><th>Achieved</th><th>Errors</th><th>Verdict</th></tr>
{% for r in rows %}
<tr{% if r.knee %} class="knee"{% endif %}><td>{{ r.load }}</td><td>{{ r.p99 }}</td><td>{{ r.achieved_rps }}</td><td>{{ r.error_rate }}</td><td class="{{ r.result }}">{{ r.result }}{% if r.knee %} (knee){% endif %}</td></tr>
{% endfor %}
</table>
</body>
</html>
"#;

fn html(curve: &CapacityCurve, chart: &ChartFile) -> Result<String, String> {
    let mut env = Environment::new();
    env.add_template("capacity.html", TEMPLATE)
        .map_err(|e| e.to_string())?;
    let (knee, found) = knee_sentence(curve);
    let context = minijinja::context! {
        title => &chart.title,
        knee => knee,
        found => found,
        threshold => curve.threshold_s.map(seconds),
        svg => &chart.svg,
        rows => rows(curve),
    };
    env.get_template("capacity.html")
        .and_then(|t| t.render(context))
        .map_err(|e| e.to_string())
}
