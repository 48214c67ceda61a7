//! The `[capacity]` table of a scenario file: which phase `somon-verify
//! capacity` steps, through which loads, how long each step holds, and the
//! documents' scaling figures to check against the curve.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::validate::Validator;
use super::{Load, Phase};

/// How `somon-verify capacity` steps a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct CapacitySpec {
    /// The phase whose load is stepped (its arrival rate or its users).
    pub phase: String,
    /// The offered loads, ascending: arrivals per second for an open
    /// phase, users for a closed one.
    pub steps: Vec<f64>,
    /// The least time each step holds its load.
    pub hold: Duration,
    /// Each step holds until about this many requests are expected, so a
    /// p99 at a low step rests on enough samples (a p99 needs ≥ 1000).
    pub min_samples: u64,
    /// Scaling figures of the documents, checked against the curve.
    pub figures: Vec<Figure>,
}

/// A scaling figure of a document, checked against a capacity run.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// Stable id (a testcase name).
    pub id: String,
    /// Which document and section states it.
    pub source: String,
    /// What must hold.
    pub check: FigureCheck,
}

/// The kinds of scaling figure a capacity run can check.
#[derive(Clone, Debug, PartialEq)]
pub enum FigureCheck {
    /// The knee (highest step where every claim passed) is at least this
    /// load, e.g. "Request rate > 1000 RPS per instance".
    KneeAtLeast(f64),
    /// A runbook's memory formula, `(base + modules × per_module) ×
    /// factor`, must cover the target's peak RSS at the knee, `modules`
    /// being the modules in its cache.
    MemoryEstimate {
        /// Base memory in bytes.
        base_bytes: f64,
        /// Bytes per module.
        per_module_bytes: f64,
        /// Overhead multiplier.
        factor: f64,
    },
    /// A runbook's CPU formula, `ceil(rps ÷ 1000) × millicores`, must cover
    /// the target's measured CPU at the knee.
    CpuEstimate {
        /// Millicores per started 1000 requests/s.
        millicores_per_1000_rps: f64,
    },
}

const MIB: f64 = 1024.0 * 1024.0;

/// `[capacity]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCapacity {
    phase: Option<Spanned<String>>,
    #[serde(default)]
    steps: Option<Spanned<Vec<f64>>>,
    start: Option<Spanned<f64>>,
    factor: Option<Spanned<f64>>,
    max: Option<Spanned<f64>>,
    hold: Option<Spanned<String>>,
    min_samples: Option<u64>,
    #[serde(default)]
    figures: Vec<Spanned<RawFigure>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFigure {
    id: Spanned<String>,
    #[serde(default)]
    source: String,
    knee_at_least: Option<f64>,
    memory_estimate: Option<RawMemory>,
    cpu_estimate: Option<RawCpu>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMemory {
    base_mib: f64,
    per_module_mib: f64,
    factor: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCpu {
    millicores_per_1000_rps: f64,
}

/// Most steps a plan may have (a geometric plan that never reaches `max`
/// is a typo, not a plan).
const MAX_STEPS: usize = 64;

/// Checks `[capacity]` against the phases; `ids` holds the claim ids so a
/// figure cannot reuse one.
pub(super) fn capacity(
    c: &mut Validator<'_>,
    raw: &Spanned<RawCapacity>,
    phases: &[Phase],
    ids: &mut BTreeSet<String>,
) -> Option<CapacitySpec> {
    let span = raw.span();
    let raw = raw.get_ref();
    let before = c.problems.len();
    let phase = match &raw.phase {
        Some(name) => {
            let found = phases.iter().find(|p| &p.name == name.get_ref());
            if found.is_none() {
                c.at(
                    name.span(),
                    "capacity.phase",
                    format!("no phase is named \"{}\"", name.get_ref()),
                );
            }
            found
        }
        None => phases.last(),
    };
    if let Some(phase) = phase {
        if !matches!(phase.load, Load::Open { .. } | Load::Closed { .. }) {
            let at = raw.phase.as_ref().map_or(span.clone(), |p| p.span());
            c.at(
                at,
                "capacity.phase",
                format!(
                    "phase \"{}\" has no rate or users to step (use an open or closed phase)",
                    phase.name
                ),
            );
        }
    }
    let steps = steps(c, raw, span.clone());
    let hold = raw
        .hold
        .as_ref()
        .map_or(Some(Duration::from_secs(15)), |h| {
            c.duration(h, "capacity.hold")
        });
    let figures = raw
        .figures
        .iter()
        .enumerate()
        .filter_map(|(i, f)| figure(c, f, &format!("capacity.figures[{i}]"), ids))
        .collect();
    if c.problems.len() > before {
        return None;
    }
    Some(CapacitySpec {
        phase: phase?.name.clone(),
        steps: steps?,
        hold: hold?,
        min_samples: raw.min_samples.unwrap_or(1100),
        figures,
    })
}

/// Explicit `steps`, or `start` × `factor`ⁿ up to `max`.
fn steps(
    c: &mut Validator<'_>,
    raw: &RawCapacity,
    span: std::ops::Range<usize>,
) -> Option<Vec<f64>> {
    let geometric = [&raw.start, &raw.factor, &raw.max];
    match (&raw.steps, geometric.iter().any(|g| g.is_some())) {
        (Some(steps), true) => {
            c.at(
                steps.span(),
                "capacity.steps",
                "give either `steps` or `start`, `factor` and `max`, not both",
            );
            None
        }
        (Some(steps), false) => {
            let list = steps.get_ref();
            let ascending = list.windows(2).all(|w| w[0] < w[1]);
            if list.is_empty() || list.len() > MAX_STEPS {
                c.at(
                    steps.span(),
                    "capacity.steps",
                    format!("needs 1 to {MAX_STEPS} loads"),
                );
                None
            } else if !list.iter().all(|s| s.is_finite() && *s > 0.0) || !ascending {
                c.at(
                    steps.span(),
                    "capacity.steps",
                    "loads must be positive and ascending",
                );
                None
            } else {
                Some(list.clone())
            }
        }
        (None, true) => {
            let (Some(start), Some(factor), Some(max)) = (&raw.start, &raw.factor, &raw.max) else {
                c.at(
                    span,
                    "capacity",
                    "a geometric plan needs `start`, `factor` and `max`",
                );
                return None;
            };
            let (s, f, m) = (*start.get_ref(), *factor.get_ref(), *max.get_ref());
            if !(s.is_finite() && s > 0.0) {
                c.at(start.span(), "capacity.start", "must be positive");
                return None;
            }
            if !(f.is_finite() && f > 1.0) {
                c.at(factor.span(), "capacity.factor", "must be greater than 1");
                return None;
            }
            if !(m.is_finite() && m >= s) {
                c.at(max.span(), "capacity.max", "must be at least `start`");
                return None;
            }
            let list = geometric_steps(s, f, m);
            if list.len() > MAX_STEPS {
                c.at(
                    factor.span(),
                    "capacity.factor",
                    format!("gives more than {MAX_STEPS} steps up to `max`"),
                );
                return None;
            }
            Some(list)
        }
        (None, false) => {
            c.at(
                span,
                "capacity",
                "give the loads to step through: `steps = [..]` or `start`, `factor`, `max`",
            );
            None
        }
    }
}

/// `start`, `start × factor`, … while not above `max` (with a little slack
/// so 100 × 10 × 10 reaches a `max` of 10 000 despite rounding).
pub(crate) fn geometric_steps(start: f64, factor: f64, max: f64) -> Vec<f64> {
    let mut steps = Vec::new();
    let mut load = start;
    while load <= max * (1.0 + 1e-9) && steps.len() <= MAX_STEPS {
        steps.push(load);
        load *= factor;
    }
    steps
}

fn figure(
    c: &mut Validator<'_>,
    raw: &Spanned<RawFigure>,
    path: &str,
    ids: &mut BTreeSet<String>,
) -> Option<Figure> {
    let span = raw.span();
    let raw = raw.get_ref();
    if !ids.insert(raw.id.get_ref().clone()) {
        c.at(
            raw.id.span(),
            format!("{path}.id"),
            format!("id \"{}\" is used twice", raw.id.get_ref()),
        );
    }
    let kinds = [
        raw.knee_at_least.is_some(),
        raw.memory_estimate.is_some(),
        raw.cpu_estimate.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        c.at(
            span,
            path,
            "a figure needs exactly one of `knee_at_least`, `memory_estimate`, `cpu_estimate`",
        );
        return None;
    }
    let check = if let Some(knee) = raw.knee_at_least {
        FigureCheck::KneeAtLeast(knee)
    } else if let Some(m) = &raw.memory_estimate {
        let ok = [m.base_mib, m.per_module_mib, m.factor]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0);
        if !ok {
            c.at(
                span,
                format!("{path}.memory_estimate"),
                "values must be non-negative numbers",
            );
            return None;
        }
        FigureCheck::MemoryEstimate {
            base_bytes: m.base_mib * MIB,
            per_module_bytes: m.per_module_mib * MIB,
            factor: m.factor,
        }
    } else {
        let cpu = raw.cpu_estimate.as_ref()?;
        if !(cpu.millicores_per_1000_rps.is_finite() && cpu.millicores_per_1000_rps > 0.0) {
            c.at(
                span,
                format!("{path}.cpu_estimate"),
                "millicores_per_1000_rps must be positive",
            );
            return None;
        }
        FigureCheck::CpuEstimate {
            millicores_per_1000_rps: cpu.millicores_per_1000_rps,
        }
    };
    Some(Figure {
        id: raw.id.get_ref().clone(),
        source: raw.source.clone(),
        check,
    })
}

#[cfg(test)]
mod tests {
    use super::geometric_steps;

    #[test]
    fn geometric_steps_reach_max_despite_rounding() {
        assert_eq!(
            geometric_steps(100.0, 10.0, 10_000.0),
            vec![100.0, 1000.0, 10_000.0]
        );
        assert_eq!(geometric_steps(50.0, 2.0, 300.0), vec![50.0, 100.0, 200.0]);
        assert_eq!(geometric_steps(5.0, 3.0, 5.0), vec![5.0]);
    }
}
