//! One run of the matrix: a scenario, a game-day plan or a capacity search,
//! sound or with one defect twin switched on, reduced to the verdicts it
//! gave and whether it proved anything.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use somon_scenarios::capacity::{self, Stop};
use somon_scenarios::{execute, gameday, RunOptions, RunReport, Scenario, Verdict};

use crate::session::Session;

/// What a planned entry runs, and so which verdicts it gives.
pub(super) enum Kind {
    /// The scenario: its claims and alerts.
    Run,
    /// A game-day plan, run as `gameday` runs it: its drills (`drill ID`)
    /// are judged from the run its driver watched and acted on.
    GameDay(Box<gameday::Plan>),
    /// The scenario's capacity search: its scaling figures, judged on the
    /// curve the steps measured.
    Capacity,
}

/// One scenario to run: sound, then against each of `twins`.
pub(super) struct Planned {
    pub(super) path: PathBuf,
    pub(super) scenario: Scenario,
    pub(super) kind: Kind,
    pub(super) twins: Vec<String>,
}

impl Planned {
    /// Every verdict this entry's runs give.
    pub(super) fn verdicts(&self) -> Vec<String> {
        let s = &self.scenario;
        match &self.kind {
            Kind::Run => s
                .claims
                .iter()
                .chain(&s.alerts)
                .map(|c| c.id.clone())
                .collect(),
            Kind::GameDay(plan) => s
                .claims
                .iter()
                .chain(&s.alerts)
                .map(|c| c.id.clone())
                .chain(plan.drills.iter().map(|d| format!("drill {}", d.id)))
                .collect(),
            Kind::Capacity => s
                .capacity
                .iter()
                .flat_map(|c| &c.figures)
                .map(|f| f.id.clone())
                .collect(),
        }
    }

    /// Its label in the matrix's progress lines and run directories.
    pub(super) fn label(&self) -> String {
        match self.kind {
            Kind::Capacity => format!("{} (capacity search)", self.scenario.name),
            _ => self.scenario.name.clone(),
        }
    }
}

/// What one run gave.
pub(super) struct Ran {
    pub(super) verdicts: Vec<Verdict>,
    /// Why the run proved nothing, when it did not.
    pub(super) proved_nothing: Option<String>,
}

/// Runs `planned`, sound or with `defect` switched on, its run
/// directories written under `dir`. Scratch files are removed once it is
/// done: a matrix is dozens of runs, each with its own corpus.
pub(super) async fn run_one(
    session: &Session,
    planned: &Planned,
    defect: Option<&str>,
    dir: &Path,
) -> anyhow::Result<Ran> {
    let scenario = &planned.scenario;
    let name = &scenario.name;
    let options = |work: String| RunOptions {
        file: Some(planned.path.clone()),
        defects: defect.map(|d| vec![d.to_owned()]).unwrap_or_default(),
        ..session.options(&work)
    };
    let work = format!("{name}-{}", defect.unwrap_or("sound"));
    match &planned.kind {
        Kind::Run => {
            let options = options(work);
            let report = execute(scenario, &options).await;
            let _ = std::fs::remove_dir_all(&options.work_dir);
            let report = report?;
            write(dir, &report)?;
            Ok(ran(report, defect.is_some()))
        }
        Kind::GameDay(plan) => {
            let options = options(work);
            let result = gameday::run(plan, &options, Arc::new(|_: &gameday::Live| {})).await;
            let _ = std::fs::remove_dir_all(&options.work_dir);
            let (report, drills) = result?;
            somon_reports::write_gameday(dir, &drills)
                .with_context(|| format!("writing gameday.json into {}", dir.display()))?;
            write(dir, &report)?;
            Ok(ran(report, defect.is_some()))
        }
        Kind::Capacity => {
            let spec = scenario
                .capacity
                .as_ref()
                .context("a capacity entry without a [capacity] plan")?;
            let mut written = Ok(());
            let report = capacity::search(
                scenario,
                spec,
                |step| options(format!("{work}-{}", step.load)),
                |step, report| {
                    eprintln!("mutants:   step {}: {:?}", step.load, step.outcome);
                    if written.is_ok() {
                        written = write(&dir.join(format!("step-{}", step.load)), report);
                    }
                },
            )
            .await?;
            written?;
            // The curve and the figures' evidence (`capacity.md`), as
            // `capacity` writes them.
            crate::capacity::write_curve(dir, scenario, &report)?;
            for step in &report.steps {
                let _ = std::fs::remove_dir_all(options(format!("{work}-{}", step.load)).work_dir);
            }
            let proved_nothing = (report.stop == Stop::Cancelled)
                .then(|| "the capacity search was cut short".to_owned());
            Ok(Ran {
                verdicts: report.figures,
                proved_nothing,
            })
        }
    }
}

fn write(dir: &Path, report: &RunReport) -> anyhow::Result<()> {
    somon_reports::write_run_dir(dir, report)
        .with_context(|| format!("writing {}", dir.display()))?;
    Ok(())
}

/// A run's verdicts, and whether it proved anything. A twin that makes
/// the target fall behind invalidates the run (drops at the in-flight
/// cap); with the generator on schedule its failed claims are still the
/// twin caught, as in `capacity`.
fn ran(report: RunReport, twin: bool) -> Ran {
    let target_fell_behind = twin
        && report
            .record
            .phases
            .iter()
            .all(|p| report.generator_kept_up(&p.name));
    let proved_nothing =
        (!report.status.is_complete() || (!report.is_valid() && !target_fell_behind)).then(|| {
            report
                .reason
                .clone()
                .unwrap_or_else(|| "run INVALID".into())
        });
    Ran {
        verdicts: report.verdicts,
        proved_nothing,
    }
}
