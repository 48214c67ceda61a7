//! The profiles of the other services in the source documents
//! (`catalog/profiles/*.toml`), each run against a loopback stand-in that
//! serves the endpoints the document names: once healthy (every claim PASSES,
//! every alert stays quiet) and once degraded (the claims the degradation
//! breaks FAIL, and no others).
//!
//! The profiles' phases last minutes (the alert rules' windows are 1–2 m);
//! here the time is compressed: the phase to a few seconds and each alert
//! window by the same factor, so a test stays short while every claim is
//! judged by the same code on real requests.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use somon_loadgen::ValidityLimits;
use somon_scenarios::{execute, Outcome, RunOptions, RunStatus, Scenario};

/// How a stand-in behaves.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Healthy,
    Degraded,
}

/// Serves `router` on 127.0.0.1:0 until the test ends.
async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// Unjucks ("Operational Runbooks - Unjucks Enterprise Platform"): `/templates` is the API call, `/health` the probe.
/// Degraded: templates take 600 ms and every tenth answers 500; `/health`
/// answers 503.
async fn unjucks(mode: Mode) -> SocketAddr {
    let calls = Arc::new(AtomicU64::new(0));
    let templates = move || {
        let calls = calls.clone();
        async move {
            if mode == Mode::Healthy {
                return (StatusCode::OK, r#"["component","page"]"#);
            }
            tokio::time::sleep(Duration::from_millis(600)).await;
            if calls.fetch_add(1, Ordering::Relaxed).is_multiple_of(10) {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "template store unavailable",
                )
            } else {
                (StatusCode::OK, r#"["component","page"]"#)
            }
        }
    };
    let health = move || async move {
        match mode {
            Mode::Healthy => (StatusCode::OK, r#"{"status":"ok"}"#),
            Mode::Degraded => (StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"down"}"#),
        }
    };
    serve(
        Router::new()
            .route("/templates", get(templates))
            .route("/health", get(health)),
    )
    .await
}

/// Godel ("Godel v2.0 Operational Runbooks"): the five health endpoints and a Prometheus `/metrics`.
/// Degraded: `/health` takes 2.5 s and answers 503, `/health/details` 500,
/// `/ready` 503, and the metrics sit past every critical threshold.
async fn godel(mode: Mode) -> SocketAddr {
    let healthy = mode == Mode::Healthy;
    let health = move || async move {
        if healthy {
            (StatusCode::OK, r#"{"status":"healthy"}"#)
        } else {
            tokio::time::sleep(Duration::from_millis(2500)).await;
            (StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"unhealthy"}"#)
        }
    };
    let details = move || async move {
        if healthy {
            (StatusCode::OK, r#"{"status":"healthy","database":"up"}"#)
        } else {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"status":"unhealthy"}"#,
            )
        }
    };
    let ready = move || async move {
        if healthy {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        }
    };
    let metrics = move || async move {
        let (queue, cpu, memory, agents, connections) = if healthy {
            (12, 35.5, 61.0, 8, 30)
        } else {
            (6200, 96.0, 97.5, 20, 100)
        };
        format!(
            "# HELP godel_queue_depth Jobs waiting.\n# TYPE godel_queue_depth gauge\n\
             godel_queue_depth{{queue=\"default\"}} {queue}\n\
             godel_queue_depth{{queue=\"agents\"}} 3\n\
             # TYPE godel_cpu_usage_percent gauge\ngodel_cpu_usage_percent {cpu}\n\
             # TYPE godel_memory_usage_percent gauge\ngodel_memory_usage_percent {memory}\n\
             godel_agents_active {agents}\ngodel_agents_max 20\n\
             godel_db_connections_active{{pool=\"main\"}} {connections}\n\
             godel_db_connections_max{{pool=\"main\"}} 100\n"
        )
    };
    serve(
        Router::new()
            .route("/health", get(health))
            .route("/health/details", get(details))
            .route("/ready", get(ready))
            .route("/live", get(|| async { StatusCode::OK }))
            .route("/metrics", get(metrics)),
    )
    .await
}

fn profile(name: &str) -> Scenario {
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("catalog/profiles/{name}.toml"));
    let text = std::fs::read_to_string(&file).unwrap();
    let mut s = Scenario::from_toml(&file, &text).expect("the profile checks");
    // Time compression: phases to `PHASE`, alert windows by the same factor.
    const PHASE: Duration = Duration::from_secs(8);
    let planned = s.duration();
    for phase in &mut s.phases {
        phase.duration = PHASE.mul_f64(phase.duration.as_secs_f64() / planned.as_secs_f64());
    }
    let factor = PHASE.as_secs_f64() / planned.as_secs_f64();
    for alert in &mut s.alerts {
        let window = alert.expect.window.expect("alerts are windowed");
        alert.expect.window = Some(Duration::from_secs_f64(
            (window.as_secs_f64() * factor).ceil().max(2.0),
        ));
    }
    s
}

/// Runs `scenario` against `addr`; verdicts by claim id.
async fn run(
    scenario: &Scenario,
    addr: SocketAddr,
    dir: &Path,
) -> BTreeMap<String, (Outcome, String)> {
    let options = RunOptions {
        target_url: Some(format!("http://{addr}")),
        work_dir: dir.to_path_buf(),
        // Stand-in and generator share two cores with the other tests:
        // these tests check which claims fail, not the generator's limits.
        limits: ValidityLimits {
            max_send_lag_p99: Duration::from_secs(1),
            max_cpu_fraction: 1.0,
            ..ValidityLimits::default()
        },
        ..RunOptions::default()
    };
    let report = execute(scenario, &options).await.expect("the run starts");
    assert_eq!(report.status, RunStatus::Completed, "{:?}", report.reason);
    report
        .verdicts
        .into_iter()
        .map(|v| (v.claim, (v.outcome, v.evidence)))
        .collect()
}

fn failing(verdicts: &BTreeMap<String, (Outcome, String)>) -> Vec<&str> {
    verdicts
        .iter()
        .filter(|(_, (o, _))| *o == Outcome::Fail)
        .map(|(id, _)| id.as_str())
        .collect()
}

fn assert_all_pass(verdicts: &BTreeMap<String, (Outcome, String)>) {
    for (id, (outcome, evidence)) in verdicts {
        assert_eq!(*outcome, Outcome::Pass, "{id}: {evidence}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unjucks_profile_passes_a_healthy_service_and_fails_a_degraded_one() {
    let s = profile("unjucks");
    let dir = tempfile::tempdir().unwrap();
    let healthy = run(&s, unjucks(Mode::Healthy).await, dir.path()).await;
    assert_eq!(healthy.len(), 5);
    assert_all_pass(&healthy);

    let degraded = run(&s, unjucks(Mode::Degraded).await, dir.path()).await;
    assert_eq!(
        failing(&degraded),
        [
            "HighErrorRate",
            "HighResponseTime",
            "error-rate",
            "health-probe",
            "response-time-p95"
        ],
        "{degraded:#?}"
    );
    assert!(
        degraded["health-probe"].1.contains("answered 503"),
        "{:?}",
        degraded["health-probe"]
    );
    assert!(
        degraded["HighResponseTime"].1.contains("FIRED"),
        "{:?}",
        degraded["HighResponseTime"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn godel_profile_passes_a_healthy_service_and_fails_a_degraded_one() {
    let s = profile("godel");
    let dir = tempfile::tempdir().unwrap();
    let healthy = run(&s, godel(Mode::Healthy).await, dir.path()).await;
    assert_eq!(healthy.len(), 19);
    assert_all_pass(&healthy);

    let degraded = run(&s, godel(Mode::Degraded).await, dir.path()).await;
    assert_eq!(
        failing(&degraded),
        [
            "agent-count-critical",
            "agent-count-warning",
            "avg-latency-critical",
            "avg-latency-warning",
            "cpu-usage-critical",
            "cpu-usage-warning",
            "db-connections-critical",
            "db-connections-warning",
            "error-rate-critical",
            "error-rate-warning",
            "health-details-endpoint",
            "health-endpoint",
            "memory-usage-critical",
            "memory-usage-warning",
            "queue-depth-critical",
            "queue-depth-warning",
            "readiness-probe",
        ],
        "{degraded:#?}"
    );
    // /live and /metrics still answer: their probes pass.
    assert_eq!(degraded["liveness-probe"].0, Outcome::Pass);
    assert_eq!(degraded["metrics-endpoint"].0, Outcome::Pass);
    assert!(
        degraded["queue-depth-critical"].1.contains("worst 6200"),
        "{:?}",
        degraded["queue-depth-critical"]
    );
}
