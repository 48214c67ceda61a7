//! The target's memory and CPU from its `/metrics` samples, plain form:
//! `memory_usage` and `cpu_usage` (the worst sample), `memory_growth` (last
//! minus first resident memory) and `bytes_per_cached_module` (that growth
//! per module that entered the cache).
//!
//! Each needs [`MIN_SAMPLES`] samples spanning [`MIN_SPAN`], else it is
//! UNKNOWN: a figure read off a handful of polls, or off a second or two,
//! says nothing about how the target behaves over a run.

use std::time::Duration;

use super::polls::Polls;
use super::{samples, Measured};
use crate::{Cmp, Expectation, Metric, PhaseRun};

/// Samples a memory or CPU figure needs. The sampler polls every 250 ms,
/// so a phase of [`MIN_SPAN`] gives about 40; asking for a quarter of
/// that tolerates polls lost while the target is busy, yet refuses a
/// figure resting on the few polls that got through to a target failing
/// most of them. It also keeps a growth's first and last sample from being
/// two neighbouring polls.
pub(super) const MIN_SAMPLES: usize = 10;

/// Time the samples must span (first to last). Resident memory moves in
/// steps (allocator arenas, buffers grown for the first connections, a
/// cache's first entries) and a CPU figure is the average over the
/// target's last refresh of its own figures (every 500 ms in the reference
/// system), so over a second or two either shows one step or one burst,
/// not the phase. Ten seconds is about twenty such refreshes, and still
/// well inside the shortest phase the catalog judges these on (30 s).
pub(super) const MIN_SPAN: Duration = Duration::from_secs(10);

/// `memory_usage` or `cpu_usage`: the worst sample (the claim must hold at
/// every one), as a ratio.
pub(super) fn usage(e: &Expectation, phases: &[&PhaseRun]) -> Measured {
    let field = if matches!(e.metric, Metric::MemoryUsage) {
        "memoryUsage"
    } else {
        "cpuUsage"
    };
    let points: Vec<(Duration, f64)> = samples(phases, "/metrics")
        .filter_map(|(at, body)| Some((at, body["systemMetrics"][field].as_f64()? / 100.0)))
        .collect();
    if let Err(why) = enough(&points, phases, &format!("systemMetrics.{field}")) {
        return why;
    }
    let values = points.iter().map(|(_, v)| *v);
    let worst = match e.cmp {
        Cmp::Lt | Cmp::Le => values.fold(f64::MIN, f64::max),
        Cmp::Gt | Cmp::Ge => values.fold(f64::MAX, f64::min),
    };
    Measured {
        value: Some(worst),
        samples: points.len() as u64,
        evidence: format!(
            "worst of {} samples of {field} over {:.1} s",
            points.len(),
            span(&points).as_secs_f64()
        ),
    }
}

/// `memory_growth`: resident memory at the last sample minus at the first.
pub(super) fn growth(phases: &[&PhaseRun]) -> Measured {
    let rss: Vec<(Duration, f64)> = samples(phases, "/metrics")
        .filter_map(|(at, b)| Some((at, b["systemMetrics"]["rssBytes"].as_f64()?)))
        .collect();
    if let Err(why) = enough(&rss, phases, "systemMetrics.rssBytes") {
        return why;
    }
    let (first, last) = (rss[0].1, rss[rss.len() - 1].1);
    let peak = rss.iter().map(|(_, v)| *v).fold(f64::MIN, f64::max);
    Measured {
        value: Some(last - first),
        samples: rss.len() as u64,
        evidence: format!(
            "resident memory {:.1} MB → {:.1} MB over {} samples in {:.1} s (peak {:.1} MB)",
            first / 1e6,
            last / 1e6,
            rss.len(),
            span(&rss).as_secs_f64(),
            peak / 1e6
        ),
    }
}

/// `bytes_per_cached_module`: resident memory growth ÷ modules that
/// entered the cache, between the first and last sample (at least 100
/// modules, so the division is not of noise by a few).
pub(super) fn bytes_per_cached_module(phases: &[&PhaseRun]) -> Measured {
    let points: Vec<(Duration, (f64, f64))> = samples(phases, "/metrics")
        .filter_map(|(at, b)| {
            Some((
                at,
                (
                    b["systemMetrics"]["rssBytes"].as_f64()?,
                    b["cacheSize"].as_f64()?,
                ),
            ))
        })
        .collect();
    if let Err(why) = enough(&points, phases, "systemMetrics.rssBytes and cacheSize") {
        return why;
    }
    let (first, last) = (points[0].1, points[points.len() - 1].1);
    let modules = last.1 - first.1;
    if modules < 100.0 {
        return Measured::unknown(
            points.len() as u64,
            format!("only {modules} modules entered the cache"),
        );
    }
    let bytes = (last.0 - first.0).max(0.0) / modules;
    Measured {
        value: Some(bytes),
        samples: modules as u64,
        evidence: format!(
            "resident memory grew {:.0} bytes while {modules} modules were cached \
             ({} samples over {:.1} s)",
            last.0 - first.0,
            points.len(),
            span(&points).as_secs_f64()
        ),
    }
}

/// First to last sample.
fn span<T>(points: &[(Duration, T)]) -> Duration {
    match (points.first(), points.last()) {
        (Some((first, _)), Some((last, _))) => last.saturating_sub(*first),
        _ => Duration::ZERO,
    }
}

/// `Ok` when `points` (samples carrying `what`) are enough to judge on,
/// else the UNKNOWN saying why.
fn enough<T>(points: &[(Duration, T)], phases: &[&PhaseRun], what: &str) -> Result<(), Measured> {
    if points.is_empty() {
        return Err(Measured::unknown(
            0,
            Polls::of(phases, "/metrics").no_data(what),
        ));
    }
    let (n, span) = (points.len(), span(points));
    if n < MIN_SAMPLES || span < MIN_SPAN {
        let mut evidence = format!(
            "{n} samples of {what} over {:.1} s; a memory or CPU figure needs {MIN_SAMPLES} \
             over {} s",
            span.as_secs_f64(),
            MIN_SPAN.as_secs()
        );
        if let Some(failures) = Polls::of(phases, "/metrics").failures() {
            evidence.push_str("; ");
            evidence.push_str(&failures);
        }
        return Err(Measured::unknown(n as u64, evidence));
    }
    Ok(())
}
