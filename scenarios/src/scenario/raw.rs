//! The serde mirror of a scenario file: every field as written, with spans
//! where a later check needs to point at the text.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A scenario file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) seed: u64,
    /// Names of the environment variables whose values are secrets.
    #[serde(default)]
    pub(super) secrets: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) target: Option<Spanned<RawTarget>>,
    #[serde(default)]
    pub(super) corpus: RawCorpus,
    #[serde(default)]
    pub(super) phases: Vec<Spanned<RawPhase>>,
    #[serde(default)]
    pub(super) faults: Vec<Spanned<RawFault>>,
    #[serde(default)]
    pub(super) steady_state: RawSteadyState,
    #[serde(default)]
    pub(super) abort: RawAbort,
    #[serde(default)]
    pub(super) claims: Vec<Spanned<RawClaim>>,
    #[serde(default)]
    pub(super) alerts: Vec<Spanned<RawClaim>>,
    #[serde(default)]
    pub(super) requests: Vec<Spanned<RawRequest>>,
    #[serde(default)]
    pub(super) checks: Vec<Spanned<RawCheck>>,
    #[serde(default)]
    pub(super) regression: Option<Spanned<RawRegression>>,
    #[serde(default)]
    pub(super) capacity: Option<Spanned<super::capacity::RawCapacity>>,
}

/// `[[requests]]`: a journey of one request to any HTTP service.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRequest {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) method: Option<Spanned<String>>,
    pub(super) path: Spanned<String>,
    /// Query parameters, appended to the path percent-encoded.
    #[serde(default)]
    pub(super) query: Option<Spanned<toml::Table>>,
    #[serde(default)]
    pub(super) headers: Option<Spanned<toml::Table>>,
    /// The body as written (JSON unless a `content-type` header says).
    #[serde(default)]
    pub(super) body: Option<Spanned<String>>,
    /// The body as a TOML value sent as JSON.
    #[serde(default)]
    pub(super) json: Option<Spanned<toml::Value>>,
    /// The body read from a file, relative to the scenario file.
    #[serde(default)]
    pub(super) body_file: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) timeout: Option<Spanned<String>>,
}

/// `[[checks]]`: an endpoint polled during the method, its status and
/// JSON fields compared.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCheck {
    pub(super) name: Spanned<String>,
    pub(super) path: Spanned<String>,
    #[serde(default)]
    pub(super) status: Option<Spanned<u16>>,
    /// Dotted JSON path → expected value.
    #[serde(default)]
    pub(super) json: toml::Table,
    #[serde(default)]
    pub(super) every: Option<Spanned<String>>,
}

/// `[regression]`: how far a run may drift from its baseline.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegression {
    pub(super) tolerance: Spanned<RawTolerance>,
    #[serde(default)]
    pub(super) confidence: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) resamples: Option<u32>,
}

/// One tolerance (`"10%"`, `"5ms"`) or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawTolerance {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    pub(super) kind: Spanned<String>,
    #[serde(default)]
    pub(super) url: Option<Spanned<String>>,
    /// Runtime config fields (camelCase, as `POST /config`) for a target
    /// this run starts.
    #[serde(default)]
    pub(super) config: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCorpus {
    pub(super) modules: Option<usize>,
    pub(super) mean_bytes: Option<usize>,
    pub(super) depth: Option<usize>,
    #[serde(default)]
    pub(super) externals: Vec<String>,
    pub(super) external_fraction: Option<f64>,
    pub(super) entries: Option<usize>,
    pub(super) zipf: Option<f64>,
    pub(super) cycles: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPhase {
    pub(super) name: String,
    pub(super) duration: Spanned<String>,
    pub(super) load: Spanned<RawLoad>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLoad {
    pub(super) model: Spanned<String>,
    pub(super) users: Option<u32>,
    pub(super) ramp: Option<Spanned<String>>,
    pub(super) think: Option<Spanned<String>>,
    pub(super) rate: Option<f64>,
    #[serde(default)]
    pub(super) steps: Vec<RawStep>,
    pub(super) max_in_flight: Option<u32>,
    pub(super) count: Option<u32>,
    #[serde(default)]
    pub(super) journeys: BTreeMap<String, u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    pub(super) rate: f64,
    pub(super) duration: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFault {
    pub(super) at: Spanned<String>,
    pub(super) duration: Option<Spanned<String>>,
    pub(super) kind: Spanned<String>,
    pub(super) status: Option<u16>,
    pub(super) probability: Option<f64>,
    pub(super) latency: Option<Spanned<String>>,
    pub(super) jitter: Option<Spanned<String>>,
    pub(super) bytes_per_sec: Option<u64>,
    pub(super) after_bytes: Option<u64>,
    pub(super) name: Option<String>,
    pub(super) patch: Option<toml::Table>,
    pub(super) module: Option<String>,
    pub(super) count: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSteadyState {
    #[serde(default)]
    pub(super) probes: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAbort {
    #[serde(default)]
    pub(super) when: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClaim {
    pub(super) id: Spanned<String>,
    #[serde(default)]
    pub(super) source: String,
    pub(super) expect: Spanned<String>,
    pub(super) phase: Option<Spanned<String>>,
}
