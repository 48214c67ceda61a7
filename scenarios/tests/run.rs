//! The orchestrator end to end against the embedded reference system:
//! verdicts come from this run's measurements, faults reach the registry
//! through the fault proxy, and a cancelled run still reports.

use std::path::Path;
use std::time::Duration;

use somon_loadgen::{RunControl, ValidityLimits};
use somon_scenarios::{execute, Outcome, RunOptions, RunStatus, Scenario};

fn scenario(text: &str) -> Scenario {
    Scenario::from_toml(Path::new("test.toml"), text).expect("a valid scenario")
}

/// Generator and embedded target share a debug build and two cores with
/// the other tests: these tests check behaviour, so the send-lag and CPU
/// self-checks are loosened (the validity logic has its own tests).
fn options(dir: &Path) -> RunOptions {
    RunOptions {
        work_dir: dir.to_path_buf(),
        limits: ValidityLimits {
            max_send_lag_p99: Duration::from_secs(1),
            max_cpu_fraction: 1.0,
            ..ValidityLimits::default()
        },
        ..RunOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_are_judged_on_what_the_run_measured() {
    let s = scenario(
        r#"
name = "small"
seed = 5
[target]
kind = "embedded"
[corpus]
modules = 60
[steady_state]
probes = ["error_rate < 1%"]
[[phases]]
name = "warm"
duration = "2s"
load = { model = "open", rate = 100, journeys = { load_cached = 1 } }
[[phases]]
name = "steady"
duration = "4s"
load = { model = "open", rate = 300, journeys = { load_cached = 1 } }
[[claims]]
id = "fast"
expect = "p99(load_cached) < 2s"
phase = "steady"
[[claims]]
id = "clean"
expect = "error_rate < 1%"
phase = "steady"
[[claims]]
id = "hits"
expect = "cache_hit_rate > 0.5"
phase = "steady"
[[claims]]
id = "impossible"
expect = "p50(load_cached) < 1us"
phase = "steady"
"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let report = execute(&s, &options(dir.path())).await.unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{:?}", report.reason);
    let by_id = |id: &str| report.verdicts.iter().find(|v| v.claim == id).unwrap();
    assert_eq!(by_id("fast").outcome, Outcome::Pass, "{:?}", by_id("fast"));
    assert!(by_id("fast").samples >= 1000, "{:?}", by_id("fast"));
    assert_eq!(by_id("clean").outcome, Outcome::Pass);
    assert_eq!(by_id("hits").outcome, Outcome::Pass, "{:?}", by_id("hits"));
    // The same measurement fails a claim it does not meet.
    assert_eq!(by_id("impossible").outcome, Outcome::Fail);
    assert!(by_id("impossible").measured.unwrap() > 1e-6);
    assert_eq!(report.steady_state.len(), 2, "{:?}", report.steady_state);
    assert!(report
        .steady_state
        .iter()
        .all(|v| v.outcome == Outcome::Pass));
    assert_eq!(report.record.phases.len(), 2);
    assert_eq!(report.exit_code(), somon_scenarios::Exit::Fail);
    assert!(report.manifest.host.cores >= 1);
    assert_eq!(report.manifest.scenario, "small");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_outage_opens_the_breaker_and_it_recovers() {
    let s = scenario(
        r#"
name = "outage"
seed = 9
[target]
kind = "embedded"
config = { failureThreshold = 3, retryDelayMs = 1000, timeoutMs = 4000, externalCacheTtlMs = 200 }
[corpus]
modules = 60
externals = ["lodash"]
external_fraction = 0.4
[[phases]]
name = "outage"
duration = "9s"
load = { model = "open", rate = 50, journeys = { external = 1 } }
[[faults]]
at = "1s"
duration = "3s"
kind = "registry-status"
status = 503
[[claims]]
id = "opens"
expect = "time_to_open(external:lodash) < 3s"
phase = "outage"
[[claims]]
id = "recovers"
expect = "recovery_time(external:lodash) < 5s"
phase = "outage"
"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let report = execute(&s, &options(dir.path())).await.unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{:?}", report.reason);
    assert_eq!(report.record.faults.len(), 2, "{:?}", report.history);
    for v in &report.verdicts {
        assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_reports_what_it_measured_as_interrupted() {
    let s = scenario(
        r#"
name = "long"
[target]
kind = "embedded"
[corpus]
modules = 30
[[phases]]
name = "long"
duration = "60s"
load = { model = "open", rate = 100, journeys = { load_cached = 1 } }
[[claims]]
id = "clean"
expect = "error_rate < 1%"
phase = "long"
"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let control = RunControl::new();
    let opts = RunOptions {
        control: control.clone(),
        ..options(dir.path())
    };
    let canceller = tokio::spawn(async move {
        // Stands in for the user pressing Ctrl-C a moment into the run.
        tokio::time::sleep(Duration::from_secs(2)).await;
        control.cancel();
    });
    let report = execute(&s, &opts).await.unwrap();
    canceller.await.unwrap();
    assert_eq!(report.status, RunStatus::Interrupted);
    assert!(report.record.phases[0].output.elapsed < Duration::from_secs(20));
    assert_eq!(report.verdicts.len(), 1);
    assert_eq!(report.verdicts[0].outcome, Outcome::Pass);
    assert_eq!(report.exit_code(), somon_scenarios::Exit::Inconclusive);
}

/// Defect twins need a target this run starts, and `busy-poll` one in its
/// own process: both are refused before anything runs.
#[tokio::test]
async fn defects_the_target_kind_cannot_carry_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let text = |kind: &str| {
        format!(
            "name = \"k\"\n[target]\n{kind}\n[[phases]]\nname = \"p\"\nduration = \"1s\"\n\
             load = {{ model = \"open\", rate = 1, journeys = {{ health = 1 }} }}\n"
        )
    };
    let cases = [
        (
            text("kind = \"url\"\nurl = \"http://127.0.0.1:9\""),
            "leak",
            "not a URL",
        ),
        (
            text("kind = \"embedded\""),
            "busy-poll",
            "needs a spawned target",
        ),
    ];
    for (toml, defect, says) in cases {
        let options = RunOptions {
            defects: vec![defect.into()],
            ..options(dir.path())
        };
        let err = execute(&scenario(&toml), &options).await.unwrap_err();
        assert!(err.to_string().contains(says), "{defect}: {err}");
    }
}
