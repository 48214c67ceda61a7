//! `somon-verify compare A B`: two run directories side by side.
//! [`compare_dirs`] reads each one's `record.json` and writes into an
//! output directory
//!
//! - `charts/*.svg|png`: per journey the two latency distributions and
//!   the two p99-over-time lines overlaid, then the two throughputs;
//! - `compare.json`: both runs' figures per journey × phase (p50, p99,
//!   p99.9, max, requests/s, error rate) and B − A, absolute and relative;
//! - `compare.md`: the same table as Markdown (CI summary, PR comment);
//! - `compare.html`: all of it on one self-contained page (inline SVG and
//!   CSS, no script, nothing fetched).
//!
//! Like the run report, it judges nothing: it shows the measured
//! differences; the regression gate (`baseline`) decides what counts.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use somon_record::RunReport;

use crate::run_dir::{sync_dir, write_atomically};

mod charts;
mod page;
mod stats;

/// One side of a comparison.
pub(crate) struct Run {
    /// `A` or `B`.
    pub(crate) which: &'static str,
    /// The directory as given.
    pub(crate) dir: PathBuf,
    /// Its last path component, which names the run in legends.
    pub(crate) label: String,
    pub(crate) report: RunReport,
}

/// Why a comparison could not be made.
#[derive(Debug)]
pub enum CompareError {
    /// A run directory is missing, has no `record.json`, or holds one that
    /// is not a run record (or whose interval logs do not parse).
    BadRun {
        /// The directory.
        dir: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Writing the output failed.
    Write {
        /// The output directory.
        dir: PathBuf,
        /// The error.
        error: io::Error,
    },
}

impl fmt::Display for CompareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompareError::BadRun { dir, reason } => {
                write!(f, "{}: not a run directory: {reason}", dir.display())
            }
            CompareError::Write { dir, error } => {
                write!(f, "writing the comparison to {}: {error}", dir.display())
            }
        }
    }
}

impl std::error::Error for CompareError {}

/// Reads one run directory.
fn load(which: &'static str, dir: &Path) -> Result<Run, CompareError> {
    let bad = |reason: String| CompareError::BadRun {
        dir: dir.to_path_buf(),
        reason,
    };
    if !dir.is_dir() {
        return Err(bad(if dir.exists() {
            "it is not a directory".into()
        } else {
            "it does not exist".into()
        }));
    }
    let record = dir.join("record.json");
    let text = fs::read_to_string(&record)
        .map_err(|e| bad(format!("reading {}: {e}", record.display())))?;
    let report: RunReport = serde_json::from_str(&text)
        .map_err(|e| bad(format!("{}: not a run record: {e}", record.display())))?;
    let label = dir
        .canonicalize()
        .ok()
        .as_deref()
        .and_then(Path::file_name)
        .map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
    Ok(Run {
        which,
        dir: dir.to_path_buf(),
        label,
        report,
    })
}

/// Compares the runs in directories `a` and `b` and writes the result
/// into `out` (created if needed; files under other names are left
/// alone). Returns the paths written, the page last.
///
/// # Errors
/// [`CompareError::BadRun`] when either directory is not a readable run
/// directory — checked before anything is written — and
/// [`CompareError::Write`] when the output cannot be written.
///
/// # Example
///
/// ```
/// use somon_record::{Manifest, RunRecord, RunReport, RunStatus};
///
/// let report = RunReport {
///     manifest: Manifest { scenario: "smoke".into(), ..Manifest::default() },
///     status: RunStatus::Completed,
///     reason: None,
///     validity: vec![],
///     steady_state: vec![],
///     verdicts: vec![],
///     record: RunRecord::default(),
///     history: vec![],
///     regression: None,
/// };
/// let temp = tempfile::tempdir().unwrap();
/// let (a, b) = (temp.path().join("a"), temp.path().join("b"));
/// somon_reports::write_run_dir(&a, &report).unwrap();
/// somon_reports::write_run_dir(&b, &report).unwrap();
/// let written = somon_reports::compare::compare_dirs(&a, &b, &temp.path().join("cmp")).unwrap();
/// assert!(written.last().unwrap().ends_with("compare.html"));
///
/// let missing = somon_reports::compare::compare_dirs(&a, &temp.path().join("nope"), &temp.path().join("x"));
/// assert!(missing.unwrap_err().to_string().contains("does not exist"));
/// ```
pub fn compare_dirs(a: &Path, b: &Path, out: &Path) -> Result<Vec<PathBuf>, CompareError> {
    let a = load("A", a)?;
    let b = load("B", b)?;
    let bad = |run: &Run| {
        let dir = run.dir.clone();
        move |reason: String| CompareError::BadRun { dir, reason }
    };
    let fa = stats::figures(&a.report).map_err(bad(&a))?;
    let fb = stats::figures(&b.report).map_err(bad(&b))?;
    let rows = stats::rows(&fa, &fb);
    let charts = charts::render(&a, &b).map_err(|reason| CompareError::BadRun {
        dir: a.dir.clone(),
        reason: format!("drawing the comparison with {}: {reason}", b.dir.display()),
    })?;
    let json = page::json(&a, &b, &rows);
    let md = page::markdown(&a, &b, &rows, &charts);
    let html = page::html(&a, &b, &rows, &charts).map_err(|reason| CompareError::BadRun {
        dir: a.dir.clone(),
        reason,
    })?;
    write(out, &charts, &json, &md, &html).map_err(|error| CompareError::Write {
        dir: out.to_path_buf(),
        error,
    })
}

fn write(
    out: &Path,
    charts: &[crate::charts::ChartFile],
    json: &str,
    md: &str,
    html: &str,
) -> io::Result<Vec<PathBuf>> {
    let chart_dir = out.join("charts");
    fs::create_dir_all(&chart_dir)?;
    let mut written = Vec::new();
    for chart in charts {
        for (ext, bytes) in [("svg", chart.svg.as_bytes()), ("png", &chart.png[..])] {
            let path = chart_dir.join(format!("{}.{ext}", chart.name));
            write_atomically(&path, bytes)?;
            written.push(path);
        }
    }
    sync_dir(&chart_dir)?;
    for (name, text) in [
        ("compare.json", json),
        ("compare.md", md),
        ("compare.html", html),
    ] {
        let path = out.join(name);
        write_atomically(&path, text.as_bytes())?;
        written.push(path);
    }
    sync_dir(out)?;
    Ok(written)
}
