//! `somon-verify mutants`: the mutation matrix. Every scenario
//! named in `scenarios/twins.toml` runs once against the sound
//! reference system and once per defect twin mapped to its claims; a claim
//! check is shown to work when the sound run PASSes it and every mapped
//! twin FAILs it.

mod profiles;
mod render;
mod runs;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use somon_scenarios::{gameday, Exit, Scenario, TwinMap};

use crate::session::Session;
use profiles::Profile;
use render::{render, Cell, Row};
use runs::{run_one, Kind, Planned};

/// Arguments of `somon-verify mutants`.
#[derive(clap::Args)]
pub(crate) struct MutantsArgs {
    /// The twin map: which defects each claim must catch.
    #[arg(long, default_value = "scenarios/twins.toml")]
    map: PathBuf,
    /// Directories holding the scenarios the map names (repeatable): the
    /// catalog, its profiles and game-day plans, and the CI gate suites.
    #[arg(long = "catalog", value_name = "DIR", default_values = ["scenarios/catalog", "scenarios/catalog/profiles", "scenarios/catalog/gamedays", "ci"])]
    catalogs: Vec<PathBuf>,
    /// Run only these scenarios (repeatable): the reduced matrix CI runs.
    #[arg(long = "scenario", value_name = "NAME")]
    only: Vec<String>,
    /// Run only these twins (repeatable), each against the selected
    /// scenarios mapped to it; a scenario mapped to none of them is
    /// skipped, and its other mapped twins are shown as `skipped`. The
    /// profiles, which run against the stand-in service, are left out.
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
    profiles: Vec<Profile>,
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
            match gameday::Plan::from_toml(&path, &text) {
                Ok(plan) if !plan.drills.is_empty() => {
                    let scenario = plan.scenario.clone();
                    by_name.insert(scenario.name.clone(), (path, scenario, Some(plan)));
                }
                _ => {
                    if let Ok(scenario) = Scenario::from_toml(&path, &text) {
                        by_name.insert(scenario.name.clone(), (path, scenario, None));
                    }
                }
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
        let (path, scenario, gameday) = by_name.get(name).with_context(|| {
            format!(
                "{}: no scenario named {name} in the catalog, its game days or the gate suites",
                args.map.display()
            )
        })?;
        // A scenario with a capacity plan gives two kinds of verdicts: its
        // claims from a plain run, its scaling figures from a search. Each
        // twin runs where the verdicts mapped to it come from.
        let figures: Vec<&str> = scenario
            .capacity
            .iter()
            .flat_map(|c| &c.figures)
            .map(|f| f.id.as_str())
            .collect();
        let twins_of = |figure: bool| -> Vec<String> {
            twins
                .iter()
                .filter(|d| {
                    map.entries.iter().any(|e| {
                        e.scenario == name
                            && figures.contains(&e.claim.as_str()) == figure
                            && e.defects.contains(d)
                    })
                })
                .cloned()
                .collect()
        };
        let mut entries = vec![Planned {
            path: path.clone(),
            scenario: scenario.clone(),
            kind: gameday
                .clone()
                .map_or(Kind::Run, |p| Kind::GameDay(Box::new(p))),
            twins: twins_of(false),
        }];
        if !figures.is_empty() {
            entries.push(Planned {
                path: path.clone(),
                scenario: scenario.clone(),
                kind: Kind::Capacity,
                twins: twins_of(true),
            });
        }
        let verdicts: Vec<String> = entries.iter().flat_map(Planned::verdicts).collect();
        for entry in map.entries.iter().filter(|e| e.scenario == name) {
            anyhow::ensure!(
                verdicts.contains(&entry.claim),
                "{}: scenario {name} has no claim {}",
                args.map.display(),
                entry.claim
            );
        }
        scenarios.extend(entries.into_iter().filter(|e| !e.twins.is_empty()));
    }
    let mut profiles = Vec::new();
    for standin in &map.standins {
        let name = &standin.scenario;
        if !args.twins.is_empty() || (!args.only.is_empty() && !args.only.contains(name)) {
            continue;
        }
        let (path, scenario, _) = by_name.get(name).with_context(|| {
            format!(
                "{}: no profile named {name} in the catalog",
                args.map.display()
            )
        })?;
        let knobs: Vec<_> = map
            .knobs
            .iter()
            .filter(|k| &k.scenario == name)
            .cloned()
            .collect();
        for knob in &knobs {
            anyhow::ensure!(
                scenario
                    .claims
                    .iter()
                    .chain(&scenario.alerts)
                    .any(|c| c.id == knob.claim),
                "{}: profile {name} has no claim {}",
                args.map.display(),
                knob.claim
            );
        }
        profiles.push(Profile {
            path: path.clone(),
            scenario: scenario.clone(),
            base: standin.base.clone(),
            knobs,
        });
    }
    anyhow::ensure!(
        !scenarios.is_empty() || !profiles.is_empty(),
        "no scenario selected: {} maps none of the --scenario names to a --defect twin or a stand-in knob",
        args.map.display()
    );
    Ok(Plan {
        map,
        scenarios,
        profiles,
    })
}

async fn matrix(session: &Session, plan: Plan) -> anyhow::Result<Exit> {
    let out = session.out();
    let mut rows: Vec<Row> = Vec::new();
    let mut inconclusive = Vec::new();
    let started = std::time::Instant::now();
    for planned in &plan.scenarios {
        let Planned {
            scenario, twins, ..
        } = planned;
        let first = rows.len();
        for claim in planned.verdicts() {
            rows.push(Row {
                scenario: scenario.name.clone(),
                claim,
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
            eprintln!("mutants: {} × {label}", planned.label());
            let mut dir = out.join(&scenario.name);
            if matches!(planned.kind, Kind::Capacity) {
                dir.push("capacity");
            }
            let ran = run_one(session, planned, defect, &dir.join(label)).await?;
            if let Some(why) = ran.proved_nothing {
                inconclusive.push(format!("{} × {label}: {why}", planned.label()));
            }
            for verdict in &ran.verdicts {
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
    let mut under_way = Vec::new();
    for profile in &plan.profiles {
        under_way.push(profiles::start(session, profile).await?);
    }
    let mut profile_rows = Vec::new();
    for profile in under_way {
        let (rows, unproven) = profiles::finish(profile, out).await?;
        profile_rows.extend(rows);
        inconclusive.extend(unproven);
    }
    if session.control().is_cancelled() {
        anyhow::bail!("interrupted");
    }
    let (text, tally) = render(&plan.map, &rows, &profile_rows);
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
