//! `compilations_per_module`: how many times the target compiled a module
//! for each module that entered its cache, from its own counters — the
//! count that shows single-flight (N concurrent misses on one key compile
//! once) where latency cannot.

use super::polls::Polls;
use super::{samples, series, Measured};
use crate::PhaseRun;

/// One `/metrics` sample's counters: (compilations, cache size, evictions).
/// JSON bodies (the reference system) by field; Prometheus text by the
/// same series names the reference system exports.
fn counters(body: &serde_json::Value) -> Option<(f64, f64, f64)> {
    let read = |json: &str, prometheus: &str| match body {
        serde_json::Value::String(_) => series::values(body, prometheus).first().copied(),
        other => other[json].as_f64(),
    };
    Some((
        read("moduleCompilations", "somon_module_compilations_total")?,
        read("cacheSize", "somon_cache_size")?,
        // A target that does not report evictions is read as evicting none.
        read("cacheEvictions", "somon_cache_evictions_total").unwrap_or(0.0),
    ))
}

/// Δcompilations ÷ modules that entered the cache (Δsize + Δevictions)
/// between the phases' first and last `/metrics` sample that carry the
/// counters.
///
/// Why the sound value is exactly 1: the reference cache counts a
/// compilation and inserts its module under one lock, and a snapshot reads
/// both under it, so every module compiled once adds one to the size (or,
/// if the limits pushed an entry out, one to the evictions). It rises above
/// 1 only when a module is compiled again without a new entry: a duplicate
/// compile of a concurrent miss (no single-flight), a recompile after an
/// edit or an explicit removal (`cache-clear`, cleanup, invalidation), or a
/// module larger than the byte limit (compiled, never kept). A scenario
/// judging single-flight with it therefore edits nothing and clears nothing.
pub(super) fn per_module(phases: &[&PhaseRun]) -> Measured {
    let mut polled = 0u64;
    let points: Vec<(f64, f64, f64)> = samples(phases, "/metrics")
        .inspect(|_| polled += 1)
        .filter_map(|(_, body)| counters(body))
        .collect();
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Measured::unknown(
            0,
            if polled == 0 {
                Polls::of(phases, "/metrics").no_data("moduleCompilations and cacheSize")
            } else {
                format!(
                    "none of {polled} /metrics samples has moduleCompilations and cacheSize \
                     (the target does not count its compilations)"
                )
            },
        );
    };
    let compiled = last.0 - first.0;
    let evicted = last.2 - first.2;
    let entered = (last.1 - first.1) + evicted;
    if entered <= 0.0 {
        return Measured::unknown(
            points.len() as u64,
            format!(
                "no module entered the cache between the first and last of {} samples \
                 ({compiled} compilations)",
                points.len()
            ),
        );
    }
    let mut evidence = format!(
        "{compiled} compilations for {entered} modules that entered the cache, \
         over {} /metrics samples",
        points.len()
    );
    if evicted > 0.0 {
        evidence.push_str(&format!(" ({evicted} of them evicted again)"));
    }
    Measured {
        value: Some(compiled / entered),
        samples: entered as u64,
        evidence,
    }
}
