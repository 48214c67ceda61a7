//! The windowed (alert) form, `… for 2m`: the condition must hold over
//! every second of some window. Client-side metrics come from the
//! generator's one-second intervals; server-side ones (memory, CPU, hit
//! rate) from the target samples, bucketed by second.

use std::time::Duration;

use somon_loadgen::interval_log;

use super::{samples, Measured};
use crate::PhaseRun;
use crate::{Expectation, Metric};

/// The alert form: the condition held over every second of some window of
/// `window` (PASS means the alert would have fired).
pub(super) fn windowed(e: &Expectation, window: Duration, phases: &[&PhaseRun]) -> Measured {
    let seconds = window.as_secs().max(1) as usize;
    let per_second: Vec<Option<f64>> = match &e.metric {
        Metric::ErrorRate { journey: None } => phases
            .iter()
            .flat_map(|p| &p.output.series)
            .map(|i| (i.requests > 0).then(|| i.errors.total() as f64 / i.requests as f64))
            .collect(),
        Metric::Latency { quantile, journey } => {
            let mut out = Vec::new();
            for phase in phases {
                let log = &phase.output.interval_log;
                let Ok(seconds) = interval_log::per_second(log, |k| *k.op == **journey) else {
                    return Measured::unknown(0, "unreadable interval log");
                };
                out.extend(seconds.into_iter().map(|s| {
                    s.filter(|s| !s.histogram.is_empty())
                        .map(|s| s.histogram.value_at_quantile(*quantile) as f64 / 1e6)
                }));
            }
            out
        }
        Metric::MemoryUsage => per_second_samples(phases, |b| {
            b["systemMetrics"]["memoryUsage"]
                .as_f64()
                .map(|p| p / 100.0)
        }),
        Metric::CpuUsage => per_second_samples(phases, |b| {
            b["systemMetrics"]["cpuUsage"].as_f64().map(|p| p / 100.0)
        }),
        Metric::CacheHitRate => per_second_hit_rate(phases),
        Metric::Series { name } => per_second_samples(phases, |b| {
            super::series::worst(&super::series::values(b, name), e.cmp)
        }),
        _ => {
            return Measured::unknown(
                0,
                "the windowed form is judged for error_rate, latency quantiles, memory_usage, \
                 cpu_usage, cache_hit_rate and metric(…)",
            )
        }
    };
    let threshold = e.threshold.value();
    let mut streak = 0usize;
    let mut longest = 0usize;
    for value in &per_second {
        match value {
            Some(v) if e.cmp.holds(*v, threshold) => {
                streak += 1;
                longest = longest.max(streak);
            }
            _ => streak = 0,
        }
    }
    if per_second.len() < seconds {
        return Measured::unknown(
            per_second.len() as u64,
            format!(
                "the run is shorter ({} s) than the window ({seconds} s)",
                per_second.len()
            ),
        );
    }
    Measured {
        value: Some(longest as f64),
        samples: per_second.len() as u64,
        evidence: format!(
            "condition held for at most {longest} consecutive seconds (window {seconds} s)"
        ),
    }
}

/// Second slots over the phases back to back: each phase's samples are
/// bucketed by their second within the phase, phase after phase.
fn slots<T>(
    phases: &[&PhaseRun],
    mut per_phase: impl FnMut(&PhaseRun) -> Vec<Option<T>>,
) -> Vec<Option<T>> {
    let mut out = Vec::new();
    for phase in phases {
        let mut values = per_phase(phase);
        // A phase contributes as many seconds as it lasted.
        values.resize_with(phase.output.elapsed.as_secs() as usize, || None);
        out.extend(values);
    }
    out
}

/// The mean of each second's `/metrics` samples of `field`.
fn per_second_samples(
    phases: &[&PhaseRun],
    field: impl Fn(&serde_json::Value) -> Option<f64>,
) -> Vec<Option<f64>> {
    slots(phases, |phase| {
        let mut sums: Vec<(f64, u32)> = Vec::new();
        for (at, body) in samples(&[phase], "/metrics") {
            let Some(value) = field(body) else { continue };
            let slot = at.saturating_sub(phase.start).as_secs() as usize;
            if sums.len() <= slot {
                sums.resize(slot + 1, (0.0, 0));
            }
            sums[slot].0 += value;
            sums[slot].1 += 1;
        }
        sums.into_iter()
            .map(|(sum, n)| (n > 0).then(|| sum / f64::from(n)))
            .collect()
    })
}

/// The server's hit rate within each second: hits ÷ lookups between
/// consecutive samples, credited to the later sample's second.
fn per_second_hit_rate(phases: &[&PhaseRun]) -> Vec<Option<f64>> {
    slots(phases, |phase| {
        let points: Vec<(Duration, f64, f64)> = samples(&[phase], "/metrics")
            .filter_map(|(at, b)| {
                Some((
                    at.saturating_sub(phase.start),
                    b["cacheHits"].as_f64()?,
                    b["cacheMisses"].as_f64()?,
                ))
            })
            .collect();
        let mut counts: Vec<(f64, f64)> = Vec::new();
        for pair in points.windows(2) {
            let (at, hits, misses) = pair[1];
            let (_, hits0, misses0) = pair[0];
            let slot = at.as_secs() as usize;
            if counts.len() <= slot {
                counts.resize(slot + 1, (0.0, 0.0));
            }
            counts[slot].0 += (hits - hits0).max(0.0);
            counts[slot].1 += (misses - misses0).max(0.0);
        }
        counts
            .into_iter()
            .map(|(h, m)| (h + m > 0.0).then(|| h / (h + m)))
            .collect()
    })
}
