//! `somon-verify mutants`: the mutation matrix of SPEC §8. Every scenario
//! named in `scenarios/twins.toml` runs once against the sound
//! reference system and once per defect twin mapped to its claims; a claim
//! check is shown to work when the sound run PASSes it and every mapped
//! twin FAILs it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use somon_loadgen::RunControl;
use somon_scenarios::{execute, exit, Outcome, RunOptions, Scenario, TwinMap};

/// Arguments of `somon-verify mutants`.
#[derive(clap::Args)]
pub(crate) struct MutantsArgs {
    /// The twin map: which defects each claim must catch.
    #[arg(long, default_value = "scenarios/twins.toml")]
    map: PathBuf,
    /// The catalog directory holding the scenarios the map names.
    #[arg(long, default_value = "scenarios/catalog")]
    catalog: PathBuf,
    /// Run only these scenarios (repeatable): the reduced matrix CI runs.
    #[arg(long = "scenario", value_name = "NAME")]
    only: Vec<String>,
    /// Directory for the runs and the matrix (default
    /// `reports/out/<utc>-mutants`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Run the reference system inside this process.
    #[arg(long)]
    embedded: bool,
}

/// One claim's row: its outcome on the sound system and under each twin.
struct Row {
    scenario: String,
    claim: String,
    sound: Option<Outcome>,
    twins: BTreeMap<String, Outcome>,
}

/// Runs the matrix and returns the exit code: 0 when every mapped twin is
/// caught and the sound system passes, 1 when a twin is missed or the
/// sound system fails a claim, 3 when a run proved nothing.
pub(crate) fn run_mutants(args: &MutantsArgs) -> u8 {
    crate::run::init_logging();
    let plan = match plan(args) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("{e:#}");
            return exit::USAGE;
        }
    };
    crate::run::on_runtime(matrix(args, plan))
}

/// The map and the scenarios it names, checked before anything runs.
struct Plan {
    map: TwinMap,
    scenarios: Vec<(PathBuf, Scenario)>,
}

fn plan(args: &MutantsArgs) -> anyhow::Result<Plan> {
    let text = std::fs::read_to_string(&args.map)
        .with_context(|| format!("reading {}", args.map.display()))?;
    let map = TwinMap::from_toml(&args.map, &text).map_err(anyhow::Error::msg)?;
    let mut by_name = BTreeMap::new();
    for entry in std::fs::read_dir(&args.catalog)
        .with_context(|| format!("reading {}", args.catalog.display()))?
    {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "toml") || path == args.map {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        if let Ok(scenario) = Scenario::from_toml(&path, &text) {
            by_name.insert(scenario.name.clone(), (path, scenario));
        }
    }
    let mut scenarios = Vec::new();
    for name in map.scenarios() {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == name) {
            continue;
        }
        let (path, scenario) = by_name.get(name).with_context(|| {
            format!(
                "{}: no scenario named {name} in the catalog",
                args.map.display()
            )
        })?;
        for entry in map.entries.iter().filter(|e| e.scenario == name) {
            anyhow::ensure!(
                scenario
                    .claims
                    .iter()
                    .chain(&scenario.alerts)
                    .any(|c| c.id == entry.claim),
                "{}: scenario {name} has no claim {}",
                args.map.display(),
                entry.claim
            );
        }
        scenarios.push((path.clone(), scenario.clone()));
    }
    anyhow::ensure!(!scenarios.is_empty(), "no scenario selected");
    Ok(Plan { map, scenarios })
}

async fn matrix(args: &MutantsArgs, plan: Plan) -> anyhow::Result<u8> {
    let control = RunControl::new();
    crate::run::watch_ctrl_c(control.clone()).context("installing the Ctrl-C handler")?;
    let out = args.out.clone().unwrap_or_else(|| {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        PathBuf::from("reports/out").join(format!("{stamp}-mutants"))
    });
    let mut rows: Vec<Row> = Vec::new();
    let mut inconclusive = Vec::new();
    for (path, scenario) in &plan.scenarios {
        let defects = plan.map.defects_of(&scenario.name);
        let first = rows.len();
        for claim in scenario.claims.iter().chain(&scenario.alerts) {
            rows.push(Row {
                scenario: scenario.name.clone(),
                claim: claim.id.clone(),
                sound: None,
                twins: BTreeMap::new(),
            });
        }
        for defect in std::iter::once(None).chain(defects.iter().copied().map(Some)) {
            if control.is_cancelled() {
                anyhow::bail!("interrupted");
            }
            let label = defect.unwrap_or("sound");
            eprintln!("mutants: {} × {label}", scenario.name);
            let dir = out.join(&scenario.name).join(label);
            let report = run_one(args, path, scenario, defect, &control, &dir).await?;
            // A twin that makes the target fall behind invalidates the run
            // (drops at the in-flight cap); with the generator on schedule
            // its failed claims are still the twin caught, as in `capacity`.
            let target_fell_behind = defect.is_some()
                && report
                    .record
                    .phases
                    .iter()
                    .all(|p| report.generator_kept_up(&p.name));
            if !report.status.is_complete() || (!report.is_valid() && !target_fell_behind) {
                inconclusive.push(format!(
                    "{} × {label}: {}",
                    scenario.name,
                    report
                        .reason
                        .clone()
                        .unwrap_or_else(|| "run INVALID".into())
                ));
            }
            for verdict in &report.verdicts {
                let Some(row) = rows[first..].iter_mut().find(|r| r.claim == verdict.claim) else {
                    continue;
                };
                match defect {
                    None => row.sound = Some(verdict.outcome),
                    Some(d) => {
                        row.twins.insert(d.to_owned(), verdict.outcome);
                    }
                }
            }
        }
    }
    let (text, caught, missed, false_alarms) = render(&plan.map, &rows);
    print!("{text}");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("matrix.md"), &text)?;
    for problem in &inconclusive {
        eprintln!("inconclusive: {problem}");
    }
    eprintln!(
        "mutants: {caught} caught, {missed} missed, {false_alarms} false alarm(s); matrix in {}",
        out.join("matrix.md").display()
    );
    Ok(if missed > 0 || false_alarms > 0 {
        exit::FAIL
    } else if !inconclusive.is_empty() {
        exit::INCONCLUSIVE
    } else {
        exit::PASS
    })
}

async fn run_one(
    args: &MutantsArgs,
    path: &Path,
    scenario: &Scenario,
    defect: Option<&str>,
    control: &RunControl,
    dir: &Path,
) -> anyhow::Result<somon_scenarios::RunReport> {
    let scratch = tempfile::Builder::new()
        .prefix("somon-mutants-")
        .tempdir()
        .context("creating a scratch directory")?;
    let options = RunOptions {
        file: Some(path.to_path_buf()),
        spawn: crate::run::spawn_command(args.embedded)?,
        defects: defect.map(|d| vec![d.to_owned()]).unwrap_or_default(),
        work_dir: scratch.path().to_path_buf(),
        control: control.clone(),
        versions: crate::run::versions(),
        ..RunOptions::default()
    };
    let report = execute(scenario, &options).await?;
    somon_reports::write_run_dir(dir, &report)
        .with_context(|| format!("writing {}", dir.display()))?;
    Ok(report)
}

/// The matrix as a Markdown table (readable in a terminal too), with the
/// counts: mapped twins caught, mapped twins missed, sound-run failures.
fn render(map: &TwinMap, rows: &[Row]) -> (String, usize, usize, usize) {
    let mut defects: Vec<&str> = rows
        .iter()
        .flat_map(|r| r.twins.keys().map(String::as_str))
        .collect();
    defects.sort_unstable();
    defects.dedup();
    let (mut caught, mut missed, mut false_alarms) = (0, 0, 0);
    let mut text = String::from("| scenario / claim | sound |");
    for d in &defects {
        let _ = write!(text, " {d} |");
    }
    text.push_str("\n| --- | --- |");
    text.push_str(&" --- |".repeat(defects.len()));
    text.push('\n');
    for row in rows {
        let sound = match row.sound {
            Some(Outcome::Pass) => "ok",
            Some(Outcome::Fail) => {
                false_alarms += 1;
                "FALSE ALARM"
            }
            Some(Outcome::Unknown) => "unknown",
            None => "not run",
        };
        let _ = write!(text, "| {} / {} | {sound} |", row.scenario, row.claim);
        for d in &defects {
            let expected = map.expects(&row.scenario, &row.claim, d);
            let cell = match (row.twins.get(*d), expected) {
                (Some(Outcome::Fail), true) => {
                    caught += 1;
                    "caught"
                }
                (Some(_), true) => {
                    missed += 1;
                    "MISSED"
                }
                (None, true) => {
                    missed += 1;
                    "not run"
                }
                (Some(Outcome::Fail), false) => "(fails too)",
                (Some(_), false) | (None, false) => "·",
            };
            let _ = write!(text, " {cell} |");
        }
        text.push('\n');
    }
    let _ = writeln!(
        text,
        "\n{caught} caught, {missed} missed, {false_alarms} false alarm(s) on the sound system"
    );
    if !map.uncovered.is_empty() {
        let _ = writeln!(
            text,
            "\nNot yet shown to fail ({} claim(s) without a twin, not run here):\n",
            map.uncovered.len()
        );
        for u in &map.uncovered {
            let _ = writeln!(text, "- {} / {}: {}", u.scenario, u.claim, u.reason);
        }
    }
    (text, caught, missed, false_alarms)
}
