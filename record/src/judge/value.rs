//! A measured figure against a stated bound: the judgement of performance
//! ratios, and of any other figure measured outside a run record.

use crate::{Cmp, Outcome, Verdict, VerdictKind};

/// A figure to judge: what it is, where the bound comes from, the bound,
/// and what was measured.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueFigure {
    /// What kind of verdict it makes.
    pub kind: VerdictKind,
    /// Its id (a testcase name).
    pub id: String,
    /// Where the bound comes from.
    pub source: String,
    /// How the measured value must compare with `bound`.
    pub cmp: Cmp,
    /// The bound, in the value's unit.
    pub bound: f64,
    /// The value measured in this run; `None` when it could not be.
    pub value: Option<f64>,
    /// How many samples (repetitions) it rests on.
    pub samples: u64,
    /// What was measured, or why nothing was.
    pub evidence: String,
}

/// Judges a figure: PASS when the measured value meets its bound, FAIL when
/// it does not, UNKNOWN when nothing was measured. There is no other way
/// for a figure to pass.
///
/// ```
/// use somon_record::{judge_value, Cmp, Outcome, ValueFigure, VerdictKind};
///
/// let figure = |value| ValueFigure {
///     kind: VerdictKind::PerformanceRatio,
///     id: "P1".into(),
///     source: "cached-load req/s ÷ bare endpoint req/s".into(),
///     cmp: Cmp::Ge,
///     bound: 0.8,
///     value,
///     samples: 3,
///     evidence: String::new(),
/// };
/// assert_eq!(judge_value(&figure(Some(0.9))).outcome, Outcome::Pass);
/// assert_eq!(judge_value(&figure(Some(0.5))).outcome, Outcome::Fail);
/// assert_eq!(judge_value(&figure(None)).outcome, Outcome::Unknown);
/// assert_eq!(judge_value(&figure(None)).expected, "P1 >= 0.8");
/// ```
pub fn judge_value(figure: &ValueFigure) -> Verdict {
    let outcome = match figure.value {
        Some(value) if figure.cmp.holds(value, figure.bound) => Outcome::Pass,
        Some(_) => Outcome::Fail,
        None => Outcome::Unknown,
    };
    Verdict {
        kind: figure.kind,
        claim: figure.id.clone(),
        source: figure.source.clone(),
        phase: None,
        outcome,
        expected: format!("{} {} {}", figure.id, figure.cmp.symbol(), figure.bound),
        measured: figure.value,
        samples: figure.samples,
        evidence: figure.evidence.clone(),
    }
}
