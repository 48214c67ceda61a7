//! `somon-verify gameday PLAN`: check the plan, run it with a live progress
//! line on standard error, write the run directory (with `gameday.json`),
//! print the verdicts and the drills, and map the result to an exit code
//! (the drills are verdicts like the claims).

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;
use somon_scenarios::gameday::{self, Live, Plan};
use somon_scenarios::{Exit, RunError};

use crate::session::Session;

/// Flags of `gameday`.
#[derive(clap::Args)]
pub(crate) struct GameDayFlags {
    /// Switch on a defect twin in the target (repeatable): a drill of a
    /// broken system should FAIL.
    #[arg(long = "defect", value_name = "NAME")]
    defects: Vec<String>,
    /// Run the reference system inside this process instead of as a child
    /// process (process faults then need a spawned target).
    #[arg(long)]
    embedded: bool,
    /// Directory for the run's files (default `reports/out/<utc>-<plan>`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Runs the plan in `file` and returns the process exit code.
pub(crate) fn run_gameday(file: &Path, flags: &GameDayFlags) -> Exit {
    let plan = match std::fs::read_to_string(file) {
        Ok(text) => match Plan::from_toml(file, &text) {
            Ok(plan) => plan,
            Err(e) => {
                eprintln!("{e}");
                return Exit::Usage;
            }
        },
        Err(e) => {
            eprintln!("error: reading {}: {e}", file.display());
            return Exit::Usage;
        }
    };
    Session::builder("gameday", plan.scenario.name.clone())
        .file(file)
        .out(flags.out.clone())
        .target(None, flags.embedded)
        .defects(flags.defects.clone())
        .run(async |session| run_async(&session, &plan).await)
}

async fn run_async(session: &Session, plan: &Plan) -> anyhow::Result<Exit> {
    eprintln!(
        "game day {} ({} drills, {:?} of phases) …",
        plan.scenario.name,
        plan.drills.len(),
        plan.scenario.duration()
    );
    let tty = std::io::stderr().is_terminal();
    let last = Arc::new(Mutex::new(String::new()));
    let progress = {
        let last = last.clone();
        Arc::new(move |live: &Live| {
            let status = live.drills.join(" · ");
            let mut last = last.lock().unwrap_or_else(PoisonError::into_inner);
            let line = format!(
                "[{:5.1}/{:.0} s] {status}",
                live.elapsed.as_secs_f64(),
                live.planned.as_secs_f64()
            );
            if tty {
                // One line, redrawn in place.
                eprint!("\r\x1b[2K{line}");
                let _ = std::io::stderr().flush();
            } else if *last != status {
                eprintln!("{line}");
            }
            *last = status;
        })
    };
    let result = gameday::run(plan, &session.options("gameday"), progress).await;
    if tty {
        eprintln!();
    }
    let (report, drills) = match result {
        Ok(done) => done,
        Err(e @ RunError::Usage(_)) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage);
        }
        Err(e) => return Err(e.into()),
    };
    let dir = session.out();
    somon_reports::write_gameday(dir, &drills)
        .with_context(|| format!("writing gameday.json into {}", dir.display()))?;
    somon_reports::write_run_dir_redacted(dir, &report, &plan.scenario.secrets)
        .with_context(|| format!("writing the run directory {}", dir.display()))?;
    print!(
        "{}",
        somon_reports::verdict_table(&report, std::io::stdout().is_terminal())
    );
    print!("{}", somon_reports::drill_table(&drills));
    eprintln!("run directory: {}", dir.display());
    Ok(report.exit_code())
}
