//! `memoryLimit` over HTTP: `POST /config` sets the budget `/metrics`
//! `systemMetrics.memoryUsage` is measured against, at once; a budget below
//! the resident memory fails the `/health` memory check (the runbook's
//! memory alerts can then be shown to fire); 0 restores the hardware limit.

mod util;

use serde_json::Value;
use somon_system::Config;
use util::server::{call, get, post, state};
use util::Tree;

const MIB: u64 = 1 << 20;

fn system(metrics: &Value) -> (f64, u64, u64) {
    let system = &metrics["systemMetrics"];
    (
        system["memoryUsage"].as_f64().unwrap(),
        system["rssBytes"].as_u64().unwrap(),
        system["memoryLimitBytes"].as_u64().unwrap(),
    )
}

/// Usage as the server must compute it from the same response's figures.
fn assert_usage(usage: f64, rss: u64, limit: u64) {
    let expected = rss as f64 / limit as f64 * 100.0;
    assert!(
        (usage - expected).abs() < 1e-6,
        "memoryUsage {usage} is not rss {rss} / limit {limit} = {expected}"
    );
}

#[tokio::test]
async fn a_posted_memory_limit_is_what_memory_usage_is_measured_against() {
    let tree = Tree::new();
    let state = state(tree.root(), Config::default(), None);
    let metrics = get(&state, "/metrics").await.body;
    let (usage, rss, hardware) = system(&metrics);
    if rss == 0 {
        util::skip("sysinfo cannot read this platform's memory");
        return;
    }
    assert_eq!(get(&state, "/config").await.body["memoryLimit"], 0);
    assert_usage(usage, rss, hardware);

    // A budget of four times the resident memory (rounded to MiB, at least
    // 1 MiB): usage near 25 %, and well below the hardware limit.
    let budget = ((rss * 4).div_ceil(MIB)).max(1) * MIB;
    assert!(budget < hardware, "{budget} ≥ {hardware}");
    let reply = post(
        &state,
        "/config",
        &format!(r#"{{"memoryLimit": {budget}}}"#),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["changed"], serde_json::json!(["memoryLimit"]));
    assert_eq!(reply.body["config"]["memoryLimit"], budget);
    assert_eq!(get(&state, "/config").await.body["memoryLimit"], budget);

    // Within the same 500 ms sample: the new limit shows at once.
    let (usage, rss, limit) = system(&get(&state, "/metrics").await.body);
    assert_eq!(limit, budget);
    assert_usage(usage, rss, budget);
    assert!((10.0..60.0).contains(&usage), "usage {usage}");
    let prometheus = call(
        &state,
        axum::http::Method::GET,
        "/metrics",
        None,
        &[("accept", "text/plain")],
    )
    .await
    .text;
    assert!(
        prometheus.contains(&format!("\nsomon_memory_limit_bytes {budget}\n")),
        "{prometheus}"
    );

    // A budget below the resident memory: over 100 %, health fails.
    let reply = post(&state, "/config", r#"{"memoryLimit": 1048576}"#).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let (usage, rss, limit) = system(&get(&state, "/metrics").await.body);
    assert_eq!(limit, MIB);
    assert_usage(usage, rss, MIB);
    assert!(usage > 95.0, "usage {usage}");
    let health = get(&state, "/health").await;
    assert_eq!(health.status, 503, "{}", health.text);
    let memory = health.body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == "memory")
        .unwrap()
        .clone();
    assert_eq!(memory["status"], "fail", "{memory}");

    // 0: not set, the hardware limit again.
    let reply = post(&state, "/config", r#"{"memoryLimit": 0}"#).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let (usage, rss, limit) = system(&get(&state, "/metrics").await.body);
    assert_eq!(limit, hardware);
    assert_usage(usage, rss, hardware);
}

#[tokio::test]
async fn a_refused_memory_limit_changes_nothing() {
    let tree = Tree::new();
    let state = state(
        tree.root(),
        Config {
            memory_limit: 64 * MIB,
            ..Config::default()
        },
        None,
    );
    let before = get(&state, "/config").await.text;
    let (_, _, limit) = system(&get(&state, "/metrics").await.body);
    assert!(limit <= 64 * MIB, "{limit}");
    for body in [
        r#"{"memoryLimit": 1000}"#,
        r#"{"memoryLimit": "256MiB"}"#,
        r#"{"memoryLimit": -1}"#,
        r#"{"memoryLimit": 1.5e8}"#,
        r#"{"memoryLimit": 268435456, "maxCacheSize": 0}"#,
    ] {
        let reply = post(&state, "/config", body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        assert_eq!(reply.body["error"]["code"], "INVALID_CONFIG");
        assert_eq!(get(&state, "/config").await.text, before, "{body}");
        let (_, _, after) = system(&get(&state, "/metrics").await.body);
        assert_eq!(after, limit, "{body}");
    }
}
