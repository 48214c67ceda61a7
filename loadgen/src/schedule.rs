//! Arrival schedules of the open model and the drift-free pacer over them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;

/// One step of a ramping schedule: the rate moves linearly from the previous
/// step's rate (or the start rate) to `per_sec` over `duration`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Rate reached at the end of the step, requests per second.
    pub per_sec: f64,
    /// Length of the step.
    pub duration: Duration,
}

/// When the open model sends: a constant rate, or a rate ramping linearly
/// between steps. Request `n` (0-based) is due at the time `t` where the
/// integral of the rate from 0 to `t` reaches `n` — so times never drift.
///
/// ```
/// use std::time::Duration;
/// use somon_loadgen::ArrivalSchedule;
///
/// let s = ArrivalSchedule::constant(200.0, Duration::from_secs(10)).unwrap();
/// assert_eq!(s.send_offset(1), Some(Duration::from_millis(5)));
/// assert_eq!(s.pacer().count(), 2000);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArrivalSchedule {
    start_per_sec: f64,
    steps: Vec<Step>,
}

impl ArrivalSchedule {
    /// `per_sec` requests per second for `duration`.
    ///
    /// # Errors
    /// [`Error::InvalidSchedule`] when the rate is not positive and finite or
    /// the duration is zero.
    pub fn constant(per_sec: f64, duration: Duration) -> Result<ArrivalSchedule, Error> {
        ArrivalSchedule::ramping(per_sec, vec![Step { per_sec, duration }])
    }

    /// Starts at `start_per_sec`, then follows `steps`, each a linear ramp to
    /// its rate (a step to the same rate holds it).
    ///
    /// # Errors
    /// [`Error::InvalidSchedule`] when there are no steps, a rate is negative
    /// or not finite, or the schedule never sends.
    pub fn ramping(start_per_sec: f64, steps: Vec<Step>) -> Result<ArrivalSchedule, Error> {
        let bad = |reason: String| Err(Error::InvalidSchedule { reason });
        if steps.is_empty() {
            return bad("no steps".into());
        }
        for (i, rate) in std::iter::once(start_per_sec)
            .chain(steps.iter().map(|s| s.per_sec))
            .enumerate()
        {
            if !rate.is_finite() || rate < 0.0 {
                return bad(format!("rate #{i} is {rate} (must be ≥ 0 and finite)"));
            }
        }
        let schedule = ArrivalSchedule {
            start_per_sec,
            steps,
        };
        if schedule.expected_requests() < 1.0 {
            return bad("the schedule sends no request (rates or durations are zero)".into());
        }
        Ok(schedule)
    }

    /// Total length.
    pub fn duration(&self) -> Duration {
        self.steps.iter().map(|s| s.duration).sum()
    }

    /// Requests due over the whole schedule (the integral of the rate).
    pub fn expected_requests(&self) -> f64 {
        self.due_by(self.duration())
    }

    /// Requests due by offset `t` (the integral of the rate from 0 to `t`).
    pub fn due_by(&self, t: Duration) -> f64 {
        let mut left = t.as_secs_f64();
        let mut total = 0.0;
        let mut from = self.start_per_sec;
        for step in &self.steps {
            let d = step.duration.as_secs_f64();
            let span = left.min(d);
            if d > 0.0 {
                let slope = (step.per_sec - from) / d;
                total += from * span + slope * span * span / 2.0;
            }
            left -= span;
            from = step.per_sec;
            if left <= 0.0 {
                break;
            }
        }
        total
    }

    /// Average intended rate over the schedule.
    pub fn mean_per_sec(&self) -> f64 {
        let secs = self.duration().as_secs_f64();
        if secs > 0.0 {
            self.expected_requests() / secs
        } else {
            0.0
        }
    }

    /// When request `n` (0-based) is due, or `None` past the end.
    pub fn send_offset(&self, n: u64) -> Option<Duration> {
        let mut position = Position {
            next: n,
            ..Position::default()
        };
        position.advance(self)
    }

    /// The intended send offsets of every request, in order.
    pub fn pacer(&self) -> Pacer<'_> {
        Pacer {
            schedule: self,
            position: Position::default(),
        }
    }
}

/// Where a walk over a schedule's send offsets is, kept apart from the
/// schedule so that an owner of both (the open model's shared cursor) can
/// advance it without borrowing.
#[derive(Clone, Debug, Default)]
pub(crate) struct Position {
    next: u64,
    step: usize,
    step_start: f64,
    due_before_step: f64,
}

/// Iterator over intended send offsets (see [`ArrivalSchedule::pacer`]).
/// Each offset is computed from the schedule, never by adding gaps, so
/// rounding does not accumulate.
#[derive(Clone, Debug)]
pub struct Pacer<'a> {
    schedule: &'a ArrivalSchedule,
    position: Position,
}

impl Iterator for Pacer<'_> {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.position.advance(self.schedule)
    }
}

impl Position {
    /// The offset of the next request of `schedule` (and moves past it), or
    /// `None` past the end.
    pub(crate) fn advance(&mut self, schedule: &ArrivalSchedule) -> Option<Duration> {
        let target = self.next as f64;
        while let Some(step) = schedule.steps.get(self.step) {
            let from = if self.step == 0 {
                schedule.start_per_sec
            } else {
                schedule.steps[self.step - 1].per_sec
            };
            let d = step.duration.as_secs_f64();
            let in_step = if d > 0.0 {
                from * d + (step.per_sec - from) * d / 2.0
            } else {
                0.0
            };
            let k = target - self.due_before_step;
            if k < in_step {
                // Solve from·t + a·t² = k with a = slope / 2.
                let a = (step.per_sec - from) / d / 2.0;
                let t = if a.abs() < 1e-12 {
                    k / from
                } else {
                    (-from + (from * from + 4.0 * a * k).max(0.0).sqrt()) / (2.0 * a)
                };
                self.next += 1;
                return Some(Duration::from_secs_f64(self.step_start + t.clamp(0.0, d)));
            }
            self.due_before_step += in_step;
            self.step_start += d;
            self.step += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_rate_has_no_drift() {
        let s = ArrivalSchedule::constant(3.0, Duration::from_secs(1000)).unwrap();
        let last = s.pacer().last().unwrap();
        assert_eq!(s.pacer().count(), 3000);
        assert!((last.as_secs_f64() - 2999.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn linear_ramp_integrates() {
        // 0 → 100/s over 10 s: 500 requests, the k-th at sqrt(2k/10).
        let s = ArrivalSchedule::ramping(
            0.0,
            vec![Step {
                per_sec: 100.0,
                duration: Duration::from_secs(10),
            }],
        )
        .unwrap();
        let offsets: Vec<_> = s.pacer().collect();
        assert_eq!(offsets.len(), 500);
        assert!((offsets[250].as_secs_f64() - (2.0f64 * 250.0 / 10.0).sqrt()).abs() < 1e-6);
        assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn steps_chain() {
        let s = ArrivalSchedule::ramping(
            10.0,
            vec![
                Step {
                    per_sec: 10.0,
                    duration: Duration::from_secs(2),
                },
                Step {
                    per_sec: 30.0,
                    duration: Duration::from_secs(2),
                },
            ],
        )
        .unwrap();
        assert!((s.expected_requests() - 60.0).abs() < 1e-9);
        assert_eq!(s.pacer().count(), 60);
        assert_eq!(s.send_offset(20), Some(Duration::from_secs(2)));
    }

    #[test]
    fn rejects_empty_and_negative() {
        assert!(ArrivalSchedule::ramping(1.0, vec![]).is_err());
        assert!(ArrivalSchedule::constant(-1.0, Duration::from_secs(1)).is_err());
        assert!(ArrivalSchedule::constant(0.0, Duration::from_secs(1)).is_err());
    }
}
