//! Time-to-state measures: how long after an event a wanted state was first
//! observed — `time_to_open(external:NAME)` (fault applied → its breaker
//! open), `recovery_time(external:NAME)` (fault removed → its breaker
//! closed again), and a game-day drill's time to detect and to recover.
//!
//! A state that was never observed has no time. What the observation gives
//! then is a lower bound — it took at least as long as the target was
//! watched after the event — and a bound is not a value: it can show a
//! deadline missed, never one met. [`TimeToState`] keeps the two cases
//! apart, and [`TimeToState::outcome`] is the one rule that judges both.

use std::fmt;
use std::time::Duration;

use super::{samples, Measured};
use crate::{Cmp, Dependency, Expectation, Metric, Outcome, PhaseRun, RunRecord, Threshold};

/// How long a wanted state took to show after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeToState {
    /// First observed this long after the event.
    Seen(Duration),
    /// Never observed, though the target was watched this long after the
    /// event: the state took at least this long, or never came.
    NotSeen {
        /// From the event to the last observation that could have shown
        /// the state.
        watched: Duration,
    },
}

impl TimeToState {
    /// Whether `time ⋄ limit` held. A state that was seen is compared by
    /// its time. A state never seen is never a PASS: it FAILs a deadline
    /// (`<`, `<=`) the watching already ran past, and is UNKNOWN otherwise
    /// — the watching stopped before the deadline, or the claim (`>`,
    /// `>=`) needs the state to come at all.
    pub fn outcome(self, cmp: Cmp, limit: Duration) -> Outcome {
        let limit = limit.as_secs_f64();
        match self {
            TimeToState::Seen(took) if cmp.holds(took.as_secs_f64(), limit) => Outcome::Pass,
            TimeToState::Seen(_) => Outcome::Fail,
            TimeToState::NotSeen { watched } => match cmp {
                Cmp::Lt | Cmp::Le if !cmp.holds(watched.as_secs_f64(), limit) => Outcome::Fail,
                _ => Outcome::Unknown,
            },
        }
    }

    /// The time, when the state was seen (a bound is not a time).
    pub fn seen(self) -> Option<Duration> {
        match self {
            TimeToState::Seen(took) => Some(took),
            TimeToState::NotSeen { .. } => None,
        }
    }
}

impl fmt::Display for TimeToState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeToState::Seen(took) => write!(f, "{:.3} s", took.as_secs_f64()),
            TimeToState::NotSeen { watched } => {
                write!(
                    f,
                    "at least {:.3} s (never observed)",
                    watched.as_secs_f64()
                )
            }
        }
    }
}

/// The verdict's parts for a time-to-state claim (`None`: `e` is none, or
/// its windowed form, which the window rule answers). Every phase samples
/// the target, so the samples of the whole run after the event count: a
/// breaker that closes after the claim's phase ended is still seen closing,
/// and one that never does is watched until the run ends.
pub(super) fn judge(e: &Expectation, record: &RunRecord) -> Option<(Measured, Outcome)> {
    let (dependency, opening) = match &e.metric {
        Metric::TimeToOpen { dependency } => (dependency, true),
        Metric::RecoveryTime { dependency } => (dependency, false),
        _ => return None,
    };
    if e.window.is_some() {
        return None;
    }
    let Threshold::Duration(limit) = e.threshold else {
        return Some((
            Measured::unknown(0, "a time to a state is compared with a time"),
            Outcome::Unknown,
        ));
    };
    let Dependency::External(name) = dependency;
    Some(match breaker(name, opening, record) {
        Ok((took, samples, evidence)) => {
            let outcome = took.outcome(e.cmp, limit);
            let evidence = match (took, outcome, e.cmp) {
                (TimeToState::NotSeen { .. }, Outcome::Fail, _) => {
                    format!("{evidence}; the deadline passed without it")
                }
                (TimeToState::NotSeen { .. }, _, Cmp::Lt | Cmp::Le) => {
                    format!("{evidence}; the samples end before the deadline")
                }
                (TimeToState::NotSeen { .. }, _, _) => {
                    format!("{evidence}; a time needs the state to come")
                }
                _ => evidence,
            };
            let measured = Measured {
                value: took.seen().map(|d| d.as_secs_f64()),
                samples,
                evidence,
            };
            (measured, outcome)
        }
        Err(unknown) => (unknown, Outcome::Unknown),
    })
}

/// Fault applied → breaker open, or fault removed → breaker closed again,
/// from the sampled `/circuit-breakers/status` of every phase: the time,
/// the samples it rests on and the evidence; or why it cannot be told.
fn breaker(
    name: &str,
    opening: bool,
    record: &RunRecord,
) -> Result<(TimeToState, u64, String), Measured> {
    let hits = format!("external:{name}");
    let what = if opening { "applied" } else { "removed" };
    let Some(event) = record
        .faults
        .iter()
        .find(|f| f.hits == hits && f.applied == opening)
    else {
        return Err(Measured::unknown(
            0,
            format!("no fault on {hits} was {what}"),
        ));
    };
    let wanted = if opening { "open" } else { "closed" };
    let every: Vec<&PhaseRun> = record.phases.iter().collect();
    let states: Vec<(Duration, &str)> = samples(&every, "/circuit-breakers/status")
        .filter_map(|(at, b)| Some((at, b["breakers"][name]["state"].as_str()?)))
        .collect();
    if !opening {
        // A recovery needs something to recover from: the breaker must have
        // left `closed` while the fault was on.
        let applied = record
            .faults
            .iter()
            .filter(|f| f.hits == hits && f.applied && f.at <= event.at)
            .map(|f| f.at)
            .next_back()
            .unwrap_or_default();
        let tripped = states
            .iter()
            .any(|(at, state)| *at >= applied && *at <= event.at && *state != "closed");
        if !tripped {
            return Err(Measured::unknown(
                0,
                format!(
                    "the breaker of {name} never opened during the fault ({} samples): nothing to recover from",
                    states.len()
                ),
            ));
        }
    }
    let after: Vec<&(Duration, &str)> = states.iter().filter(|(at, _)| *at >= event.at).collect();
    let Some((last, _)) = after.last() else {
        return Err(Measured::unknown(
            0,
            format!("no breaker samples after the fault was {what}"),
        ));
    };
    let since = |at: Duration| at.saturating_sub(event.at);
    // The samples a time rests on: those from the event to the first in
    // the wanted state; a bound rests on every one after the event.
    Ok(match after.iter().position(|(_, state)| *state == wanted) {
        Some(i) => (
            TimeToState::Seen(since(after[i].0)),
            i as u64 + 1,
            format!(
                "fault {what} at {:.3} s; breaker {wanted} at {:.3} s, the {} sample after it",
                event.at.as_secs_f64(),
                after[i].0.as_secs_f64(),
                ordinal(i + 1)
            ),
        ),
        None => {
            let took = TimeToState::NotSeen {
                watched: since(*last),
            };
            (
                took,
                after.len() as u64,
                format!(
                    "fault {what} at {:.3} s; the breaker of {name} was never {wanted} in {} samples up to {:.3} s: {} {took}",
                    event.at.as_secs_f64(),
                    after.len(),
                    last.as_secs_f64(),
                    if opening { "opening took" } else { "recovery took" },
                ),
            )
        }
    })
}

/// `1st`, `2nd`, `3rd`, `4th`, … `11th`, `21st`.
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_state_seen_is_compared_as_a_value() {
        assert_eq!(
            TimeToState::Seen(S(5)).outcome(Cmp::Lt, S(30)),
            Outcome::Pass
        );
        assert_eq!(
            TimeToState::Seen(S(30)).outcome(Cmp::Lt, S(30)),
            Outcome::Fail
        );
        assert_eq!(
            TimeToState::Seen(S(30)).outcome(Cmp::Le, S(30)),
            Outcome::Pass
        );
        assert_eq!(
            TimeToState::Seen(S(40)).outcome(Cmp::Gt, S(30)),
            Outcome::Pass
        );
    }

    #[test]
    fn a_state_never_seen_fails_a_passed_deadline_and_is_otherwise_unknown() {
        let watched = |s| TimeToState::NotSeen { watched: S(s) };
        // Watched less than the deadline: it may still come in time.
        assert_eq!(watched(14).outcome(Cmp::Lt, S(30)), Outcome::Unknown);
        assert_eq!(watched(30).outcome(Cmp::Le, S(30)), Outcome::Unknown);
        // Watched up to or past it without seeing it: missed.
        assert_eq!(watched(30).outcome(Cmp::Lt, S(30)), Outcome::Fail);
        assert_eq!(watched(31).outcome(Cmp::Le, S(30)), Outcome::Fail);
        assert_eq!(watched(64).outcome(Cmp::Lt, S(30)), Outcome::Fail);
        // "Takes longer than" needs the state to come at all.
        assert_eq!(watched(64).outcome(Cmp::Gt, S(30)), Outcome::Unknown);
        assert_eq!(watched(64).outcome(Cmp::Ge, S(30)), Outcome::Unknown);
        for s in 0..100 {
            for cmp in [Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge] {
                assert_ne!(watched(s).outcome(cmp, S(30)), Outcome::Pass);
            }
        }
    }

    #[test]
    fn a_bound_reads_as_a_bound() {
        assert_eq!(
            TimeToState::NotSeen {
                watched: Duration::from_millis(13_761)
            }
            .to_string(),
            "at least 13.761 s (never observed)"
        );
        assert_eq!(TimeToState::Seen(S(2)).to_string(), "2.000 s");
        assert_eq!(TimeToState::NotSeen { watched: S(2) }.seen(), None);
        let ordinals: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 111, 123]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            ordinals,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "111th",
                "123rd"
            ]
        );
    }
}
