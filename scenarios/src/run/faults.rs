//! From the scenario's fault steps to the chaos timeline, and from the
//! timeline's history back to the fault events verdicts are judged on.

use std::time::Duration;

use somon_chaos::{
    ErrorStatus, Event, EventKind, Jitter, OperatorAction, ProcessFault, ProxyFault,
    RegistryFaults, Step, Timeline,
};

use crate::{Fault, FaultEvent, FaultStep};

/// The chaos step that injects `fault` (`None` for the harness's own
/// probes, which [`super::probes`] performs).
pub(crate) fn step(fault: &Fault) -> Option<Step> {
    Some(match fault {
        Fault::RegistryLatency { latency, jitter } => Step::Registry(RegistryFaults {
            // The scenario's jitter is an extra in [0, jitter]; the
            // registry's uniform jitter is ± around its latency.
            latency: *latency + *jitter / 2,
            jitter: if jitter.is_zero() {
                Jitter::None
            } else {
                Jitter::Uniform {
                    plus_minus: *jitter / 2,
                }
            },
            ..RegistryFaults::default()
        }),
        Fault::RegistryStatus {
            status,
            probability,
        } => Step::Registry(RegistryFaults {
            error: Some(ErrorStatus {
                status: *status,
                probability: *probability,
            }),
            ..RegistryFaults::default()
        }),
        Fault::RegistryHang => Step::Registry(RegistryFaults {
            hang_probability: 1.0,
            ..RegistryFaults::default()
        }),
        Fault::RegistryMalformed => Step::Registry(RegistryFaults {
            malformed_probability: 1.0,
            ..RegistryFaults::default()
        }),
        Fault::RegistryWrongHash => Step::Registry(RegistryFaults {
            wrong_hash_probability: 1.0,
            ..RegistryFaults::default()
        }),
        Fault::ProxyReset => Step::Proxy(ProxyFault::Reset),
        Fault::ProxyRefused => Step::Proxy(ProxyFault::Refused),
        Fault::ProxyBlackhole => Step::Proxy(ProxyFault::Blackhole),
        Fault::ProxyBandwidth { bytes_per_sec } => Step::Proxy(ProxyFault::Bandwidth {
            bytes_per_sec: *bytes_per_sec,
        }),
        Fault::ProxyTruncate { after_bytes } => Step::Proxy(ProxyFault::Truncate {
            after_bytes: *after_bytes,
        }),
        Fault::ProcessPause => Step::Process(ProcessFault::Pause),
        Fault::ProcessKill => Step::Process(ProcessFault::Kill9Restart),
        Fault::ProcessTerminate => Step::Process(ProcessFault::Terminate),
        Fault::ConfigPatch(patch) => Step::Action(OperatorAction::ConfigPatch(patch.clone())),
        Fault::CacheClear => Step::Action(OperatorAction::CacheClear),
        Fault::BreakerReset(name) => Step::Action(OperatorAction::BreakerReset(name.clone())),
        Fault::BreakerForceOpen(name) => {
            Step::Action(OperatorAction::BreakerForceOpen(name.clone()))
        }
        Fault::ModuleEdit(_) | Fault::ConfigInvalidPatch(_) | Fault::HitRateAudit(_) => {
            return None
        }
    })
}

/// The timeline of a scenario's fault steps.
pub(crate) fn timeline(steps: &[FaultStep]) -> Timeline {
    steps
        .iter()
        .filter_map(|s| Some((s, step(&s.fault)?)))
        .fold(Timeline::new(), |t, (s, step)| {
            t.then(s.at, s.duration, step)
        })
}

/// Whether any step needs the fake registry (and so the fault proxy).
pub(crate) fn needs_registry(steps: &[FaultStep]) -> bool {
    steps.iter().any(|s| {
        matches!(
            step(&s.fault),
            Some(
                Step::Registry(_)
                    | Step::Proxy(_)
                    | Step::Action(OperatorAction::BreakerForceOpen(_))
            )
        )
    })
}

/// Whether a planned step ends the target's process for good by `now`.
pub(crate) fn terminated_by(steps: &[FaultStep], now: Duration) -> bool {
    steps
        .iter()
        .any(|s| s.fault == Fault::ProcessTerminate && s.at <= now)
}

/// Fault events for the verdicts: registry and proxy faults hit every
/// external the corpus imports; process faults hit the target. Failed
/// steps and operator actions are not faults.
pub(crate) fn fault_events(history: &[Event], externals: &[String]) -> Vec<FaultEvent> {
    let mut out = Vec::new();
    for event in history {
        let applied = match event.kind {
            EventKind::Applied | EventKind::Action => true,
            EventKind::Removed => false,
            EventKind::Failed => continue,
        };
        match &event.detail {
            Step::Registry(_) | Step::Proxy(_) => {
                for name in externals {
                    out.push(FaultEvent {
                        at: event.at,
                        applied,
                        hits: format!("external:{name}"),
                    });
                }
            }
            Step::Process(_) => out.push(FaultEvent {
                at: event.at,
                applied,
                hits: "target".into(),
            }),
            Step::Action(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: u64, kind: EventKind, detail: Step) -> Event {
        Event {
            at: Duration::from_secs(at),
            kind,
            entry: Some(0),
            step: detail.to_string(),
            detail,
            message: None,
        }
    }

    #[test]
    fn registry_faults_hit_every_external_and_failures_are_dropped() {
        let outage = step(&Fault::RegistryStatus {
            status: 503,
            probability: 1.0,
        })
        .unwrap();
        let history = vec![
            event(10, EventKind::Applied, outage.clone()),
            event(12, EventKind::Failed, step(&Fault::ProcessPause).unwrap()),
            event(20, EventKind::Action, step(&Fault::CacheClear).unwrap()),
            event(25, EventKind::Removed, outage),
        ];
        let externals = vec!["lodash".to_string(), "left-pad".to_string()];
        let events = fault_events(&history, &externals);
        assert_eq!(events.len(), 4);
        assert!(events[..2]
            .iter()
            .all(|e| e.applied && e.at.as_secs() == 10));
        assert_eq!(events[1].hits, "external:left-pad");
        assert!(events[2..]
            .iter()
            .all(|e| !e.applied && e.at.as_secs() == 25));
    }

    #[test]
    fn latency_jitter_is_an_extra_on_top() {
        let Some(Step::Registry(faults)) = step(&Fault::RegistryLatency {
            latency: Duration::from_millis(100),
            jitter: Duration::from_millis(40),
        }) else {
            panic!("a registry step")
        };
        assert_eq!(faults.latency, Duration::from_millis(120));
        assert_eq!(
            faults.jitter,
            Jitter::Uniform {
                plus_minus: Duration::from_millis(20)
            }
        );
    }

    #[test]
    fn terminate_is_expected_only_after_its_time() {
        let steps = vec![FaultStep {
            at: Duration::from_secs(9),
            duration: None,
            fault: Fault::ProcessTerminate,
        }];
        assert!(!terminated_by(&steps, Duration::from_secs(8)));
        assert!(terminated_by(&steps, Duration::from_secs(9)));
    }
}
