//! 1000 concurrent connections to the registry
//! through the proxy complete without SYN-backlog stalls.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use somon_chaos::{FakeRegistry, FaultProxy, Package, RegistryConfig, RegistryFaults};

const CONNECTIONS: usize = 1000;
const DELAY: Duration = Duration::from_millis(200);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connections_through_the_proxy_without_stalls() {
    // Client, proxy (two sides) and registry sockets all live in this
    // process: ~4000 descriptors.
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    }
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    assert!(
        soft >= 5 * CONNECTIONS as u64,
        "RLIMIT_NOFILE {soft} too low"
    );

    let registry = FakeRegistry::start(RegistryConfig::new(Package::named(&["lodash"]), 9))
        .await
        .unwrap();
    registry.control().set(RegistryFaults {
        latency: DELAY,
        ..Default::default()
    });
    let proxy = FaultProxy::start(registry.addr()).await.unwrap();
    // No pooling: every request is its own connection.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = Arc::new(format!("http://{}/modules/lodash", proxy.addr()));
    let gate = Arc::new(tokio::sync::Barrier::new(CONNECTIONS));
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..CONNECTIONS {
        let (client, url, gate) = (client.clone(), url.clone(), gate.clone());
        requests.spawn(async move {
            gate.wait().await;
            let started = Instant::now();
            let reply = client.get(url.as_str()).send().await.unwrap();
            assert_eq!(reply.status(), 200);
            reply.bytes().await.unwrap();
            started.elapsed()
        });
    }
    let started = Instant::now();
    let mut took: Vec<Duration> = requests.join_all().await;
    let wall = started.elapsed();
    took.sort();
    let worst = *took.last().unwrap();
    eprintln!(
        "{CONNECTIONS} connections: wall {wall:?}, p50 {:?}, max {worst:?}",
        took[took.len() / 2]
    );
    assert_eq!(took.len(), CONNECTIONS);
    assert!(
        worst < DELAY + Duration::from_secs(1),
        "slowest took {worst:?}"
    );
    assert_eq!(proxy.control().connections(), CONNECTIONS as u64);
    assert_eq!(registry.control().requests(), CONNECTIONS as u64);
}
