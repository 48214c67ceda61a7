//! The polls behind a server-side figure: how many the target answered and
//! why the others gave nothing, so a verdict left without data says why
//! ("/metrics answered 404 Not Found on 118 of 118 polls") instead of
//! passing for lack of evidence against it.

use std::collections::BTreeMap;

use somon_loadgen::PollFailure;

use crate::PhaseRun;

/// The polls of one endpoint over some phases.
pub(super) struct Polls<'a> {
    endpoint: &'a str,
    polled: u64,
    /// Each kind of failure in words, with how often it happened.
    failures: BTreeMap<String, u64>,
}

impl<'a> Polls<'a> {
    /// The polls of `endpoint` over `phases`.
    pub(super) fn of(phases: &[&PhaseRun], endpoint: &'a str) -> Polls<'a> {
        let mut polls = Polls {
            endpoint,
            polled: 0,
            failures: BTreeMap::new(),
        };
        for sample in phases
            .iter()
            .flat_map(|p| &p.output.samples)
            .filter(|s| s.endpoint == endpoint)
        {
            polls.polled += 1;
            if let Some(failure) = &sample.failed {
                *polls.failures.entry(phrase(failure)).or_default() += 1;
            }
        }
        polls
    }

    /// How many polls the target answered.
    pub(super) fn answered(&self) -> u64 {
        self.polled - self.failures.values().sum::<u64>()
    }

    /// The failed polls in words, `None` when none failed:
    /// `/metrics answered 404 Not Found on 118 of 118 polls`, or with
    /// several kinds `/metrics failed 20 of 118 polls: answered 503
    /// Service Unavailable ×12, did not answer (timed out) ×8`.
    pub(super) fn failures(&self) -> Option<String> {
        let (endpoint, polled) = (self.endpoint, self.polled);
        match self.failures.len() {
            0 => None,
            1 => {
                let (what, n) = self.failures.iter().next()?;
                Some(format!("{endpoint} {what} on {n} of {polled} polls"))
            }
            _ => {
                let failed = polled - self.answered();
                let kinds: Vec<String> = self
                    .failures
                    .iter()
                    .map(|(what, n)| format!("{what} ×{n}"))
                    .collect();
                Some(format!(
                    "{endpoint} failed {failed} of {polled} polls: {}",
                    kinds.join(", ")
                ))
            }
        }
    }

    /// Why these polls gave no `what` (e.g. `systemMetrics.memoryUsage`):
    /// none were made, none answered, or the answers lack it.
    pub(super) fn no_data(&self, what: &str) -> String {
        let endpoint = self.endpoint;
        if self.polled == 0 {
            return format!("no {endpoint} samples");
        }
        let answered = self.answered();
        match (answered, self.failures()) {
            (0, Some(failures)) => failures,
            (_, failures) => {
                let mut out = format!("none of {answered} {endpoint} answers has {what}");
                if let Some(failures) = failures {
                    out.push_str("; ");
                    out.push_str(&failures);
                }
                out
            }
        }
    }
}

/// One failure in words: `answered 404 Not Found`, `did not answer
/// (connection refused)`, `answered 200 but the body could not be read: …`.
fn phrase(failure: &PollFailure) -> String {
    match failure.status {
        None => format!("did not answer ({})", failure.error),
        Some(status) if (200..300).contains(&status) => {
            format!("answered {status} but {}", failure.error)
        }
        Some(_) => format!("answered {}", failure.error),
    }
}
