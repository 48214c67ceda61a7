//! A verdict: PASS, FAIL or UNKNOWN with the value, samples and evidence.

use serde::{Deserialize, Serialize};

use crate::PhaseValidity;

/// The outcome of one claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    /// The claim held.
    Pass,
    /// It did not.
    Fail,
    /// Too little data to say.
    Unknown,
}

impl Outcome {
    /// `PASS`, `FAIL` or `UNKNOWN`, as `verdicts.json` and the reports
    /// spell it.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Unknown => "UNKNOWN",
        }
    }
}

/// What kind of statement a verdict judges. Every verdict the harness
/// prints is one of these, and all of them are made by this crate's rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictKind {
    /// A claim of a document: its condition must hold.
    #[default]
    Claim,
    /// An alert rule of a runbook: PASS means it stayed quiet (every
    /// window had a second with data on which its condition did not
    /// hold), FAIL that it would have fired, UNKNOWN that the data does not
    /// cover some window.
    Alert,
    /// A steady-state probe, before or after the method.
    SteadyState,
    /// A statistic compared with a saved baseline.
    Regression,
    /// A game-day drill: detected and recovered within its deadlines.
    Drill,
    /// A documented scaling figure judged against a capacity curve.
    CapacityFigure,
    /// A performance ratio measured against a reference.
    PerformanceRatio,
}

impl VerdictKind {
    /// `claim`, `alert`, `steady-state`, … as `verdicts.json` spells it.
    pub fn label(self) -> &'static str {
        match self {
            VerdictKind::Claim => "claim",
            VerdictKind::Alert => "alert",
            VerdictKind::SteadyState => "steady-state",
            VerdictKind::Regression => "regression",
            VerdictKind::Drill => "drill",
            VerdictKind::CapacityFigure => "capacity-figure",
            VerdictKind::PerformanceRatio => "performance-ratio",
        }
    }
}

/// A claim's verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// What kind of statement it judges (a record written before kinds
    /// existed reads as a claim).
    #[serde(default)]
    pub kind: VerdictKind,
    /// The claim's id.
    pub claim: String,
    /// Which document and section states it.
    pub source: String,
    /// The phase judged (`None`: the whole run).
    pub phase: Option<String>,
    /// PASS, FAIL or UNKNOWN.
    pub outcome: Outcome,
    /// What was expected, as written (for an alert, its firing
    /// condition: see [`Verdict::statement`]).
    pub expected: String,
    /// The measured value in base units (seconds, ratio, bytes, per
    /// second); for the windowed form, the longest run of seconds the
    /// condition held.
    pub measured: Option<f64>,
    /// How many samples the value rests on.
    pub samples: u64,
    /// What decided it, in words.
    pub evidence: String,
}

impl Verdict {
    /// What the verdict says must hold, as a person reads it: the
    /// expectation, or for an alert `never <its firing condition>`.
    pub fn statement(&self) -> String {
        match self.kind {
            VerdictKind::Alert => format!("never {}", self.expected),
            _ => self.expected.clone(),
        }
    }

    /// The validity rule, written once: a PASS stands only on phases
    /// whose load generator kept up. A run whose generator was the
    /// bottleneck did not offer the load the claim is about, so its PASS
    /// becomes UNKNOWN. A claim's FAIL stays (the target failed under less
    /// load than planned), but a regression's FAIL becomes UNKNOWN too: it
    /// compares speeds, and on a stalled machine the slowdown may be the
    /// machine's. `validity` lists the phases; a verdict on the whole run
    /// (`phase: None`) needs every phase valid.
    pub fn earned(mut self, validity: &[PhaseValidity]) -> Verdict {
        let at_stake = match self.outcome {
            Outcome::Pass => true,
            Outcome::Fail => self.kind == VerdictKind::Regression,
            Outcome::Unknown => false,
        };
        if !at_stake {
            return self;
        }
        let invalid = validity
            .iter()
            .find(|v| !v.valid && self.phase.as_ref().is_none_or(|p| *p == v.phase));
        if let Some(first) = invalid {
            let why = if self.outcome == Outcome::Pass {
                "so it cannot pass"
            } else {
                "so the slowdown may be the machine's"
            };
            self.outcome = Outcome::Unknown;
            self.evidence = format!(
                "{}; but phase {} is INVALID ({}), {why}",
                self.evidence,
                first.phase,
                first.reasons.join("; ")
            );
        }
        self
    }
}
