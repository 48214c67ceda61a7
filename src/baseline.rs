//! `somon-verify baseline save DIR` and the baseline of `gate --baseline
//! DIR`: a finished run condensed into `baseline.json`, and a gate run
//! compared with one — per journey × phase, the per-second p50, p99 and
//! rate, each change judged by a bootstrap confidence interval against the
//! suite's `[regression]` tolerance (`somon_record::regression::gate`). The
//! comparison is part of the run's report: a significant regression is a
//! FAIL verdict `regression:<journey>:<stat>` (exit code 1) with the
//! interval in its evidence, and the run directory, written once, has the
//! regression section in `summary.md`, `regression.md`, `regression.json`
//! and `report.html`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use somon_scenarios::regression::{self, condense, Baseline};
use somon_scenarios::{Exit, RunReport, Scenario};

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

/// A saved baseline and where it was read from: what `gate --baseline`
/// compares its run with.
pub(crate) struct Saved {
    location: PathBuf,
    baseline: Baseline,
}

impl Saved {
    /// Reads a baseline: `DIR/baseline.json`, or the file itself.
    pub(crate) fn load(location: &Path) -> anyhow::Result<Saved> {
        let file = if location.is_dir() {
            location.join(FILE)
        } else {
            location.to_path_buf()
        };
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading the baseline {}", file.display()))?;
        let baseline = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a baseline", file.display()))?;
        Ok(Saved {
            location: location.to_path_buf(),
            baseline,
        })
    }

    /// Why `scenario` (read from `suite`) cannot be compared with this
    /// baseline: it is of another scenario.
    pub(crate) fn refuses(&self, suite: &Path, scenario: &Scenario) -> Option<String> {
        (scenario.name != self.baseline.scenario).then(|| {
            format!(
                "error: the baseline {} is of scenario \"{}\", the suite {} is \"{}\"",
                self.location.display(),
                self.baseline.scenario,
                suite.display(),
                scenario.name
            )
        })
    }

    /// The finished run compared with the baseline under the scenario's
    /// `[regression]` settings: the comparison into `report.regression`,
    /// its verdicts among the report's (a run cut short is left as it is).
    pub(crate) fn compare(
        &self,
        scenario: &Scenario,
        report: &mut RunReport,
    ) -> anyhow::Result<()> {
        regression::gate(
            report,
            &self.baseline,
            &self.location.display().to_string(),
            &scenario.regression,
        )
        .map_err(anyhow::Error::msg)
    }
}
