//! The delta table of a comparison: per journey × phase (and per journey
//! over all phases), p50, p99, p99.9, max, throughput and error rate of
//! each run, and how B differs from A, absolutely and relatively.
//!
//! Everything comes from the phases' interval logs (the only latency data
//! `record.json` keeps), all outcomes together as the verdicts judge them.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;
use somon_record::RunReport;

/// The phase name of a journey's row over the whole run.
pub(crate) const ALL_PHASES: &str = "all phases";

/// One journey's figures in one phase of one run (seconds, per second, 0–1).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Figures {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) p50_s: f64,
    pub(crate) p99_s: f64,
    pub(crate) p999_s: f64,
    pub(crate) max_s: f64,
    pub(crate) rps: f64,
    pub(crate) error_rate: f64,
}

/// The metrics of the table, in row order: (name, unit kind, value).
pub(crate) const METRICS: [(&str, Unit); 6] = [
    ("p50", Unit::Seconds),
    ("p99", Unit::Seconds),
    ("p99.9", Unit::Seconds),
    ("max", Unit::Seconds),
    ("rps", Unit::PerSecond),
    ("error rate", Unit::Ratio),
];

/// How a metric's values read.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Unit {
    Seconds,
    PerSecond,
    Ratio,
}

impl Figures {
    /// The value of [`METRICS`]`[i]`.
    pub(crate) fn metric(&self, i: usize) -> f64 {
        [
            self.p50_s,
            self.p99_s,
            self.p999_s,
            self.max_s,
            self.rps,
            self.error_rate,
        ][i]
    }
}

/// B − A, and (B − A) / A when A is not zero.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Delta {
    pub(crate) metric: &'static str,
    pub(crate) unit: Unit,
    pub(crate) a: Option<f64>,
    pub(crate) b: Option<f64>,
    pub(crate) absolute: Option<f64>,
    pub(crate) relative: Option<f64>,
}

/// One journey × phase of the table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Row {
    pub(crate) journey: String,
    pub(crate) phase: String,
    /// `None` when the run has no requests of this journey in this phase.
    pub(crate) a: Option<Figures>,
    pub(crate) b: Option<Figures>,
    /// One per [`METRICS`] entry, in order.
    pub(crate) deltas: Vec<Delta>,
}

/// Counts of one journey in one phase while reading the logs.
struct Tally {
    all: Histogram<u64>,
    errors: u64,
}

/// (journey, phase) → figures, phases as the run named them plus
/// [`ALL_PHASES`]; and the phases in run order.
type RunFigures = (BTreeMap<(String, String), Figures>, Vec<String>);

/// Reads a run's figures per journey × phase.
///
/// # Errors
/// An interval log that does not parse, naming the phase.
pub(crate) fn figures(report: &RunReport) -> Result<RunFigures, String> {
    let mut tallies: BTreeMap<(String, String), Tally> = BTreeMap::new();
    // Seconds of load each journey × phase ran for, to turn counts into rates.
    let mut seconds: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut phases = Vec::new();
    for phase in &report.record.phases {
        phases.push(phase.name.clone());
        let intervals = somon_loadgen::interval_log::keyed(&phase.output.interval_log)
            .map_err(|e| format!("interval log of phase {}: {e}", phase.name))?;
        let elapsed = phase.output.elapsed.as_secs_f64();
        for (logged, interval) in intervals {
            let (op, failed) = (&*logged.op, logged.outcome.is_error());
            for phase_name in [phase.name.as_str(), ALL_PHASES] {
                let key = (op.to_string(), phase_name.to_string());
                let tally = tallies.entry(key.clone()).or_insert_with(|| Tally {
                    all: somon_loadgen::new_histogram(),
                    errors: 0,
                });
                tally
                    .all
                    .add(&interval.histogram)
                    .map_err(|e| format!("merging latencies of {op}: {e:?}"))?;
                if failed {
                    tally.errors += interval.histogram.len();
                }
                if phase_name != ALL_PHASES {
                    seconds.insert(key, elapsed);
                }
            }
        }
    }
    // A journey's whole-run rate is over the phases it ran in.
    let per_journey: BTreeMap<String, f64> =
        seconds
            .iter()
            .fold(BTreeMap::new(), |mut acc, ((op, _), s)| {
                *acc.entry(op.clone()).or_default() += s;
                acc
            });
    let figures = tallies
        .into_iter()
        .map(|(key, tally)| {
            let span = if key.1 == ALL_PHASES {
                per_journey.get(&key.0).copied().unwrap_or(0.0)
            } else {
                seconds.get(&key).copied().unwrap_or(0.0)
            };
            let h = &tally.all;
            let requests = h.len();
            let at = |q: f64| h.value_at_quantile(q) as f64 / 1e6;
            let figures = Figures {
                requests,
                errors: tally.errors,
                p50_s: at(0.5),
                p99_s: at(0.99),
                p999_s: at(0.999),
                max_s: h.max() as f64 / 1e6,
                rps: if span > 0.0 {
                    requests as f64 / span
                } else {
                    0.0
                },
                error_rate: if requests > 0 {
                    tally.errors as f64 / requests as f64
                } else {
                    0.0
                },
            };
            (key, figures)
        })
        .collect();
    Ok((figures, phases))
}

fn delta(i: usize, a: Option<&Figures>, b: Option<&Figures>) -> Delta {
    let (metric, unit) = METRICS[i];
    let a = a.map(|f| f.metric(i));
    let b = b.map(|f| f.metric(i));
    let absolute = a.zip(b).map(|(a, b)| b - a);
    let relative = a.zip(absolute).and_then(|(a, d)| (a != 0.0).then(|| d / a));
    Delta {
        metric,
        unit,
        a,
        b,
        absolute,
        relative,
    }
}

/// The table: journeys in name order; within one, A's phases in run
/// order, then phases only B ran, then [`ALL_PHASES`] when either run had
/// the journey in more than one phase.
pub(crate) fn rows(a: &RunFigures, b: &RunFigures) -> Vec<Row> {
    let mut phases: Vec<&str> = a.1.iter().map(String::as_str).collect();
    for p in &b.1 {
        if !phases.contains(&p.as_str()) {
            phases.push(p);
        }
    }
    phases.push(ALL_PHASES);
    let mut journeys: Vec<&str> =
        a.0.keys()
            .chain(b.0.keys())
            .map(|(j, _)| j.as_str())
            .collect();
    journeys.sort_unstable();
    journeys.dedup();
    let mut rows = Vec::new();
    for journey in journeys {
        // Over one phase, the whole-run row would repeat that phase's.
        let ran_in = |run: &RunFigures| {
            run.0
                .keys()
                .filter(|(j, p)| j == journey && p != ALL_PHASES)
                .count()
        };
        let several = ran_in(a) > 1 || ran_in(b) > 1;
        for phase in &phases {
            let key = (journey.to_string(), (*phase).to_string());
            let (fa, fb) = (a.0.get(&key), b.0.get(&key));
            if (fa.is_none() && fb.is_none()) || (*phase == ALL_PHASES && !several) {
                continue;
            }
            rows.push(Row {
                journey: key.0.clone(),
                phase: key.1.clone(),
                a: fa.cloned(),
                b: fb.cloned(),
                deltas: (0..METRICS.len()).map(|i| delta(i, fa, fb)).collect(),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn figures() -> impl Strategy<Value = Figures> {
        (0u64..10_000, 0.0f64..2.0, 0.0f64..5_000.0, 0.0f64..1.0).prop_map(
            |(requests, p50, rps, error_rate)| Figures {
                requests,
                errors: (requests as f64 * error_rate) as u64,
                p50_s: p50,
                p99_s: p50 * 2.0,
                p999_s: p50 * 3.0,
                max_s: p50 * 4.0,
                rps,
                error_rate,
            },
        )
    }

    /// One journey over the given phases, `None` where it did not run.
    fn run(phases: &[Option<Figures>]) -> RunFigures {
        let mut map = BTreeMap::new();
        let mut names = Vec::new();
        for (i, f) in phases.iter().enumerate() {
            names.push(format!("p{i}"));
            if let Some(f) = f {
                map.insert(("j".to_string(), format!("p{i}")), f.clone());
            }
        }
        (map, names)
    }

    proptest! {
        /// Swapping A and B negates every absolute delta, and a relative
        /// delta is the absolute one over A.
        #[test]
        fn deltas_are_b_minus_a(
            a in proptest::collection::vec(proptest::option::of(figures()), 1..4),
            b in proptest::collection::vec(proptest::option::of(figures()), 1..4),
        ) {
            let (ra, rb) = (run(&a), run(&b));
            let forward = rows(&ra, &rb);
            let backward = rows(&rb, &ra);
            prop_assert_eq!(forward.len(), backward.len());
            for (f, r) in forward.iter().zip(&backward) {
                prop_assert_eq!((&f.journey, &f.phase), (&r.journey, &r.phase));
                prop_assert!(f.a.is_some() || f.b.is_some());
                for (df, dr) in f.deltas.iter().zip(&r.deltas) {
                    prop_assert_eq!(df.absolute, dr.absolute.map(|d| -d));
                    if let (Some(a), Some(d), Some(rel)) = (df.a, df.absolute, df.relative) {
                        prop_assert!((rel * a - d).abs() <= 1e-9 * d.abs().max(1.0));
                    }
                    prop_assert_eq!(df.absolute.is_some(), df.a.is_some() && df.b.is_some());
                }
            }
        }
    }
}
