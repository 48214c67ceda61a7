//! `somon-verify run` end to end, as a user runs it: the binary spawns its
//! own `serve` as the target, writes the run directory, prints the verdict
//! table, and exits 0 / 1 / 2 / 3 (all PASS, a FAIL, bad input, proved
//! nothing).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{bin, json, serve, somon};

/// Holds the box for one run's load. The tests of this binary run on
/// parallel threads, and four runs at once (each a spawned target and its
/// generator) on a 2-core machine push the generator's send lag past its
/// validity limit: the run is then rightly INVALID, and the test that
/// wanted a verdict fails for a reason that is not the one it checks.
fn one_load_at_a_time() -> MutexGuard<'static, ()> {
    static LOAD: Mutex<()> = Mutex::new(());
    // A test that panicked while holding it leaves nothing to repair.
    LOAD.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes `text` as a scenario file in `dir`.
fn scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    common::write(dir, &format!("{name}.toml"), text)
}

const SMALL: &str = r#"
name = "small"
seed = 3
[corpus]
modules = 80
[[phases]]
name = "warm"
duration = "2s"
load = { model = "open", rate = 100, journeys = { load_cached = 1 } }
[[phases]]
name = "steady"
duration = "6s"
load = { model = "open", rate = 300, journeys = { load_cached = 1 } }
[[claims]]
id = "cached-p99-under-100ms"
source = "SomonScript Production Deployment Guide › SLA Commitments"
expect = "p99(load_cached) < 100ms"
phase = "steady"
[[claims]]
id = "no-errors"
expect = "error_rate <= 0%"
phase = "steady"
"#;

#[test]
fn a_sound_target_passes_and_the_run_directory_is_written() {
    let _load = one_load_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "small", SMALL);
    let out = dir.path().join("run");
    let run = somon("run", &file, &out).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("{stdout}\n{stderr}");
    assert_eq!(run.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("PASS     cached-p99-under-100ms"),
        "{stdout}"
    );
    for file in ["verdicts.json", "summary.md", "junit.xml", "record.json"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let verdicts = json(&out.join("verdicts.json"));
    assert_eq!(verdicts["status"], "completed");
    assert_eq!(verdicts["exit_code"], 0);
    let record = json(&out.join("record.json"));
    let manifest = &record["manifest"];
    assert_eq!(manifest["scenario"], "small");
    assert_eq!(manifest["seed"], 3);
    assert_eq!(manifest["target"], "spawn");
    assert!(manifest["host"]["cores"].as_u64().unwrap() >= 1);
    assert!(manifest["host"]["memory_bytes"].as_u64().unwrap() > 0);
    assert!(manifest["versions"]["somon-verify"].is_string());
    assert!(manifest.get("git_sha").is_some());
    // The plotted report came with the run, and re-renders from the record
    // alone to the same charts.
    let chart = out.join("charts").join("latency-load_cached.svg");
    let first = std::fs::read(&chart).unwrap();
    assert!(out.join("report.html").is_file());
    let again = Command::new(bin())
        .args(["report", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(std::fs::read(&chart).unwrap(), first);
}

/// The `slow-hits` twin in small: one cache hit in a hundred stalls its worker
/// for 150 ms, and the p99 claim fails with the measured value.
#[test]
fn slow_hits_fail_the_p99_claim() {
    let _load = one_load_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "small", SMALL);
    let out = dir.path().join("run");
    let run = somon("run", &file, &out)
        .args(["--defect", "slow-hits"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(run.status.code(), Some(1), "{stdout}");
    let verdicts = json(&out.join("verdicts.json"));
    let p99 = verdicts["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["claim"] == "cached-p99-under-100ms")
        .unwrap();
    assert_eq!(p99["outcome"], "FAIL", "{p99}");
    assert!(p99["measured"].as_f64().unwrap() >= 0.1, "{p99}");
    let record = json(&out.join("record.json"));
    assert_eq!(record["manifest"]["defects"][0], "slow-hits");
}

#[test]
fn a_bad_scenario_says_where_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "bad",
        "name = \"bad\"\n[[claims]]\nid = \"x\"\nexpect = \"p99(load_cached) < 5%\"\n",
    );
    let run = Command::new(bin())
        .args(["run", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    let at = format!("{}:4:", file.display());
    assert!(stderr.contains(&at), "{stderr}");
}

#[test]
fn ctrl_c_leaves_a_partial_report_marked_interrupted() {
    let _load = one_load_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "long",
        r#"
name = "long"
[corpus]
modules = 40
[[phases]]
name = "long"
duration = "120s"
load = { model = "open", rate = 100, journeys = { load_cached = 1 } }
[[claims]]
id = "no-errors"
expect = "error_rate <= 0%"
phase = "long"
"#,
    );
    let out = dir.path().join("run");
    let mut child = somon("run", &file, &out)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the load runs, then press Ctrl-C.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let began = Instant::now();
    loop {
        let line = lines.next().expect("stderr open").unwrap();
        if line.contains("phase starts") {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "no phase started"
        );
    }
    std::thread::sleep(Duration::from_secs(2));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "{}", rest.join("\n"));
    assert!(began.elapsed() < Duration::from_secs(60));
    let verdicts = json(&out.join("verdicts.json"));
    assert_eq!(verdicts["status"], "interrupted", "{verdicts}");
    assert!(verdicts["reason"].as_str().unwrap().contains("Ctrl-C"));
    assert_eq!(verdicts["verdicts"].as_array().unwrap().len(), 1);
}

/// `--target URL`: nothing is started and no corpus generated; the journeys
/// that need no module (health, ops) run against the given service.
#[test]
fn a_url_target_is_measured_as_it_is() {
    let _load = one_load_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let address = server.url.trim_start_matches("http://").to_owned();
    let file = scenario(
        dir.path(),
        "probe",
        r#"
name = "probe"
[[phases]]
name = "probes"
duration = "4s"
load = { model = "open", rate = 100, journeys = { health = 2, ops = 1 } }
[[claims]]
id = "no-errors"
expect = "error_rate <= 0%"
phase = "probes"
"#,
    );
    let out = dir.path().join("run");
    let run = somon("run", &file, &out)
        .args(["--target", &format!("http://{address}")])
        .output()
        .unwrap();
    drop(server);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let record = json(&out.join("record.json"));
    assert_eq!(record["manifest"]["target"], format!("http://{address}"));
    let requests = record["record"]["phases"][0]["output"]["requests"]
        .as_u64()
        .unwrap();
    assert!(requests >= 350, "{requests} requests");
    // The sampler found the service's /metrics.
    assert!(!record["record"]["phases"][0]["output"]["samples"]
        .as_array()
        .unwrap()
        .is_empty());
}
