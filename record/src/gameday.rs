//! What a game day measured: one result per drill, the remedies taken and
//! the observations the drills were measured on (`gameday.json`).

use serde::{Deserialize, Serialize};

use crate::Outcome;

/// A remedy the runner performed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RemedyTaken {
    /// The drill's id.
    pub drill: String,
    /// Run-clock seconds when the call was sent.
    pub at_s: f64,
    /// `POST /circuit-breakers/reset/lodash`, …
    pub action: String,
    /// Whether the target accepted it (2xx).
    pub ok: bool,
    /// Its answer or the error.
    pub detail: String,
}

/// What one drill came to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrillResult {
    /// The drill's id.
    pub id: String,
    /// The runbook procedure.
    pub source: String,
    /// The fault, in words.
    pub fault: String,
    /// Run-clock seconds the fault started.
    pub fault_start_s: Option<f64>,
    /// Run-clock seconds it ended (removed, or the restart completed).
    pub fault_end_s: Option<f64>,
    /// The detection signal, as written.
    pub detect: String,
    /// When it was first seen.
    pub detected_at_s: Option<f64>,
    /// `detected_at − fault_start`.
    pub time_to_detect_s: Option<f64>,
    /// Deadline on time-to-detect.
    pub detect_within_s: Option<f64>,
    /// The remedy, in words.
    pub remedy: Option<String>,
    /// When the runner took it.
    pub remedy_at_s: Option<f64>,
    /// The verify signal, as written.
    pub verify: String,
    /// When recovery was first seen.
    pub recovered_at_s: Option<f64>,
    /// `recovered_at − fault_start`.
    pub time_to_recover_s: Option<f64>,
    /// Deadline on time-to-recover.
    pub recover_within_s: f64,
    /// PASS, FAIL or UNKNOWN.
    pub outcome: Outcome,
    /// What decided it.
    pub evidence: String,
}

/// The game-day part of a run directory (`gameday.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GameDay {
    /// The plan's name.
    pub plan: String,
    /// One result per drill.
    pub drills: Vec<DrillResult>,
    /// The remedies taken.
    pub remedies: Vec<RemedyTaken>,
    /// Every observation the drills were measured on (the runner's own
    /// polls and the load generator's samples), by time.
    pub observations: Vec<Observation>,
}

/// One answer (or non-answer) of the target, polled by the game-day runner
/// or sampled by the load generator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Run-clock time.
    pub at: std::time::Duration,
    /// `/health`, `/ready`, `/metrics` or `/circuit-breakers/status`.
    pub endpoint: String,
    /// HTTP status; `None` when the target did not answer.
    pub status: Option<u16>,
    /// The JSON body (`null` without one).
    pub body: serde_json::Value,
}
