//! `somon-verify mutants`: the mutation matrix. Every scenario
//! named in `scenarios/twins.toml` runs once against the sound
//! reference system and once per defect twin mapped to its claims; a claim
//! check is shown to work when the sound run PASSes it and every mapped
//! twin FAILs it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use somon_scenarios::{execute, Exit, Outcome, RunOptions, Scenario, TwinMap};

use crate::session::Session;

/// Arguments of `somon-verify mutants`.
#[derive(clap::Args)]
pub(crate) struct MutantsArgs {
    /// The twin map: which defects each claim must catch.
    #[arg(long, default_value = "scenarios/twins.toml")]
    map: PathBuf,
    /// Directories holding the scenarios the map names (repeatable): the
    /// catalog and the CI gate suites.
    #[arg(long = "catalog", value_name = "DIR", default_values = ["scenarios/catalog", "ci"])]
    catalogs: Vec<PathBuf>,
    /// Run only these scenarios (repeatable): the reduced matrix CI runs.
    #[arg(long = "scenario", value_name = "NAME")]
    only: Vec<String>,
    /// Run only these twins (repeatable), each against the selected
    /// scenarios mapped to it; a scenario mapped to none of them is
    /// skipped, and its other mapped twins are shown as `skipped`.
    #[arg(long = "defect", value_name = "NAME")]
    twins: Vec<String>,
    /// Directory for the runs and the matrix (default
    /// `reports/out/<utc>-mutants`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Run the reference system inside this process.
    #[arg(long)]
    embedded: bool,
}

/// One claim's row: its verdict on the sound system and under each twin.
struct Row {
    scenario: String,
    claim: String,
    sound: Option<Cell>,
    twins: BTreeMap<String, Cell>,
    /// The twins its scenario was planned to run against (all mapped ones,
    /// or those `--defect` named): a mapped twin outside it is `skipped`,
    /// not missed.
    planned: Vec<String>,
}

/// One run's verdict on one claim, with what decided it: a cell that is not
/// what it should be is listed under the table with its evidence, so a CI
/// log says why a twin was missed without the run directories.
struct Cell {
    outcome: Outcome,
    evidence: String,
}

/// Runs the matrix and returns the exit code: 0 when every mapped twin is
/// caught and the sound system passes, 1 when a twin is missed or the
/// sound system fails a claim, 3 when a run proved nothing.
pub(crate) fn run_mutants(args: &MutantsArgs) -> Exit {
    let plan = match plan(args) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("{e:#}");
            return Exit::Usage;
        }
    };
    Session::builder("mutants", "mutants")
        .out(args.out.clone())
        .target(None, args.embedded)
        .run(async |session| matrix(&session, plan).await)
}

/// The map and the scenarios it names, checked before anything runs.
struct Plan {
    map: TwinMap,
    scenarios: Vec<Planned>,
}

/// One scenario to run: sound, then against each of `twins`.
struct Planned {
    path: PathBuf,
    scenario: Scenario,
    twins: Vec<String>,
}

fn plan(args: &MutantsArgs) -> anyhow::Result<Plan> {
    let text = std::fs::read_to_string(&args.map)
        .with_context(|| format!("reading {}", args.map.display()))?;
    let map = TwinMap::from_toml(&args.map, &text).map_err(anyhow::Error::msg)?;
    let mut by_name = BTreeMap::new();
    for dir in &args.catalogs {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "toml") || path == args.map {
                continue;
            }
            let text = std::fs::read_to_string(&path)?;
            if let Ok(scenario) = Scenario::from_toml(&path, &text) {
                by_name.insert(scenario.name.clone(), (path, scenario));
            }
        }
    }
    for twin in &args.twins {
        twin.parse::<somon_system::Defect>()
            .map_err(|e| anyhow::anyhow!("--defect {twin}: {e}"))?;
        anyhow::ensure!(
            map.entries.iter().any(|e| e.defects.contains(twin)),
            "--defect {twin}: {} maps no claim to it",
            args.map.display()
        );
    }
    let mut scenarios = Vec::new();
    for name in map.scenarios() {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == name) {
            continue;
        }
        let twins: Vec<String> = map
            .defects_of(name)
            .into_iter()
            .filter(|d| args.twins.is_empty() || args.twins.iter().any(|t| t == d))
            .map(str::to_owned)
            .collect();
        if twins.is_empty() {
            continue;
        }
        let (path, scenario) = by_name.get(name).with_context(|| {
            format!(
                "{}: no scenario named {name} in the catalog or the gate suites",
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
        scenarios.push(Planned {
            path: path.clone(),
            scenario: scenario.clone(),
            twins,
        });
    }
    anyhow::ensure!(
        !scenarios.is_empty(),
        "no scenario selected: {} maps none of the --scenario names to a --defect twin",
        args.map.display()
    );
    Ok(Plan { map, scenarios })
}

async fn matrix(session: &Session, plan: Plan) -> anyhow::Result<Exit> {
    let out = session.out();
    let mut rows: Vec<Row> = Vec::new();
    let mut inconclusive = Vec::new();
    let started = std::time::Instant::now();
    for Planned {
        path,
        scenario,
        twins,
    } in &plan.scenarios
    {
        let first = rows.len();
        for claim in scenario.claims.iter().chain(&scenario.alerts) {
            rows.push(Row {
                scenario: scenario.name.clone(),
                claim: claim.id.clone(),
                sound: None,
                twins: BTreeMap::new(),
                planned: twins.clone(),
            });
        }
        for defect in std::iter::once(None).chain(twins.iter().map(|d| Some(d.as_str()))) {
            if session.control().is_cancelled() {
                anyhow::bail!("interrupted");
            }
            let label = defect.unwrap_or("sound");
            eprintln!("mutants: {} × {label}", scenario.name);
            let dir = out.join(&scenario.name).join(label);
            let report = run_one(session, path, scenario, defect, &dir).await?;
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
                let cell = Cell {
                    outcome: verdict.outcome,
                    evidence: verdict.evidence.clone(),
                };
                match defect {
                    None => row.sound = Some(cell),
                    Some(d) => {
                        row.twins.insert(d.to_owned(), cell);
                    }
                }
            }
        }
    }
    let (text, tally) = render(&plan.map, &rows);
    print!("{text}");
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("matrix.md"), &text)?;
    for problem in &inconclusive {
        eprintln!("inconclusive: {problem}");
    }
    eprintln!(
        "mutants: {} caught, {} missed, {} false alarm(s), {} unproven on the sound system, {} skipped; {:.0} s; matrix in {}",
        tally.caught,
        tally.missed,
        tally.false_alarms,
        tally.unproven,
        tally.skipped,
        started.elapsed().as_secs_f64(),
        out.join("matrix.md").display()
    );
    Ok(tally.exit_code(!inconclusive.is_empty()))
}

/// What a matrix counted.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    /// Mapped twins that made their claim FAIL.
    caught: usize,
    /// Mapped twins that did not (or whose run is missing).
    missed: usize,
    /// Claims the sound system failed.
    false_alarms: usize,
    /// Claims the sound system neither passed nor failed (UNKNOWN, or no
    /// verdict): a check not shown to pass on a sound system proves nothing
    /// by failing on a twin, so these are no more "0 false alarms" than a
    /// FAIL is.
    unproven: usize,
    /// Mapped twins left out by `--defect`.
    skipped: usize,
}

impl Tally {
    /// 1 when a twin was missed or the sound system failed a claim; 3 when
    /// nothing failed but some run or sound verdict proved nothing; else 0.
    fn exit_code(&self, inconclusive_runs: bool) -> Exit {
        if self.missed > 0 || self.false_alarms > 0 {
            Exit::Fail
        } else if inconclusive_runs || self.unproven > 0 {
            Exit::Inconclusive
        } else {
            Exit::Pass
        }
    }
}

/// One run of `scenario` (at `path`), sound or with `defect` switched on,
/// its run directory written to `dir`. Its scratch files are removed once
/// it is done: a matrix is dozens of runs, each with its own corpus.
async fn run_one(
    session: &Session,
    path: &Path,
    scenario: &Scenario,
    defect: Option<&str>,
    dir: &Path,
) -> anyhow::Result<somon_scenarios::RunReport> {
    let options = RunOptions {
        file: Some(path.to_path_buf()),
        defects: defect.map(|d| vec![d.to_owned()]).unwrap_or_default(),
        ..session.options(&format!("{}-{}", scenario.name, defect.unwrap_or("sound")))
    };
    let report = execute(scenario, &options).await;
    let _ = std::fs::remove_dir_all(&options.work_dir);
    let report = report?;
    somon_reports::write_run_dir(dir, &report)
        .with_context(|| format!("writing {}", dir.display()))?;
    Ok(report)
}

/// The matrix as a Markdown table (readable in a terminal too), with its
/// counts.
fn render(map: &TwinMap, rows: &[Row]) -> (String, Tally) {
    // A column for every twin that ran or is mapped to a row's claim, so a
    // mapped pair left out by `--defect` shows as `skipped`, not `·`.
    let mut defects: Vec<&str> = rows
        .iter()
        .flat_map(|r| {
            let mapped = map
                .entries
                .iter()
                .filter(|e| e.scenario == r.scenario && e.claim == r.claim)
                .flat_map(|e| e.defects.iter().map(String::as_str));
            r.twins.keys().map(String::as_str).chain(mapped)
        })
        .collect();
    defects.sort_unstable();
    defects.dedup();
    let mut tally = Tally::default();
    // Cells that are not what they should be, with their evidence.
    let mut why = String::new();
    let mut explain = |row: &Row, run: &str, cell: &Cell| {
        let _ = writeln!(
            why,
            "- {} / {} × {run}: {}: {}",
            row.scenario,
            row.claim,
            cell.outcome.label(),
            cell.evidence
        );
    };
    let mut text = String::from("| scenario / claim | sound |");
    for d in &defects {
        let _ = write!(text, " {d} |");
    }
    text.push_str("\n| --- | --- |");
    text.push_str(&" --- |".repeat(defects.len()));
    text.push('\n');
    for row in rows {
        let sound = match &row.sound {
            Some(cell) if cell.outcome == Outcome::Pass => "ok",
            Some(cell) => {
                explain(row, "sound", cell);
                if cell.outcome == Outcome::Fail {
                    tally.false_alarms += 1;
                    "FALSE ALARM"
                } else {
                    tally.unproven += 1;
                    "UNKNOWN"
                }
            }
            None => {
                tally.unproven += 1;
                "not run"
            }
        };
        let _ = write!(text, "| {} / {} | {sound} |", row.scenario, row.claim);
        for d in &defects {
            let expected = map.expects(&row.scenario, &row.claim, d);
            let outcome = row.twins.get(*d).map(|c| c.outcome);
            let cell = match (outcome, expected) {
                (Some(Outcome::Fail), true) => {
                    tally.caught += 1;
                    "caught"
                }
                (Some(_), true) => {
                    tally.missed += 1;
                    explain(row, d, &row.twins[*d]);
                    "MISSED"
                }
                (None, true) if !row.planned.iter().any(|p| p == d) => {
                    tally.skipped += 1;
                    "skipped"
                }
                (None, true) => {
                    tally.missed += 1;
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
        "\n{} caught, {} missed, {} false alarm(s) on the sound system",
        tally.caught, tally.missed, tally.false_alarms
    );
    if tally.skipped > 0 {
        let _ = writeln!(
            text,
            "{} mapped pair(s) skipped: not among the twins named with --defect",
            tally.skipped
        );
    }
    if tally.unproven > 0 {
        let _ = writeln!(
            text,
            "{} claim(s) neither passed nor failed on the sound system: their catches prove nothing",
            tally.unproven
        );
    }
    if !why.is_empty() {
        let _ = writeln!(
            text,
            "\nWhy (each cell above that is not as it should be):\n\n{why}"
        );
    }
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
    (text, tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str =
        "[[catch]]\nscenario = \"s\"\nclaim = \"c\"\ndefects = [\"slow-hits\", \"leak\"]\n";

    fn row(sound: Option<Outcome>, twins: &[(&str, Outcome)]) -> Row {
        let cell = |outcome: Outcome| Cell {
            outcome,
            evidence: "p50 = 20 ms".into(),
        };
        Row {
            scenario: "s".into(),
            claim: "c".into(),
            sound: sound.map(cell),
            twins: twins
                .iter()
                .map(|(d, o)| ((*d).to_owned(), cell(*o)))
                .collect(),
            planned: twins.iter().map(|(d, _)| (*d).to_owned()).collect(),
        }
    }

    fn tally(rows: &[Row]) -> (String, Tally) {
        let map = TwinMap::from_toml(Path::new("twins.toml"), MAP).unwrap();
        render(&map, rows)
    }

    #[test]
    fn a_sound_pass_and_every_mapped_twin_failing_is_exit_0() {
        let rows = [row(
            Some(Outcome::Pass),
            &[("slow-hits", Outcome::Fail), ("leak", Outcome::Fail)],
        )];
        let (text, t) = tally(&rows);
        assert_eq!(
            t,
            Tally {
                caught: 2,
                ..Tally::default()
            }
        );
        assert_eq!(t.exit_code(false), Exit::Pass);
        assert_eq!(t.exit_code(true), Exit::Inconclusive);
        assert!(text.contains("| s / c | ok | caught | caught |"), "{text}");
        assert!(!text.contains("Why"), "nothing to explain: {text}");
    }

    #[test]
    fn a_twin_that_passes_or_proves_nothing_is_missed() {
        let rows = [row(
            Some(Outcome::Pass),
            &[("slow-hits", Outcome::Pass), ("leak", Outcome::Unknown)],
        )];
        let (text, t) = tally(&rows);
        assert_eq!(t.missed, 2);
        assert_eq!(t.exit_code(false), Exit::Fail);
        assert!(text.contains("MISSED | MISSED"), "{text}");
        assert!(
            text.contains("- s / c × slow-hits: PASS: p50 = 20 ms"),
            "{text}"
        );
        assert!(
            text.contains("- s / c × leak: UNKNOWN: p50 = 20 ms"),
            "{text}"
        );
    }

    #[test]
    fn a_mapped_twin_left_out_by_defect_is_skipped_not_missed() {
        // Only slow-hits ran: leak, mapped to the claim too, still gets its
        // column, marked skipped.
        let only_slow = row(Some(Outcome::Pass), &[("slow-hits", Outcome::Fail)]);
        let (text, t) = tally(&[only_slow]);
        assert_eq!((t.caught, t.missed, t.skipped), (1, 0, 1), "{text}");
        assert_eq!(t.exit_code(false), Exit::Pass);
        assert!(text.contains("| s / c | ok | skipped | caught |"), "{text}");
        assert!(text.contains("1 mapped pair(s) skipped"), "{text}");

        // Planned but without a verdict is missed.
        let mut unrun = row(Some(Outcome::Pass), &[("slow-hits", Outcome::Fail)]);
        unrun.planned.push("leak".into());
        let (text, t) = tally(&[unrun]);
        assert_eq!((t.missed, t.skipped), (1, 0), "{text}");
        assert!(text.contains("| s / c | ok | not run | caught |"), "{text}");
    }

    #[test]
    fn a_sound_failure_is_a_false_alarm_and_a_sound_unknown_proves_nothing() {
        let both = [("slow-hits", Outcome::Fail), ("leak", Outcome::Fail)];
        let (text, t) = tally(&[row(Some(Outcome::Fail), &both)]);
        assert_eq!(t.false_alarms, 1);
        assert_eq!(t.exit_code(false), Exit::Fail);
        assert!(text.contains("FALSE ALARM"), "{text}");
        assert!(
            text.contains("- s / c × sound: FAIL: p50 = 20 ms"),
            "{text}"
        );

        for sound in [Some(Outcome::Unknown), None] {
            let (text, t) = tally(&[row(sound, &both)]);
            assert_eq!((t.caught, t.false_alarms, t.unproven), (2, 0, 1), "{text}");
            assert_eq!(t.exit_code(false), Exit::Inconclusive, "{text}");
            assert!(text.contains("their catches prove nothing"), "{text}");
        }
    }
}
