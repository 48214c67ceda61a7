//! Reading one named series out of a `/metrics` sample: Prometheus text
//! exposition (`name{labels} value [timestamp]`), or a top-level number of
//! a JSON body (the reference system's `/metrics`); and the two figures
//! derived from series, a ratio of two and the rate of a counter.

use std::time::Duration;

use super::polls::Polls;
use super::{samples, Measured};
use crate::PhaseRun;
use crate::{Cmp, Metric};

/// The values of series `name` in one sample body, one per label set.
pub(super) fn values(body: &serde_json::Value, name: &str) -> Vec<f64> {
    match body {
        serde_json::Value::String(text) => prometheus(text, name),
        other => other[name].as_f64().into_iter().collect(),
    }
}

/// The worst of a sample's label sets for a claim compared by `cmp`: the
/// largest under `<`, the smallest under `>`.
pub(super) fn worst(values: &[f64], cmp: Cmp) -> Option<f64> {
    let fold = |init: f64, f: fn(f64, f64) -> f64| {
        (!values.is_empty()).then(|| values.iter().copied().fold(init, f))
    };
    match cmp {
        Cmp::Lt | Cmp::Le => fold(f64::MIN, f64::max),
        Cmp::Gt | Cmp::Ge => fold(f64::MAX, f64::min),
    }
}

/// `metric(name)` over the phases: the worst value of any sample.
pub(super) fn measure(name: &str, cmp: Cmp, phases: &[&PhaseRun]) -> Measured {
    let mut polled = 0u64;
    let per_sample: Vec<f64> = samples(phases, "/metrics")
        .inspect(|_| polled += 1)
        .filter_map(|(_, body)| worst(&values(body, name), cmp))
        .collect();
    let Some(value) = worst(&per_sample, cmp) else {
        let why = if polled == 0 {
            // No answer to look in: say why (no polls, or how they failed).
            Polls::of(phases, "/metrics").no_data(&format!("series {name}"))
        } else {
            format!("no series {name} in {polled} samples of the target's /metrics")
        };
        return Measured::unknown(0, why);
    };
    ranged(name, &per_sample, value)
}

/// The worst `value` of `per_sample`, with the range they spanned.
fn ranged(what: &str, per_sample: &[f64], value: f64) -> Measured {
    let (lo, hi) = per_sample
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    // Four decimals at most: a rate of 0.39999999 reads as 0.4.
    let short = |v: f64| {
        let text = format!("{v:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    };
    Measured {
        value: Some(value),
        samples: per_sample.len() as u64,
        evidence: format!(
            "{what} ranged {} … {} over {} samples of /metrics; worst {}",
            short(lo),
            short(hi),
            per_sample.len(),
            short(value)
        ),
    }
}

/// A derived series metric's value at each `/metrics` sample of `phase`
/// (run clock): `metric(a / b)` from the sample alone (each series summed
/// over its label sets), `rate(c[w])` from the samples of the window before
/// it. Any other metric has none.
pub(super) fn points(metric: &Metric, phase: &PhaseRun) -> Vec<(Duration, f64)> {
    let sum = |body: &serde_json::Value, name: &str| {
        let v = values(body, name);
        (!v.is_empty()).then(|| v.iter().sum::<f64>())
    };
    let bodies = samples(std::slice::from_ref(&phase), "/metrics");
    match metric {
        Metric::SeriesRatio {
            numerator,
            denominator,
        } => bodies
            .filter_map(|(at, body)| {
                let d = sum(body, denominator).filter(|d| *d != 0.0)?;
                Some((at, sum(body, numerator)? / d))
            })
            .collect(),
        Metric::CounterRate { name, over } => {
            let counts: Vec<(Duration, f64)> = bodies
                .filter_map(|(at, body)| Some((at, sum(body, name)?)))
                .collect();
            rates(&counts, *over)
        }
        _ => Vec::new(),
    }
}

/// Per-second increase of a counter sampled as `counts` (in time order)
/// over the trailing `over`, at each sample with a whole window of samples
/// behind it. A value lower than the one before is a counter reset: the
/// increase is the new value, as Prometheus reads it.
pub(super) fn rates(counts: &[(Duration, f64)], over: Duration) -> Vec<(Duration, f64)> {
    let Some(&(first, _)) = counts.first() else {
        return Vec::new();
    };
    // Increase from the first sample to each.
    let mut increase = Vec::with_capacity(counts.len());
    let mut total = 0.0;
    for (k, (_, v)) in counts.iter().enumerate() {
        if k > 0 {
            let before = counts[k - 1].1;
            total += if *v >= before { v - before } else { *v };
        }
        increase.push(total);
    }
    let mut out = Vec::new();
    let mut from = 0;
    for (i, &(at, _)) in counts.iter().enumerate() {
        let Some(start) = at.checked_sub(over) else {
            continue;
        };
        if first > start {
            continue;
        }
        // The last sample at or before the window's start.
        while from + 1 < i && counts[from + 1].0 <= start {
            from += 1;
        }
        let span = at.saturating_sub(counts[from].0).as_secs_f64();
        if span > 0.0 {
            out.push((at, (increase[i] - increase[from]) / span));
        }
    }
    out
}

/// `metric(a / b)` or `rate(c[w])` over the phases: the worst value of any
/// sample.
pub(super) fn measure_derived(metric: &Metric, cmp: Cmp, phases: &[&PhaseRun]) -> Measured {
    let per_sample: Vec<f64> = phases
        .iter()
        .flat_map(|p| points(metric, p))
        .map(|(_, v)| v)
        .collect();
    let Some(value) = worst(&per_sample, cmp) else {
        let polled = samples(phases, "/metrics").count();
        let why = match metric {
            _ if polled == 0 => Polls::of(phases, "/metrics").no_data(&metric.to_string()),
            Metric::CounterRate { name, over } => format!(
                "{metric}: no sample of {polled} had series {name} with {over:?} of samples before it"
            ),
            _ => format!(
                "{metric}: no sample of {polled} of the target's /metrics had both series (with a denominator other than 0)"
            ),
        };
        return Measured::unknown(0, why);
    };
    ranged(&metric.to_string(), &per_sample, value)
}

/// The values of `name` in a Prometheus text exposition, one per line
/// (label set). Comments, other families and unparsable values are
/// skipped; `NaN` is skipped too (it compares with nothing).
fn prometheus(text: &str, name: &str) -> Vec<f64> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line.strip_prefix(name)?;
            let rest = match rest.chars().next()? {
                '{' => &rest[labels_end(rest)? + 1..],
                c if c.is_whitespace() => rest,
                _ => return None,
            };
            let value = rest.split_whitespace().next()?;
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().ok()?,
            };
            (!value.is_nan()).then_some(value)
        })
        .collect()
}

/// The byte index of the `}` closing the label set `text` starts with
/// (`{`): braces inside quoted label values (with `\"` escapes) do not
/// count.
fn labels_end(text: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP godel_queue_depth Jobs waiting\n\
        # TYPE godel_queue_depth gauge\n\
        godel_queue_depth{queue=\"a\"} 12\n\
        godel_queue_depth{queue=\"b\",x=\"}\\\"\"} 40 1700000000000\n\
        godel_queue_depth_max 5000\n\
        godel_memory_usage_percent 71.5\n\
        godel_error_rate NaN\n";

    #[test]
    fn reads_every_label_set_of_one_family_only() {
        assert_eq!(prometheus(TEXT, "godel_queue_depth"), vec![12.0, 40.0]);
        assert_eq!(prometheus(TEXT, "godel_queue_depth_max"), vec![5000.0]);
        assert_eq!(prometheus(TEXT, "godel_memory_usage_percent"), vec![71.5]);
        assert!(prometheus(TEXT, "godel_error_rate").is_empty());
        assert!(prometheus(TEXT, "godel_queue").is_empty());
    }

    #[test]
    fn json_bodies_give_their_top_level_numbers() {
        let body = serde_json::json!({ "cacheSize": 12, "nested": { "x": 1 } });
        assert_eq!(values(&body, "cacheSize"), vec![12.0]);
        assert!(values(&body, "x").is_empty());
    }

    #[test]
    fn a_rate_is_the_increase_over_its_window_and_a_drop_is_a_reset() {
        let s = Duration::from_secs;
        // 10 per second, a reset at 4 s (the counter restarts from 0 and
        // reaches 5 by the next sample).
        let counts = [
            (s(0), 100.0),
            (s(1), 110.0),
            (s(2), 120.0),
            (s(3), 130.0),
            (s(4), 5.0),
            (s(5), 15.0),
        ];
        let r = rates(&counts, s(2));
        assert_eq!(r[0], (s(2), 10.0), "no value before a whole window");
        assert_eq!(r.len(), 4);
        // 3 → 4: +5 after the reset; 2 → 4 over 2 s: (10 + 5) / 2.
        assert_eq!(r[2], (s(4), 7.5));
        assert_eq!(r[3], (s(5), 7.5));
        assert!(
            rates(&counts, s(60)).is_empty(),
            "a window longer than the run"
        );
        assert!(rates(&[], s(1)).is_empty());
    }

    #[test]
    fn the_worst_depends_on_the_direction() {
        assert_eq!(worst(&[1.0, 3.0, 2.0], Cmp::Lt), Some(3.0));
        assert_eq!(worst(&[1.0, 3.0, 2.0], Cmp::Ge), Some(1.0));
        assert_eq!(worst(&[], Cmp::Lt), None);
    }
}
