//! Alerts on server-side figures need the server's figures: against a URL
//! target whose `/metrics` answers 404 (or answers without the figures),
//! every memory, CPU, hit-rate and `metric(…)` alert is UNKNOWN and the run
//! exits inconclusive — never PASS for lack of evidence. The same scenario
//! against a target whose `/metrics` reports figures below the thresholds
//! PASSes, so the check can tell the two apart.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use somon_loadgen::ValidityLimits;
use somon_scenarios::{
    execute, Exit, Outcome, RunOptions, RunReport, RunStatus, Scenario, VerdictKind,
};

/// What the stand-in's `/metrics` does.
#[derive(Clone, Copy, PartialEq)]
enum Metrics {
    /// 404: the service has no such endpoint.
    Missing,
    /// 200 with a JSON body that has none of the figures.
    Empty,
    /// 200 with figures well below every alert threshold.
    Good,
}

/// A service on 127.0.0.1:0 answering `/health` with 200 and `/metrics`
/// as `metrics` says; everything else 404.
async fn serve(metrics: Metrics) -> SocketAddr {
    let polls = Arc::new(AtomicU64::new(0));
    let metrics = move || {
        let n = polls.fetch_add(1, Ordering::Relaxed);
        async move {
            match metrics {
                Metrics::Missing => (StatusCode::NOT_FOUND, "Cannot GET /metrics".to_owned()),
                Metrics::Empty => (StatusCode::OK, r#"{"uptime": 12}"#.to_owned()),
                // Counters rise by 9 hits and 1 miss per poll: a hit rate of
                // 0.9 in every second.
                Metrics::Good => (
                    StatusCode::OK,
                    serde_json::json!({
                        "cacheHits": 9 * n,
                        "cacheMisses": n,
                        "cacheHitRate": 0.9,
                        "queue_depth": 3,
                        "systemMetrics": { "memoryUsage": 40.0, "cpuUsage": 20.0 },
                    })
                    .to_string(),
                ),
            }
        }
    };
    let router = Router::new()
        .route("/health", get(|| async { r#"{"status":"healthy"}"# }))
        .route("/metrics", get(metrics));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// Four seconds of 20 `/health` requests a second, one client-side claim,
/// and an alert on each server-side figure with a 2 s window.
fn scenario(url: &str) -> Scenario {
    let text = format!(
        r#"
name = "no-data"
seed = 3
[target]
kind = "url"
url = "{url}"
[[phases]]
name = "steady"
duration = "4s"
load = {{ model = "open", rate = 20, journeys = {{ health = 1 }} }}
[[claims]]
id = "clean"
expect = "error_rate < 1%"
phase = "steady"
[[alerts]]
id = "memory"
expect = "memory_usage > 90% for 2s"
phase = "steady"
[[alerts]]
id = "cpu"
expect = "cpu_usage > 90% for 2s"
phase = "steady"
[[alerts]]
id = "hit-rate"
expect = "cache_hit_rate < 50% for 2s"
phase = "steady"
[[alerts]]
id = "queue"
expect = "metric(queue_depth) > 100 for 2s"
phase = "steady"
"#
    );
    Scenario::from_toml(Path::new("no-data.toml"), &text).expect("a valid scenario")
}

/// Runs the scenario against a stand-in whose `/metrics` does `metrics`.
async fn run(metrics: Metrics) -> RunReport {
    let url = format!("http://{}", serve(metrics).await);
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        target_url: Some(url.clone()),
        work_dir: dir.path().to_path_buf(),
        // Stand-in and generator share two cores with the other tests:
        // these tests check the verdicts, not the generator's limits.
        limits: ValidityLimits {
            max_send_lag_p99: Duration::from_secs(1),
            max_cpu_fraction: 1.0,
            ..ValidityLimits::default()
        },
        ..RunOptions::default()
    };
    let report = execute(&scenario(&url), &options)
        .await
        .expect("the run starts");
    assert_eq!(report.status, RunStatus::Completed, "{:?}", report.reason);
    assert!(report.is_valid(), "{:?}", report.validity);
    // The load itself went well: what follows is about the figures alone.
    let clean = report.verdicts.iter().find(|v| v.claim == "clean").unwrap();
    assert_eq!(clean.outcome, Outcome::Pass, "{clean:?}");
    report
}

fn alerts(report: &RunReport) -> Vec<&somon_scenarios::Verdict> {
    let alerts: Vec<_> = report
        .verdicts
        .iter()
        .filter(|v| v.kind == VerdictKind::Alert)
        .collect();
    assert_eq!(alerts.len(), 4, "{:#?}", report.verdicts);
    alerts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_on_a_target_whose_metrics_answer_404_are_unknown_never_pass() {
    let report = run(Metrics::Missing).await;
    for v in alerts(&report) {
        assert_eq!(v.outcome, Outcome::Unknown, "{v:?}");
        assert_eq!(v.samples, 0, "{v:?}");
        assert!(
            v.evidence.contains("/metrics answered 404 Not Found"),
            "{v:?}"
        );
    }
    // The failed poll is on the record, with its status.
    let polls: Vec<_> = report.record.phases[0]
        .output
        .samples
        .iter()
        .filter(|s| s.endpoint == "/metrics")
        .collect();
    assert!(!polls.is_empty());
    assert!(
        polls
            .iter()
            .all(|s| s.failed.as_ref().is_some_and(|f| f.status == Some(404))),
        "{polls:?}"
    );
    assert_eq!(report.exit_code(), Exit::Inconclusive);

    // Answers without the figures are no data either.
    let report = run(Metrics::Empty).await;
    for v in alerts(&report) {
        assert_eq!(v.outcome, Outcome::Unknown, "{v:?}");
        assert!(v.evidence.contains("/metrics answers has"), "{v:?}");
    }
    assert_eq!(report.exit_code(), Exit::Inconclusive);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_alerts_pass_on_a_target_whose_metrics_are_below_the_thresholds() {
    let report = run(Metrics::Good).await;
    for v in alerts(&report) {
        assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
        assert!(v.evidence.contains("stayed quiet"), "{v:?}");
        assert!(v.samples >= 3, "seconds with data: {v:?}");
    }
    assert_eq!(report.exit_code(), Exit::Pass);
}
