//! Judging claims against what a run measured: PASS, FAIL or UNKNOWN, with
//! the measured value, the sample count and the evidence that decided it.

use std::time::Duration;

use hdrhistogram::Histogram;
use somon_loadgen::{Key, Sample};

use crate::{
    Claim, Expectation, Metric, Outcome, PhaseRun, PhaseValidity, ProbeEvent, RunRecord,
    StatusClass, Verdict, VerdictKind,
};

mod compilations;
mod memory;
mod polls;
mod series;
mod time_to_state;
mod value;
mod window;

pub use time_to_state::TimeToState;
pub use value::{judge_value, ValueFigure};
use window::windowed;

/// What a metric came to.
struct Measured {
    value: Option<f64>,
    samples: u64,
    evidence: String,
}

impl Measured {
    fn unknown(samples: u64, evidence: impl Into<String>) -> Measured {
        Measured {
            value: None,
            samples,
            evidence: evidence.into(),
        }
    }
}

/// Samples a quantile needs before it means anything: 10 / (1 − q), so a
/// p99 needs 1000 and a p999 10 000: ten samples beyond the quantile.
pub fn samples_needed(quantile: f64) -> u64 {
    (10.0 / (1.0 - quantile)).ceil() as u64
}

/// Judges a document's `claim` against `record`.
pub fn judge(claim: &Claim, record: &RunRecord) -> Verdict {
    decide(VerdictKind::Claim, claim, record)
}

/// Judges a steady-state expression on the short probe run before or after
/// the method (the record holds that probe's phase).
pub fn judge_steady_state(claim: &Claim, record: &RunRecord) -> Verdict {
    decide(VerdictKind::SteadyState, claim, record)
}

/// Judges a runbook's alert rule against `record`: PASS when it stayed
/// quiet (every window of the run has a second with data on which its
/// condition did not hold), FAIL when it would have fired (the condition
/// held on every second of a window), UNKNOWN when the data cannot say —
/// a window whose seconds without data may have held it, so a target that
/// was not seen never passes.
pub fn judge_alert(alert: &Claim, record: &RunRecord) -> Verdict {
    let mut verdict = decide(VerdictKind::Alert, alert, record);
    // `decide` answers "did the condition hold for the window?"; the alert
    // rule's claim is the opposite.
    match verdict.outcome {
        Outcome::Pass => {
            verdict.outcome = Outcome::Fail;
            verdict.evidence = format!("the alert would have FIRED: {}", verdict.evidence);
        }
        Outcome::Fail => {
            verdict.outcome = Outcome::Pass;
            verdict.evidence = format!("the alert stayed quiet: {}", verdict.evidence);
        }
        Outcome::Unknown => {}
    }
    verdict
}

/// Every claim and alert of a run, each held to the validity rule
/// ([`Verdict::earned`]): what a run's verdict table shows.
pub fn judge_run(
    claims: &[Claim],
    alerts: &[Claim],
    record: &RunRecord,
    validity: &[PhaseValidity],
) -> Vec<Verdict> {
    let claims = claims.iter().map(|c| judge(c, record));
    let alerts = alerts.iter().map(|a| judge_alert(a, record));
    claims.chain(alerts).map(|v| v.earned(validity)).collect()
}

/// Whether `claim`'s condition held on `record`.
fn decide(kind: VerdictKind, claim: &Claim, record: &RunRecord) -> Verdict {
    let phases: Vec<&PhaseRun> = record
        .phases
        .iter()
        .filter(|p| claim.phase.as_deref().is_none_or(|name| p.name == name))
        .collect();
    let e = &claim.expect;
    let (held, measured) = if phases.is_empty() {
        (None, Measured::unknown(0, "no phase of that name ran"))
    } else if let Some((measured, outcome)) = time_to_state::judge(e, record) {
        // A time to a state has its own rule: one never observed is a
        // bound, not a value, and never a PASS.
        let held = match outcome {
            Outcome::Pass => Some(true),
            Outcome::Fail => Some(false),
            Outcome::Unknown => None,
        };
        (held, measured)
    } else if let Some(window) = e.window {
        // The windowed form says itself whether its condition held for a
        // whole window, did not, or the data cannot say.
        windowed(e, window, &phases).held()
    } else {
        let measured = measure(e, &phases, record);
        let held = measured.value.map(|v| e.cmp.holds(v, e.threshold.value()));
        (held, measured)
    };
    let outcome = match held {
        Some(true) => Outcome::Pass,
        Some(false) => Outcome::Fail,
        None => Outcome::Unknown,
    };
    Verdict {
        kind,
        claim: claim.id.clone(),
        source: claim.source.clone(),
        phase: claim.phase.clone(),
        outcome,
        expected: e.to_string(),
        measured: measured.value,
        samples: measured.samples,
        evidence: measured.evidence,
    }
}

/// Latency histogram (µs) of one journey over the phases, all outcomes.
fn latency(phases: &[&PhaseRun], journey: &str) -> Histogram<u64> {
    let mut total: Option<Histogram<u64>> = None;
    for phase in phases {
        let h = phase.output.measurement.merged(|k: &Key| &*k.op == journey);
        match &mut total {
            Some(t) => {
                let _ = t.add(&h);
            }
            None => total = Some(h),
        }
    }
    total.unwrap_or_else(|| Histogram::new(3).expect("3 significant digits"))
}

/// (requests, errors) of one journey (or all) over the phases.
/// Requests, and those that failed (of `class` only, when given), of
/// `journey` or of all.
fn counts(phases: &[&PhaseRun], journey: Option<&str>, class: Option<StatusClass>) -> (u64, u64) {
    let mut requests = 0;
    let mut errors = 0;
    for phase in phases {
        for (key, h) in &phase.output.measurement.histograms {
            if journey.is_some_and(|j| &*key.op != j) {
                continue;
            }
            requests += h.len();
            let failed = match class {
                Some(class) => class.holds(key.outcome),
                None => key.outcome != somon_loadgen::RequestOutcome::Ok,
            };
            if failed {
                errors += h.len();
            }
        }
    }
    (requests, errors)
}

/// The answers of `endpoint` over the phases, on the run clock; failed
/// polls have no body to read and are left out.
fn samples<'a>(
    phases: &'a [&PhaseRun],
    endpoint: &'a str,
) -> impl Iterator<Item = (Duration, &'a serde_json::Value)> {
    phases.iter().flat_map(move |p| {
        p.output
            .samples
            .iter()
            .filter(move |s: &&Sample| s.endpoint == endpoint)
            .filter_map(move |s| Some((p.start + s.at, s.data()?)))
    })
}

fn measure(e: &Expectation, phases: &[&PhaseRun], record: &RunRecord) -> Measured {
    match &e.metric {
        Metric::Latency { quantile, journey } => {
            let h = latency(phases, journey);
            let needed = samples_needed(*quantile);
            if h.len() < needed {
                return Measured::unknown(
                    h.len(),
                    format!(
                        "{} samples; a p{} needs {needed}",
                        h.len(),
                        quantile * 100.0
                    ),
                );
            }
            let value = h.value_at_quantile(*quantile) as f64 / 1e6;
            Measured {
                value: Some(value),
                samples: h.len(),
                evidence: format!(
                    "{} requests of {journey}: p{} = {:.3} ms",
                    h.len(),
                    quantile * 100.0,
                    value * 1e3
                ),
            }
        }
        Metric::MeanLatency { journey } | Metric::MaxLatency { journey } => {
            let h = latency(phases, journey);
            if h.is_empty() {
                return Measured::unknown(0, format!("no request of {journey}"));
            }
            let value = if matches!(e.metric, Metric::MeanLatency { .. }) {
                h.mean()
            } else {
                h.max() as f64
            } / 1e6;
            Measured {
                value: Some(value),
                samples: h.len(),
                evidence: format!("{} requests of {journey}", h.len()),
            }
        }
        Metric::ErrorRate { journey, class } => {
            let (requests, errors) = counts(phases, journey.as_deref(), *class);
            if requests == 0 {
                return Measured::unknown(0, "no requests");
            }
            let failed = class.map_or("failed".to_owned(), |c| format!("answered {c}"));
            Measured {
                value: Some(errors as f64 / requests as f64),
                samples: requests,
                evidence: format!("{errors} {failed} of {requests} requests"),
            }
        }
        Metric::Rps { journey } => {
            let (requests, _) = counts(phases, journey.as_deref(), None);
            let seconds: f64 = phases.iter().map(|p| p.output.elapsed.as_secs_f64()).sum();
            if seconds <= 0.0 {
                return Measured::unknown(requests, "no time elapsed");
            }
            Measured {
                value: Some(requests as f64 / seconds),
                samples: requests,
                evidence: format!("{requests} requests in {seconds:.1} s"),
            }
        }
        Metric::Availability => {
            let intervals: Vec<_> = phases
                .iter()
                .flat_map(|p| &p.output.series)
                .filter(|i| i.requests > 0)
                .collect();
            if intervals.is_empty() {
                return Measured::unknown(0, "no interval with requests");
            }
            let clean = intervals.iter().filter(|i| i.errors.total() == 0).count();
            Measured {
                value: Some(clean as f64 / intervals.len() as f64),
                samples: intervals.len() as u64,
                evidence: format!(
                    "{clean} of {} one-second intervals without a failed request",
                    intervals.len()
                ),
            }
        }
        Metric::CacheHitRate => hit_rate(phases),
        Metric::MemoryUsage | Metric::CpuUsage => memory::usage(e, phases),
        Metric::BytesPerCachedModule => memory::bytes_per_cached_module(phases),
        Metric::CompilationsPerModule => compilations::per_module(phases),
        Metric::MemoryGrowth => memory::growth(phases),
        Metric::Freshness => probe_share("module-edit", phases, record),
        Metric::ConfigAtomicity => probe_share("config-invalid-patch", phases, record),
        Metric::HitRateAccuracy => probe_share("hit-rate-audit", phases, record),
        Metric::Check { name } => probe_share(&format!("check:{name}"), phases, record),
        Metric::Series { name } => series::measure(name, e.cmp, phases),
        Metric::SeriesRatio { .. } | Metric::CounterRate { .. } => {
            series::measure_derived(&e.metric, e.cmp, phases)
        }
        // Judged by their own rule before any value is measured (`decide`).
        Metric::TimeToOpen { .. } | Metric::RecoveryTime { .. } => {
            Measured::unknown(0, "a time to a state is judged on its own")
        }
    }
}

/// The share of `kind` probes made during the phases that passed.
fn probe_share(kind: &str, phases: &[&PhaseRun], record: &RunRecord) -> Measured {
    let during = |at: Duration| {
        phases
            .iter()
            .any(|p| at >= p.start && at <= p.start + p.output.elapsed)
    };
    let probes: Vec<&ProbeEvent> = record
        .probes
        .iter()
        .filter(|p| p.kind == kind && during(p.at))
        .collect();
    if probes.is_empty() {
        return Measured::unknown(0, format!("no {kind} probe ran in the phase"));
    }
    let passed = probes.iter().filter(|p| p.passed).count();
    let failed: Vec<&str> = probes
        .iter()
        .filter(|p| !p.passed)
        .map(|p| p.detail.as_str())
        .collect();
    Measured {
        value: Some(passed as f64 / probes.len() as f64),
        samples: probes.len() as u64,
        evidence: if failed.is_empty() {
            format!("{passed} of {} {kind} probes passed", probes.len())
        } else {
            format!(
                "{passed} of {} {kind} probes passed; {}",
                probes.len(),
                failed.join("; ")
            )
        },
    }
}

/// The hit rate the server reports (`cacheHitRate`, what an operator reads
/// with jq) at the phase's last `/metrics` sample. The evidence adds the
/// phase's own Δhits / Δlookups and says so when the reported figure
/// disagrees with the server's own counters.
fn hit_rate(phases: &[&PhaseRun]) -> Measured {
    let points: Vec<(f64, f64, Option<f64>)> = samples(phases, "/metrics")
        .filter_map(|(_, b)| {
            Some((
                b["cacheHits"].as_f64()?,
                b["cacheMisses"].as_f64()?,
                b["cacheHitRate"].as_f64(),
            ))
        })
        .collect();
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        let why = polls::Polls::of(phases, "/metrics").no_data("cacheHits and cacheMisses");
        return Measured::unknown(0, why);
    };
    let (hits, misses) = (last.0 - first.0, last.1 - first.1);
    if hits + misses <= 0.0 {
        return Measured::unknown(0, "no lookups between the first and last sample");
    }
    let Some(reported) = last.2 else {
        return Measured::unknown(0, "the target's /metrics has no cacheHitRate");
    };
    let mut evidence = format!(
        "server reports cacheHitRate {reported:.4}; in the phase it counted {hits} hits and {misses} misses ({:.4})",
        hits / (hits + misses)
    );
    let lifetime = last.0 / (last.0 + last.1).max(1.0);
    if (lifetime - reported).abs() > 0.01 {
        evidence.push_str(&format!(
            "; the reported rate disagrees with its own counters ({lifetime:.4})"
        ));
    }
    Measured {
        value: Some(reported),
        samples: (hits + misses) as u64,
        evidence,
    }
}
