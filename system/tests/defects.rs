//! Each defect twin (deliberate bug) really breaks what it names, and the
//! sound system does not: the twins are what prove a claim check can fail.

mod util;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use somon_system::server::AppState;
use somon_system::{
    BreakerSettings, Breakers, CacheLimits, CallOutcome, Config, Defect, Defects, Loader,
    ModuleCache, Resolver, ResolverConfig, Validation,
};
use util::server::{get, post, startup};
use util::Tree;

fn state(tree: &Tree, config: Config, defect: Option<Defect>) -> AppState {
    let defects = defect.map_or(Defects::NONE, |d| Defects::NONE.with(d));
    let state = AppState::with_defects(&startup(tree.root(), config, None), None, defects).unwrap();
    state.set_warmed();
    state
}

fn modules(n: usize) -> Tree {
    let tree = Tree::new();
    for i in 0..n {
        tree.write(&format!("m{i}.som"), &format!("содир собит v{i} = {i};\n"));
    }
    tree
}

async fn cached(state: &AppState, path: &str) -> bool {
    get(state, &format!("/modules/load?path={path}")).await.body["cached"] == true
}

#[tokio::test]
async fn fifo_eviction_evicts_the_oldest_insert_not_the_least_used() {
    for (defect, survivor) in [(None, "m0.som"), (Some(Defect::FifoEviction), "m1.som")] {
        let tree = modules(3);
        let config = Config {
            max_cache_size: 2,
            ..Config::default()
        };
        let state = state(&tree, config, defect);
        cached(&state, "m0.som").await;
        cached(&state, "m1.som").await;
        assert!(cached(&state, "m0.som").await, "a hit on m0");
        cached(&state, "m2.som").await;
        assert!(
            state.loader.cache().contains(survivor),
            "{defect:?}: {survivor} should survive"
        );
    }
}

#[tokio::test]
async fn stale_cache_serves_an_edited_module_from_the_cache() {
    for defect in [None, Some(Defect::StaleCache)] {
        let tree = modules(1);
        let state = state(&tree, Config::default(), defect);
        cached(&state, "m0.som").await;
        tree.write("m0.som", "содир собит edited = 1;\nсодир собит more = 2;\n");
        let reply = get(&state, "/modules/load?path=m0.som").await.body;
        let stale = reply["cached"] == true && reply["exports"][0] == "v0";
        assert_eq!(stale, defect.is_some(), "{defect:?}: {reply}");
    }
}

#[tokio::test]
async fn hit_rate_zero_reports_no_hits() {
    for defect in [None, Some(Defect::HitRateZero)] {
        let tree = modules(1);
        let state = state(&tree, Config::default(), defect);
        for _ in 0..5 {
            cached(&state, "m0.som").await;
        }
        let rate = get(&state, "/metrics").await.body["cacheHitRate"]
            .as_f64()
            .unwrap();
        assert_eq!(rate == 0.0, defect.is_some(), "{defect:?}: {rate}");
    }
}

#[test]
fn breaker_defects_never_trip_or_never_leave_open() {
    let t0 = Instant::now();
    let fail = |breakers: &Breakers, at: Instant| {
        let breaker = breakers.get_or_create("dep", at);
        if let Ok(permit) = breaker.try_acquire(at) {
            breaker.record(permit, CallOutcome::Failure, at);
        }
    };
    for defect in [None, Some(Defect::BreakerNeverTrips)] {
        let breakers = Breakers::new(BreakerSettings::default());
        breakers.set_defects(defect.map_or(Defects::NONE, |d| Defects::NONE.with(d)));
        for i in 0..10 {
            fail(&breakers, t0 + Duration::from_millis(i));
        }
        assert_eq!(breakers.total_trips() == 0, defect.is_some(), "{defect:?}");
    }
    for defect in [None, Some(Defect::BreakerStuckOpen)] {
        let breakers = Breakers::new(BreakerSettings::default());
        breakers.set_defects(defect.map_or(Defects::NONE, |d| Defects::NONE.with(d)));
        for i in 0..5 {
            fail(&breakers, t0 + Duration::from_millis(i));
        }
        let later = t0 + Duration::from_secs(60);
        let trial = breakers.get("dep").unwrap().try_acquire(later);
        assert_eq!(trial.is_err(), defect.is_some(), "{defect:?}");
    }
}

#[tokio::test]
async fn slow_hits_delay_one_hit_in_a_hundred_by_150_ms() {
    for defect in [None, Some(Defect::SlowHits)] {
        let tree = modules(1);
        let state = state(&tree, Config::default(), defect);
        cached(&state, "m0.som").await;
        let mut slow = 0;
        for _ in 0..200 {
            let reply = get(&state, "/modules/load?path=m0.som").await.body;
            if reply["durationUs"].as_u64().unwrap() >= 150_000 {
                slow += 1;
            }
        }
        assert_eq!(slow, if defect.is_some() { 2 } else { 0 }, "{defect:?}");
    }
}

#[tokio::test]
async fn config_apply_before_validate_half_applies_a_refused_patch() {
    for defect in [None, Some(Defect::ConfigApplyBeforeValidate)] {
        let tree = modules(0);
        let state = state(&tree, Config::default(), defect);
        let reply = post(
            &state,
            "/config",
            r#"{"maxCacheSize": 5, "logLevel": "loud"}"#,
        )
        .await;
        assert_eq!(reply.status, 400);
        let size = get(&state, "/config").await.body["maxCacheSize"].clone();
        assert_eq!(
            size == 5,
            defect.is_some(),
            "{defect:?}: maxCacheSize {size}"
        );
    }
}

/// The gap is 500 ms and the load follows the patch at once (in process,
/// no network): only a box stalled for half a second could miss it.
#[tokio::test]
async fn reload_on_config_refuses_loads_right_after_a_config_change() {
    for defect in [None, Some(Defect::ReloadOnConfig)] {
        let tree = modules(1);
        let state = state(&tree, Config::default(), defect);
        assert_eq!(get(&state, "/modules/load?path=m0.som").await.status, 200);
        let patched = post(&state, "/config", r#"{"maxCacheSize": 2000}"#).await;
        assert_eq!(patched.status, 200, "{}", patched.text);
        let reply = get(&state, "/modules/load?path=m0.som").await;
        if defect.is_none() {
            assert_eq!(reply.status, 200, "{}", reply.text);
        } else {
            assert_eq!(reply.status, 503, "{}", reply.text);
            assert_eq!(reply.body["error"]["code"], "RELOADING");
            assert!(reply.headers.contains_key("retry-after"));
        }
    }
}

#[tokio::test]
async fn reject_cycles_turns_a_legal_cycle_into_an_error() {
    for defect in [None, Some(Defect::RejectCycles)] {
        let tree = Tree::new();
        tree.write("a.som", "ворид { b } аз \"./b\";\nсодир собит a = 1;\n");
        tree.write("b.som", "ворид { a } аз \"./a\";\nсодир собит b = 2;\n");
        tree.write("top.som", "ворид { a } аз \"./a\";\nсодир собит top = 3;\n");
        let state = state(&tree, Config::default(), defect);
        // A load of a module above the cycle, twice: the second is a hit,
        // and the twin refuses it as well.
        for _ in 0..2 {
            let reply = get(&state, "/modules/load?path=top.som").await;
            if defect.is_none() {
                assert_eq!(reply.status, 200, "{}", reply.text);
            } else {
                assert!(reply.status.is_client_error(), "{}", reply.text);
            }
        }
        for route in ["/modules/compile", "/modules/bundle"] {
            let reply = post(&state, route, r#"{"entry": "a.som"}"#).await;
            if defect.is_none() {
                assert_eq!(reply.status, 200, "{route}: {}", reply.text);
                assert!(reply.text.contains("circular"), "{route}: {}", reply.text);
            } else {
                assert!(reply.status.is_client_error(), "{route}: {}", reply.text);
            }
        }
    }
}

#[test]
fn no_single_flight_compiles_a_module_once_per_concurrent_miss() {
    let tree = Tree::new();
    // Big enough that the 32 misses overlap the first compile.
    let body: String = (0..20_000)
        .map(|i| format!("собит к{i} = {i};\n"))
        .collect();
    tree.write("big.som", &format!("{body}содир собит done = 1;\n"));
    for defect in [None, Some(Defect::NoSingleFlight)] {
        let resolver = Resolver::new(tree.root(), ResolverConfig::default()).unwrap();
        let defects = defect.map_or(Defects::NONE, |d| Defects::NONE.with(d));
        let cache = ModuleCache::new(
            resolver.root().to_path_buf(),
            CacheLimits::default(),
            Validation::Stat,
        )
        .with_defects(defects);
        let loader = Arc::new(Loader::new(resolver, cache));
        let barrier = Arc::new(Barrier::new(32));
        let threads: Vec<_> = (0..32)
            .map(|_| {
                let (loader, barrier) = (Arc::clone(&loader), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    loader.load("big.som", Instant::now()).unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let compiles = loader.compiles();
        assert_eq!(
            compiles > 1,
            defect.is_some(),
            "{defect:?}: {compiles} compiles"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_lock_makes_a_hit_wait_for_a_slow_compile() {
    let tree = Tree::new();
    tree.write("fast.som", "содир собит x = 1;\n");
    let body: String = (0..150_000)
        .map(|i| format!("собит к{i} = `${{{i}}}`;\n"))
        .collect();
    tree.write("slow.som", &format!("{body}содир собит done = 1;\n"));
    for defect in [None, Some(Defect::GlobalLock)] {
        let state = state(&tree, Config::default(), defect);
        cached(&state, "fast.som").await;
        let compiling = {
            let state = state.clone();
            tokio::spawn(async move { get(&state, "/modules/load?path=slow.som").await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        assert!(cached(&state, "fast.som").await);
        let hit = started.elapsed();
        let slow = compiling.await.unwrap().body["durationUs"]
            .as_u64()
            .unwrap();
        if defect.is_some() {
            assert!(
                hit >= Duration::from_millis(100),
                "the hit did not wait: {hit:?} (compile {slow} µs)"
            );
        } else {
            assert!(
                hit.as_micros() < u128::from(slow) / 2,
                "a sound hit waited: {hit:?} (compile {slow} µs)"
            );
        }
    }
}

#[tokio::test]
async fn a_defective_target_says_so_in_health_details() {
    let tree = modules(0);
    let sound = state(&tree, Config::default(), None);
    assert_eq!(
        get(&sound, "/health/details").await.body["defects"],
        serde_json::json!([])
    );
    let twin = state(&tree, Config::default(), Some(Defect::SlowHits));
    assert_eq!(
        get(&twin, "/health/details").await.body["defects"],
        serde_json::json!(["slow-hits"])
    );
}

/// `unbuffered-read` changes what a compile costs, never what it yields:
/// the same module (multi-byte source included) compiles to the same code.
#[test]
fn unbuffered_read_compiles_the_same_module() {
    let tree = Tree::new();
    tree.write("dep.som", "содир собит салом = \"ҷаҳон\";\n");
    tree.write(
        "main.som",
        "ворид { салом } аз \"./dep\";\nсодир собит паём = салом;\n",
    );
    let compiled: Vec<_> = [Defects::NONE, Defects::NONE.with(Defect::UnbufferedRead)]
        .into_iter()
        .map(|defects| {
            let resolver = Resolver::new(tree.root(), ResolverConfig::default()).unwrap();
            let cache = ModuleCache::new(
                resolver.root().to_path_buf(),
                CacheLimits::default(),
                Validation::Stat,
            )
            .with_defects(defects);
            let loader = Loader::new(resolver, cache);
            let loaded = loader.load("main.som", Instant::now()).unwrap();
            (
                loaded.module.code.clone(),
                loaded.module.exports.clone(),
                loaded.module.source_hash,
                loader.cache().len(),
            )
        })
        .collect();
    assert_eq!(compiled[0], compiled[1]);
    assert_eq!(compiled[0].3, 2, "the dependency was loaded too");
}

/// `quadratic-source-map` changes what a bundle costs, never what it is: the
/// server's bundle of a generated corpus entry (cycles, nested directories,
/// source map) is byte-identical with and without it.
#[tokio::test]
async fn quadratic_source_map_emits_the_same_bundle() {
    let tree = Tree::new();
    let corpus = somon_system::generate(
        tree.root(),
        &somon_system::CorpusSpec {
            modules: 40,
            cycles: 2,
            seed: 3,
            ..somon_system::CorpusSpec::default()
        },
    )
    .unwrap();
    let body =
        serde_json::json!({ "entry": corpus.entries[0].as_str(), "sourceMaps": true }).to_string();
    let mut bundles = Vec::new();
    for defect in [None, Some(Defect::QuadraticSourceMap)] {
        let state = state(&tree, Config::default(), defect);
        let reply = post(&state, "/modules/bundle", &body).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let b = reply.body;
        bundles.push((b["code"].clone(), b["map"].clone(), b["modules"].clone()));
    }
    assert!(
        bundles[0].2.as_u64().unwrap() > 5,
        "a real graph was bundled"
    );
    assert_eq!(bundles[0], bundles[1]);
}

fn with_breaker() -> Config {
    Config {
        externals: vec!["lodash".into()],
        retry_delay_ms: 60_000,
        ..Config::default()
    }
}

async fn breaker_state(state: &AppState) -> serde_json::Value {
    get(state, "/circuit-breakers/status").await.body["breakers"]["lodash"]["state"].clone()
}

#[tokio::test]
async fn reset_ignored_acknowledges_a_reset_and_leaves_the_breaker_open() {
    for defect in [None, Some(Defect::ResetIgnored)] {
        let tree = modules(0);
        let state = state(&tree, with_breaker(), defect);
        let closed = breaker_state(&state).await;
        assert_eq!(
            post(&state, "/circuit-breakers/force-open/lodash", "")
                .await
                .status,
            200
        );
        let open = breaker_state(&state).await;
        assert_ne!(open, closed);
        let reply = post(&state, "/circuit-breakers/reset/lodash", "").await;
        assert_eq!(reply.status, 200, "{defect:?}: {}", reply.text);
        let after = breaker_state(&state).await;
        assert_eq!(after == open, defect.is_some(), "{defect:?}: {after}");
        // An unknown breaker is still refused.
        assert_eq!(
            post(&state, "/circuit-breakers/reset/nope", "")
                .await
                .status,
            404
        );
    }
}

#[tokio::test]
async fn static_health_answers_healthy_with_a_breaker_open() {
    for defect in [None, Some(Defect::StaticHealth)] {
        let tree = modules(0);
        let state = state(&tree, with_breaker(), defect);
        assert_eq!(
            post(&state, "/circuit-breakers/force-open/lodash", "")
                .await
                .status,
            200
        );
        let health = get(&state, "/health").await;
        let status = health.body["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            status == "healthy",
            defect.is_some(),
            "{defect:?}: {}",
            health.text
        );
        // The checks are still run and shown: only the verdict is wrong.
        assert!(
            health.text.contains("Circuit breakers open: lodash"),
            "{}",
            health.text
        );
    }
}

#[tokio::test]
async fn clear_ignored_reports_a_clear_and_keeps_the_entries() {
    for defect in [None, Some(Defect::ClearIgnored)] {
        let tree = modules(3);
        let state = state(&tree, Config::default(), defect);
        for i in 0..3 {
            assert_eq!(
                get(&state, &format!("/modules/load?path=m{i}.som"))
                    .await
                    .status,
                200
            );
        }
        let reply = post(&state, "/cache/clear", "").await;
        assert_eq!(reply.body["cleared"], 3, "{defect:?}: {}", reply.text);
        assert_eq!(
            cached(&state, "m0.som").await,
            defect.is_some(),
            "{defect:?}"
        );
    }
}

#[tokio::test]
async fn shrink_on_restart_keeps_the_running_cache_at_its_old_size() {
    for defect in [None, Some(Defect::ShrinkOnRestart)] {
        let tree = modules(5);
        let state = state(&tree, Config::default(), defect);
        for i in 0..5 {
            assert_eq!(
                get(&state, &format!("/modules/load?path=m{i}.som"))
                    .await
                    .status,
                200
            );
        }
        let patched = post(&state, "/config", r#"{"maxCacheSize": 2}"#).await;
        assert_eq!(patched.status, 200, "{}", patched.text);
        assert_eq!(get(&state, "/config").await.body["maxCacheSize"], 2);
        let held = state.loader.cache().len();
        assert_eq!(held, if defect.is_some() { 5 } else { 2 }, "{defect:?}");
    }
}
