//! The orchestrator: from a checked [`Scenario`] to a [`RunReport`].
//!
//! Order of a run: generate the corpus; start the fake registry and its
//! fault proxy (when the corpus has externals or a fault needs them); start
//! the target pointed at them and wait until it is ready; check the steady
//! state; run the phases back to back while the fault timeline runs on the
//! same clock and the target is sampled; roll every fault back; check the
//! steady state again; judge every claim. Ctrl-C (a cancelled
//! [`RunControl`]), an abort condition, or the target dying still produce a
//! report — partial, with the reason, and never a PASS it did not earn.

mod checks;
mod faults;
mod manifest;
mod phase;
mod probes;
mod setup;
mod steady;
mod target;
mod watch;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use somon_chaos::{Operator, RunClock, Targets};
use somon_loadgen::{RunControl, ValidityLimits};

pub use target::SpawnCommand;

use crate::{
    judge_run, Outcome, PhaseRun, PhaseValidity, RunRecord, RunReport, RunStatus, Scenario, Shard,
    ShardManifest, Target,
};
use target::{RunningTarget, TargetSetup};
use watch::{StopReason, Stopped};

/// How long a target may take to answer `/ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A run that could not start (nothing was measured).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The options contradict the scenario.
    #[error("{0}")]
    Usage(String),
    /// Preparing the corpus, registry or workload failed.
    #[error("setting up the run: {0}")]
    Setup(String),
    /// The target could not be started or never became ready.
    #[error("target: {0}")]
    Target(String),
    /// The load generator rejected a phase.
    #[error("load: {0}")]
    Load(String),
}

/// How to run a scenario.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// The scenario file (for the manifest).
    pub file: Option<PathBuf>,
    /// Run against this URL instead of the scenario's target.
    pub target_url: Option<String>,
    /// How to start a `spawn` target; without it a `spawn` scenario runs
    /// the reference system embedded instead (tests).
    pub spawn: Option<SpawnCommand>,
    /// Defect twins (deliberate bugs) to switch on in a target this run
    /// starts.
    pub defects: Vec<String>,
    /// Scratch directory: the corpus and the target's config go here.
    pub work_dir: PathBuf,
    /// Cancelling it (Ctrl-C) ends the run early with a partial report.
    pub control: RunControl,
    /// Versions to put in the manifest (`somon-verify`, …).
    pub versions: BTreeMap<String, String>,
    /// When a phase's generator counts as having kept up: a phase beyond
    /// them is invalid and none of its verdicts can PASS.
    pub limits: ValidityLimits,
    /// Run only this share of every phase (`--shard I/N`); needs a target
    /// URL, since N generators must aim at one system. Only shard 0 applies
    /// faults, operator actions and probes.
    pub shard: Option<Shard>,
    /// Wait until this wall-clock time before the run clock starts (after
    /// the target is ready and the steady state held), so the clocks of
    /// shards on different machines start together.
    pub start_at: Option<SystemTime>,
    /// Told the target's address and the run clock when the method starts
    /// (after the steady state held), so a game day can watch and act live.
    pub method_start: Option<tokio::sync::mpsc::UnboundedSender<MethodStart>>,
}

/// The method has started: where the target answers and the clock that
/// fault times count on.
#[derive(Clone, Debug)]
pub struct MethodStart {
    /// `http://127.0.0.1:PORT` of the target.
    pub base: String,
    /// The run clock (`at` of faults and samples count from its start).
    pub clock: RunClock,
}

/// Runs `scenario` and judges its claims.
///
/// # Errors
/// [`RunError`] when the run cannot start: bad options, a corpus or
/// registry that cannot be set up, a target that never gets ready. Once the
/// target is ready every ending — complete, interrupted, aborted, crashed —
/// is a [`RunReport`].
pub async fn execute(scenario: &Scenario, options: &RunOptions) -> Result<RunReport, RunError> {
    let began = Instant::now();
    let (kind, config) = match (&options.target_url, &scenario.target) {
        (Some(url), _) | (None, Target::Url(url)) => (TargetKind::Url(url.clone()), None),
        (None, Target::Embedded { config }) => (TargetKind::Embedded, Some(config)),
        (None, Target::Spawn { config }) if options.spawn.is_some() => {
            (TargetKind::Spawn, Some(config))
        }
        (None, Target::Spawn { config }) => (TargetKind::Embedded, Some(config)),
    };
    if matches!(kind, TargetKind::Url(_)) && !options.defects.is_empty() {
        return Err(RunError::Usage(
            "--defect needs a target this run starts (embedded or spawn), not a URL".into(),
        ));
    }
    if matches!(kind, TargetKind::Embedded) && options.defects.iter().any(|d| d == "busy-poll") {
        // The twin's pollers spin on every core of the process they run in:
        // embedded, that is the generator's, and the run would measure a
        // starved generator rather than the target.
        return Err(RunError::Usage(
            "--defect busy-poll needs a spawned target: embedded, its pollers would spin in \
             the load generator's own process (drop --embedded)"
                .into(),
        ));
    }
    if options.shard.is_some() && !matches!(kind, TargetKind::Url(_)) {
        return Err(RunError::Usage(
            "--shard needs the target given (--target URL or a scenario with kind = \"url\"): \
             N shard processes cannot each start their own target and call it one system"
                .into(),
        ));
    }
    let mut manifest = manifest::build(
        scenario,
        options.file.as_deref(),
        kind.describe(),
        &options.defects,
        &options.versions,
    );
    std::fs::create_dir_all(&options.work_dir)
        .map_err(|e| RunError::Setup(format!("creating {}: {e}", options.work_dir.display())))?;

    let ours = !matches!(kind, TargetKind::Url(_));
    let corpus_dir = options.work_dir.join("corpus");
    // A shard aims at a target someone else started with the scenario's
    // corpus; the same seed generates the same tree here, so the journeys
    // know its module ids.
    let modules = if ours || options.shard.is_some() {
        setup::corpus(&corpus_dir, &scenario.corpus, scenario.seed)?
    } else {
        setup::Modules::default()
    };
    let registry =
        if ours && (!modules.externals.is_empty() || faults::needs_registry(&scenario.faults)) {
            Some(setup::Registry::start(&modules.externals, scenario.seed).await?)
        } else {
            None
        };
    let no_config = BTreeMap::new();
    let target_setup = TargetSetup {
        root: &corpus_dir,
        config: config.unwrap_or(&no_config),
        externals: &modules.externals,
        registry: registry.as_ref().map(setup::Registry::url),
        defects: &options.defects,
        work_dir: &options.work_dir,
    };
    let target = match &kind {
        TargetKind::Url(url) => RunningTarget::url(url),
        TargetKind::Embedded => RunningTarget::embedded(&target_setup)?,
        TargetKind::Spawn => {
            let command = options.spawn.as_ref().expect("checked above");
            RunningTarget::spawn(command, &target_setup).await?
        }
    };
    if let Err(e) = target.wait_until_ready(READY_TIMEOUT).await {
        target.stop().await;
        return Err(e);
    }
    tracing::info!(scenario = %scenario.name, target = %target.base, "target ready");

    let mut report = run_method(scenario, options, &target, registry.as_ref(), &modules).await;
    target.stop().await;
    manifest.wall_time = began.elapsed();
    // The shard part was filled in when the run clock started.
    manifest.shard = report.manifest.shard.take();
    report.manifest = manifest;
    Ok(report)
}

/// Where the target comes from, after `--target` is applied.
enum TargetKind {
    Embedded,
    Spawn,
    Url(String),
}

impl TargetKind {
    fn describe(&self) -> String {
        match self {
            TargetKind::Embedded => "embedded".into(),
            TargetKind::Spawn => "spawn".into(),
            TargetKind::Url(url) => url.clone(),
        }
    }
}

/// Steady state, phases under the fault timeline, rollback, steady state,
/// verdicts.
async fn run_method(
    scenario: &Scenario,
    options: &RunOptions,
    target: &RunningTarget,
    registry: Option<&setup::Registry>,
    modules: &setup::Modules,
) -> RunReport {
    let stopped = Stopped::default();
    let (live_tx, live_rx) = tokio::sync::mpsc::unbounded_channel();
    let control = options.control.clone().with_live(live_tx);
    let shard = options.shard.unwrap_or_default();
    let cx = phase::PhaseContext {
        base: &target.base,
        modules,
        zipf: scenario.corpus.zipf,
        seed: shard.seed(scenario.seed),
        control: &control,
        limits: &options.limits,
        shard,
    };
    let mut report = RunReport {
        manifest: Default::default(),
        status: RunStatus::Completed,
        reason: None,
        validity: Vec::new(),
        steady_state: Vec::new(),
        verdicts: Vec::new(),
        record: RunRecord::default(),
        history: Vec::new(),
        regression: None,
    };

    // Stamped first, so even a shard that stops at its steady state is
    // known as a shard (the merge then reports it, rather than refusing a
    // "whole run").
    report.manifest.shard = options
        .shard
        .map(|given| shard_manifest(given, scenario.seed, options.start_at));
    let before = steady::verify(scenario, "before", &cx).await;
    let hypothesis_held = before.iter().all(|v| v.outcome != Outcome::Fail);
    report.steady_state.extend(before);
    if !hypothesis_held {
        report.status = RunStatus::SteadyStateFailed;
        report.reason = Some("the steady-state hypothesis did not hold before the method".into());
        return report;
    }

    // Faults, operator actions and probes act on the one shared target:
    // only shard 0 runs them, or N shards would apply each N times.
    let no_faults = Vec::new();
    let faults = if shard.is_first() {
        &scenario.faults
    } else {
        &no_faults
    };
    if let Some(at) = options.start_at {
        wait_until(at, &control).await;
    }
    let clock = RunClock::new();
    if let Some(shard) = &mut report.manifest.shard {
        shard.clock_started_unix_ms.push(unix_ms(SystemTime::now()));
    }
    if let Some(tx) = &options.method_start {
        let _ = tx.send(MethodStart {
            base: target.base.clone(),
            clock,
        });
    }
    let mut targets = Targets::default().with_operator(Operator::new(&target.base, None));
    if let Some(r) = registry {
        targets = targets
            .with_registry(r.registry.control())
            .with_proxy(r.proxy.control());
    }
    let mut crash_watch = None;
    if let Some((child, process)) = &target.child {
        targets = targets.with_process(child.clone(), process.clone());
        crash_watch = Some(watch::spawn_crash_watch(
            child.clone(),
            faults.clone(),
            clock,
            options.control.clone(),
            stopped.clone(),
        ));
    }
    // The watchers hold the caller's control (same cancellation, no live
    // sender), so the live channel is only the phases'.
    let abort_watch = watch::spawn_abort_watch(
        live_rx,
        scenario.abort.clone(),
        options.control.clone(),
        stopped.clone(),
    );
    let timeline = faults::timeline(faults).start(clock, targets);
    let probes_done = RunControl::new();
    let probe_task = probes::spawn(
        faults.clone(),
        probes::ProbeTarget {
            base: target.base.clone(),
            root: options.work_dir.join("corpus"),
            default_module: modules.all.first().cloned(),
        },
        clock,
        probes_done.clone(),
    );
    let check_task = checks::spawn(
        scenario.checks.clone(),
        target.base.clone(),
        clock,
        probes_done.clone(),
    );

    for phase in &scenario.phases {
        if control.is_cancelled() {
            break;
        }
        let start = clock.elapsed();
        tracing::info!(phase = %phase.name, planned = ?phase.duration, at = ?start, "phase starts");
        match phase::run(phase, &cx).await {
            Ok(output) => report.record.phases.push(PhaseRun {
                name: phase.name.clone(),
                start,
                output,
            }),
            Err(e) => stopped.stop(&control, StopReason::Failure, e.to_string()),
        }
    }
    let history = timeline.stop().events();
    probes_done.cancel();
    report.record.probes = probe_task.await.unwrap_or_default();
    report
        .record
        .probes
        .extend(check_task.await.unwrap_or_default());
    abort_watch.abort();
    if let Some(task) = crash_watch {
        task.abort();
    }

    match stopped.get() {
        Some((reason, why)) => {
            report.status = match reason {
                StopReason::Abort | StopReason::Failure => RunStatus::Aborted,
                StopReason::Crash => RunStatus::TargetCrashed,
            };
            report.reason = Some(why);
        }
        None if options.control.is_cancelled() => {
            report.status = RunStatus::Interrupted;
            report.reason = Some(format!(
                "interrupted (Ctrl-C or SIGTERM) at {:.1} s of the method",
                clock.elapsed().as_secs_f64()
            ));
        }
        None => {}
    }
    report.record.faults = faults::fault_events(&history, &modules.externals);
    report.history = history;

    if report.status.is_complete() && !faults::terminated_by(faults, clock.elapsed()) {
        let fresh = RunControl::new();
        let cx = phase::PhaseContext {
            control: &fresh,
            ..cx
        };
        report
            .steady_state
            .extend(steady::verify(scenario, "after", &cx).await);
    }

    judge_report(scenario, &mut report);
    report
}

/// Fills in the report's validity table and judges every claim and alert
/// on its record (also what [`merge`](crate::merge) does for the merged
/// record).
pub(crate) fn judge_report(scenario: &Scenario, report: &mut RunReport) {
    report.validity = report
        .record
        .phases
        .iter()
        .map(|p| PhaseValidity {
            phase: p.name.clone(),
            valid: p.output.validity.is_valid(),
            reasons: match &p.output.validity {
                somon_loadgen::Validity::Valid => Vec::new(),
                somon_loadgen::Validity::Invalid { reasons } => reasons.clone(),
            },
        })
        .collect();
    report.verdicts = judge_run(
        &scenario.claims,
        &scenario.alerts,
        &report.record,
        &report.validity,
    );
}

/// Sleeps until the wall clock reaches `at` (at once when it has passed),
/// or until the run is cancelled.
async fn wait_until(at: SystemTime, control: &RunControl) {
    let Ok(left) = at.duration_since(SystemTime::now()) else {
        tracing::warn!(
            late = ?SystemTime::now().duration_since(at).unwrap_or_default(),
            "the shared start time had passed when this shard was ready"
        );
        return;
    };
    tracing::info!(wait = ?left, "waiting for the shared start time");
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    let deadline = tokio::time::Instant::now() + left;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return,
            _ = poll.tick() => {
                if control.is_cancelled() {
                    return;
                }
            }
        }
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The manifest's shard part; the run clock's start is added when it
/// starts.
fn shard_manifest(shard: Shard, base_seed: u64, start_at: Option<SystemTime>) -> ShardManifest {
    ShardManifest {
        count: shard.count,
        indices: vec![shard.index],
        seeds: vec![shard.seed(base_seed)],
        start_at: start_at.map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        }),
        clock_started_unix_ms: Vec::new(),
    }
}
