//! The windowed (alert) form, `… for 2m`: the condition must hold over
//! every second of some window. Client-side metrics come from the
//! generator's one-second intervals; server-side ones (memory, CPU, hit
//! rate) from the target samples, bucketed by second.
//!
//! A second without data (no sample of the target, no request of the
//! journey) is neither "held" nor "did not hold": the condition may have
//! held there unseen. So the form has three answers — it held on every
//! second of some window; every window has a second *with data* on which
//! it did not hold; or the data does not cover it — and the last is never
//! read as the second (an alert is not "quiet" on a target that was not
//! seen).

use std::time::Duration;

use somon_loadgen::interval_log;

use super::polls::Polls;
use super::{samples, Measured};
use crate::PhaseRun;
use crate::{Expectation, Metric};

/// What the windowed form came to.
pub(super) enum Windowed {
    /// The condition held on every second of some window: an alert rule
    /// would have fired.
    Held(Measured),
    /// Every window of the run has a second with data on which the
    /// condition did not hold: an alert rule stayed quiet.
    Quiet(Measured),
    /// Neither is shown: some window is made only of seconds on which the
    /// condition held or that have no data, or the run is shorter than the
    /// window.
    Unknown(Measured),
}

impl Windowed {
    /// Whether the condition held for a whole window (`None`: the data
    /// cannot say), with what was measured.
    pub(super) fn held(self) -> (Option<bool>, Measured) {
        match self {
            Windowed::Held(m) => (Some(true), m),
            Windowed::Quiet(m) => (Some(false), m),
            Windowed::Unknown(m) => (None, m),
        }
    }
}

/// The alert form: whether the condition held over every second of some
/// window of `window`. The measured value is the longest run of seconds
/// with data on which it held; the samples are the seconds with data.
pub(super) fn windowed(e: &Expectation, window: Duration, phases: &[&PhaseRun]) -> Windowed {
    let seconds = window.as_secs().max(1) as usize;
    let per_second: Vec<Option<f64>> = match &e.metric {
        Metric::ErrorRate {
            journey: None,
            class,
        } => phases
            .iter()
            .flat_map(|p| &p.output.series)
            .map(|i| {
                let errors = class.map_or(i.errors.total(), |c| c.count(&i.errors));
                (i.requests > 0).then(|| errors as f64 / i.requests as f64)
            })
            .collect(),
        Metric::Latency { quantile, journey } => {
            let mut out = Vec::new();
            for phase in phases {
                let log = &phase.output.interval_log;
                let Ok(seconds) = interval_log::per_second(log, |k| *k.op == **journey) else {
                    return Windowed::Unknown(Measured::unknown(0, "unreadable interval log"));
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
        Metric::SeriesRatio { .. } | Metric::CounterRate { .. } => slots(phases, |phase| {
            per_second_means(phase, super::series::points(&e.metric, phase))
        }),
        _ => {
            return Windowed::Unknown(Measured::unknown(
                0,
                "the windowed form is judged for error_rate, latency quantiles, memory_usage, \
                 cpu_usage, cache_hit_rate, metric(…) and rate(…)",
            ))
        }
    };
    let threshold = e.threshold.value();
    // The longest run of seconds on which the condition surely held, and
    // of those on which it held or that have no data.
    let (mut held, mut longest_held) = (0usize, 0usize);
    let (mut maybe, mut longest_maybe) = (0usize, 0usize);
    for value in &per_second {
        match value.map(|v| e.cmp.holds(v, threshold)) {
            Some(true) => (held, maybe) = (held + 1, maybe + 1),
            Some(false) => (held, maybe) = (0, 0),
            None => (held, maybe) = (0, maybe + 1),
        }
        longest_held = longest_held.max(held);
        longest_maybe = longest_maybe.max(maybe);
    }
    let with_data = per_second.iter().flatten().count() as u64;
    let slots = per_second.len();
    let measured = |evidence: String| Measured {
        value: Some(longest_held as f64),
        samples: with_data,
        evidence,
    };
    if longest_held >= seconds {
        return Windowed::Held(measured(format!(
            "condition held for {longest_held} consecutive seconds (window {seconds} s)"
        )));
    }
    if slots < seconds {
        return Windowed::Unknown(Measured::unknown(
            with_data,
            format!("the run is shorter ({slots} s) than the window ({seconds} s)"),
        ));
    }
    if longest_maybe < seconds {
        return Windowed::Quiet(measured(format!(
            "condition held for at most {longest_held} consecutive seconds (window {seconds} s); \
             {with_data} of {slots} seconds had data"
        )));
    }
    let mut evidence = format!(
        "not covered by data: {with_data} of {slots} seconds had data, and for \
         {longest_maybe} consecutive seconds (window {seconds} s) the condition held or \
         was not seen"
    );
    if let Some(why) = missing(e, phases, with_data) {
        evidence.push_str("; ");
        evidence.push_str(&why);
    }
    Windowed::Unknown(Measured::unknown(with_data, evidence))
}

/// Why seconds lack data, in words, when the record can say.
fn missing(e: &Expectation, phases: &[&PhaseRun], with_data: u64) -> Option<String> {
    let what = match &e.metric {
        Metric::ErrorRate { .. } => {
            return Some("a second without requests has no error rate".into())
        }
        Metric::Latency { journey, .. } => {
            return Some(format!(
                "a second without a request of {journey} has no latency"
            ))
        }
        Metric::MemoryUsage => "systemMetrics.memoryUsage".to_owned(),
        Metric::CpuUsage => "systemMetrics.cpuUsage".to_owned(),
        Metric::CacheHitRate => "cacheHits and cacheMisses".to_owned(),
        Metric::Series { name } => format!("series {name}"),
        Metric::SeriesRatio {
            numerator,
            denominator,
        } => format!("series {numerator} and {denominator}"),
        Metric::CounterRate { name, over } => {
            format!("series {name} with {over:?} of samples before the second")
        }
        _ => return None,
    };
    let polls = Polls::of(phases, "/metrics");
    if with_data == 0 {
        Some(polls.no_data(&what))
    } else {
        polls.failures()
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
        let points = samples(std::slice::from_ref(&phase), "/metrics")
            .filter_map(|(at, body)| Some((at, field(body)?)));
        per_second_means(phase, points)
    })
}

/// The mean of each second's values of `points` (run clock) in `phase`.
fn per_second_means(
    phase: &PhaseRun,
    points: impl IntoIterator<Item = (Duration, f64)>,
) -> Vec<Option<f64>> {
    let mut sums: Vec<(f64, u32)> = Vec::new();
    for (at, value) in points {
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
