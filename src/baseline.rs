//! `somon-verify baseline save DIR` and `gate --baseline DIR` (SPEC §5,
//! §7): a finished run condensed into `baseline.json`, and a gate run
//! compared with one — per journey × phase, the per-second p50, p99 and
//! rate, each change judged by a bootstrap confidence interval against the
//! suite's `[regression]` tolerance. A significant regression is a FAIL
//! verdict `regression:<journey>:<stat>` (exit code 1) with the interval
//! in its evidence, in `summary.md`, `regression.md` and `report.html`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use somon_scenarios::regression::{compare, condense, verdicts, Baseline};
use somon_scenarios::{Exit, RunReport, Scenario};

use crate::run::{self, RunFlags};

/// The file a baseline directory holds.
const FILE: &str = "baseline.json";

/// `baseline save RUN_DIR [--out DIR]`: condenses the run directory's
/// `record.json` into `DIR/baseline.json` (default
/// `ci/baselines/<scenario>/`) and says where; exit 2 when the run cannot
/// be a baseline or the file cannot be written.
pub(crate) fn run_save(run_dir: &Path, out: Option<&Path>) -> Exit {
    crate::exit::from_input(
        save(run_dir, out).map(|file| println!("baseline written: {}", file.display())),
    )
}

/// Writes the baseline of `run_dir`; returns the file written.
fn save(run_dir: &Path, out: Option<&Path>) -> anyhow::Result<PathBuf> {
    let record = run_dir.join("record.json");
    let text = std::fs::read_to_string(&record)
        .with_context(|| format!("reading {}", record.display()))?;
    let report: RunReport = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a run record", record.display()))?;
    if !report.status.is_complete() || !report.is_valid() {
        bail!(
            "{}: the run was cut short or INVALID ({:?}); a baseline must be a complete, valid run",
            run_dir.display(),
            report.status
        );
    }
    if !report.manifest.defects.is_empty() {
        bail!(
            "{}: the run had defect twins switched on ({}); a baseline is a sound build",
            run_dir.display(),
            report.manifest.defects.join(", ")
        );
    }
    let baseline = condense(&report).map_err(anyhow::Error::msg)?;
    if baseline.series.is_empty() {
        bail!("{}: no load phase recorded a request", run_dir.display());
    }
    let dir = out.map_or_else(
        || PathBuf::from("ci/baselines").join(&baseline.scenario),
        Path::to_path_buf,
    );
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join(FILE);
    let json = serde_json::to_string_pretty(&baseline)?;
    std::fs::write(&file, json + "\n").with_context(|| format!("writing {}", file.display()))?;
    Ok(file)
}

/// Reads a baseline: `DIR/baseline.json`, or the file itself.
fn load(location: &Path) -> anyhow::Result<Baseline> {
    let file = if location.is_dir() {
        location.join(FILE)
    } else {
        location.to_path_buf()
    };
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("reading the baseline {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a baseline", file.display()))
}

/// `gate --baseline DIR`: runs `suite` and compares it with the baseline.
/// A baseline that cannot be read, or is of another suite, is a usage
/// error (exit 2) before anything runs.
pub(crate) fn gate(suite: &Path, flags: &RunFlags, location: &Path) -> Exit {
    let baseline = match load(location) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Exit::Usage;
        }
    };
    // A suite that does not parse is reported by the run itself.
    if let Ok(text) = std::fs::read_to_string(suite) {
        if let Ok(scenario) = Scenario::from_toml(suite, &text) {
            if scenario.name != baseline.scenario {
                eprintln!(
                    "error: the baseline {} is of scenario \"{}\", the suite {} is \"{}\"",
                    location.display(),
                    baseline.scenario,
                    suite.display(),
                    scenario.name
                );
                return Exit::Usage;
            }
        }
    }
    let where_ = location.display().to_string();
    let amend = |scenario: &Scenario, report: &mut RunReport, dir: &Path| -> anyhow::Result<()> {
        let write = |report: &RunReport| {
            somon_reports::write_run_dir(dir, report)
                .map(drop)
                .with_context(|| format!("writing the run directory {}", dir.display()))
        };
        // A run that ended early compares nothing: its exit code says so.
        if !report.status.is_complete() {
            return write(report);
        }
        let current = condense(report).map_err(anyhow::Error::msg)?;
        let comparisons = compare(&baseline, &current, &scenario.regression);
        let found = verdicts(&comparisons, report);
        report.verdicts.extend(found);
        write(report)?;
        somon_reports::write_regression(dir, &where_, &baseline, &comparisons)
            .with_context(|| format!("writing the regression section into {}", dir.display()))?;
        Ok(())
    };
    run::run_scenario_with(suite, flags, Some(&amend))
}
