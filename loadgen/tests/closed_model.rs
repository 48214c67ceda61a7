//! 1000 concurrent Goose users load cached modules from the
//! reference system (in process, 127.0.0.1:0) for 30 s without an error.

use std::sync::Arc;
use std::time::Duration;

use somon_loadgen::{ClosedModel, Journey, StopCondition, Users, Workload};
use somon_system::server::{bind, serve, AppState, ServeOptions};
use somon_system::{generate, Config, CorpusSpec, Startup};

/// Raises the open-files soft limit to the hard limit (1000 users hold
/// 1000 client and 1000 server sockets).
fn raise_nofile() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

/// Serves the system over `root` on its own runtime (2 workers), so the
/// target does not share the generator's worker threads.
fn start_system(root: &std::path::Path) -> String {
    let startup = Startup {
        host: "127.0.0.1".parse().unwrap(),
        port: 0,
        module_root: root.to_path_buf(),
        admin_token: None,
        config: Config::default(),
    };
    let state = AppState::new(&startup, None).expect("state");
    state.set_warmed();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let options = ServeOptions {
                drain_delay: Duration::ZERO,
                ..ServeOptions::default()
            };
            let _ = serve(state, listener, options, std::future::pending()).await;
        });
    });
    format!("http://{}", addr_rx.recv().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_users_load_cached_modules_without_errors() {
    raise_nofile();
    let dir = tempfile::tempdir().unwrap();
    let corpus = generate(
        dir.path(),
        &CorpusSpec {
            modules: 200,
            seed: 11,
            ..CorpusSpec::default()
        },
    )
    .unwrap();
    let base = start_system(dir.path());
    let modules: Vec<String> = corpus
        .modules
        .iter()
        .map(|m| m.id.as_str().to_owned())
        .collect();
    // Warm cache: every module loaded once.
    let client = reqwest::Client::new();
    for module in &modules {
        let response = client
            .get(format!("{base}/modules/load?path={module}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "warming {module}");
    }

    let workload = Workload::new(modules, vec![], vec![], 11)
        .with_mix(vec![(Journey::LoadCached, 1)])
        .unwrap();
    // 1000 users started at 500/s (Goose builds a TLS-capable client per
    // user: ~20 s for 1000 in a debug build), then held 30 s; each user paces its loads
    // (think time 0.25–0.75 s): "1000 concurrent loads" read as 1000 users.
    let stop = StopCondition::new(Duration::from_secs(75), 200_000).unwrap();
    let users = Users::Fixed {
        count: 1000,
        per_sec: 500,
        hold: Duration::from_secs(30),
    };
    let mut model = ClosedModel::new(&base, users, stop);
    model.think = (Duration::from_millis(250), Duration::from_millis(750));
    model.sample_target = true;
    let run = model.run(Arc::new(workload)).await.unwrap();
    let all = run.overall();
    let peak = run
        .series
        .iter()
        .map(|p| p.in_flight_peak)
        .max()
        .unwrap_or(0);
    println!(
        "1000 users: peak in flight {peak}, {} requests, {:.1} req/s, p50 {:?} p99 {:?} max {:?}, errors {:?}, \
         generator+target CPU {:.0} % of {} cores, {} target samples, {:?}",
        all.count,
        all.per_sec,
        all.p50,
        all.p99,
        all.max,
        run.errors,
        run.self_check.cpu_fraction * 100.0,
        run.self_check.cores,
        run.samples.len(),
        run.validity
    );
    let per_second: Vec<u64> = run.series.iter().map(|p| p.requests).collect();
    // Rate with all users running: the 30 full seconds before the last.
    let full: Vec<u64> = per_second.iter().rev().skip(1).take(30).copied().collect();
    let full_rps = full.iter().sum::<u64>() as f64 / full.len().max(1) as f64;
    println!("requests per second: {per_second:?}");
    println!("rps with all 1000 users running: {full_rps:.1}");
    // Users are concurrent; requests in flight at once depend on the
    // target's speed (printed, not asserted).
    assert!(all.count > 10_000, "only {} requests", all.count);
    assert_eq!(run.errors.total(), 0, "errors: {:?}", run.errors);
    assert!(run.elapsed >= Duration::from_secs(30), "{:?}", run.elapsed);
    assert!(!run.samples.is_empty());
}
