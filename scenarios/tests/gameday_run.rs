//! A short game day end to end against the embedded reference system on
//! loopback: a registry outage opens the breaker, the runner sees it live,
//! resets the breaker once the registry is back, and the drills' times are
//! measured from this run's observations.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use somon_loadgen::ValidityLimits;
use somon_scenarios::gameday::{self, Plan};
use somon_scenarios::{Outcome, RunOptions, RunStatus};

const PLAN: &str = r#"
name = "short-outage"
seed = 3
[target]
kind = "embedded"
config = { failureThreshold = 3, retryDelayMs = 60000, timeoutMs = 60000, externalCacheTtlMs = 500 }
[corpus]
modules = 80
externals = ["lodash"]
external_fraction = 0.4
[steady_state]
probes = ["error_rate < 5%"]
[[phases]]
name = "steady"
duration = "14s"
load = { model = "open", rate = 40, journeys = { external = 1 } }
[[faults]]
at = "3s"
duration = "4s"
kind = "registry-status"
status = 503

[[drills]]
id = "reset"
source = "SomonScript Module System - Operational Runbook › Circuit Breakers Open"
fault = 0
detect = "breaker_open(external:lodash)"
detect_within = "4s"
remedy = { kind = "breaker-reset", name = "lodash", at = "fault_end + 1s" }
verify = "breaker_closed(external:lodash)"
recover_within = "10s"

[[drills]]
id = "never-recovers"
source = "a drill that must fail: the registry is back, but nothing resets the breaker within 2 s"
fault = 0
detect = "breaker_open(external:lodash)"
verify = "breaker_closed(external:lodash)"
recover_within = "2s"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_plan_measures_detection_and_recovery() {
    let plan = Plan::from_toml(Path::new("short.toml"), PLAN).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        work_dir: dir.path().to_path_buf(),
        limits: ValidityLimits {
            max_send_lag_p99: Duration::from_secs(1),
            max_cpu_fraction: 1.0,
            ..ValidityLimits::default()
        },
        ..RunOptions::default()
    };
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    let progress = Arc::new(move |live: &gameday::Live| {
        seen.lock().unwrap().push(live.drills.join(" · "));
    });
    let (report, day) = gameday::run(&plan, &options, progress).await.unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{:?}", report.reason);

    let reset = &day.drills[0];
    assert_eq!(reset.outcome, Outcome::Pass, "{reset:?}");
    let start = reset.fault_start_s.unwrap();
    let end = reset.fault_end_s.unwrap();
    assert!(
        (2.9..4.0).contains(&start) && (6.9..8.0).contains(&end),
        "{reset:?}"
    );
    let detected = reset.detected_at_s.unwrap();
    assert!(detected >= start && detected < end, "{reset:?}");
    let remedy = reset.remedy_at_s.unwrap();
    assert!(
        remedy >= end + 1.0 - 0.3,
        "remedy at fault end + 1 s: {reset:?}"
    );
    let recovered = reset.recovered_at_s.unwrap();
    assert!(recovered >= remedy, "{reset:?}");
    assert!((reset.time_to_recover_s.unwrap() - (recovered - start)).abs() < 1e-9);
    assert!(
        day.remedies.len() == 1 && day.remedies[0].ok,
        "{:?}",
        day.remedies
    );

    // retryDelayMs is 60 s: without the reset the breaker stays open.
    let never = &day.drills[1];
    assert_eq!(never.outcome, Outcome::Fail, "{never:?}");
    assert!(never.detected_at_s.is_some());

    // Drills are verdicts; the remedy is in the history.
    let verdict = |id: &str| report.verdicts.iter().find(|v| v.claim == id).unwrap();
    assert_eq!(verdict("drill reset").outcome, Outcome::Pass);
    assert_eq!(verdict("drill never-recovers").outcome, Outcome::Fail);
    assert_eq!(report.exit_code(), somon_scenarios::Exit::Fail);
    assert!(report
        .history
        .iter()
        .any(|e| e.entry.is_none() && e.step.contains("drill reset remedy")));
    assert!(day.observations.iter().any(|o| o.endpoint == "/health"));
    let lines = lines.lock().unwrap();
    assert!(
        lines.iter().any(|l| l.contains("reset: detected +")),
        "{lines:?}"
    );
}
