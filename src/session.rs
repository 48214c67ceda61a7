//! The scaffolding every command that drives load shares (`run`, `gate`,
//! `capacity`, `gameday`, `mutants`), built in one place: logging, the
//! tokio runtime, Ctrl-C handling, the output directory, how a spawned
//! target is started, a scratch directory, and the [`RunOptions`] of each
//! run.
//!
//! A command checks its input first (a usage error is exit 2 before
//! anything starts), then describes its session with [`Session::builder`]
//! and hands [`Setup::run`] the work to do with it:
//!
//! ```text
//! Session::builder("run", &scenario.name)
//!     .file(file)
//!     .out(flags.out.clone())
//!     .target(flags.target.clone(), flags.embedded)
//!     .defects(flags.defects.clone())
//!     .run(async |session| {
//!         let report = execute(&scenario, &session.options("run")).await?;
//!         // … write session.out(), print, return the exit code
//!     })
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;
use somon_loadgen::RunControl;
use somon_scenarios::{Exit, RunOptions, Shard, SpawnCommand};

/// Where run directories go when `--out` is not given.
const OUT_ROOT: &str = "reports/out";

/// What a command's runs share once started: the Ctrl-C control, the
/// spawn command, the scratch directory and the output directory.
pub(crate) struct Session {
    control: RunControl,
    spawn: Option<SpawnCommand>,
    scratch: tempfile::TempDir,
    out: PathBuf,
    file: Option<PathBuf>,
    target_url: Option<String>,
    defects: Vec<String>,
    shard: Option<Shard>,
    start_at: Option<SystemTime>,
}

/// A session described, not yet started: see [`Session::builder`].
pub(crate) struct Setup {
    command: &'static str,
    name: String,
    out: Option<PathBuf>,
    file: Option<PathBuf>,
    target_url: Option<String>,
    embedded: bool,
    defects: Vec<String>,
    shard: Option<Shard>,
    start_at: Option<SystemTime>,
}

impl Session {
    /// A session of `command` (names its scratch directory) whose output
    /// directory is `--out` or, by default, `reports/out/<utc>-<name>`.
    pub(crate) fn builder(command: &'static str, name: impl Into<String>) -> Setup {
        Setup {
            command,
            name: name.into(),
            out: None,
            file: None,
            target_url: None,
            embedded: false,
            defects: Vec::new(),
            shard: None,
            start_at: None,
        }
    }

    /// The output directory (not created yet).
    pub(crate) fn out(&self) -> &Path {
        &self.out
    }

    /// Cancelled by the first Ctrl-C (or SIGTERM).
    pub(crate) fn control(&self) -> &RunControl {
        &self.control
    }

    /// The options of one run, its scratch files in `work` under the
    /// session's scratch directory, with the session's target, defect
    /// twins, shard and start time.
    pub(crate) fn options(&self, work: &str) -> RunOptions {
        RunOptions {
            file: self.file.clone(),
            target_url: self.target_url.clone(),
            spawn: self.spawn.clone(),
            defects: self.defects.clone(),
            work_dir: self.scratch.path().join(work),
            control: self.control.clone(),
            versions: versions(),
            limits: Default::default(),
            shard: self.shard,
            start_at: self.start_at,
            method_start: None,
        }
    }
}

impl Setup {
    /// `--out DIR`, when given.
    pub(crate) fn out(mut self, out: Option<PathBuf>) -> Setup {
        self.out = out;
        self
    }

    /// The scenario file the runs come from (for the manifest).
    pub(crate) fn file(mut self, file: &Path) -> Setup {
        self.file = Some(file.to_path_buf());
        self
    }

    /// `--target URL`, else the scenario's own target; `embedded` runs a
    /// started reference system inside this process instead of as a child.
    pub(crate) fn target(mut self, url: Option<String>, embedded: bool) -> Setup {
        self.target_url = url;
        self.embedded = embedded;
        self
    }

    /// Defect twins to switch on in the target each run starts.
    pub(crate) fn defects(mut self, defects: Vec<String>) -> Setup {
        self.defects = defects;
        self
    }

    /// `--shard I/N` and `--start-at TIME`.
    pub(crate) fn shard(mut self, shard: Option<Shard>, start_at: Option<SystemTime>) -> Setup {
        self.shard = shard;
        self.start_at = start_at;
        self
    }

    /// Logging on, then `work` on a fresh multi-thread runtime with the
    /// started session; returns its exit code. A session that cannot start,
    /// or work that ends in an error, is printed and is exit code 3 (it
    /// proved nothing).
    pub(crate) fn run<W, F>(self, work: W) -> Exit
    where
        W: FnOnce(Session) -> F,
        F: Future<Output = anyhow::Result<Exit>>,
    {
        init_logging();
        on_runtime(async move { work(self.start()?).await })
    }

    /// Ctrl-C watched, the spawn command found, the scratch directory made.
    fn start(self) -> anyhow::Result<Session> {
        let control = RunControl::new();
        // Installed before any Goose attack: Goose's own Ctrl-C handler then
        // finds ours in place and stands down, so the first Ctrl-C ends the
        // run with a partial report instead of Goose's summary.
        watch_ctrl_c(control.clone()).context("installing the Ctrl-C handler")?;
        let scratch = tempfile::Builder::new()
            .prefix(&format!("somon-{}-", self.command))
            .tempdir()
            .context("creating a scratch directory")?;
        Ok(Session {
            control,
            spawn: spawn_command(self.embedded)?,
            scratch,
            out: out_dir(self.out, &self.name),
            file: self.file,
            target_url: self.target_url,
            defects: self.defects,
            shard: self.shard,
            start_at: self.start_at,
        })
    }
}

/// `out`, or `reports/out/<utc>-<name>`.
pub(crate) fn out_dir(out: Option<PathBuf>, name: &str) -> PathBuf {
    out_dir_with(out, |stamp| format!("{stamp}-{name}"))
}

/// `out`, or `reports/out/NAME` where `name` makes NAME from the time now
/// (`20260101T120000Z`).
pub(crate) fn out_dir_with(out: Option<PathBuf>, name: impl FnOnce(&str) -> String) -> PathBuf {
    out.unwrap_or_else(|| {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        PathBuf::from(OUT_ROOT).join(name(&stamp))
    })
}

/// How to start a `spawn` target: this executable's `serve`; `None` runs
/// the reference system in this process.
fn spawn_command(embedded: bool) -> anyhow::Result<Option<SpawnCommand>> {
    if embedded {
        return Ok(None);
    }
    Ok(Some(SpawnCommand {
        program: std::env::current_exe().context("finding this executable")?,
        args: vec!["serve".into()],
    }))
}

/// The versions a run's manifest records.
fn versions() -> BTreeMap<String, String> {
    [(
        "somon-verify".to_owned(),
        env!("CARGO_PKG_VERSION").to_owned(),
    )]
    .into()
}

/// Runs `work` on a fresh multi-thread runtime and returns its exit code;
/// an error is printed and is exit code 3 (the run proved nothing).
fn on_runtime(work: impl Future<Output = anyhow::Result<Exit>>) -> Exit {
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

/// First Ctrl-C (or SIGTERM, as CI cancels a job): cancel the run; it
/// finishes with a partial report and stops its target. Second: leave at
/// once.
fn watch_ctrl_c(control: RunControl) -> std::io::Result<()> {
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
fn init_logging() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_output_directory_is_stamped_under_reports_out() {
        let given = PathBuf::from("/tmp/mine");
        assert_eq!(out_dir(Some(given.clone()), "quick"), given);
        let dir = out_dir(None, "quick");
        assert_eq!(dir.parent(), Some(Path::new(OUT_ROOT)));
        let name = dir.file_name().unwrap().to_str().unwrap();
        let (stamp, rest) = name.split_at(16);
        assert_eq!(rest, "-quick");
        assert!(
            stamp.ends_with('Z') && stamp.as_bytes()[8] == b'T',
            "{name}"
        );
        let compare = out_dir_with(None, |stamp| format!("compare-{stamp}"));
        let name = compare.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("compare-2") && name.ends_with('Z'),
            "{name}"
        );
    }
}
