//! Circuit breakers, one per external dependency (SPEC §2.4).

use serde::Serialize;

/// Where a breaker stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakerState {
    /// Calls go through; failures are counted in the window.
    Closed,
    /// Calls fail fast without touching the network until the wait ends.
    Open,
    /// A bounded number of trial calls decide between closing and re-opening.
    HalfOpen,
}

/// What `/circuit-breakers/status` and `/metrics` show of one breaker.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakerStatus {
    /// The dependency it guards (an external's name).
    pub name: String,
    /// Current state.
    pub state: BreakerState,
    /// Failures counted in the current window (closed) or trial (half-open).
    pub failures: u64,
    /// Successes counted in the current window (closed) or trial (half-open).
    pub successes: u64,
    /// Trial calls in flight while half-open.
    pub half_open_in_flight: u32,
    /// How many times it has opened since start (or the last reset).
    pub trips: u64,
    /// Milliseconds since the last state change.
    pub since_transition_ms: u64,
    /// Milliseconds until an open breaker lets a trial call through; `None`
    /// unless open.
    pub next_attempt_in_ms: Option<u64>,
    /// The wait an open breaker uses now (doubles on each re-open, capped).
    pub current_wait_ms: u64,
}
