//! Process faults: pause/resume, kill -9/restart and terminate of a
//! child `somon-system`, as a load client sees them and as history events;
//! operator actions against its management API.

mod util;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use somon_chaos::{
    ChildTarget, Error, EventKind, Operator, OperatorAction, ProcessFault, RunClock, Step, Targets,
    Timeline,
};
use util::{chain, fresh_client, somon_system};

const MS: fn(u64) -> Duration = Duration::from_millis;
const START: Duration = Duration::from_secs(20);

/// A module root with `a.som` and a running `somon-system --port 0`.
async fn spawn_system() -> (tempfile::TempDir, ChildTarget, SocketAddr) {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("a.som"), "содир собит x = 1;\n").unwrap();
    let binary = somon_system();
    let target = ChildTarget::spawn(
        binary.to_str().unwrap(),
        &[
            "--root",
            root.path().to_str().unwrap(),
            "--port",
            "0",
            "--drain-delay-ms",
            "0",
            "--externals",
            "lodash",
            "--registry",
            "http://127.0.0.1:9",
        ],
    )
    .unwrap();
    let addr = target.wait_for_address(START).await.unwrap();
    (root, target, addr)
}

async fn load(client: &reqwest::Client, addr: SocketAddr) -> reqwest::Result<reqwest::StatusCode> {
    let reply = client
        .get(format!("http://{addr}/modules/load?path=a.som"))
        .send()
        .await?;
    Ok(reply.status())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_kill_restart_are_real_and_recorded() {
    let (_root, target, addr) = spawn_system().await;
    let client = fresh_client(MS(500));
    assert_eq!(load(&client, addr).await.unwrap(), 200);

    let control = target.control();
    let first_pid = control.pid();
    let target = Arc::new(tokio::sync::Mutex::new(target));
    let clock = RunClock::new();
    let run = Timeline::new()
        .then(MS(100), Some(MS(1200)), Step::Process(ProcessFault::Pause))
        .then(MS(1800), None, Step::Process(ProcessFault::Kill9Restart))
        .start(
            clock,
            Targets::default().with_process(target.clone(), control.clone()),
        );

    // Paused: the kernel accepts but nobody answers.
    tokio::time::sleep_until((clock.start() + MS(300)).into()).await;
    assert!(control.is_paused());
    let error = load(&client, addr)
        .await
        .expect_err("paused target cannot answer");
    assert!(error.is_timeout(), "{:#?}", chain(&error));
    // Resumed at 1.3 s.
    tokio::time::sleep_until((clock.start() + MS(1500)).into()).await;
    assert!(!control.is_paused());
    assert_eq!(load(&client, addr).await.unwrap(), 200);

    let history = run.finish().await;
    let events = history.events();
    let kinds: Vec<(EventKind, String)> = events.iter().map(|e| (e.kind, e.step.clone())).collect();
    assert_eq!(
        kinds,
        [
            (EventKind::Applied, "process Pause".to_string()),
            (EventKind::Removed, "process Pause".to_string()),
            (EventKind::Action, "process Kill9Restart".to_string()),
        ],
        "{events:#?}"
    );
    eprintln!("events: {}", history.to_jsonl());
    assert!(events[0].at.abs_diff(MS(100)) <= MS(50));
    assert!(events[1].at.abs_diff(MS(1300)) <= MS(50));

    // The restarted process has a new pid and (with --port 0) a new address.
    assert_ne!(control.pid(), first_pid);
    let new_addr = target.lock().await.wait_for_address(START).await.unwrap();
    assert!(events[2]
        .message
        .as_deref()
        .unwrap()
        .contains(&new_addr.to_string()));
    let health = client
        .get(format!("http://{new_addr}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(load(&client, new_addr).await.unwrap(), 200);

    let status = target
        .lock()
        .await
        .terminate(Duration::from_secs(10))
        .await
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_actions_reach_the_management_api() {
    let (_root, target, addr) = spawn_system().await;
    let operator = Operator::new(&format!("http://{addr}"), None);

    let reply = operator.perform(&OperatorAction::CacheClear).await.unwrap();
    assert_eq!(reply.status, 200);
    let reply = operator
        .perform(&OperatorAction::ConfigPatch(json!({"maxCacheSize": 500})))
        .await
        .unwrap();
    assert!(reply.body.contains("maxCacheSize"), "{}", reply.body);
    let config: serde_json::Value = reqwest::get(format!("http://{addr}/config"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["maxCacheSize"], 500);

    operator
        .perform(&OperatorAction::BreakerForceOpen("lodash".into()))
        .await
        .unwrap();
    let status: serde_json::Value = reqwest::get(format!("http://{addr}/circuit-breakers/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["breakers"]["lodash"]["state"], "open", "{status}");
    operator
        .perform(&OperatorAction::BreakerReset(Some("lodash".into())))
        .await
        .unwrap();
    operator
        .perform(&OperatorAction::BreakerReset(None))
        .await
        .unwrap();

    // Non-2xx is an error value carrying status and body.
    match operator
        .perform(&OperatorAction::ConfigPatch(json!({"bogus": 1})))
        .await
    {
        Err(Error::ActionRejected { status, body, .. }) => {
            assert_eq!(status, 400);
            assert!(body.contains("bogus"), "{body}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    // No server at all: a transport error.
    let nowhere = Operator::new("http://127.0.0.1:9", None);
    assert!(matches!(
        nowhere.perform(&OperatorAction::CacheClear).await,
        Err(Error::ActionTransport { .. })
    ));

    // The same through a timeline: an action, then a graceful terminate
    // of the paused target (SIGTERM + SIGCONT), all recorded.
    let control = target.control();
    let target = Arc::new(tokio::sync::Mutex::new(target));
    let targets = Targets::default()
        .with_operator(operator)
        .with_process(target.clone(), control);
    let history = Timeline::new()
        .then(MS(0), None, Step::Action(OperatorAction::CacheClear))
        .then(MS(50), None, Step::Process(ProcessFault::Pause))
        .then(MS(100), None, Step::Process(ProcessFault::Terminate))
        .start(RunClock::new(), targets)
        .finish()
        .await;
    let events = history.events();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Action,
            EventKind::Applied,
            EventKind::Removed,
            EventKind::Action
        ],
        "{events:#?}"
    );
    assert!(events[0].message.as_deref().unwrap().starts_with("200"));
    assert_eq!(
        events[2].message.as_deref(),
        Some("ended by process Terminate")
    );
    assert_eq!(events[3].message.as_deref(), Some("exited: exit status: 0"));
    assert!(target.lock().await.try_exit_status().unwrap().success());
}
