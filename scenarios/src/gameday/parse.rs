//! Reading a plan file: the scenario tables are checked by
//! [`Scenario::from_toml`] on the text with the `[[drills]]` sections
//! blanked (so its line:col stay true), the drills here; every problem of
//! both, in document order.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use somon_chaos::OperatorAction;
use toml::Spanned;

use super::{Anchor, Drill, FaultRef, Plan, Remedy, Signal};
use crate::scenario::{syntax_error, Validator};
use crate::{parse_duration, Scenario, ScenarioError};

#[derive(Deserialize)]
struct RawPlan {
    #[serde(default)]
    drills: Vec<Spanned<RawDrill>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrill {
    id: Spanned<String>,
    #[serde(default)]
    source: String,
    fault: Option<Spanned<i64>>,
    phase: Option<Spanned<String>>,
    detect: Spanned<String>,
    detect_within: Option<Spanned<String>>,
    remedy: Option<Spanned<RawRemedy>>,
    verify: Spanned<String>,
    recover_within: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRemedy {
    kind: Spanned<String>,
    name: Option<String>,
    patch: Option<toml::Table>,
    at: Spanned<String>,
}

/// The text with every `[[drills]]` section turned to spaces (line breaks
/// kept), so the scenario checker sees only its own tables at their own
/// positions. A section runs from its header to the next table header.
fn without_drills(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        let head = line.trim_start();
        if head.starts_with('[') {
            inside = head.starts_with("[[drills]]") || head.starts_with("[drills.");
        }
        if inside {
            out.extend(line.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        } else {
            out.push_str(line);
        }
    }
    out
}

impl Validator<'_> {
    fn signal(&mut self, value: &Spanned<String>, path: &str) -> Option<Signal> {
        match value.get_ref().parse::<Signal>() {
            Ok(s) => Some(s),
            Err(e) => {
                let inner = value
                    .get_ref()
                    .char_indices()
                    .nth(e.column.saturating_sub(1))
                    .map_or(value.get_ref().len(), |(i, _)| i);
                // +1 for the opening quote.
                let start = value.span().start + 1 + inner;
                self.at(start..start, path, e.message);
                None
            }
        }
    }

    fn anchor(&mut self, value: &Spanned<String>, path: &str) -> Option<Anchor> {
        let text = value.get_ref().trim();
        let (anchor, rest) = if let Some(r) = text.strip_prefix("detected") {
            ("detected", r)
        } else if let Some(r) = text.strip_prefix("fault_end") {
            ("fault_end", r)
        } else {
            return self.duration(value, path).map(Anchor::At);
        };
        let rest = rest.trim();
        let delay = if rest.is_empty() {
            Some(Duration::ZERO)
        } else {
            rest.strip_prefix('+').and_then(parse_duration)
        };
        let Some(delay) = delay else {
            self.at(
                value.span(),
                path,
                format!("expected `{anchor}`, `{anchor} + DURATION` or a run-clock time"),
            );
            return None;
        };
        Some(if anchor == "detected" {
            Anchor::Detected(delay)
        } else {
            Anchor::FaultEnd(delay)
        })
    }
}

impl Plan {
    /// Parses and checks a plan file's text; `file` is only used in
    /// messages.
    ///
    /// # Errors
    /// Every problem of the scenario tables and of the drills, each with
    /// `file:line:col`.
    pub fn from_toml(file: &Path, text: &str) -> Result<Plan, ScenarioError> {
        let fail = |problems| ScenarioError {
            file: file.to_path_buf(),
            problems,
        };
        let raw: RawPlan = toml::from_str(text).map_err(|e| syntax_error(file, text, &e))?;
        let scenario = Scenario::from_toml(file, &without_drills(text));
        let mut c = Validator::new(text);
        let drills = drills(&mut c, raw.drills, scenario.as_ref().ok());
        let mut problems = c.problems;
        problems.sort_by_key(|p| (p.line, p.column));
        match scenario {
            Ok(mut scenario) if problems.is_empty() => {
                let used: BTreeSet<&str> = drills
                    .iter()
                    .flat_map(|d: &Drill| [&d.detect, &d.verify])
                    .filter_map(|s| match s {
                        Signal::Alert(id) => Some(id.as_str()),
                        _ => None,
                    })
                    .collect();
                let (detection_alerts, quiet) = scenario
                    .alerts
                    .drain(..)
                    .partition(|a| used.contains(a.id.as_str()));
                scenario.alerts = quiet;
                Ok(Plan {
                    scenario,
                    drills,
                    detection_alerts,
                })
            }
            Ok(_) => Err(fail(problems)),
            Err(e) => {
                problems.extend(e.problems);
                problems.sort_by_key(|p| (p.line, p.column));
                Err(fail(problems))
            }
        }
    }
}

fn drills(
    c: &mut Validator<'_>,
    raw: Vec<Spanned<RawDrill>>,
    scenario: Option<&Scenario>,
) -> Vec<Drill> {
    if raw.is_empty() {
        c.at(
            0..0,
            "drills",
            "a game-day plan needs at least one [[drills]] entry",
        );
    }
    let mut ids = BTreeSet::new();
    let mut out = Vec::new();
    for (i, spanned) in raw.into_iter().enumerate() {
        let path = format!("drills[{i}]");
        let d = spanned.into_inner();
        let id = d.id.get_ref().clone();
        if id.trim().is_empty() || !ids.insert(id.clone()) {
            c.at(
                d.id.span(),
                format!("{path}.id"),
                format!("id \"{id}\" is empty or not unique"),
            );
        }
        let fault = match (&d.fault, &d.phase) {
            (Some(f), None) => fault(c, f, &format!("{path}.fault"), scenario).map(FaultRef::Step),
            (None, Some(p)) => phase(c, p, &format!("{path}.phase"), scenario),
            _ => {
                c.at(d.id.span(), &path, "a drill names either `fault` (an index into [[faults]]) or `phase` (a phase whose load is the fault)");
                None
            }
        };
        let detect = c.signal(&d.detect, &format!("{path}.detect"));
        if let Some(s) = &detect {
            if matches!(s, Signal::Drop { .. }) {
                c.at(
                    d.detect.span(),
                    format!("{path}.detect"),
                    "a drop verifies recovery; detect with a state or a threshold",
                );
            }
            alert_known(c, s, &d.detect, &format!("{path}.detect"), scenario);
        }
        let verify = c.signal(&d.verify, &format!("{path}.verify"));
        if let Some(s @ Signal::Alert(_)) = &verify {
            c.at(
                d.verify.span(),
                format!("{path}.verify"),
                format!(
                    "`{s}` detects; verify with a state (breaker_closed, health_healthy, ready, …)"
                ),
            );
        }
        let detect_within = match &d.detect_within {
            Some(v) => c.duration(v, &format!("{path}.detect_within")),
            None => None,
        };
        let recover_within = c.duration(&d.recover_within, &format!("{path}.recover_within"));
        let remedy = d
            .remedy
            .as_ref()
            .and_then(|r| remedy(c, r, &format!("{path}.remedy")));
        if let (
            Some(Remedy {
                at: Anchor::Detected(_),
                ..
            }),
            Some(s),
        ) = (&remedy, &detect)
        {
            if s.endpoint().is_none() {
                let span = d.remedy.as_ref().map_or(0..0, |r| r.get_ref().at.span());
                c.at(
                    span,
                    format!("{path}.remedy.at"),
                    format!("`{s}` is judged after the run: a remedy at `detected` needs a polled signal (breaker_open, health_degraded, not_ready, a gauge)"),
                );
            }
        }
        if let (Some(fault), Some(detect), Some(verify), Some(recover_within)) =
            (fault, detect, verify, recover_within)
        {
            out.push(Drill {
                id,
                source: d.source,
                fault,
                detect,
                detect_within,
                remedy,
                verify,
                recover_within,
            });
        }
    }
    out
}

fn fault(
    c: &mut Validator<'_>,
    raw: &Spanned<i64>,
    path: &str,
    scenario: Option<&Scenario>,
) -> Option<usize> {
    let index = usize::try_from(*raw.get_ref()).ok();
    let Some(scenario) = scenario else {
        return index;
    };
    match index.and_then(|i| scenario.faults.get(i).map(|f| (i, f))) {
        Some((_, step)) if step.fault.is_probe() => {
            c.at(raw.span(), path, "a probe is not a fault to drill");
            None
        }
        Some((i, _)) => Some(i),
        None => {
            c.at(
                raw.span(),
                path,
                format!(
                    "no [[faults]] entry {} (the plan has {}, counted from 0)",
                    raw.get_ref(),
                    scenario.faults.len()
                ),
            );
            None
        }
    }
}

fn phase(
    c: &mut Validator<'_>,
    raw: &Spanned<String>,
    path: &str,
    scenario: Option<&Scenario>,
) -> Option<FaultRef> {
    let name = raw.get_ref();
    if let Some(scenario) = scenario {
        if !scenario.phases.iter().any(|p| p.name == *name) {
            c.at(raw.span(), path, format!("no phase \"{name}\""));
            return None;
        }
    }
    Some(FaultRef::Phase(name.clone()))
}

fn alert_known(
    c: &mut Validator<'_>,
    s: &Signal,
    raw: &Spanned<String>,
    path: &str,
    scenario: Option<&Scenario>,
) {
    let (Signal::Alert(id), Some(scenario)) = (s, scenario) else {
        return;
    };
    match scenario.alerts.iter().find(|a| a.id == *id) {
        None => c.at(
            raw.span(),
            path,
            format!("no [[alerts]] entry with id \"{id}\""),
        ),
        Some(a) => {
            let m = &a.expect.metric;
            if !matches!(
                m,
                crate::Metric::ErrorRate {
                    journey: None,
                    class: None
                } | crate::Metric::Latency { .. }
            ) {
                c.at(raw.span(), path, format!("alert \"{id}\": a drill detects with error_rate or latency-quantile alerts"));
            }
        }
    }
}

fn remedy(c: &mut Validator<'_>, raw: &Spanned<RawRemedy>, path: &str) -> Option<Remedy> {
    let r = raw.get_ref();
    let at = c.anchor(&r.at, &format!("{path}.at"));
    let action = match r.kind.get_ref().as_str() {
        "cache-clear" => Some(OperatorAction::CacheClear),
        "breaker-reset" => Some(OperatorAction::BreakerReset(r.name.clone())),
        "breaker-force-open" => match &r.name {
            Some(name) => Some(OperatorAction::BreakerForceOpen(name.clone())),
            None => {
                c.at(
                    raw.span(),
                    path,
                    "breaker-force-open needs the breaker's name",
                );
                None
            }
        },
        "config-patch" => match &r.patch {
            Some(patch) => serde_json::to_value(patch)
                .ok()
                .map(OperatorAction::ConfigPatch),
            None => {
                c.at(raw.span(), path, "config-patch needs a patch table");
                None
            }
        },
        other => {
            c.at(
                r.kind.span(),
                format!("{path}.kind"),
                format!("unknown remedy \"{other}\": expected cache-clear, breaker-reset, breaker-force-open or config-patch"),
            );
            None
        }
    };
    Some(Remedy {
        action: action?,
        at: at?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"name = "drill"
[target]
kind = "embedded"

[[phases]]
name = "steady"
duration = "20s"
load = { model = "open", rate = 20 }

[[faults]]
at = "5s"
duration = "5s"
kind = "registry-status"
status = 503
"#;

    fn plan(drills: &str) -> Result<Plan, ScenarioError> {
        Plan::from_toml(Path::new("p.toml"), &format!("{BASE}{drills}"))
    }

    #[test]
    fn a_good_plan_reads() {
        let p = plan(
            r#"
[[drills]]
id = "outage"
source = "SomonScript Module System - Operational Runbook › Circuit Breakers Open"
fault = 0
detect = "breaker_open(external:lodash)"
remedy = { kind = "breaker-reset", name = "lodash", at = "fault_end + 1s" }
verify = "breaker_closed(external:lodash)"
recover_within = "15s"
"#,
        )
        .unwrap();
        assert_eq!(p.drills.len(), 1);
        assert_eq!(
            p.drills[0].remedy.as_ref().unwrap().at,
            Anchor::FaultEnd(Duration::from_secs(1))
        );
        assert_eq!(p.scenario.faults.len(), 1);
    }

    #[test]
    fn problems_point_at_line_and_column() {
        let e = plan(
            r#"
[[drills]]
id = "outage"
fault = 3
detect = "breaker_open(lodash)"
remedy = { kind = "reboot", at = "soon" }
verify = "alert:x"
recover_within = "15 parsecs"
"#,
        )
        .unwrap_err();
        let text = e.to_string();
        let lines: Vec<&str> = text.lines().collect();
        // BASE is 14 lines; the drill's header is line 16.
        assert_eq!(
            lines,
            [
                "p.toml:18:9: drills[0].fault: no [[faults]] entry 3 (the plan has 1, counted from 0)",
                "p.toml:19:24: drills[0].detect: expected external:NAME",
                "p.toml:20:19: drills[0].remedy.kind: unknown remedy \"reboot\": expected cache-clear, breaker-reset, breaker-force-open or config-patch",
                "p.toml:20:34: drills[0].remedy.at: \"soon\" is not a duration (e.g. 250ms, 10s, 2m)",
                "p.toml:21:10: drills[0].verify: `alert:x` detects; verify with a state (breaker_closed, health_healthy, ready, …)",
                "p.toml:22:18: drills[0].recover_within: \"15 parsecs\" is not a duration (e.g. 250ms, 10s, 2m)",
            ]
        );
    }

    #[test]
    fn scenario_problems_keep_their_positions_beside_drill_problems() {
        let text = BASE.replace("status = 503", "status = 503\nbogus = 1");
        let with = format!("{text}\n[[drills]]\nid = \"\"\nfault = 0\ndetect = \"ready\"\nverify = \"ready\"\nrecover_within = \"1s\"\n");
        let e = Plan::from_toml(Path::new("p.toml"), &with).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("p.toml:15:1:"), "{text}");
        assert!(text.contains("p.toml:18:6: drills[0].id"), "{text}");
    }

    #[test]
    fn a_remedy_waiting_for_an_alert_is_refused() {
        let e = plan(
            r#"
[[alerts]]
id = "errors"
expect = "error_rate > 50% for 2s"

[[drills]]
id = "outage"
fault = 0
detect = "alert:errors"
remedy = { kind = "cache-clear", at = "detected + 1s" }
verify = "error_rate < 1%"
recover_within = "15s"
"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("needs a polled signal"), "{e}");
    }

    #[test]
    fn detection_alerts_are_not_judged_as_quiet_rules() {
        let p = plan(
            r#"
[[alerts]]
id = "errors"
expect = "error_rate > 50% for 2s"

[[alerts]]
id = "slow"
expect = "p99(load_cached) > 1s for 2s"

[[drills]]
id = "outage"
fault = 0
detect = "alert:errors"
verify = "error_rate < 1%"
recover_within = "15s"
"#,
        )
        .unwrap();
        assert_eq!(p.detection_alerts.len(), 1);
        assert_eq!(p.scenario.alerts.len(), 1);
        assert_eq!(p.scenario.alerts[0].id, "slow");
    }

    #[test]
    fn a_plan_needs_drills() {
        let e = plan("").unwrap_err();
        assert!(e.to_string().contains("at least one [[drills]]"), "{e}");
    }
}
