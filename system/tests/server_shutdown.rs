//! SIGTERM with 200 loads in flight against a slow
//! compile — every accepted request completes with 200, `/ready` answers
//! 503 during the drain, and the process exits 0.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A module big enough that compiling it takes a noticeable while, so the
/// loads are still waiting (single-flight) when SIGTERM arrives.
fn slow_module() -> String {
    let mut source = String::with_capacity(24 << 20);
    let mut i = 0;
    while source.len() < 24 << 20 {
        source.push_str(&format!(
            "собит қимат_{i} = `матн ${{{i} + 1}}`; // шарҳ {i}\nфунксия амал_{i}(х) {{ агар (х > {i}) {{ бозгашт х; }} вагарна {{ бозгашт {i}; }} }}\n"
        ));
        i += 1;
    }
    source.push_str("содир собит done = дуруст;\n");
    source
}

/// The server's bound address, from its JSON start-up line.
fn listening_address(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .unwrap();
        let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if event["message"] == "listening" {
            break event["address"].as_str().unwrap().to_owned();
        }
    };
    // Keep draining its log so the pipe never fills.
    std::thread::spawn(move || for _ in lines {});
    address
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("server did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What a SIGTERM with 200 loads in flight came to.
struct Shutdown {
    /// Each load's status, or the client error.
    loads: Vec<Result<u16, String>>,
    /// Whether /ready answered 503 after the signal.
    saw_not_ready: bool,
    exit: std::process::ExitStatus,
}

async fn sigterm_with_200_loads_in_flight(extra: &[&str]) -> Shutdown {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("slow.som"), slow_module()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_somon-system"))
        .args(["--port", "0", "--drain-delay-ms", "1500", "--root"])
        .arg(root.path())
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let address = listening_address(&mut child);
    let base = format!("http://{address}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    let done = Arc::new(AtomicUsize::new(0));
    let loads: Vec<_> = (0..200)
        .map(|_| {
            let client = client.clone();
            let url = format!("{base}/modules/load?path=slow.som");
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let response = client.get(url).send().await;
                done.fetch_add(1, Ordering::SeqCst);
                response
                    .map(|r| r.status().as_u16())
                    .map_err(|e| e.to_string())
            })
        })
        .collect();

    // Wait until the server holds all 200 loads (plus this probe).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let details: serde_json::Value = client
            .get(format!("{base}/health/details"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if details["inFlight"].as_u64().unwrap() > 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "loads never all arrived: {details}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        done.load(Ordering::SeqCst),
        0,
        "the compile finished before SIGTERM; the test proves nothing"
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    // During the drain delay the listener is open and /ready says 503.
    let mut saw_not_ready = false;
    for _ in 0..50 {
        match client.get(format!("{base}/ready")).send().await {
            Ok(response) if response.status() == 503 => {
                saw_not_ready = true;
                break;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(_) => break,
        }
    }
    let mut results = Vec::new();
    for load in loads {
        results.push(load.await.unwrap());
    }
    let exit =
        tokio::task::spawn_blocking(move || wait_with_timeout(&mut child, Duration::from_secs(60)))
            .await
            .unwrap();
    Shutdown {
        loads: results,
        saw_not_ready,
        exit,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_every_accepted_request() {
    let shutdown = sigterm_with_200_loads_in_flight(&[]).await;
    assert!(
        shutdown.saw_not_ready,
        "/ready never answered 503 during the drain"
    );
    for load in shutdown.loads {
        assert_eq!(load.expect("request answered"), 200);
    }
    assert!(shutdown.exit.success(), "exit status {}", shutdown.exit);
}

/// The defect twin `drop-inflight-on-shutdown` loses requests,
/// which is what the check above would catch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drop_inflight_twin_loses_requests() {
    let shutdown =
        sigterm_with_200_loads_in_flight(&["--defect", "drop-inflight-on-shutdown"]).await;
    let lost = shutdown.loads.iter().filter(|l| l.is_err()).count();
    assert!(lost > 0, "the defective server answered every load");
}
