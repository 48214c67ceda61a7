//! `somon-verify run SCENARIO` and `somon-verify gate`: check the scenario,
//! run it, write the run directory, print the verdicts, and map the result
//! to an exit code.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use somon_loadgen::RunControl;
use somon_scenarios::{execute, Exit, RunError, RunOptions, RunReport, Scenario, SpawnCommand};

/// Work done on a finished run before its verdicts are printed (`gate
/// --baseline` adds the regression comparison): it may change the report
/// and must write the run directory (the path it is given) itself.
pub(crate) type Amend<'a> = &'a dyn Fn(&Scenario, &mut RunReport, &Path) -> anyhow::Result<()>;

/// Flags shared by `run` and `gate`.
#[derive(clap::Args)]
pub(crate) struct RunFlags {
    /// Run against this HTTP service instead of the scenario's target.
    #[arg(long, value_name = "URL")]
    pub(crate) target: Option<String>,
    /// Switch on a defect twin (a deliberate bug) in the target this run
    /// starts (repeatable). For proving a claim check can fail.
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

/// Runs the scenario in `file` and returns the process exit code.
pub(crate) fn run_scenario(file: &Path, flags: &RunFlags) -> Exit {
    run_scenario_with(file, flags, None)
}

/// [`run_scenario`], with `amend` applied to the finished run.
pub(crate) fn run_scenario_with(file: &Path, flags: &RunFlags, amend: Option<Amend<'_>>) -> Exit {
    init_logging();
    let scenario = match read(file) {
        Ok(scenario) => scenario,
        Err(message) => {
            eprintln!("{message}");
            return Exit::Usage;
        }
    };
    on_runtime(run_async(file, &scenario, flags, amend))
}

/// Runs `work` on a fresh multi-thread runtime and returns its exit code;
/// an error is printed and is exit code 3 (the run proved nothing).
pub(crate) fn on_runtime(work: impl std::future::Future<Output = anyhow::Result<Exit>>) -> Exit {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return Exit::Inconclusive;
        }
    };
    match runtime.block_on(work) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            Exit::Inconclusive
        }
    }
}

async fn run_async(
    file: &Path,
    scenario: &Scenario,
    flags: &RunFlags,
    amend: Option<Amend<'_>>,
) -> anyhow::Result<Exit> {
    let control = RunControl::new();
    // Installed before any Goose attack: Goose's own Ctrl-C handler then
    // finds ours in place and stands down, so the first Ctrl-C ends the
    // run with a partial report instead of Goose's summary.
    watch_ctrl_c(control.clone()).context("installing the Ctrl-C handler")?;
    let scratch = tempfile::Builder::new()
        .prefix("somon-verify-")
        .tempdir()
        .context("creating a scratch directory")?;
    let spawn = spawn_command(flags.embedded)?;
    let options = RunOptions {
        file: Some(file.to_path_buf()),
        target_url: flags.target.clone(),
        spawn,
        defects: flags.defects.clone(),
        work_dir: scratch.path().to_path_buf(),
        control,
        versions: versions(),
        limits: Default::default(),
        shard: flags.shard,
        start_at: flags.start_at,
        method_start: None,
    };
    eprintln!(
        "running {} ({:?} of phases) …",
        scenario.name,
        scenario.duration()
    );
    let mut report = match execute(scenario, &options).await {
        Ok(report) => report,
        Err(e @ RunError::Usage(_)) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage);
        }
        Err(e) => return Err(e.into()),
    };
    let dir = flags.out.clone().unwrap_or_else(|| {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let shard = flags
            .shard
            .map(|s| format!("-shard-{}-of-{}", s.index, s.count))
            .unwrap_or_default();
        PathBuf::from("reports/out").join(format!("{stamp}-{}{shard}", scenario.name))
    });
    // An amended run is written once, by its amendment, with the verdicts
    // it adds.
    match amend {
        Some(amend) => amend(scenario, &mut report, &dir)?,
        None => {
            somon_reports::write_run_dir(&dir, &report)
                .with_context(|| format!("writing the run directory {}", dir.display()))?;
        }
    }
    if flags.json {
        let verdicts = std::fs::read_to_string(dir.join("verdicts.json"))
            .context("reading back verdicts.json")?;
        println!("{verdicts}");
    } else {
        use std::io::IsTerminal as _;
        print!(
            "{}",
            somon_reports::verdict_table(&report, std::io::stdout().is_terminal())
        );
    }
    eprintln!("run directory: {}", dir.display());
    Ok(report.exit_code())
}

/// How to start a `spawn` target: this executable's `serve`; `None` runs
/// the reference system in this process.
pub(crate) fn spawn_command(embedded: bool) -> anyhow::Result<Option<SpawnCommand>> {
    if embedded {
        return Ok(None);
    }
    Ok(Some(SpawnCommand {
        program: std::env::current_exe().context("finding this executable")?,
        args: vec!["serve".into()],
    }))
}

/// The versions a run's manifest records.
pub(crate) fn versions() -> std::collections::BTreeMap<String, String> {
    [(
        "somon-verify".to_owned(),
        env!("CARGO_PKG_VERSION").to_owned(),
    )]
    .into()
}

/// The scenario in `file`, or every problem with `file:line:col`.
pub(crate) fn read(file: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("error: reading {}: {e}", file.display()))?;
    Scenario::from_toml(file, &text).map_err(|e| e.to_string())
}

/// First Ctrl-C (or SIGTERM, as CI cancels a job): cancel the run; it
/// finishes with a partial report and stops its target. Second: leave at
/// once.
pub(crate) fn watch_ctrl_c(control: RunControl) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupts = signal(SignalKind::interrupt())?;
    let mut terminations = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        for round in 0..2 {
            tokio::select! {
                _ = interrupts.recv() => {}
                _ = terminations.recv() => {}
            }
            if round == 0 {
                eprintln!("\ninterrupted: stopping the load and writing a partial report (Ctrl-C again to quit at once)");
                control.cancel();
            } else {
                std::process::exit(130);
            }
        }
    });
    Ok(())
}

/// Progress and warnings on standard error; `RUST_LOG` overrides. Also
/// takes the `log` facade, before Goose would install its own logger.
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,somon_scenarios=info,goose=error")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
