//! `somon-verify gameday` as a user runs it: bad plans say where and exit
//! 2, the shipped plans check, and a short plan against a spawned target
//! writes its drills into the run directory.

mod common;

use std::path::Path;
use std::process::Command;

use common::{bin, somon, write};

#[test]
fn a_bad_plan_says_where_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.toml",
        "name = \"bad\"\n[[phases]]\nname = \"p\"\nduration = \"5s\"\nload = { model = \"idle\" }\n\
         [[drills]]\nid = \"d\"\nfault = 0\ndetect = \"breaker_open(lodash)\"\nverify = \"ready\"\nrecover_within = \"5s\"\n",
    );
    for command in ["gameday", "check"] {
        let run = Command::new(bin())
            .args([command, file.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains(&format!("{}:8:9: drills[0].fault", file.display())),
            "{command}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("{}:9:24: drills[0].detect", file.display())),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn every_shipped_plan_checks_and_cites_a_source_document() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/catalog/gamedays");
    let mut plans = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let run = Command::new(bin())
            .args(["check", path.to_str().unwrap()])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert_eq!(
            run.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(stdout.contains("game-day plan"), "{stdout}");
        let text = std::fs::read_to_string(&path).unwrap();
        let sources = text
            .lines()
            .filter(|l| {
                l.starts_with("source = \"SomonScript Module System - Operational Runbook › ")
            })
            .count();
        let drills = text.lines().filter(|l| l.starts_with("[[drills]]")).count();
        assert_eq!(
            sources,
            drills,
            "{}: every drill cites its runbook procedure",
            path.display()
        );
        plans += 1;
    }
    assert!(plans >= 3, "{plans} plans");
}

/// A kill -9 of the spawned target, its restart, and a hang.
const SHORT: &str = r#"
name = "short-kill"
seed = 4
[corpus]
modules = 60
[[phases]]
name = "steady"
duration = "12s"
load = { model = "open", rate = 30, journeys = { load_cached = 1 } }
[[faults]]
at = "3s"
kind = "process-kill"
[[faults]]
at = "7s"
duration = "2s"
kind = "process-pause"
[[drills]]
id = "kill"
source = "SomonScript Module System - Operational Runbook › System Down - Module Loading Completely Failing: restart service"
fault = 0
detect = "restarted"
verify = "ready"
recover_within = "10s"
[[drills]]
id = "hang"
source = "SomonScript Module System - Operational Runbook › System Down - Module Loading Completely Failing: check system health"
fault = 1
detect = "health_degraded"
verify = "health_healthy"
recover_within = "2s"
"#;

#[test]
fn a_short_plan_writes_its_drills_into_the_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "short.toml", SHORT);
    let out = dir.path().join("run");
    let run = somon("gameday", &file, &out).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    // The hang lasts 2 s: recovery cannot come within 2 s of its start.
    assert_eq!(run.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("PASS     drill kill"), "{stdout}");
    assert!(stdout.contains("FAIL     drill hang"), "{stdout}");
    let day: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("gameday.json")).unwrap()).unwrap();
    let kill = &day["drills"][0];
    assert_eq!(kill["outcome"], "PASS", "{kill}");
    let start = kill["fault_start_s"].as_f64().unwrap();
    assert!((2.9..3.5).contains(&start), "{kill}");
    assert!(kill["time_to_detect_s"].as_f64().unwrap() < 2.0, "{kill}");
    let hang = &day["drills"][1];
    assert_eq!(hang["outcome"], "FAIL", "{hang}");
    let ttr = hang["time_to_recover_s"].as_f64().unwrap();
    assert!(ttr >= 2.0, "the hang lasted 2 s: {hang}");
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("### Game day: short-kill"), "{summary}");
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        page.contains("<h2 id=\"gameday\">"),
        "report.html has the drills"
    );
    // Re-rendering keeps the game day.
    std::fs::remove_file(out.join("report.html")).unwrap();
    let again = Command::new(bin())
        .args(["report", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(again.status.success());
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("<h2 id=\"gameday\">"));
}
