//! Config patches are validated as a whole and
//! applied atomically; valid ones take effect at once.

mod util;

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use somon_system::server::AppState;
use somon_system::Config;
use util::server::{get, post, state};
use util::Tree;

fn tree(modules: usize) -> Tree {
    let tree = Tree::new();
    for i in 0..modules {
        tree.write(&format!("m{i}.som"), &format!("содир собит v = {i};\n"));
    }
    tree
}

#[tokio::test]
async fn an_invalid_patch_lists_every_problem_and_changes_nothing() {
    let tree = tree(0);
    let state = state(tree.root(), Config::default(), None);
    let before = get(&state, "/config").await.text;
    let reply = post(
        &state,
        "/config",
        r#"{"maxCacheSize": -1, "logLevel": "loud", "noSuchKey": 1, "retryDelayMs": 10}"#,
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.body["error"]["code"], "INVALID_CONFIG");
    let fields: Vec<&str> = reply.body["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    for field in ["maxCacheSize", "logLevel", "noSuchKey"] {
        assert!(
            fields.iter().any(|f| f.contains(field)),
            "{field} not in {fields:?}"
        );
    }
    assert_eq!(
        get(&state, "/config").await.text,
        before,
        "nothing may change"
    );
}

#[tokio::test]
async fn shrinking_the_cache_evicts_at_once() {
    let tree = tree(10);
    let state = state(tree.root(), Config::default(), None);
    for i in 0..10 {
        get(&state, &format!("/modules/load?path=m{i}.som")).await;
    }
    assert_eq!(get(&state, "/cache/stats").await.body["size"], 10);
    // The runbook's form: curl -d without a JSON content type.
    let reply = post(&state, "/config", r#"{"maxCacheSize": 3}"#).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["changed"], json!(["maxCacheSize"]));
    let stats = get(&state, "/cache/stats").await.body;
    assert_eq!(stats["size"], 3);
    assert_eq!(stats["maxSize"], 3);
    // The three most recently used survive.
    for i in 7..10 {
        let reply = get(&state, &format!("/modules/load?path=m{i}.som")).await;
        assert_eq!(reply.body["cached"], true, "m{i}");
    }
}

#[tokio::test]
async fn a_get_body_posted_back_is_accepted_unchanged() {
    let tree = tree(0);
    let state = state(tree.root(), Config::default(), None);
    let before = get(&state, "/config").await.text;
    let reply = post(&state, "/config", &before).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["changed"], json!([]));
    assert_eq!(get(&state, "/config").await.text, before);
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        (0u64..5000).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        "[a-z@/.]{0,8}".prop_map(Value::from),
        prop::sample::select(vec![
            "stat", "none", "warn", "error", "ignore", "debug", "info"
        ])
        .prop_map(Value::from),
        prop::collection::vec("[a-z]{1,6}", 0..3).prop_map(|v| json!(v)),
        (-1.0e3f64..1.0e3).prop_map(Value::from),
    ]
}

const KEYS: &[&str] = &[
    "maxCacheSize",
    "maxCacheMemory",
    "memoryLimit",
    "cacheValidation",
    "externals",
    "externalTimeoutMs",
    "enableExternalCache",
    "externalCacheTtlMs",
    "failureThreshold",
    "circuitBreakerWindowMs",
    "retryDelayMs",
    "timeoutMs",
    "halfOpenMaxCalls",
    "circularDependencyStrategy",
    "logLevel",
    "requireAuth",
    "unknownKey",
];

fn patch() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(prop::sample::select(KEYS), value(), 0..5)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

async fn check_patch(state: &AppState, patch: &Map<String, Value>) {
    let before = get(state, "/config").await.text;
    let reply = post(state, "/config", &Value::Object(patch.clone()).to_string()).await;
    let after = get(state, "/config").await;
    match reply.status.as_u16() {
        400 => {
            let problems = reply.body["error"]["problems"].as_array().unwrap();
            assert!(!problems.is_empty());
            assert_eq!(after.text, before, "a rejected patch changed the config");
        }
        200 => {
            assert_eq!(after.body, reply.body["config"]);
            for (key, value) in patch {
                assert_eq!(&after.body[key.as_str()], value, "{key} not applied");
            }
            let before: Value = serde_json::from_str(&before).unwrap();
            for (key, old) in before.as_object().unwrap() {
                if !patch.contains_key(key) {
                    assert_eq!(&after.body[key.as_str()], old, "{key} changed unasked");
                }
            }
        }
        other => panic!("unexpected status {other}: {}", reply.text),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn patches_apply_wholly_or_not_at_all(patches in prop::collection::vec(patch(), 1..6)) {
        let tree = tree(0);
        let state = state(tree.root(), Config::default(), None);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            for patch in &patches {
                check_patch(&state, patch).await;
            }
        });
    }
}
