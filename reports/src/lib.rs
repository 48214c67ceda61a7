//! Turns a finished (or cut-short) run into the artefacts people and CI
//! read: [`write_run_dir`] writes `verdicts.json`, `record.json`,
//! `summary.md`, `junit.xml`, `events.jsonl`, the charts (`charts/*.svg`
//! and `*.png`: latency over time with fault windows and claim thresholds,
//! throughput, errors by kind, breaker states, latency distribution) and a
//! self-contained `report.html` into the run's directory — for a run
//! compared with a baseline also its regression section (`regression.json`,
//! `regression.md`, the table in `summary.md` and `report.html`);
//! [`render_dir`] writes them all again from a directory's `record.json`;
//! [`verdict_table`] renders the table printed at the end of a run;
//! [`compare::compare_dirs`] puts two run directories side by side; and
//! [`capacity::write_capacity_dir`] draws a capacity curve with its knee.
//!
//! All take a [`RunReport`](somon_record::RunReport) from
//! `somon-scenarios` and compute nothing about the run: the verdicts, the
//! tally and the exit code come from there, this crate only renders them.
//! Charts are drawn with plotters in an embedded font (DejaVu Sans), so
//! PNG text needs no system fonts, and the same record always gives the
//! same bytes.
//!
//! ```
//! use somon_record::{Manifest, Outcome, RunRecord, RunReport, RunStatus, Verdict, VerdictKind};
//!
//! let report = RunReport {
//!     manifest: Manifest { scenario: "smoke".into(), ..Manifest::default() },
//!     status: RunStatus::Completed,
//!     reason: None,
//!     validity: vec![],
//!     steady_state: vec![],
//!     verdicts: vec![Verdict {
//!         kind: VerdictKind::Claim,
//!         claim: "p99-cached".into(),
//!         source: "README.md §Performance".into(),
//!         phase: Some("steady".into()),
//!         outcome: Outcome::Pass,
//!         expected: "p99(load_cached) < 100ms".into(),
//!         measured: Some(0.012),
//!         samples: 12_000,
//!         evidence: "12000 requests of load_cached".into(),
//!     }],
//!     record: RunRecord::default(),
//!     history: vec![],
//!     regression: None,
//! };
//! let table = somon_reports::verdict_table(&report, false);
//! assert!(table.contains("PASS     p99-cached  steady  p99(load_cached) < 100ms  12.000 ms"));
//! assert!(table.ends_with("1 PASS, 0 FAIL, 0 UNKNOWN — run VALID, completed\n"));
//!
//! let dir = tempfile::tempdir().unwrap();
//! somon_reports::write_run_dir(dir.path(), &report).unwrap();
//! assert!(dir.path().join("junit.xml").is_file());
//! ```

pub use gameday::{drill_table, write_gameday};
pub use regression::regression_markdown;
pub use run_dir::{render_dir, write_run_dir, write_run_dir_redacted};
pub use table::verdict_table;

pub mod capacity;
mod charts;
pub mod compare;
mod format;
mod gameday;
mod html;
mod json;
mod junit;
mod markdown;
mod regression;
mod run_dir;
mod table;

#[cfg(test)]
mod fixture;
