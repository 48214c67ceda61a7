//! A timeline applies and removes faults at their
//! times on the run clock, and rollback (also on early stop or drop)
//! leaves nothing active.

use std::time::Duration;

use somon_chaos::{
    Event, EventKind, FakeRegistry, FaultProxy, OperatorAction, Package, ProxyFault,
    RegistryConfig, RegistryFaults, RunClock, Step, Targets, Timeline,
};

const MS: fn(u64) -> Duration = Duration::from_millis;

async fn targets() -> (FakeRegistry, FaultProxy, Targets) {
    let registry = FakeRegistry::start(RegistryConfig::new(Package::named(&["lodash"]), 5))
        .await
        .unwrap();
    let proxy = FaultProxy::start(registry.addr()).await.unwrap();
    let targets = Targets::default()
        .with_registry(registry.control())
        .with_proxy(proxy.control());
    (registry, proxy, targets)
}

fn slow() -> RegistryFaults {
    RegistryFaults {
        latency: MS(200),
        ..Default::default()
    }
}

fn find(events: &[Event], entry: usize, kind: EventKind) -> Duration {
    events
        .iter()
        .find(|e| e.entry == Some(entry) && e.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} for entry {entry}: {events:#?}"))
        .at
}

fn near(at: Duration, want: Duration) -> bool {
    at.abs_diff(want) <= MS(50)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_applied_and_removed_on_time_then_rolled_back() {
    let (registry, proxy, targets) = targets().await;
    let clock = RunClock::new();
    let run = Timeline::new()
        .then(MS(200), Some(MS(400)), Step::Registry(slow()))
        .then(MS(300), Some(MS(300)), Step::Proxy(ProxyFault::Reset))
        .then(MS(900), None, Step::Proxy(ProxyFault::Blackhole))
        .start(clock, targets);

    // Well inside [300, 600) both faults are really set on their targets.
    tokio::time::sleep_until((clock.start() + MS(450)).into()).await;
    assert_eq!(registry.control().faults(), slow());
    assert_eq!(proxy.control().fault(), Some(ProxyFault::Reset));
    // Well after 900 ms only the open-ended blackhole remains.
    tokio::time::sleep_until((clock.start() + MS(1100)).into()).await;
    assert!(registry.control().faults().is_clear());
    assert_eq!(proxy.control().fault(), Some(ProxyFault::Blackhole));
    assert_eq!(run.active(), vec![Step::Proxy(ProxyFault::Blackhole)]);

    let history = run.finish().await;
    let events = history.events();
    for (entry, kind, want) in [
        (0, EventKind::Applied, 200),
        (0, EventKind::Removed, 600),
        (1, EventKind::Applied, 300),
        (1, EventKind::Removed, 600),
        (2, EventKind::Applied, 900),
    ] {
        let at = find(&events, entry, kind);
        eprintln!("entry {entry} {kind:?} at {at:?} (want {want} ms)");
        assert!(
            near(at, MS(want)),
            "entry {entry} {kind:?} at {at:?}, want {want} ms"
        );
    }
    // finish() rolled back the open-ended entry.
    let rollback = events.last().unwrap();
    assert_eq!(
        (rollback.entry, rollback.kind),
        (Some(2), EventKind::Removed)
    );
    assert_eq!(rollback.message.as_deref(), Some("rollback"));
    assert_eq!(proxy.control().fault(), None);
    assert!(registry.control().faults().is_clear());
    assert_eq!(events.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_stop_rolls_back_and_skips_the_rest() {
    let (registry, proxy, targets) = targets().await;
    let clock = RunClock::new();
    let run = Timeline::new()
        .then(MS(0), Some(Duration::from_secs(30)), Step::Registry(slow()))
        .then(
            MS(50),
            Some(Duration::from_secs(30)),
            Step::Proxy(ProxyFault::Refused),
        )
        .then(
            Duration::from_secs(20),
            None,
            Step::Proxy(ProxyFault::Blackhole),
        )
        .start(clock, targets);
    tokio::time::sleep_until((clock.start() + MS(200)).into()).await;
    assert_eq!(run.active().len(), 2);
    let history = run.stop();
    assert!(registry.control().faults().is_clear());
    assert_eq!(proxy.control().fault(), None);
    let kinds: Vec<(Option<usize>, EventKind)> =
        history.events().iter().map(|e| (e.entry, e.kind)).collect();
    assert_eq!(
        kinds,
        [
            (Some(0), EventKind::Applied),
            (Some(1), EventKind::Applied),
            (Some(1), EventKind::Removed),
            (Some(0), EventKind::Removed),
        ]
    );
    // The proxy listens again after the refusal was rolled back.
    let mut connected = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(proxy.addr()).await.is_ok() {
            connected = true;
            break;
        }
        tokio::time::sleep(MS(5)).await;
    }
    assert!(connected, "proxy still refusing after rollback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_run_rolls_back() {
    let (registry, proxy, targets) = targets().await;
    let clock = RunClock::new();
    let run = Timeline::new()
        .then(MS(0), None, Step::Registry(slow()))
        .then(MS(0), None, Step::Proxy(ProxyFault::Blackhole))
        .start(clock, targets);
    let history = run.history();
    tokio::time::sleep_until((clock.start() + MS(100)).into()).await;
    assert_eq!(proxy.control().fault(), Some(ProxyFault::Blackhole));
    drop(run);
    assert!(registry.control().faults().is_clear());
    assert_eq!(proxy.control().fault(), None);
    let removed = history
        .events()
        .iter()
        .filter(|e| e.kind == EventKind::Removed)
        .count();
    assert_eq!(removed, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_faults_hand_over_and_missing_targets_fail() {
    let (_registry, proxy, targets) = targets().await;
    let clock = RunClock::new();
    let run = Timeline::new()
        .then(MS(0), Some(MS(300)), Step::Proxy(ProxyFault::Blackhole))
        .then(MS(100), Some(MS(100)), Step::Proxy(ProxyFault::Reset))
        .then(MS(0), None, Step::Action(OperatorAction::CacheClear))
        .start(clock, targets);
    tokio::time::sleep_until((clock.start() + MS(250)).into()).await;
    // The reset ended at 200 ms; the blackhole (still active) is back.
    assert_eq!(proxy.control().fault(), Some(ProxyFault::Blackhole));
    let history = run.finish().await;
    assert_eq!(proxy.control().fault(), None);
    let failed: Vec<Event> = history
        .events()
        .into_iter()
        .filter(|e| e.kind == EventKind::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(
        failed[0].message.as_deref(),
        Some("no operator target configured")
    );
}

#[test]
fn events_round_trip_through_json_lines() {
    let event = Event {
        at: MS(1234),
        kind: EventKind::Applied,
        entry: Some(3),
        step: "proxy Reset".into(),
        detail: Step::Proxy(ProxyFault::Bandwidth {
            bytes_per_sec: 1000,
        }),
        message: None,
    };
    let line = serde_json::to_string(&event).unwrap();
    assert!(line.contains("\"kind\":\"applied\""), "{line}");
    assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), event);
    let timeline = Timeline::new().then(
        MS(5),
        Some(MS(10)),
        Step::Action(OperatorAction::BreakerReset(None)),
    );
    let text = serde_json::to_string(&timeline).unwrap();
    assert_eq!(serde_json::from_str::<Timeline>(&text).unwrap(), timeline);
}
