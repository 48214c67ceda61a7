//! Fault timelines on a shared run clock, with an event history and a
//! rollback that leaves nothing active.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::actions::{Operator, OperatorAction};
use crate::process::{ChildTarget, ProcessControl, ProcessFault};
use crate::proxy::{ProxyControl, ProxyFault};
use crate::registry::{RegistryControl, RegistryFaults};

/// How long a timeline waits for a restarted or terminated target.
pub const PROCESS_STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// The start instant shared by load and faults; every event is stamped
/// with [`elapsed`](Self::elapsed) so reports can line them up.
#[derive(Clone, Copy, Debug)]
pub struct RunClock {
    start: Instant,
}

impl Default for RunClock {
    fn default() -> Self {
        RunClock::new()
    }
}

impl RunClock {
    /// A clock starting now.
    pub fn new() -> Self {
        RunClock::starting_at(Instant::now())
    }

    /// A clock starting at `start`.
    pub fn starting_at(start: Instant) -> Self {
        RunClock { start }
    }

    /// The start instant.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

/// What a timeline entry does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "target", content = "step", rename_all = "camelCase")]
pub enum Step {
    /// Set the registry's faults (cleared on removal).
    Registry(RegistryFaults),
    /// Set the proxy's fault (pass-through on removal).
    Proxy(ProxyFault),
    /// A process fault (only `Pause` has a removal: SIGCONT).
    Process(ProcessFault),
    /// An operator action (instantaneous).
    Action(OperatorAction),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Registry(faults) => write!(f, "registry faults {faults:?}"),
            Step::Proxy(fault) => write!(f, "proxy {fault:?}"),
            Step::Process(fault) => write!(f, "process {fault:?}"),
            Step::Action(action) => write!(f, "operator {action}"),
        }
    }
}

impl Step {
    /// Which target the step acts on (`"registry"`, `"proxy"`, …).
    pub fn target(&self) -> &'static str {
        match self {
            Step::Registry(_) => "registry",
            Step::Proxy(_) => "proxy",
            Step::Process(_) => "process",
            Step::Action(_) => "operator",
        }
    }

    /// True for steps that stay active until removed.
    fn lasts(&self) -> bool {
        matches!(
            self,
            Step::Registry(_) | Step::Proxy(_) | Step::Process(ProcessFault::Pause)
        )
    }
}

/// One timeline entry: apply `step` at `at`, remove it at `at + duration`
/// (`None`: active until the timeline ends or rolls back).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Run-clock time to apply.
    pub at: Duration,
    /// How long it stays.
    pub duration: Option<Duration>,
    /// What to do.
    pub step: Step,
}

/// What happened to a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EventKind {
    /// A lasting fault became active.
    Applied,
    /// A lasting fault was removed (on schedule or by rollback).
    Removed,
    /// An instantaneous step (action, kill/restart, terminate) succeeded.
    Action,
    /// A step failed; `message` says why.
    Failed,
}

/// One line of the run history (`events.jsonl`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Run-clock time the event happened.
    pub at: Duration,
    /// What happened.
    pub kind: EventKind,
    /// Index of the timeline entry (`None` for ad-hoc steps).
    pub entry: Option<usize>,
    /// Human-readable step.
    pub step: String,
    /// Structured step.
    pub detail: Step,
    /// RegistryReply detail (new address, status, error).
    pub message: Option<String>,
}

/// The shared event history. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct History(Arc<Mutex<Vec<Event>>>);

impl History {
    /// A copy of the events so far.
    pub fn events(&self) -> Vec<Event> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Appends an event.
    pub fn push(&self, event: Event) {
        tracing::info!(event.kind = ?event.kind, event.at_ms = event.at.as_millis() as u64, event.step = %event.step, "fault event");
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }

    /// The events as JSON lines.
    pub fn to_jsonl(&self) -> String {
        self.events()
            .iter()
            .filter_map(|e| serde_json::to_string(e).ok())
            .map(|line| line + "\n")
            .collect()
    }
}

/// What a timeline acts on. Steps whose target is missing emit `Failed`.
#[derive(Clone, Debug, Default)]
pub struct Targets {
    registry: Option<RegistryControl>,
    proxy: Option<ProxyControl>,
    process: Option<(ProcessControl, Arc<tokio::sync::Mutex<ChildTarget>>)>,
    operator: Option<Operator>,
}

impl Targets {
    /// Adds the fake registry.
    pub fn with_registry(mut self, control: RegistryControl) -> Self {
        self.registry = Some(control);
        self
    }

    /// Adds the fault proxy.
    pub fn with_proxy(mut self, control: ProxyControl) -> Self {
        self.proxy = Some(control);
        self
    }

    /// Adds a child target (shared so the caller can still reach it).
    pub fn with_process(
        mut self,
        target: Arc<tokio::sync::Mutex<ChildTarget>>,
        control: ProcessControl,
    ) -> Self {
        self.process = Some((control, target));
        self
    }

    /// Adds the management API.
    pub fn with_operator(mut self, operator: Operator) -> Self {
        self.operator = Some(operator);
        self
    }
}

/// A list of entries to run on a [`RunClock`].
///
/// ```no_run
/// # async fn demo(registry: somon_chaos::RegistryControl) {
/// use std::time::Duration;
/// use somon_chaos::{RegistryFaults, RunClock, Step, Targets, Timeline};
/// let slow = RegistryFaults { latency: Duration::from_millis(200), ..Default::default() };
/// let run = Timeline::new()
///     .then(Duration::from_secs(1), Some(Duration::from_secs(2)), Step::Registry(slow))
///     .start(RunClock::new(), Targets::default().with_registry(registry));
/// let history = run.finish().await;
/// println!("{}", history.to_jsonl());
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// The entries, in any order.
    pub entries: Vec<Entry>,
}

impl Timeline {
    /// An empty timeline.
    pub fn new() -> Self {
        Timeline::default()
    }

    /// Adds an entry.
    pub fn then(mut self, at: Duration, duration: Option<Duration>, step: Step) -> Self {
        self.entries.push(Entry { at, duration, step });
        self
    }

    /// Spawns the runner on the current tokio runtime.
    pub fn start(self, clock: RunClock, targets: Targets) -> TimelineRun {
        let mut ops: Vec<(Duration, bool, usize)> = Vec::new();
        for (i, entry) in self.entries.iter().enumerate() {
            ops.push((entry.at, true, i));
            if let (Some(d), true) = (entry.duration, entry.step.lasts()) {
                ops.push((entry.at + d, false, i));
            }
        }
        // Removals before applications at the same instant.
        ops.sort_by_key(|&(at, apply, i)| (at, apply, i));
        let inner = Arc::new(Inner {
            clock,
            targets,
            history: History::default(),
            active: Mutex::new(Vec::new()),
        });
        let runner = inner.clone();
        let entries = self.entries;
        let task = tokio::spawn(async move {
            for (at, apply, i) in ops {
                tokio::time::sleep_until((clock.start() + at).into()).await;
                if apply {
                    runner.apply(Some(i), &entries[i].step).await;
                } else {
                    runner.remove(i);
                }
            }
        });
        TimelineRun { inner, task }
    }
}

struct Inner {
    clock: RunClock,
    targets: Targets,
    history: History,
    active: Mutex<Vec<(Option<usize>, Step)>>,
}

impl Inner {
    fn event(&self, kind: EventKind, entry: Option<usize>, step: &Step, message: Option<String>) {
        self.history.push(Event {
            at: self.clock.elapsed(),
            kind,
            entry,
            step: step.to_string(),
            detail: step.clone(),
            message,
        });
    }

    fn missing(&self, entry: Option<usize>, step: &Step) {
        let message = format!("no {} target configured", step.target());
        self.event(EventKind::Failed, entry, step, Some(message));
    }

    async fn apply(&self, entry: Option<usize>, step: &Step) {
        let result: Result<Option<String>, String> = match step {
            Step::Registry(faults) => match &self.targets.registry {
                Some(r) => {
                    r.set(faults.clone());
                    Ok(None)
                }
                None => return self.missing(entry, step),
            },
            Step::Proxy(fault) => match &self.targets.proxy {
                Some(p) => {
                    p.set(*fault);
                    Ok(None)
                }
                None => return self.missing(entry, step),
            },
            Step::Process(fault) => {
                let Some((control, target)) = &self.targets.process else {
                    return self.missing(entry, step);
                };
                match fault {
                    ProcessFault::Pause => {
                        control.pause().map(|()| None).map_err(|e| e.to_string())
                    }
                    ProcessFault::Kill9Restart => {
                        let mut target = target.lock().await;
                        match target.kill9_and_restart(PROCESS_STEP_TIMEOUT).await {
                            Ok(addr) => Ok(Some(format!("restarted, listening on {addr}"))),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    ProcessFault::Terminate => {
                        let mut target = target.lock().await;
                        match target.terminate(PROCESS_STEP_TIMEOUT).await {
                            Ok(status) => Ok(Some(format!("exited: {status}"))),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                }
            }
            Step::Action(action) => match &self.targets.operator {
                Some(op) => match op.perform(action).await {
                    Ok(reply) => Ok(Some(format!("{} {}", reply.status, reply.body))),
                    Err(e) => Err(e.to_string()),
                },
                None => return self.missing(entry, step),
            },
        };
        match result {
            Err(message) => self.event(EventKind::Failed, entry, step, Some(message)),
            Ok(message) if step.lasts() => {
                self.lock_active().push((entry, step.clone()));
                self.event(EventKind::Applied, entry, step, message);
            }
            Ok(message) => {
                if let Step::Process(ProcessFault::Kill9Restart | ProcessFault::Terminate) = step {
                    self.end_pauses(step);
                }
                self.event(EventKind::Action, entry, step, message);
            }
        }
    }

    /// A killed or terminated process is no longer paused: its active
    /// pauses end here (no SIGCONT to a process that is gone or new).
    fn end_pauses(&self, by: &Step) {
        let ended: Vec<_> = {
            let mut active = self.lock_active();
            let (ended, kept) = active
                .drain(..)
                .partition(|(_, s)| matches!(s, Step::Process(_)));
            *active = kept;
            ended
        };
        for (entry, step) in ended {
            self.event(
                EventKind::Removed,
                entry,
                &step,
                Some(format!("ended by {by}")),
            );
        }
    }

    fn lock_active(&self) -> std::sync::MutexGuard<'_, Vec<(Option<usize>, Step)>> {
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes entry `i` if active; if another fault on the same target is
    /// still active, the most recent one takes over again.
    fn remove(&self, i: usize) {
        let (step, successor) = {
            let mut active = self.lock_active();
            let Some(pos) = active.iter().position(|(e, _)| *e == Some(i)) else {
                return;
            };
            let (_, step) = active.remove(pos);
            let successor = active
                .iter()
                .rev()
                .find(|(_, s)| s.target() == step.target())
                .map(|(_, s)| s.clone());
            (step, successor)
        };
        let result = match successor {
            Some(Step::Registry(f)) => {
                self.targets.registry.iter().for_each(|r| r.set(f.clone()));
                Ok(())
            }
            Some(Step::Proxy(f)) => {
                self.targets.proxy.iter().for_each(|p| p.set(f));
                Ok(())
            }
            Some(_) => Ok(()),
            None => self.undo(&step),
        };
        match result {
            Ok(()) => self.event(EventKind::Removed, Some(i), &step, None),
            Err(message) => self.event(EventKind::Failed, Some(i), &step, Some(message)),
        }
    }

    fn undo(&self, step: &Step) -> Result<(), String> {
        match step {
            Step::Registry(_) => self
                .targets
                .registry
                .iter()
                .for_each(RegistryControl::clear),
            Step::Proxy(_) => self.targets.proxy.iter().for_each(ProxyControl::clear),
            Step::Process(ProcessFault::Pause) => {
                if let Some((control, _)) = &self.targets.process {
                    control.resume().map_err(|e| e.to_string())?;
                }
            }
            Step::Process(_) | Step::Action(_) => {}
        }
        Ok(())
    }

    fn rollback(&self) {
        let drained: Vec<_> = self.lock_active().drain(..).rev().collect();
        for (entry, step) in drained {
            match self.undo(&step) {
                Ok(()) => self.event(EventKind::Removed, entry, &step, Some("rollback".into())),
                Err(message) => self.event(EventKind::Failed, entry, &step, Some(message)),
            }
        }
    }
}

/// A running timeline. Dropping it stops the runner and rolls back.
#[derive(Debug)]
pub struct TimelineRun {
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("active", &*self.lock_active())
            .finish()
    }
}

impl TimelineRun {
    /// The shared history (events are appended as they happen).
    pub fn history(&self) -> History {
        self.inner.history.clone()
    }

    /// Steps active right now.
    pub fn active(&self) -> Vec<Step> {
        self.inner
            .lock_active()
            .iter()
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// Applies a step now, outside the schedule; lasting steps stay active
    /// until rollback.
    pub async fn apply_now(&self, step: &Step) {
        self.inner.apply(None, step).await;
    }

    /// Waits for every scheduled entry, then rolls back what is left
    /// (entries without a duration).
    pub async fn finish(mut self) -> History {
        let _ = (&mut self.task).await;
        self.inner.rollback();
        self.inner.history.clone()
    }

    /// Stops early: no further entries run; every active fault is removed.
    pub fn stop(self) -> History {
        self.task.abort();
        self.inner.rollback();
        self.inner.history.clone()
    }

    /// Removes every active fault now (the schedule continues).
    pub fn rollback(&self) {
        self.inner.rollback();
    }
}

impl Drop for TimelineRun {
    fn drop(&mut self) {
        self.task.abort();
        self.inner.rollback();
    }
}
