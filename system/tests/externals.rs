//! Externals from a registry (wiremock on a socket2 listener),
//! integrity, the external cache, and circuit breakers over HTTP.

mod util;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use somon_system::server::AppState;
use somon_system::{load_startup, sha256_hex, Config, StartupFlags};
use util::server::{get, post, state};
use util::Tree;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// What the fake registry does right now.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Healthy,
    Status(u16),
    WrongHash,
    Slow(Duration),
}

/// A stateful responder: flipping the mode changes the registry's
/// behaviour without re-mounting (wiremock's scoped mocks misbehave there).
#[derive(Clone)]
struct Registry(Arc<Mutex<Mode>>);

impl Registry {
    fn set(&self, mode: Mode) {
        *self.0.lock().unwrap() = mode;
    }
}

const KNOWN: &[&str] = &["lodash", "dayjs"];

impl Respond for Registry {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let name = request.url.path().trim_start_matches("/modules/");
        if !KNOWN.contains(&name) {
            return ResponseTemplate::new(404);
        }
        let source = format!("module.exports = {{ name: \"{name}\" }};\n");
        let good = json!({"name": name, "version": "4.17.21", "sha256": sha256_hex(source.as_bytes()), "source": source});
        match *self.0.lock().unwrap() {
            Mode::Healthy => ResponseTemplate::new(200).set_body_json(good),
            Mode::Status(code) => ResponseTemplate::new(code),
            Mode::WrongHash => {
                let mut bad = good;
                bad["sha256"] = json!(sha256_hex(b"something else"));
                ResponseTemplate::new(200).set_body_json(bad)
            }
            Mode::Slow(delay) => ResponseTemplate::new(200)
                .set_body_json(good)
                .set_delay(delay),
        }
    }
}

/// wiremock on a listener with a deep backlog (the default 128 stalls
/// clients on SYN retransmits under load).
async fn registry() -> (MockServer, Registry) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_reuse_address(true).unwrap();
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&addr.into()).unwrap();
    socket.listen(4096).unwrap();
    let server = MockServer::builder().listener(socket.into()).start().await;
    let registry = Registry(Arc::new(Mutex::new(Mode::Healthy)));
    Mock::given(method("GET"))
        .respond_with(registry.clone())
        .mount(&server)
        .await;
    (server, registry)
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

fn tree() -> Tree {
    Tree::with(&[
        (
            "main.som",
            "ворид * чун _ аз \"lodash\";\nсодир собит x = 1;\n",
        ),
        ("pad.som", "ворид * чун p аз \"left-pad\";\n"),
    ])
}

fn config(server: &MockServer, cache: bool) -> Config {
    Config {
        externals: vec!["lodash".into(), "left-pad".into()],
        external_registry: Some(server.uri()),
        enable_external_cache: cache,
        external_cache_ttl_ms: 0,
        external_timeout_ms: 1000,
        failure_threshold: 3,
        retry_delay_ms: 300,
        timeout_ms: 2000,
        half_open_max_calls: 1,
        ..Config::default()
    }
}

async fn breaker(state: &AppState, name: &str) -> Value {
    get(state, "/circuit-breakers/status").await.body["breakers"][name].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_fails_fast_and_closes_by_itself() {
    let (server, registry) = registry().await;
    let tree = tree();
    let state = state(tree.root(), config(&server, false), None);

    for _ in 0..3 {
        let reply = get(&state, "/modules/load?path=main.som").await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.body["externals"][0]["provenance"], "registry");
        assert_eq!(reply.body["degraded"], false);
    }
    assert_eq!(requests(&server).await, 3);

    registry.set(Mode::Status(503));
    for i in 0..3 {
        let reply = get(&state, "/modules/load?path=main.som").await;
        assert_eq!(reply.status, 502, "failure {i}: {}", reply.text);
        assert_eq!(reply.body["error"]["code"], "EXTERNAL_FAILED");
    }
    let status = breaker(&state, "lodash").await;
    assert_eq!(status["state"], "open", "{status}");
    assert_eq!(status["trips"], 1);
    let reached = requests(&server).await;
    assert_eq!(reached, 6);

    // Open: fail fast, no request reaches the registry.
    for _ in 0..5 {
        let reply = get(&state, "/modules/load?path=main.som").await;
        assert_eq!(reply.status, 503, "{}", reply.text);
        assert_eq!(reply.body["error"]["code"], "CIRCUIT_OPEN");
        assert!(reply.headers.contains_key("retry-after"));
    }
    assert_eq!(
        requests(&server).await,
        reached,
        "an open breaker called the registry"
    );

    // The breaker shows in /metrics, Prometheus and health.
    let metrics = get(&state, "/metrics").await.body;
    assert_eq!(metrics["circuitBreakers"]["lodash"]["state"], "open");
    assert_eq!(metrics["circuitBreakerTrips"], 1);
    let text = get(&state, "/metrics/prometheus").await.text;
    assert!(
        text.contains("somon_circuit_breaker_state{name=\"lodash\"} 2"),
        "{text}"
    );
    let health = get(&state, "/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "degraded");
    let check = health.body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "circuitBreakers")
        .unwrap()
        .clone();
    assert_eq!(check["status"], "warn", "{check}");

    // Healthy again: the next load after the wait is the trial and closes it.
    registry.set(Mode::Healthy);
    let healed = Instant::now();
    let recovered = loop {
        let reply = get(&state, "/modules/load?path=main.som").await;
        if reply.status == 200 {
            break healed.elapsed();
        }
        assert!(
            healed.elapsed() < Duration::from_secs(10),
            "never recovered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(breaker(&state, "lodash").await["state"], "closed");
    // Configured wait (300 ms) plus one trial round, with a wide margin for
    // a loaded machine.
    assert!(
        recovered < Duration::from_millis(300 + 1500),
        "{recovered:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_copy_serves_degraded_while_the_registry_fails() {
    let (server, registry) = registry().await;
    let tree = tree();
    let state = state(tree.root(), config(&server, true), None);
    let first = get(&state, "/modules/load?path=main.som").await;
    assert_eq!(first.body["degraded"], false, "{}", first.text);

    registry.set(Mode::Status(500));
    for _ in 0..6 {
        let reply = get(&state, "/modules/load?path=main.som").await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.body["degraded"], true);
        assert_eq!(reply.body["externals"][0]["provenance"], "stale");
    }
    // Three failures opened the breaker; the rest were served from the
    // cache without calling the registry.
    assert_eq!(breaker(&state, "lodash").await["state"], "open");
    assert_eq!(requests(&server).await, 1 + 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_hashes_and_timeouts_count_as_failures_but_404_does_not() {
    let (server, registry) = registry().await;
    let tree = tree();
    let mut config = config(&server, false);
    config.external_timeout_ms = 100;
    let state = state(tree.root(), config, None);

    registry.set(Mode::WrongHash);
    let reply = get(&state, "/modules/load?path=main.som").await;
    assert_eq!(reply.status, 502, "{}", reply.text);
    assert_eq!(reply.body["error"]["code"], "EXTERNAL_FAILED");
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("integrity"));
    assert_eq!(breaker(&state, "lodash").await["failures"], 1);

    registry.set(Mode::Slow(Duration::from_millis(600)));
    let reply = get(&state, "/modules/load?path=main.som").await;
    assert_eq!(reply.status, 504, "{}", reply.text);
    assert_eq!(reply.body["error"]["code"], "EXTERNAL_TIMEOUT");
    assert_eq!(breaker(&state, "lodash").await["failures"], 2);

    registry.set(Mode::Healthy);
    let reply = get(&state, "/modules/load?path=pad.som").await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    assert_eq!(reply.body["error"]["code"], "MODULE_NOT_FOUND");
    let pad = breaker(&state, "left-pad").await;
    assert_eq!(
        (pad["failures"].clone(), pad["state"].clone()),
        (json!(0), json!("closed"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_settings_come_from_the_environment_and_post_config() {
    let (server, registry) = registry().await;
    let tree = tree();
    let env: BTreeMap<String, String> = [
        ("SOMON_CIRCUIT_BREAKER_FAILURE_THRESHOLD", "2"),
        ("SOMON_CIRCUIT_BREAKER_RETRY_DELAY", "700"),
        ("SOMON_CIRCUIT_BREAKER_TIMEOUT", "5000"),
        ("SOMON_EXTERNALS", "lodash"),
        ("SOMON_EXTERNAL_REGISTRY", server.uri().as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let flags = StartupFlags {
        module_root: Some(tree.root().to_path_buf()),
        ..StartupFlags::default()
    };
    let startup = load_startup(&flags, &env).unwrap();
    let state = AppState::new(&startup, None).unwrap();
    post(&state, "/config", r#"{"enableExternalCache": false}"#).await;

    registry.set(Mode::Status(503));
    let fail = |n: usize| {
        let state = state.clone();
        async move {
            for _ in 0..n {
                get(&state, "/modules/load?path=main.som").await;
            }
        }
    };
    fail(2).await;
    let status = breaker(&state, "lodash").await;
    assert_eq!(
        status["state"], "open",
        "threshold 2 from the environment: {status}"
    );
    assert_eq!(status["currentWaitMs"], 700);

    let reply = post(
        &state,
        "/config",
        r#"{"failureThreshold": 4, "retryDelayMs": 900}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    post(&state, "/circuit-breakers/reset/lodash", "").await;
    fail(3).await;
    assert_eq!(
        breaker(&state, "lodash").await["state"],
        "closed",
        "threshold is 4 now"
    );
    fail(1).await;
    let status = breaker(&state, "lodash").await;
    assert_eq!(status["state"], "open");
    assert_eq!(status["currentWaitMs"], 900);
}

#[tokio::test]
async fn without_a_registry_externals_are_left_to_the_host() {
    let tree = tree();
    let config = Config {
        externals: vec!["lodash".into()],
        ..Config::default()
    };
    let state = state(tree.root(), config, None);
    let reply = get(&state, "/modules/load?path=main.som").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["externals"][0]["provenance"], "host");
}
