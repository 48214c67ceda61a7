//! Scenario files: [`Scenario`] is the checked form of a TOML
//! file, built once by [`Scenario::from_toml`], which reports every problem
//! with `file:line:col`; nothing downstream checks it again.

mod capacity;
mod env;
mod raw;
mod validate;

use std::collections::BTreeMap;
use std::time::Duration;

pub use somon_loadgen::Journey;

use crate::{Claim, Expectation, RegressionSettings, Secrets};

pub use capacity::{CapacitySpec, Figure, FigureCheck};
pub(crate) use validate::{syntax_error, Validator};
pub use validate::{Problem, ScenarioError};

/// What the run measures.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Short name (used in the run directory's name).
    pub name: String,
    /// What the scenario is for.
    pub description: String,
    /// Seed for the corpus, Zipf popularity and probabilistic faults.
    pub seed: u64,
    /// The system under test.
    pub target: Target,
    /// The module tree generated for the run.
    pub corpus: CorpusShape,
    /// Load phases, run in order.
    pub phases: Vec<Phase>,
    /// Faults and operator actions on the run clock.
    pub faults: Vec<FaultStep>,
    /// Conditions that must hold before and after the method.
    pub steady_state: Vec<Expectation>,
    /// Conditions that stop the run early.
    pub abort: Vec<Expectation>,
    /// The claims to verify.
    pub claims: Vec<Claim>,
    /// Alert rules (the windowed form), evaluated like claims.
    pub alerts: Vec<Claim>,
    /// How `somon-verify capacity` steps it (`[capacity]`), if it says.
    pub capacity: Option<CapacitySpec>,
    /// Endpoints polled during the method (`[[checks]]`), judged by
    /// `check(NAME)` claims.
    pub checks: Vec<EndpointCheck>,
    /// How far a run may drift from a saved baseline (`[regression]`).
    pub regression: RegressionSettings,
    /// The values no artefact of its runs may show: those of the
    /// environment variables its `secrets` list names, and of its
    /// requests' credential headers.
    pub secrets: Secrets,
}

/// An endpoint the harness polls while the phases run: each answer passes
/// when its status and the named JSON fields are as expected.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointCheck {
    /// The name `check(NAME)` claims use.
    pub name: String,
    /// Path (and query) to `GET`, starting with `/`.
    pub path: String,
    /// The status every answer must have.
    pub status: u16,
    /// Dotted JSON paths (`checks.db.status`) and the values they must hold.
    pub json: Vec<(String, serde_json::Value)>,
    /// Time between two polls.
    pub every: Duration,
}

impl Scenario {
    /// Total planned duration of the phases.
    pub fn duration(&self) -> Duration {
        self.phases.iter().map(|p| p.duration).sum()
    }
}

/// Where the target comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// The reference system inside the harness process (tests).
    Embedded {
        /// Runtime config fields to apply at start.
        config: BTreeMap<String, serde_json::Value>,
    },
    /// The reference system as a child process (the default for gates).
    Spawn {
        /// Runtime config fields to apply at start.
        config: BTreeMap<String, serde_json::Value>,
    },
    /// Any running HTTP service; process faults are unavailable.
    Url(String),
}

/// The generated module tree.
#[derive(Clone, Debug, PartialEq)]
pub struct CorpusShape {
    /// Number of modules.
    pub modules: usize,
    /// Mean module size in bytes.
    pub mean_bytes: usize,
    /// Deepest directory nesting.
    pub depth: usize,
    /// Entry modules.
    pub entries: usize,
    /// External package names modules import.
    pub externals: Vec<String>,
    /// Share of modules importing an external.
    pub external_fraction: f64,
    /// Zipf exponent of module popularity for `load_cached`.
    pub zipf: f64,
    /// Deliberate two-module import cycles (legal: CommonJS semantics).
    pub cycles: usize,
}

impl Default for CorpusShape {
    fn default() -> CorpusShape {
        CorpusShape {
            modules: 200,
            mean_bytes: 2048,
            depth: 3,
            entries: 5,
            externals: Vec::new(),
            external_fraction: 0.0,
            zipf: 1.1,
            cycles: 0,
        }
    }
}

/// A named stretch of the run with one load model.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    /// Name claims refer to.
    pub name: String,
    /// How long it lasts.
    pub duration: Duration,
    /// The load it applies.
    pub load: Load,
}

/// A load model: fixed users (closed), a fixed arrival rate (open), one
/// burst released at once, or nothing.
#[derive(Clone, Debug, PartialEq)]
pub enum Load {
    /// Users looping over journeys, each waiting `think` between requests.
    Closed {
        /// Concurrent users.
        users: u32,
        /// Time to start them all.
        ramp: Duration,
        /// Pause between one user's requests.
        think: Duration,
        /// Journeys with weights.
        journeys: Vec<(Journey, u32)>,
    },
    /// Requests sent on a schedule, timed from their intended send time.
    Open {
        /// `(rate per second, how long)` steps, linear ramps between them.
        steps: Vec<(f64, Duration)>,
        /// Cap on requests in flight; a due request beyond it is dropped
        /// and counted.
        max_in_flight: u32,
        /// Journeys with weights.
        journeys: Vec<(Journey, u32)>,
    },
    /// `count` requests released together from a barrier.
    Burst {
        /// How many.
        count: u32,
        /// Of which journey.
        journey: Journey,
    },
    /// No load (steady-state checks, recovery waits).
    Idle,
}

/// A fault or action on the run clock.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultStep {
    /// When, from the start of the run.
    pub at: Duration,
    /// How long it stays; `None` until rollback (or instant for actions).
    pub duration: Option<Duration>,
    /// What.
    pub fault: Fault,
}

/// Faults the harness can inject and operator actions it can take.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Registry answers slower: fixed latency plus uniform jitter.
    RegistryLatency {
        /// Added to every answer.
        latency: Duration,
        /// Uniform extra in `[0, jitter]`.
        jitter: Duration,
    },
    /// Registry answers `status` with probability `probability`.
    RegistryStatus {
        /// HTTP status.
        status: u16,
        /// In `[0, 1]`.
        probability: f64,
    },
    /// Registry never answers.
    RegistryHang,
    /// Registry answers malformed JSON.
    RegistryMalformed,
    /// Registry answers a source whose sha256 does not match.
    RegistryWrongHash,
    /// Connections to the registry are reset (RST).
    ProxyReset,
    /// Connections to the registry are refused.
    ProxyRefused,
    /// Connections to the registry are accepted and never answered.
    ProxyBlackhole,
    /// The registry link is limited to this many bytes a second.
    ProxyBandwidth {
        /// Bytes per second.
        bytes_per_sec: u64,
    },
    /// Registry answers are cut after this many bytes.
    ProxyTruncate {
        /// Bytes passed before the cut.
        after_bytes: u64,
    },
    /// The target process is stopped (SIGSTOP) for the duration.
    ProcessPause,
    /// The target process is killed (-9) and started again.
    ProcessKill,
    /// The target process is asked to stop (SIGTERM) and drains; it stays
    /// down (place it at the end of the load: its exit is not a crash).
    ProcessTerminate,
    /// Operator action: `POST /config` with a patch.
    ConfigPatch(serde_json::Value),
    /// Operator action: `POST /cache/clear`.
    CacheClear,
    /// Operator action: reset one breaker or all.
    BreakerReset(Option<String>),
    /// Operator action: force a breaker open.
    BreakerForceOpen(String),
    /// Probe: append an export to a module's file (by default the most
    /// popular module), then load it and check the new export is served.
    ModuleEdit(Option<String>),
    /// Probe: `POST /config` with a patch that must be refused, then check
    /// the answer is a 4xx and `GET /config` did not change.
    ConfigInvalidPatch(serde_json::Value),
    /// Probe: load the most popular module this many times, counting the
    /// answers that say `cached: true`, and compare with the server's hit
    /// counter and reported hit rate.
    HitRateAudit(u32),
}

impl Fault {
    /// Whether the harness performs and checks it itself (a probe) rather
    /// than injecting it through the chaos timeline.
    pub fn is_probe(&self) -> bool {
        matches!(
            self,
            Fault::ModuleEdit(_) | Fault::ConfigInvalidPatch(_) | Fault::HitRateAudit(_)
        )
    }
}
