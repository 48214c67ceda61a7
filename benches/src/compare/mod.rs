//! `bench-compare`: the performance ratios P1–P7 (table below), each
//! measured in this run against a reference taken on the same box, with
//! the raw numbers kept beside it.
//!
//! | id | ratio | goal |
//! |----|-------|------|
//! | P1 | cached-load req/s ÷ trivial axum "hello" req/s (same generator, same connections) | ≥ 0.8 |
//! | P2 | cached-load p99 at 1000 closed-model users ÷ 100 ms | ≤ 0.1 |
//! | P3 | open-model generator's max req/s ÷ `wrk`'s, same hello endpoint | ≥ 0.7 |
//! | P5 | claimed bundle time per 100 KB (10 ms) ÷ measured, modules cached | ≥ 10 |
//! | P5s | the same from source (read + compile + bundle) | ≥ 10 |
//! | P6 | RSS growth over 10 000 cached modules ÷ their source + compiled bytes | ≤ 1.3 |
//! | P7 | measured breaker recovery after the dependency returns ÷ configured wait | ≤ 1.1 |
//!
//! Throughput ratios are repeated and reported as the median of the
//! per-repetition ratios (the two sides of one repetition run back to
//! back, so they share the box's momentary load); the load average before
//! and after is recorded so a number taken on a busy box says so.

use std::time::{Duration, Instant};

use serde::Serialize;
use somon_record::{judge_value, Cmp, Outcome, ValueFigure, Verdict, VerdictKind};

mod bundle;
mod latency;
mod memory;
mod recovery;
mod throughput;
mod wrk;

pub use wrk::{wrk, WrkRun};

/// Why a ratio could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file, socket or process failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The reference system refused its setup.
    #[error("reference system: {0}")]
    System(somon_system::Error),
    /// The load generator failed.
    #[error("load generator: {0}")]
    Load(#[from] somon_loadgen::Error),
    /// A fault injector failed.
    #[error("fault injection: {0}")]
    Chaos(#[from] somon_chaos::Error),
    /// A reference tool is missing (e.g. `wrk`).
    #[error("{0}")]
    Missing(String),
    /// The measurement itself went wrong (errors in the load, timeouts).
    #[error("{0}")]
    Failed(String),
}

/// Which way a ratio must lie.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// The ratio must be at least this.
    AtLeast(f64),
    /// The ratio must be at most this.
    AtMost(f64),
}

impl Goal {
    /// The goal as a comparison and its bound, for the judge.
    pub fn bound(self) -> (Cmp, f64) {
        match self {
            Goal::AtLeast(g) => (Cmp::Ge, g),
            Goal::AtMost(g) => (Cmp::Le, g),
        }
    }
}

impl std::fmt::Display for Goal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Goal::AtLeast(g) => write!(f, "≥ {g}"),
            Goal::AtMost(g) => write!(f, "≤ {g}"),
        }
    }
}

/// One raw figure behind a ratio.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Raw {
    /// What it is.
    pub name: String,
    /// Its value (median over repetitions where repeated).
    pub value: f64,
    /// Its unit (`req/s`, `ms`, `bytes`, …).
    pub unit: &'static str,
}

impl Raw {
    fn new(name: &str, value: f64, unit: &'static str) -> Raw {
        Raw {
            name: name.to_owned(),
            value,
            unit,
        }
    }
}

/// One measured ratio with its goal, raw numbers and verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ratio {
    /// `P1` … `P7`.
    pub id: &'static str,
    /// What is divided by what.
    pub title: &'static str,
    /// The ratio (median of `runs`), `None` when unmeasured.
    pub ratio: Option<f64>,
    /// The goal.
    pub goal: Goal,
    /// Its verdict, by the one judge ([`judge_value`]): PASS when the goal
    /// is met, FAIL when missed, UNKNOWN when unmeasured (see `note`).
    pub verdict: Verdict,
    /// The ratio of each repetition.
    pub runs: Vec<f64>,
    /// The numbers the ratio was computed from.
    pub raw: Vec<Raw>,
    /// Conditions, or why it is unmeasured.
    pub note: String,
    /// Wall time this measurement took, seconds.
    pub seconds: f64,
}

/// A ratio's verdict: the goal is the bound, the median the value.
fn judged(
    id: &str,
    title: &str,
    goal: Goal,
    ratio: Option<f64>,
    runs: usize,
    note: &str,
) -> Verdict {
    let (cmp, bound) = goal.bound();
    judge_value(&ValueFigure {
        kind: VerdictKind::PerformanceRatio,
        id: id.to_owned(),
        source: title.to_owned(),
        cmp,
        bound,
        value: ratio,
        samples: runs as u64,
        evidence: note.to_owned(),
    })
}

impl Ratio {
    fn measured(
        id: &'static str,
        title: &'static str,
        goal: Goal,
        runs: Vec<f64>,
        raw: Vec<Raw>,
        note: String,
    ) -> Ratio {
        let ratio = median(&runs);
        Ratio {
            id,
            title,
            ratio,
            goal,
            verdict: judged(id, title, goal, ratio, runs.len(), &note),
            runs,
            raw,
            note,
            seconds: 0.0,
        }
    }

    fn unmeasured(id: &'static str, title: &'static str, goal: Goal, why: &Error) -> Ratio {
        Ratio {
            id,
            title,
            ratio: None,
            goal,
            verdict: judged(id, title, goal, None, 0, &why.to_string()),
            runs: Vec::new(),
            raw: Vec::new(),
            note: why.to_string(),
            seconds: 0.0,
        }
    }
}

/// How much to measure.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Repetitions of each throughput and recovery measurement (median
    /// reported); at least 1.
    pub repeats: usize,
    /// Length of one throughput run (each side of P1 and P3).
    pub run_time: Duration,
    /// Connections (wrk `-c`) and the open model's in-flight cap.
    pub connections: u32,
    /// Only these ids (`P1` … `P7`); empty = all.
    pub only: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            repeats: 3,
            run_time: Duration::from_secs(3),
            connections: 64,
            only: Vec::new(),
        }
    }
}

/// Every ratio of one run, with the conditions it ran under.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// Seconds since the Unix epoch at the start.
    pub started_unix: u64,
    /// Logical CPUs of the box.
    pub cores: usize,
    /// 1-, 5- and 15-minute load averages before the first measurement.
    pub load_before: Option<[f64; 3]>,
    /// … and after the last.
    pub load_after: Option<[f64; 3]>,
    /// Repetitions, run length and connections used.
    pub repeats: usize,
    /// Length of one throughput run, seconds.
    pub run_seconds: f64,
    /// Connections used for P1 and P3.
    pub connections: u32,
    /// The ratios, in id order.
    pub ratios: Vec<Ratio>,
    /// Wall time of the whole comparison, seconds.
    pub seconds: f64,
}

impl Comparison {
    /// Whether every measured goal was met and none was left unmeasured.
    pub fn all_met(&self) -> bool {
        self.ratios
            .iter()
            .all(|r| r.verdict.outcome == Outcome::Pass)
    }

    /// Whether some measured goal was missed.
    pub fn any_missed(&self) -> bool {
        self.ratios
            .iter()
            .any(|r| r.verdict.outcome == Outcome::Fail)
    }

    /// The human table: id, ratio, goal, verdict, raw numbers, note.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let load = |l: Option<[f64; 3]>| {
            l.map_or("unknown".to_owned(), |l| {
                format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2])
            })
        };
        out.push_str(&format!(
            "bench-compare: {} cores, load average before {} / after {}, {} repeat(s), {:.0} s per throughput run, {} connections, {:.0} s in all\n\n",
            self.cores,
            load(self.load_before),
            load(self.load_after),
            self.repeats,
            self.run_seconds,
            self.connections,
            self.seconds
        ));
        out.push_str(&format!(
            "{:<3} {:>8} {:>7} {:<10} {}\n",
            "id", "ratio", "goal", "verdict", "what"
        ));
        for r in &self.ratios {
            let ratio = r.ratio.map_or("—".to_owned(), |v| format!("{v:.3}"));
            let verdict = r.verdict.outcome.label();
            out.push_str(&format!(
                "{:<3} {:>8} {:>7} {:<10} {}\n",
                r.id,
                ratio,
                r.goal.to_string(),
                verdict,
                r.title
            ));
            for raw in &r.raw {
                out.push_str(&format!(
                    "{:31}{} = {} {}\n",
                    "",
                    raw.name,
                    format_value(raw.value),
                    raw.unit
                ));
            }
            if r.runs.len() > 1 {
                let runs: Vec<String> = r.runs.iter().map(|v| format!("{v:.3}")).collect();
                out.push_str(&format!("{:31}runs: {}\n", "", runs.join(", ")));
            }
            if !r.note.is_empty() {
                out.push_str(&format!("{:31}note: {}\n", "", r.note));
            }
        }
        out
    }
}

fn format_value(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// Median of `values` (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    })
}

/// The box's load averages, from `/proc/loadavg`.
fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut parts = text.split_whitespace().map(|p| p.parse::<f64>().ok());
    Some([parts.next()??, parts.next()??, parts.next()??])
}

/// A one-worker runtime for the generators (wrk is run with `-t1` too).
fn generator_runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-generator")
        .enable_all()
        .build()?)
}

type Measure = fn(&Options) -> Result<Ratio, Error>;

/// Runs the selected measurements, P6 first (it reads this process's RSS
/// growth, which is cleanest before other measurements have grown and
/// fragmented the heap), then the others in id order; `progress` hears
/// each id as it starts.
pub fn run(options: &Options, mut progress: impl FnMut(&str)) -> Comparison {
    let started = Instant::now();
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let load_before = load_average();
    let all: [(&'static str, &'static str, Goal, Measure); 7] = [
        (memory::ID, memory::TITLE, memory::GOAL, memory::measure),
        (
            throughput::P1,
            throughput::P1_TITLE,
            throughput::P1_GOAL,
            throughput::p1,
        ),
        (latency::ID, latency::TITLE, latency::GOAL, latency::measure),
        (
            throughput::P3,
            throughput::P3_TITLE,
            throughput::P3_GOAL,
            throughput::p3,
        ),
        (bundle::ID, bundle::TITLE, bundle::GOAL, bundle::measure),
        (
            bundle::SOURCE_ID,
            bundle::SOURCE_TITLE,
            bundle::GOAL,
            bundle::measure_from_source,
        ),
        (
            recovery::ID,
            recovery::TITLE,
            recovery::GOAL,
            recovery::measure,
        ),
    ];
    let mut ratios = Vec::new();
    for (id, title, goal, measure) in all {
        if !options.only.is_empty() && !options.only.iter().any(|o| o.eq_ignore_ascii_case(id)) {
            continue;
        }
        progress(id);
        let began = Instant::now();
        let mut ratio = match measure(options) {
            Ok(ratio) => ratio,
            Err(error) => Ratio::unmeasured(id, title, goal, &error),
        };
        ratio.seconds = began.elapsed().as_secs_f64();
        ratios.push(ratio);
    }
    ratios.sort_by_key(|r| r.id);
    Comparison {
        started_unix,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_before,
        load_after: load_average(),
        repeats: options.repeats,
        run_seconds: options.run_time.as_secs_f64(),
        connections: options.connections,
        ratios,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// The ids [`run`] knows.
pub const IDS: [&str; 7] = ["P1", "P2", "P3", "P5", "P5s", "P6", "P7"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 1.0]), Some(1.0));
    }

    #[test]
    fn goals_and_verdicts() {
        let met = |goal: Goal, ratio: f64| {
            let (cmp, bound) = goal.bound();
            cmp.holds(ratio, bound)
        };
        assert!(met(Goal::AtLeast(0.8), 0.8));
        assert!(!met(Goal::AtLeast(0.8), 0.79));
        assert!(met(Goal::AtMost(1.1), 1.05));
        assert!(!met(Goal::AtMost(1.1), 1.2));
        let r = Ratio::measured(
            "P1",
            "t",
            Goal::AtLeast(0.8),
            vec![0.7, 0.9, 0.85],
            vec![],
            String::new(),
        );
        assert_eq!(r.ratio, Some(0.85));
        assert_eq!(r.verdict.outcome, Outcome::Pass);
        assert_eq!(r.verdict.kind, VerdictKind::PerformanceRatio);
        let r = Ratio::measured(
            "P7",
            "t",
            Goal::AtMost(1.1),
            vec![1.3],
            vec![],
            String::new(),
        );
        assert_eq!(r.verdict.outcome, Outcome::Fail);
        let r = Ratio::unmeasured(
            "P3",
            "t",
            Goal::AtLeast(0.7),
            &Error::Missing("no wrk".into()),
        );
        assert_eq!(r.verdict.outcome, Outcome::Unknown);
        assert_eq!(r.note, "no wrk");
    }
}
