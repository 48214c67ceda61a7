//! From a run's record to a [`Baseline`]: the interval logs (what
//! `record.json` keeps) read back and reduced to per-second values per
//! journey × phase.

use somon_loadgen::interval_log::{self, Second};

use super::{Baseline, Series};
use crate::RunReport;

/// Condenses `report` into a baseline.
///
/// # Errors
/// An interval log that does not parse (with its phase's name).
pub fn condense(report: &RunReport) -> Result<Baseline, String> {
    let mut series = Vec::new();
    for phase in &report.record.phases {
        // journey → per second: latencies and the longest interval (the
        // outcomes of one second share its length).
        let by_journey =
            interval_log::per_second_by(&phase.output.interval_log, |k| Some(k.op.to_string()))
                .map_err(|e| format!("interval log of phase {}: {e}", phase.name))?;
        for (journey, seconds) in by_journey {
            let mut s = Series {
                journey,
                phase: phase.name.clone(),
                ..Series::default()
            };
            for Second {
                histogram: h,
                duration,
            } in seconds.iter().flatten()
            {
                let length = duration.as_secs_f64();
                // A last interval shorter than half a second says little
                // about a rate.
                if h.is_empty() || length < 0.5 {
                    continue;
                }
                s.p50_ms.push(h.value_at_quantile(0.5) as f64 / 1e3);
                s.p99_ms.push(h.value_at_quantile(0.99) as f64 / 1e3);
                s.rps.push(h.len() as f64 / length);
            }
            series.push(s);
        }
    }
    Ok(Baseline {
        scenario: report.manifest.scenario.clone(),
        git_sha: report.manifest.git_sha.clone(),
        started_at: report.manifest.started_at.clone(),
        defects: report.manifest.defects.clone(),
        series,
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use somon_loadgen::{
        new_histogram, ErrorCounts, IntervalLogWriter, Key, Model, RequestOutcome, RunOutput,
        SelfCheck, Validity,
    };

    use super::*;
    use crate::{PhaseRun, RunRecord, RunStatus};

    /// A log of `(start ms, duration ms, op, outcome, latencies µs)`.
    fn log(lines: &[(u64, u64, &str, RequestOutcome, &[u64])]) -> String {
        let mut log = IntervalLogWriter::new(SystemTime::UNIX_EPOCH);
        for (start, duration, op, outcome, values) in lines {
            let mut h = new_histogram();
            for v in *values {
                h.record(*v).unwrap();
            }
            let tag = Key::new(op, "steady", *outcome).tag();
            log.write(
                Duration::from_millis(*start),
                Duration::from_millis(*duration),
                Some(&tag),
                &h,
            )
            .unwrap();
        }
        log.finish()
    }

    fn report(interval_log: String) -> RunReport {
        RunReport {
            manifest: Default::default(),
            status: RunStatus::Completed,
            reason: None,
            validity: vec![],
            steady_state: vec![],
            verdicts: vec![],
            regression: None,
            record: RunRecord {
                phases: vec![PhaseRun {
                    name: "steady".into(),
                    start: Duration::from_secs(5),
                    output: RunOutput {
                        model: Model::Open,
                        phase: "steady".into(),
                        elapsed: Duration::from_secs(4),
                        requests: 0,
                        errors: ErrorCounts::default(),
                        summaries: Vec::new(),
                        interval_log,
                        series: Vec::new(),
                        self_check: SelfCheck::default(),
                        validity: Validity::Valid,
                        samples: Vec::new(),
                        measurement: Default::default(),
                    },
                }],
                ..RunRecord::default()
            },
            history: vec![],
        }
    }

    #[test]
    fn each_journey_gets_its_seconds_with_every_outcome_and_no_short_tail() {
        let text = log(&[
            (0, 1000, "load", RequestOutcome::Ok, &[1_000, 1_000, 1_000]),
            (0, 1000, "load", RequestOutcome::Timeout, &[9_000]),
            (0, 1000, "health", RequestOutcome::Ok, &[500]),
            (1000, 1000, "load", RequestOutcome::Ok, &[2_000, 2_000]),
            (3000, 300, "load", RequestOutcome::Ok, &[4_000]),
        ]);
        let baseline = condense(&report(text)).unwrap();
        let journeys: Vec<&str> = baseline.series.iter().map(|s| &*s.journey).collect();
        assert_eq!(journeys, ["health", "load"]);
        let load = &baseline.series[1];
        assert_eq!(load.phase, "steady");
        assert_eq!(load.rps, [4.0, 2.0], "the 0.3 s tail is left out");
        assert_eq!(load.p99_ms.len(), 2);
        assert!((load.p99_ms[0] - 9.0).abs() < 0.01, "{:?}", load.p99_ms);
        assert!((load.p50_ms[1] - 2.0).abs() < 0.01, "{:?}", load.p50_ms);
        let err = condense(&report("not a log\n".into())).unwrap_err();
        assert!(err.starts_with("interval log of phase steady: "), "{err}");
    }
}
