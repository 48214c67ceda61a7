//! Merging the records of `--shard I/N` runs into the record of one run at
//! the whole load, then judging it as one run.
//!
//! What is exact and what is not:
//!
//! - latency: each shard's interval log holds every latency it measured,
//!   per (op, phase, outcome) and second, as HDR histograms; adding them
//!   (HdrHistogram `add`, bucket by bucket) gives exactly the histogram one
//!   generator recording all the requests would hold, so every percentile
//!   of the merged record equals that of a single histogram;
//! - counters (requests, errors, drops, intended and sent) are summed;
//! - time series and interval logs are aligned on the run clock: each
//!   shard's run clock started at a recorded wall-clock time, the merged
//!   clock starts with the earliest, and each shard's one-second intervals
//!   are moved by its offset to the nearest second of the merged clock and
//!   added there. In-flight figures are sums of the shards' (the peak
//!   an upper bound of the true concurrent peak);
//! - generator self-checks: rates are summed; the send lag is the worst
//!   shard's (whole-run send-lag histograms are not in the record) and so
//!   is the CPU fraction (each of its own machine); a phase is valid only
//!   when every shard's generator kept up;
//! - target samples (`/metrics`, breaker status) of all shards are merged
//!   in time order; faults, operator actions and probes come from shard 0,
//!   the only one that runs them.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use somon_loadgen::{
    interval_log, new_histogram, ErrorCounts, IntervalLogWriter, IntervalPoint, Key, Measurement,
    RunOutput, SelfCheck, Summary, Validity,
};

use crate::{PhaseRun, RunRecord, RunReport, RunStatus, Scenario, ShardManifest};

/// Why shard records cannot be merged. Nothing is written when one holds.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// No record was given.
    #[error("nothing to merge: give the run directories of the shards")]
    Empty,
    /// A record is of a whole run (no `--shard`).
    #[error("{label}: not a shard's record (it was not run with --shard I/N)")]
    NotSharded {
        /// Which record.
        label: String,
    },
    /// Records disagree on what ran: scenario, seed, shard count or
    /// target. Shards of different runs do not add up to one.
    #[error("{label}: {what} is `{theirs}`, but {first} has `{ours}`; shards of different runs cannot be merged")]
    Mismatch {
        /// The record that differs.
        label: String,
        /// The first record.
        first: String,
        /// What differs (`scenario`, `seed`, …).
        what: &'static str,
        /// Its value in `label`.
        theirs: String,
        /// Its value in `first`.
        ours: String,
    },
    /// The scenario given to judge with is not the one the shards ran.
    #[error("the shards ran scenario `{ran}`, not `{given}`")]
    WrongScenario {
        /// What the shards ran.
        ran: String,
        /// The scenario given.
        given: String,
    },
    /// Two records hold the same shard.
    #[error("shard {index} is in both {a} and {b}: each shard may be merged once")]
    Overlap {
        /// The shard index.
        index: u32,
        /// One record.
        a: String,
        /// The other.
        b: String,
    },
    /// Some shards of the count are missing: the merged load would not be
    /// the scenario's.
    #[error("shards {missing:?} of {count} are missing: a merge needs every shard's record")]
    Missing {
        /// The missing indices.
        missing: Vec<u32>,
        /// The shard count.
        count: u32,
    },
    /// A record's interval log does not parse, or does not hold the
    /// requests its counters say.
    #[error("{label}: phase {phase}: {reason}")]
    Record {
        /// Which record.
        label: String,
        /// Which phase.
        phase: String,
        /// What is wrong.
        reason: String,
    },
}

/// One shard's record, as read from its run directory.
struct Part {
    label: String,
    report: RunReport,
    shard: ShardManifest,
    /// How far this shard's run clock started after the earliest.
    offset: Duration,
}

/// Merges the reports of shard runs (each labelled, e.g. by its run
/// directory, for errors) into one report of `scenario` at the whole load,
/// with its verdicts judged again on the merged record.
///
/// # Errors
/// [`MergeError`] when the records are not all the shards of one run of
/// `scenario` (different scenario, seed, shard count or target; a shard
/// twice or missing; a whole run's record) or a record's interval log is
/// unreadable or short of its own request count.
pub fn merge(
    scenario: &Scenario,
    shards: Vec<(String, RunReport)>,
) -> Result<RunReport, MergeError> {
    let mut parts = validate_shards(scenario, shards)?;
    let earliest = parts
        .iter()
        .flat_map(|p| p.shard.clock_started_unix_ms.iter().copied())
        .min()
        .unwrap_or(0);
    for part in &mut parts {
        let started = part
            .shard
            .clock_started_unix_ms
            .iter()
            .copied()
            .min()
            .unwrap_or(earliest);
        part.offset = Duration::from_millis(started - earliest);
    }
    parts.sort_by_key(|p| p.shard.indices.iter().copied().min());
    let clock_start = SystemTime::UNIX_EPOCH + Duration::from_millis(earliest);

    let mut record = RunRecord::default();
    for phase in &scenario.phases {
        let runs: Vec<(&Part, &PhaseRun)> = parts
            .iter()
            .filter_map(|p| {
                let run = p
                    .report
                    .record
                    .phases
                    .iter()
                    .find(|r| r.name == phase.name)?;
                Some((p, run))
            })
            .collect();
        if !runs.is_empty() {
            record
                .phases
                .push(merge_phase(&phase.name, &runs, clock_start)?);
        }
    }
    // Shard 0 alone acts on the target; its events move to the merged clock.
    let first = &parts[0];
    let shift = first.offset;
    record.faults = first.report.record.faults.clone();
    record.faults.iter_mut().for_each(|f| f.at += shift);
    record.probes = first.report.record.probes.clone();
    record.probes.iter_mut().for_each(|p| p.at += shift);
    let mut history = first.report.history.clone();
    history.iter_mut().for_each(|e| e.at += shift);

    let mut manifest = first.report.manifest.clone();
    let mut merged_shard = ShardManifest {
        count: first.shard.count,
        start_at: first.shard.start_at.clone(),
        ..ShardManifest::default()
    };
    let mut ends = Vec::new();
    for part in &parts {
        merged_shard.indices.extend(&part.shard.indices);
        merged_shard.seeds.extend(&part.shard.seeds);
        merged_shard
            .clock_started_unix_ms
            .extend(&part.shard.clock_started_unix_ms);
        ends.push(part.report.manifest.wall_time);
        if part.report.manifest.started_at < manifest.started_at {
            manifest.started_at = part.report.manifest.started_at.clone();
        }
    }
    manifest.wall_time = ends.into_iter().max().unwrap_or_default();
    manifest.shard = Some(merged_shard);

    // The run is as complete as its least complete shard.
    let (status, reason) = parts
        .iter()
        .find(|p| !p.report.status.is_complete())
        .map_or((RunStatus::Completed, None), |p| {
            let why = p.report.reason.as_deref().unwrap_or("cut short");
            (p.report.status, Some(format!("{}: {why}", p.label)))
        });
    let steady_state = parts
        .iter()
        .flat_map(|p| {
            p.report.steady_state.iter().cloned().map(|mut v| {
                v.evidence = format!("{}: {}", p.label, v.evidence);
                v
            })
        })
        .collect();
    let mut report = RunReport {
        manifest,
        status,
        reason,
        validity: Vec::new(),
        steady_state,
        verdicts: Vec::new(),
        record,
        history,
        regression: None,
    };
    crate::run::judge_report(scenario, &mut report);
    Ok(report)
}

/// Labels, shard manifests, and the checks that the records are all the
/// shards of one run of `scenario`, each once.
fn validate_shards(
    scenario: &Scenario,
    shards: Vec<(String, RunReport)>,
) -> Result<Vec<Part>, MergeError> {
    let mut parts: Vec<Part> = Vec::with_capacity(shards.len());
    let mut owner: BTreeMap<u32, String> = BTreeMap::new();
    for (label, report) in shards {
        let Some(shard) = report.manifest.shard.clone() else {
            return Err(MergeError::NotSharded { label });
        };
        if let Some(first) = parts.first() {
            let (a, b) = (&first.report.manifest, &report.manifest);
            let differs = [
                ("scenario", a.scenario.clone(), b.scenario.clone()),
                ("seed", a.seed.to_string(), b.seed.to_string()),
                (
                    "shard count",
                    first.shard.count.to_string(),
                    shard.count.to_string(),
                ),
                ("target", a.target.clone(), b.target.clone()),
            ];
            if let Some((what, ours, theirs)) = differs.into_iter().find(|(_, x, y)| x != y) {
                return Err(MergeError::Mismatch {
                    label,
                    first: first.label.clone(),
                    what,
                    theirs,
                    ours,
                });
            }
        }
        for index in &shard.indices {
            if let Some(a) = owner.insert(*index, label.clone()) {
                return Err(MergeError::Overlap {
                    index: *index,
                    a,
                    b: label,
                });
            }
        }
        parts.push(Part {
            label,
            report,
            shard,
            offset: Duration::ZERO,
        });
    }
    let Some(first) = parts.first() else {
        return Err(MergeError::Empty);
    };
    if first.report.manifest.scenario != scenario.name {
        return Err(MergeError::WrongScenario {
            ran: first.report.manifest.scenario.clone(),
            given: scenario.name.clone(),
        });
    }
    let count = first.shard.count;
    let missing: Vec<u32> = (0..count).filter(|i| !owner.contains_key(i)).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing { missing, count });
    }
    Ok(parts)
}

/// The merged-clock second a shard's interval starting at `at` lands in.
fn slot(at: Duration) -> usize {
    (at.as_secs_f64() + 0.5).floor() as usize
}

/// One phase of every shard that ran it, added up.
fn merge_phase(
    name: &str,
    runs: &[(&Part, &PhaseRun)],
    clock_start: SystemTime,
) -> Result<PhaseRun, MergeError> {
    // Phase start of each shard on the merged clock; the merged phase
    // starts with the earliest.
    let starts: Vec<Duration> = runs.iter().map(|(p, r)| p.offset + r.start).collect();
    let start = starts.iter().copied().min().unwrap_or_default();
    let mut totals: HashMap<Key, Histogram<u64>> = HashMap::new();
    let mut intervals: BTreeMap<(usize, String), (Duration, Histogram<u64>)> = BTreeMap::new();
    let mut series: BTreeMap<usize, IntervalPoint> = BTreeMap::new();
    let mut samples = Vec::new();
    let mut elapsed = Duration::ZERO;
    let mut checks = Vec::new();
    let mut reasons = Vec::new();
    for ((part, run), shard_start) in runs.iter().zip(&starts) {
        let shift = *shard_start - start;
        let bad = |reason: String| MergeError::Record {
            label: part.label.clone(),
            phase: name.to_owned(),
            reason,
        };
        let read = interval_log::read(&run.output.interval_log)
            .map_err(|e| bad(format!("interval log: {e}")))?;
        let mut seen = 0;
        for interval in read {
            let tag = interval.tag.unwrap_or_default();
            let key: Key = tag
                .parse()
                .map_err(|e: somon_loadgen::Error| bad(e.to_string()))?;
            seen += interval.histogram.len();
            add(
                totals.entry(key).or_insert_with(new_histogram),
                &interval.histogram,
            )
            .map_err(&bad)?;
            let (duration, h) = intervals
                .entry((slot(shift + interval.start), tag))
                .or_insert_with(|| (Duration::ZERO, new_histogram()));
            *duration = (*duration).max(interval.duration);
            add(h, &interval.histogram).map_err(&bad)?;
        }
        if seen != run.output.requests {
            return Err(bad(format!(
                "the interval log holds {seen} latencies but the record counts {} requests",
                run.output.requests
            )));
        }
        for point in &run.output.series {
            let at = slot(shift + point.start);
            let merged = series.entry(at).or_insert_with(|| IntervalPoint {
                start: Duration::from_secs(at as u64),
                duration: Duration::ZERO,
                requests: 0,
                errors: ErrorCounts::default(),
                in_flight: 0,
                in_flight_peak: 0,
                dropped: 0,
            });
            merged.duration = merged.duration.max(point.duration);
            merged.requests += point.requests;
            add_errors(&mut merged.errors, &point.errors);
            merged.in_flight += point.in_flight;
            merged.in_flight_peak += point.in_flight_peak;
            merged.dropped += point.dropped;
        }
        samples.extend(run.output.samples.iter().cloned().map(|mut s| {
            s.at += shift;
            s
        }));
        elapsed = elapsed.max(shift + run.output.elapsed);
        checks.push(&run.output.self_check);
        if let Validity::Invalid { reasons: r } = &run.output.validity {
            reasons.extend(r.iter().map(|r| format!("{}: {r}", part.label)));
        }
    }
    samples.sort_by_key(|s| s.at);

    let mut log = IntervalLogWriter::new(clock_start + start);
    for ((at, tag), (duration, h)) in &intervals {
        log.write(Duration::from_secs(*at as u64), *duration, Some(tag), h)
            .map_err(|e| MergeError::Record {
                label: "merged".into(),
                phase: name.to_owned(),
                reason: e.to_string(),
            })?;
    }
    let series: Vec<IntervalPoint> = series.into_values().collect();
    let dropped = series.iter().map(|p| p.dropped).sum();
    let measurement = Measurement {
        histograms: totals,
        send_lag: None,
        interval_log: log.finish(),
        series,
        dropped,
        elapsed,
    };
    let first = &runs[0].1.output;
    let output = RunOutput {
        model: first.model,
        phase: first.phase.clone(),
        elapsed,
        requests: measurement.requests(),
        errors: measurement.errors(),
        summaries: measurement.summaries(),
        interval_log: measurement.interval_log.clone(),
        series: measurement.series.clone(),
        self_check: merge_checks(&checks),
        validity: if reasons.is_empty() {
            Validity::Valid
        } else {
            Validity::Invalid { reasons }
        },
        samples,
        measurement,
    };
    Ok(PhaseRun {
        name: name.to_owned(),
        start,
        output,
    })
}

fn add(into: &mut Histogram<u64>, from: &Histogram<u64>) -> Result<(), String> {
    into.add(from)
        .map_err(|e| format!("a histogram does not fit this harness's bounds: {e:?}"))
}

fn add_errors(into: &mut ErrorCounts, from: &ErrorCounts) {
    into.status_4xx += from.status_4xx;
    into.status_5xx += from.status_5xx;
    into.timeout += from.timeout;
    into.connect += from.connect;
    into.reset += from.reset;
    into.other += from.other;
}

/// The generators' self-checks as one: counts and rates summed, the worst
/// send lag and CPU.
fn merge_checks(checks: &[&SelfCheck]) -> SelfCheck {
    let mut out = SelfCheck::default();
    let mut lag: Option<&Summary> = None;
    for c in checks {
        out.intended += c.intended;
        out.sent += c.sent;
        out.dropped += c.dropped;
        out.intended_per_sec += c.intended_per_sec;
        out.achieved_per_sec += c.achieved_per_sec;
        if c.cpu_fraction >= out.cpu_fraction {
            out.cpu_fraction = c.cpu_fraction;
            out.cores = c.cores;
        }
        if lag.is_none_or(|l| c.send_lag.p99 > l.p99) {
            lag = Some(&c.send_lag);
        }
    }
    out.send_lag = lag.cloned().unwrap_or_default();
    out.rate_ratio = if out.intended_per_sec > 0.0 {
        out.achieved_per_sec / out.intended_per_sec
    } else {
        checks.iter().map(|c| c.rate_ratio).fold(1.0, f64::min)
    };
    out
}

#[cfg(test)]
mod tests;
