//! Reading one named series out of a `/metrics` sample: Prometheus text
//! exposition (`name{labels} value [timestamp]`), or a top-level number of
//! a JSON body (the reference system's `/metrics`).

use super::polls::Polls;
use super::{samples, Measured};
use crate::Cmp;
use crate::PhaseRun;

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
    let (lo, hi) = per_sample
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    Measured {
        value: Some(value),
        samples: per_sample.len() as u64,
        evidence: format!(
            "{name} ranged {lo} … {hi} over {} samples of /metrics; worst {value}",
            per_sample.len()
        ),
    }
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
    fn the_worst_depends_on_the_direction() {
        assert_eq!(worst(&[1.0, 3.0, 2.0], Cmp::Lt), Some(3.0));
        assert_eq!(worst(&[1.0, 3.0, 2.0], Cmp::Ge), Some(1.0));
        assert_eq!(worst(&[], Cmp::Lt), None);
    }
}
