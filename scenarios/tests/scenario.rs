//! Scenario files: a full example checks; problems come all together, each
//! with file:line:col; nothing panics on arbitrary text.

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use somon_scenarios::{Fault, Journey, Load, Scenario, Target};

const FULL: &str = r#"
name = "external-outage"
description = "Registry outage: breaker opens, stale copies serve, recovery < 30 s"
seed = 7

[target]
kind = "spawn"
config = { failureThreshold = 5, retryDelayMs = 5000 }

[corpus]
modules = 300
externals = ["lodash"]
external_fraction = 0.2

[[phases]]
name = "steady"
duration = "20s"
load = { model = "closed", users = 50, ramp = "5s", think = "100ms", journeys = { load_cached = 8, external = 2 } }

[[phases]]
name = "outage"
duration = "40s"
load = { model = "open", rate = 200, max_in_flight = 500, journeys = { external = 1 } }

[[phases]]
name = "burst"
duration = "5s"
load = { model = "burst", count = 1000 }

[[faults]]
at = "25s"
duration = "10s"
kind = "registry-status"
status = 503

[[faults]]
at = "45s"
kind = "breaker-reset"
name = "lodash"

[steady_state]
probes = ["error_rate < 1%"]

[abort]
when = ["error_rate > 50% for 10s"]

[[claims]]
id = "recovery"
source = "SomonScript Production Deployment Guide › SLA Commitments: Recovery Time < 30s"
expect = "recovery_time(external:lodash) < 30s"
phase = "outage"

[[claims]]
id = "cached-p99"
source = "SomonScript Production Deployment Guide › SLA Commitments: P99 Latency < 100ms for cached module operations"
expect = "p99(load_cached) < 100ms"
phase = "steady"

[[alerts]]
id = "latency-critical"
source = "SomonScript Module System - Operational Runbook › Alert Thresholds: P99 > 1000ms for 2 minutes"
expect = "p99(load_cached) > 1000ms for 2m"
"#;

fn check(text: &str) -> Result<Scenario, String> {
    Scenario::from_toml(Path::new("x.toml"), text).map_err(|e| e.to_string())
}

#[test]
fn a_full_scenario_checks() {
    let s = check(FULL).unwrap();
    assert_eq!(s.name, "external-outage");
    assert_eq!(s.seed, 7);
    assert!(matches!(s.target, Target::Spawn { ref config } if config["failureThreshold"] == 5));
    assert_eq!(s.corpus.modules, 300);
    assert_eq!(s.phases.len(), 3);
    assert_eq!(s.duration(), Duration::from_secs(65));
    match &s.phases[0].load {
        Load::Closed {
            users,
            ramp,
            think,
            journeys,
        } => {
            assert_eq!(
                (*users, *ramp, *think),
                (50, Duration::from_secs(5), Duration::from_millis(100))
            );
            assert_eq!(
                journeys,
                &[(Journey::External, 2), (Journey::LoadCached, 8)]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&s.phases[1].load, Load::Open { steps, max_in_flight: 500, .. } if steps == &[(200.0, Duration::ZERO)])
    );
    assert!(matches!(
        &s.phases[2].load,
        Load::Burst {
            count: 1000,
            journey: Journey::LoadCached
        }
    ));
    assert_eq!(
        s.faults[0].fault,
        Fault::RegistryStatus {
            status: 503,
            probability: 1.0
        }
    );
    assert_eq!(s.faults[0].at, Duration::from_secs(25));
    assert_eq!(
        s.faults[1].fault,
        Fault::BreakerReset(Some("lodash".into()))
    );
    assert_eq!(s.claims.len(), 2);
    assert_eq!(s.alerts[0].expect.window, Some(Duration::from_secs(120)));
    assert_eq!(s.steady_state.len(), 1);
    assert_eq!(s.abort.len(), 1);
}

#[test]
fn every_problem_is_reported_with_file_line_and_column() {
    let text = FULL
        .replace("duration = \"20s\"", "duration = \"20 seconds\"")
        .replace(
            "expect = \"p99(load_cached) < 100ms\"",
            "expect = \"p99(load_cached) < 100%\"",
        )
        .replace("phase = \"outage\"", "phase = \"outgae\"")
        .replace("kind = \"registry-status\"", "kind = \"registry-explodes\"")
        .replace(
            "p99(load_cached) > 1000ms for 2m",
            "p99(load_cached) > 1000ms",
        );
    let message = check(&text).unwrap_err();
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 5, "{message}");
    let expect = [
        ("x.toml:17:12: phases[0].duration", "not a duration"),
        (
            "x.toml:33:8: faults[0].kind",
            "unknown fault \"registry-explodes\"",
        ),
        ("x.toml:51:9: claims[0].phase", "no phase \"outgae\""),
        ("x.toml:56:30: claims[1].expect", "expected a time"),
        ("x.toml:62:10: alerts[0].expect", "needs a window"),
    ];
    for (line, (prefix, says)) in lines.iter().zip(expect) {
        assert!(line.starts_with(prefix), "{line}\nwanted {prefix}");
        assert!(line.contains(says), "{line}");
    }
}

#[test]
fn syntax_errors_and_unknown_keys_have_positions() {
    let message = check("name = \"x\"\n[[phases]]\nname = \"a\"\nduration = 10s\n").unwrap_err();
    assert!(message.starts_with("x.toml:4:"), "{message}");
    let message = check("name = \"x\"\ncolour = \"blue\"\n").unwrap_err();
    assert!(message.starts_with("x.toml:2:1:"), "{message}");
    assert!(message.contains("colour"), "{message}");
    let message = check("name = \"x\"\n").unwrap_err();
    assert!(message.contains("at least one [[phases]]"), "{message}");
}

#[test]
fn process_faults_need_a_target_the_run_starts() {
    let text = "name = \"x\"\n[target]\nkind = \"url\"\nurl = \"http://127.0.0.1:8080\"\n\
                [[phases]]\nname = \"a\"\nduration = \"10s\"\nload = { model = \"idle\" }\n\
                [[faults]]\nat = \"1s\"\nkind = \"process-pause\"\n";
    let message = check(text).unwrap_err();
    assert!(
        message.contains("process faults need a target"),
        "{message}"
    );
}

#[test]
fn each_process_fault_kind_is_its_own_fault() {
    for (kind, fault) in [
        ("process-pause", Fault::ProcessPause),
        ("process-kill", Fault::ProcessKill),
        ("process-terminate", Fault::ProcessTerminate),
    ] {
        let text = format!(
            "name = \"x\"\n[target]\nkind = \"spawn\"\n[[phases]]\nname = \"a\"\nduration = \"10s\"\n\
             load = {{ model = \"idle\" }}\n[[faults]]\nat = \"1s\"\nkind = \"{kind}\"\n"
        );
        assert_eq!(check(&text).unwrap().faults[0].fault, fault, "{kind}");
    }
}

#[test]
fn probe_kinds_check_their_fields() {
    let base =
        "name = \"x\"\n[[phases]]\nname = \"a\"\nduration = \"10s\"\nload = { model = \"idle\" }\n";
    let one = |fault: &str| check(&format!("{base}[[faults]]\nat = \"1s\"\n{fault}\n"));
    assert_eq!(
        one("kind = \"module-edit\"").unwrap().faults[0].fault,
        Fault::ModuleEdit(None)
    );
    assert_eq!(
        one("kind = \"hit-rate-audit\"\ncount = 50").unwrap().faults[0].fault,
        Fault::HitRateAudit(50)
    );
    assert!(one("kind = \"hit-rate-audit\"").unwrap().faults[0]
        .fault
        .is_probe());
    let e = one("kind = \"config-invalid-patch\"").unwrap_err();
    assert!(e.contains("a patch table"), "{e}");
}

#[test]
fn abort_conditions_watch_the_overall_error_rate() {
    let text =
        "name = \"x\"\n[[phases]]\nname = \"a\"\nduration = \"10s\"\nload = { model = \"idle\" }\n\
                [abort]\nwhen = [\"error_rate > 50% for 10s\", \"p99(load_cached) > 1s\"]\n";
    let message = check(text).unwrap_err();
    assert!(message.contains("x.toml:7:"), "{message}");
    assert!(message.contains("abort.when[1]"), "{message}");
    assert!(!message.contains("abort.when[0]"), "{message}");
}

/// A registry outage from 10 s for `outage`, a run of `phases` (name,
/// duration), and one claim.
fn timed(outage: &str, phases: &[(&str, &str)], expect: &str) -> String {
    let mut text = String::from(
        "name = \"t\"\n[corpus]\nexternals = [\"lodash\"]\n\
         [[faults]]\nat = \"10s\"\nkind = \"registry-status\"\nstatus = 503\n",
    );
    if !outage.is_empty() {
        text.push_str(&format!("duration = \"{outage}\"\n"));
    }
    for (name, duration) in phases {
        text.push_str(&format!(
            "[[phases]]\nname = \"{name}\"\nduration = \"{duration}\"\nload = {{ model = \"idle\" }}\n"
        ));
    }
    text.push_str(&format!(
        "[[claims]]\nid = \"c\"\nexpect = \"{expect}\"\nphase = \"outage\"\n"
    ));
    text
}

#[test]
fn a_time_to_a_state_the_run_ends_too_soon_to_decide_is_refused() {
    let recovery = "recovery_time(external:lodash) < 30s";
    // The outage ends at 18 s; a run ending at 30 s cannot tell a breaker
    // stuck open from a slow one.
    let message = check(&timed("8s", &[("outage", "30s")], recovery)).unwrap_err();
    assert!(message.starts_with("x.toml:15:10: claims[0].expect: the run ends at 30s, before the first registry or proxy fault ends (18s) + 30s"), "{message}");
    assert!(message.contains("at least until 48s"), "{message}");
    // Later phases count: the breaker is sampled in every phase.
    check(&timed(
        "8s",
        &[("outage", "30s"), ("after", "18s")],
        recovery,
    ))
    .unwrap();
    // Opening counts from the fault's start.
    let opens = "time_to_open(external:lodash) < 10s";
    check(&timed("8s", &[("outage", "20s")], opens)).unwrap();
    let message = check(&timed("8s", &[("outage", "19s")], opens)).unwrap_err();
    assert!(message.contains("fault starts (10s) + 10s"), "{message}");
    // A fault that lasts until rollback never ends during the run.
    let message = check(&timed("", &[("outage", "60s")], recovery)).unwrap_err();
    assert!(
        message.contains("no registry or proxy fault ends during the run"),
        "{message}"
    );
    // Registry faults reach only the corpus's externals.
    let message = check(&timed(
        "8s",
        &[("outage", "60s")],
        "recovery_time(external:dayjs) < 30s",
    ))
    .unwrap_err();
    assert!(
        message.contains("no fault reaches external:dayjs: the corpus imports lodash"),
        "{message}"
    );
    // The alert form is not a time to a state.
    let plain = timed("8s", &[("outage", "30s")], "error_rate < 1%");
    check(&plain).unwrap();
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = Scenario::from_toml(Path::new("x.toml"), &text);
    }

    #[test]
    fn mangled_scenarios_never_panic(cut in 0usize..2000, junk in "[\\[\\]=\"a-z0-9 \\n]{0,12}") {
        let mut text = FULL.to_owned();
        let at = (0..=cut.min(text.len())).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        text.insert_str(at, &junk);
        if let Err(e) = Scenario::from_toml(Path::new("x.toml"), &text) {
            prop_assert!(!e.problems.is_empty());
            for p in &e.problems {
                prop_assert!(p.line >= 1 && p.column >= 1);
            }
        }
    }
}
