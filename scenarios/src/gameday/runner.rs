//! Running a plan: the orchestrator runs the scenario while a driver task
//! polls the target on the run clock, takes each drill's remedy when it is
//! due (a run-clock time, the live detection plus a delay, or the fault's
//! planned end plus a delay) and reports progress; afterwards every drill
//! is measured on the polls, the load generator's samples and the fault
//! history, and its verdict joins the run's.

use std::sync::Arc;
use std::time::Duration;

use somon_chaos::{Event, EventKind, Operator, Step};
use somon_loadgen::RunControl;
use tokio::sync::mpsc::UnboundedReceiver;

use super::{measure_drill, secs, Anchor, FaultWindow, GameDay, Observation, Plan, RemedyTaken};
use crate::{execute, MethodStart, RunError, RunOptions, RunReport, Verdict, VerdictKind};

/// The endpoints the runner polls every [`POLL`].
const ENDPOINTS: [&str; 4] = ["/health", "/ready", "/circuit-breakers/status", "/metrics"];
const POLL: Duration = Duration::from_millis(250);

/// The state of a game day while it runs, for a progress line.
#[derive(Clone, Debug, PartialEq)]
pub struct Live {
    /// Run-clock time.
    pub elapsed: Duration,
    /// Planned length of the phases.
    pub planned: Duration,
    /// One short status per drill (`outage: detected +1.2 s, remedy at 21.0 s`).
    pub drills: Vec<String>,
}

/// What the driver saw and did.
#[derive(Default)]
struct Driven {
    observations: Vec<Observation>,
    remedies: Vec<Option<RemedyTaken>>,
}

/// Runs `plan`: the scenario under the orchestrator, the drills' remedies
/// live, and every drill measured afterwards. `progress` is called about
/// every 250 ms while the method runs.
///
/// # Errors
/// As [`execute`]: the run could not start.
pub async fn run(
    plan: &Plan,
    options: &RunOptions,
    progress: Arc<dyn Fn(&Live) + Send + Sync>,
) -> Result<(RunReport, GameDay), RunError> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let options = RunOptions {
        method_start: Some(tx),
        ..options.clone()
    };
    let done = RunControl::new();
    let driver = tokio::spawn(drive(
        plan.clone(),
        rx,
        done.clone(),
        options.control.clone(),
        progress,
    ));
    let result = execute(&plan.scenario, &options).await;
    done.cancel();
    let driven = driver.await.unwrap_or_default();
    let mut report = result?;
    let gameday = judge(plan, &mut report, driven);
    Ok((report, gameday))
}

/// Measures every drill and adds its verdict and remedy to the report.
fn judge(plan: &Plan, report: &mut RunReport, driven: Driven) -> GameDay {
    let mut all = driven.observations.clone();
    for phase in &report.record.phases {
        // The generator's answers only: the runner's own polls already
        // record the target's failures to answer, and a failed sample's
        // body is no data.
        all.extend(phase.output.samples.iter().filter_map(|s| {
            Some(Observation {
                at: phase.start + s.at,
                endpoint: s.endpoint.clone(),
                status: Some(200),
                body: s.data()?.clone(),
            })
        }));
    }
    all.sort_by_key(|o| o.at);
    let phases_end = report
        .record
        .phases
        .iter()
        .map(|p| p.start + p.output.elapsed)
        .max()
        .unwrap_or_default();
    let observed_until = all.last().map_or(phases_end, |o| o.at.max(phases_end));
    let scenario = &plan.scenario;
    let mut drills = Vec::new();
    for (i, drill) in plan.drills.iter().enumerate() {
        let fault = plan.describe(drill);
        let window = FaultWindow::of(scenario, &drill.fault, &report.history, &report.record);
        let taken = driven.remedies.get(i).and_then(Option::as_ref);
        let result = measure_drill(
            drill,
            &fault,
            window,
            &all,
            &report.record,
            &plan.detection_alerts,
            taken,
            observed_until,
        );
        report.verdicts.push(Verdict {
            kind: VerdictKind::Drill,
            claim: format!("drill {}", drill.id),
            source: drill.source.clone(),
            phase: None,
            outcome: result.outcome,
            expected: format!(
                "{} detects it; {} within {:?}",
                drill.detect, drill.verify, drill.recover_within
            ),
            measured: result.time_to_recover_s,
            samples: all.len() as u64,
            evidence: result.evidence.clone(),
        });
        drills.push(result);
    }
    let remedies: Vec<RemedyTaken> = driven.remedies.into_iter().flatten().collect();
    for (taken, drill) in remedies
        .iter()
        .filter_map(|t| Some((t, plan.drills.iter().find(|d| d.id == t.drill)?)))
    {
        let Some(remedy) = &drill.remedy else {
            continue;
        };
        report.history.push(Event {
            at: Duration::from_secs_f64(taken.at_s),
            kind: if taken.ok {
                EventKind::Action
            } else {
                EventKind::Failed
            },
            entry: None,
            step: format!("drill {} remedy: {}", drill.id, remedy.action),
            detail: Step::Action(remedy.action.clone()),
            message: Some(taken.detail.clone()),
        });
    }
    report.history.sort_by_key(|e| e.at);
    GameDay {
        plan: scenario.name.clone(),
        drills,
        remedies,
        observations: driven.observations,
    }
}

/// Polls the target from the method's start until `done`, taking remedies
/// when due (never after the run was cancelled).
async fn drive(
    plan: Plan,
    mut start: UnboundedReceiver<MethodStart>,
    done: RunControl,
    control: RunControl,
    progress: Arc<dyn Fn(&Live) + Send + Sync>,
) -> Driven {
    let began = tokio::select! {
        s = start.recv() => s,
        _ = done.cancelled() => None,
    };
    let Some(MethodStart { base, clock }) = began else {
        return Driven::default();
    };
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
    else {
        tracing::warn!("game-day client failed; no polls");
        return Driven::default();
    };
    let operator = Operator::new(&base, None);
    let n = plan.drills.len();
    let mut detected: Vec<Option<Duration>> = vec![None; n];
    let mut recovered: Vec<Option<Duration>> = vec![None; n];
    let mut driven = Driven {
        observations: Vec::new(),
        remedies: vec![None; n],
    };
    let mut every = tokio::time::interval(POLL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = done.cancelled() => break,
        }
        let poll = |path: &'static str| {
            let client = &client;
            let url = format!("{base}{path}");
            async move {
                let answer = client.get(&url).send().await;
                let (status, body) = match answer {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        (
                            Some(status),
                            r.json().await.unwrap_or(serde_json::Value::Null),
                        )
                    }
                    Err(_) => (None, serde_json::Value::Null),
                };
                Observation {
                    at: clock.elapsed(),
                    endpoint: path.to_owned(),
                    status,
                    body,
                }
            }
        };
        let (a, b, c, d) = tokio::join!(
            poll(ENDPOINTS[0]),
            poll(ENDPOINTS[1]),
            poll(ENDPOINTS[2]),
            poll(ENDPOINTS[3])
        );
        let fresh = [a, b, c, d];
        // The previous /health answer, to see a restart live.
        let restarted = {
            let mut pair: Vec<Observation> = driven
                .observations
                .iter()
                .rev()
                .find(|o| o.endpoint == "/health" && o.status.is_some())
                .cloned()
                .into_iter()
                .collect();
            pair.push(fresh[0].clone());
            let at = super::restarts(&pair).next().map(|o| o.at);
            at
        };
        for (i, drill) in plan.drills.iter().enumerate() {
            let (start, length) = plan.planned(drill);
            if detected[i].is_none() {
                detected[i] = if drill.detect == super::Signal::Restarted {
                    restarted.filter(|at| *at >= start)
                } else {
                    fresh
                        .iter()
                        .find(|o| o.at >= start && drill.detect.holds(o) == Some(true))
                        .map(|o| o.at)
                };
            }
            let remedy_done = driven.remedies[i].is_some();
            if detected[i].is_some()
                && recovered[i].is_none()
                && (drill.remedy.is_none() || remedy_done)
            {
                recovered[i] = fresh
                    .iter()
                    .find(|o| drill.verify.holds(o) == Some(true))
                    .map(|o| o.at);
            }
            let Some(remedy) = drill.remedy.as_ref().filter(|_| !remedy_done) else {
                continue;
            };
            let due = match remedy.at {
                Anchor::At(t) => Some(t),
                Anchor::Detected(delay) => detected[i].map(|d| d + delay),
                Anchor::FaultEnd(delay) => Some(start + length.unwrap_or_default() + delay),
            };
            if control.is_cancelled() || due.is_none_or(|due| clock.elapsed() < due) {
                continue;
            }
            let at = clock.elapsed();
            let (ok, detail) = match operator.perform(&remedy.action).await {
                Ok(reply) => (true, format!("{} {}", reply.status, reply.body.trim())),
                Err(e) => (false, e.to_string()),
            };
            tracing::info!(drill = %drill.id, action = %remedy.action, ok, "remedy taken");
            driven.remedies[i] = Some(RemedyTaken {
                drill: drill.id.clone(),
                at_s: secs(at),
                action: remedy.action.to_string(),
                ok,
                detail,
            });
        }
        driven.observations.extend(fresh);
        let drills = plan
            .drills
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let (start, _) = plan.planned(d);
                let mut s = format!("{}: ", d.id);
                match (detected[i], &driven.remedies[i], recovered[i]) {
                    _ if clock.elapsed() < start => s += "waiting",
                    (None, _, _) => s += "fault on, not detected",
                    (Some(det), remedy, rec) => {
                        s += &format!("detected +{:.1} s", secs(det.saturating_sub(start)));
                        if let Some(r) = remedy {
                            s += &format!(
                                ", remedy at {:.1} s{}",
                                r.at_s,
                                if r.ok { "" } else { " REFUSED" }
                            );
                        }
                        if let Some(rec) = rec {
                            s += &format!(", recovered +{:.1} s", secs(rec.saturating_sub(start)));
                        }
                    }
                }
                s
            })
            .collect();
        progress(&Live {
            elapsed: clock.elapsed(),
            planned: plan.scenario.duration(),
            drills,
        });
    }
    driven
}
