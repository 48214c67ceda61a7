//! Performance of somon-verify and its reference system, measured on the
//! box it runs on: numbers from another machine say nothing about this one.
//!
//! Two halves:
//!
//! - `benches/*.rs`: criterion benches of the hot paths — cache hit,
//!   resolve, compile and bundle per KB, breaker call, metrics record, the
//!   cached-load request, the open model's per-request overhead and the
//!   fault proxy's pass-through. Run them with
//!   `cargo bench -p somon-benches` (add `-- --quick` for a fast pass).
//! - [`compare`]: the ratios behind `somon-verify bench-compare` (P1–P7):
//!   each one measured in the same run against a reference taken on the
//!   same box (a trivial axum endpoint, `wrk`, a documented figure, the
//!   breaker's configured wait), with the raw numbers kept beside it.
//!
//! [`targets`] starts the loopback servers both halves aim at.

pub mod compare;
pub mod targets;
