//! `somon-verify merge DIR…`: read the shards' `record.json`, merge them
//! into one run at the whole load, judge it again, write its run directory
//! and print the verdicts, as `run` does for one process.

use std::path::{Path, PathBuf};

use somon_scenarios::{Exit, RunReport, Scenario};

/// Arguments of `merge`.
#[derive(clap::Args)]
pub(crate) struct MergeArgs {
    /// The shards' run directories (each holds record.json).
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// The scenario to judge with (default: the file the shards' manifest
    /// names).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Directory for the merged run (default
    /// `reports/out/<utc>-<scenario>-merged`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print verdicts.json on standard output instead of the table.
    #[arg(long)]
    json: bool,
}

/// Runs `merge` and returns the process exit code: the merged run's (as
/// `run`), 2 for records that are not one run's shards or unreadable
/// input, 3 when the merged directory cannot be written.
pub(crate) fn run_merge(args: &MergeArgs) -> Exit {
    let (scenario, shards) = match inputs(args) {
        Ok(inputs) => inputs,
        Err(message) => {
            eprintln!("error: {message}");
            return Exit::Usage;
        }
    };
    let report = match somon_scenarios::merge(&scenario, shards) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    let dir = crate::session::out_dir(args.out.clone(), &format!("{}-merged", scenario.name));
    if let Err(e) = somon_reports::write_run_dir(&dir, &report) {
        eprintln!("error: writing the run directory {}: {e}", dir.display());
        return Exit::Inconclusive;
    }
    if args.json {
        match std::fs::read_to_string(dir.join("verdicts.json")) {
            Ok(verdicts) => println!("{verdicts}"),
            Err(e) => {
                eprintln!("error: reading back verdicts.json: {e}");
                return Exit::Inconclusive;
            }
        }
    } else {
        use std::io::IsTerminal as _;
        print!(
            "{}",
            somon_reports::verdict_table(&report, std::io::stdout().is_terminal())
        );
    }
    eprintln!("merged run directory: {}", dir.display());
    report.exit_code()
}

/// The scenario and every shard's report, labelled by its directory.
fn inputs(args: &MergeArgs) -> Result<(Scenario, Vec<(String, RunReport)>), String> {
    if let Some(out) = &args.out {
        let same = |dir: &PathBuf| {
            dir == out
                || matches!((dir.canonicalize(), out.canonicalize()), (Ok(a), Ok(b)) if a == b)
        };
        if let Some(dir) = args.dirs.iter().find(|d| same(d)) {
            return Err(format!(
                "--out {} is one of the shards' directories: the merge would overwrite its record",
                dir.display()
            ));
        }
    }
    let mut shards = Vec::with_capacity(args.dirs.len());
    for dir in &args.dirs {
        shards.push((dir.display().to_string(), read_record(dir)?));
    }
    let file = match (&args.scenario, shards.first()) {
        (Some(file), _) => file.clone(),
        (None, Some((label, report))) => match &report.manifest.file {
            Some(file) => PathBuf::from(file),
            None => {
                return Err(format!(
                    "{label}: the record names no scenario file; give it with --scenario FILE"
                ))
            }
        },
        (None, None) => return Err("no shard directory given".into()),
    };
    let scenario = crate::run::read(&file).map_err(|e| {
        let e = e.strip_prefix("error: ").unwrap_or(&e).to_owned();
        if args.scenario.is_none() {
            format!("{e}\n(the scenario named in the shards' manifest; give another with --scenario FILE)")
        } else {
            e
        }
    })?;
    Ok((scenario, shards))
}

fn read_record(dir: &Path) -> Result<RunReport, String> {
    let path = dir.join("record.json");
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: not a run record: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })
}
