//! `somon-verify run SCENARIO` and `somon-verify gate`: check the scenario,
//! run it, write the run directory, print the verdicts, and map the result
//! to an exit code.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use somon_scenarios::{execute, Exit, RunError, Scenario};

use crate::baseline::Saved;
use crate::session::Session;

/// Flags shared by `run` and `gate`.
#[derive(clap::Args)]
pub(crate) struct RunFlags {
    /// Run against this HTTP service instead of the scenario's target:
    /// `http://host[:port][/prefix]`, every request's path under the prefix.
    #[arg(long, value_name = "URL", value_parser = target_url)]
    pub(crate) target: Option<String>,
    /// Switch on a defect twin in the target this run starts
    /// (repeatable). For proving a claim check can fail.
    #[arg(long = "defect", value_name = "NAME")]
    pub(crate) defects: Vec<String>,
    /// Run the reference system inside this process instead of as a child
    /// process (faster to start; load and target then share a process).
    #[arg(long)]
    pub(crate) embedded: bool,
    /// Directory for the run's files (default `reports/out/<utc>-<scenario>`).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Print verdicts.json on standard output instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Run only shard I of N of every phase's load (users and rates split
    /// exactly, a seed per shard); needs --target. Only shard 0 applies
    /// faults, operator actions and probes. `merge` adds the shards up.
    #[arg(long, value_name = "I/N")]
    pub(crate) shard: Option<somon_scenarios::Shard>,
    /// Start the run clock at this time (RFC 3339, e.g.
    /// 2026-01-01T12:00:00Z, or Unix milliseconds), after the target is
    /// ready: shards started apart then measure the same seconds.
    #[arg(long, value_name = "TIME", value_parser = parse_start_at)]
    pub(crate) start_at: Option<std::time::SystemTime>,
}

/// `--start-at`: RFC 3339 or Unix milliseconds.
fn parse_start_at(text: &str) -> Result<std::time::SystemTime, String> {
    if let Ok(ms) = text.trim().parse::<u64>() {
        return Ok(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms));
    }
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(std::time::SystemTime::from)
        .map_err(|e| {
            format!(
                "`{text}` is neither RFC 3339 (2026-01-01T12:00:00Z) nor Unix milliseconds: {e}"
            )
        })
}

/// `gate`: the suite run as `run` runs a scenario and, with `--baseline`,
/// compared with a saved baseline. A baseline that cannot be read, or is
/// of another suite, is a usage error (exit 2) before anything runs.
pub(crate) fn run_gate(suite: &Path, baseline: Option<&Path>, flags: &RunFlags) -> Exit {
    let baseline = match baseline.map(Saved::load).transpose() {
        Ok(baseline) => baseline,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Exit::Usage;
        }
    };
    run(suite, flags, baseline.as_ref())
}

/// `--target`, checked as the load generator will read it (a usage error,
/// exit 2, before anything starts).
fn target_url(url: &str) -> Result<String, String> {
    somon_loadgen::BaseUrl::parse(url).map(|_| url.to_owned())
}

/// Runs the scenario in `file` and returns the process exit code.
pub(crate) fn run_scenario(file: &Path, flags: &RunFlags) -> Exit {
    run(file, flags, None)
}

fn run(file: &Path, flags: &RunFlags, baseline: Option<&Saved>) -> Exit {
    let scenario = match read(file) {
        Ok(scenario) => scenario,
        Err(message) => {
            eprintln!("{message}");
            return Exit::Usage;
        }
    };
    if let Some(refusal) = baseline.and_then(|b| b.refuses(file, &scenario)) {
        eprintln!("{refusal}");
        return Exit::Usage;
    }
    let shard = flags
        .shard
        .map(|s| format!("-shard-{}-of-{}", s.index, s.count))
        .unwrap_or_default();
    Session::builder("run", format!("{}{shard}", scenario.name))
        .file(file)
        .out(flags.out.clone())
        .target(flags.target.clone(), flags.embedded)
        .defects(flags.defects.clone())
        .shard(flags.shard, flags.start_at)
        .run(async |session| run_async(&session, &scenario, flags, baseline).await)
}

async fn run_async(
    session: &Session,
    scenario: &Scenario,
    flags: &RunFlags,
    baseline: Option<&Saved>,
) -> anyhow::Result<Exit> {
    eprintln!(
        "running {} ({:?} of phases) …",
        scenario.name,
        scenario.duration()
    );
    let mut report = match execute(scenario, &session.options("run")).await {
        Ok(report) => report,
        Err(e @ RunError::Usage(_)) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage);
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(baseline) = baseline {
        baseline.compare(scenario, &mut report)?;
    }
    let dir = session.out();
    somon_reports::write_run_dir_redacted(dir, &report, &scenario.secrets)
        .with_context(|| format!("writing the run directory {}", dir.display()))?;
    if flags.json {
        let verdicts = std::fs::read_to_string(dir.join("verdicts.json"))
            .context("reading back verdicts.json")?;
        println!("{verdicts}");
    } else {
        use std::io::IsTerminal as _;
        let table = somon_reports::verdict_table(&report, std::io::stdout().is_terminal());
        print!("{}", scenario.secrets.redact(&table));
    }
    eprintln!("run directory: {}", dir.display());
    Ok(report.exit_code())
}

/// The scenario in `file`, or every problem with `file:line:col`.
pub(crate) fn read(file: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("error: reading {}: {e}", file.display()))?;
    Scenario::from_toml(file, &text).map_err(|e| e.to_string())
}
