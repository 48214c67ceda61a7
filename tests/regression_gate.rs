//! `baseline save` and `gate --baseline` end to end, as CI runs them: a
//! baseline saved from a run of the sound build; the same build again
//! PASSES the comparison; the `slow-cached` twin (every cached load 20 ms
//! slower) FAILS it, with the confidence interval in the run directory,
//! which `report DIR` renders again from the record.
//! (ci/regression-gate.sh adds the five-repeat noise check.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_somon-verify")
}

const SUITE: &str = r#"
name = "regression-small"
seed = 8
[corpus]
modules = 80
[[phases]]
name = "cached"
duration = "8s"
load = { model = "open", rate = 150, journeys = { load_cached = 1 } }
[[claims]]
id = "no-errors"
expect = "error_rate < 1%"
phase = "cached"
[regression]
tolerance = ["10%", "10ms"]
"#;

fn run(args: &[&str]) -> Output {
    let out = Command::new(bin()).args(args).output().unwrap();
    println!(
        "$ somon-verify {}\n{}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn gate(suite: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "gate",
        "--suite",
        suite.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn verdicts(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("verdicts.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["verdicts"].as_array().unwrap().clone()
}

#[test]
fn the_same_build_passes_and_a_slower_one_fails_with_its_interval() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("suite.toml");
    std::fs::write(&suite, SUITE).unwrap();

    let first = dir.path().join("first");
    assert_eq!(gate(&suite, &first, &[]).status.code(), Some(0));
    let base = dir.path().join("baseline");
    let saved = run(&[
        "baseline",
        "save",
        first.to_str().unwrap(),
        "--out",
        base.to_str().unwrap(),
    ]);
    assert_eq!(saved.status.code(), Some(0));
    let baseline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(base.join("baseline.json")).unwrap())
            .unwrap();
    assert_eq!(baseline["scenario"], "regression-small");
    assert!(baseline["series"][0]["p50_ms"].as_array().unwrap().len() >= 7);

    let again = dir.path().join("again");
    let same = gate(&suite, &again, &["--baseline", base.to_str().unwrap()]);
    assert_eq!(same.status.code(), Some(0));
    let regression: Vec<_> = verdicts(&again)
        .into_iter()
        .filter(|v| v["claim"].as_str().unwrap().starts_with("regression:"))
        .collect();
    assert_eq!(regression.len(), 3, "p50, p99 and rps of load_cached");
    assert!(
        regression.iter().all(|v| v["outcome"] == "PASS"),
        "{regression:#?}"
    );

    let slow = dir.path().join("slow");
    let slower = gate(
        &suite,
        &slow,
        &[
            "--baseline",
            base.to_str().unwrap(),
            "--defect",
            "slow-cached",
        ],
    );
    assert_eq!(slower.status.code(), Some(1));
    let all = verdicts(&slow);
    let p50 = all
        .iter()
        .find(|v| v["claim"] == "regression:load_cached:p50")
        .unwrap();
    assert_eq!(p50["outcome"], "FAIL", "{p50}");
    assert!(
        p50["evidence"]
            .as_str()
            .unwrap()
            .contains("95% CI of the change [+"),
        "{p50}"
    );
    // The interval's low end is the 20 ms the twin adds, give or take.
    let low = p50["measured"].as_f64().unwrap();
    assert!((0.015..0.030).contains(&low), "{p50}");
    let summary = std::fs::read_to_string(slow.join("summary.md")).unwrap();
    assert!(
        summary.contains("### Regression against the baseline"),
        "{summary}"
    );
    assert!(summary.contains("**REGRESSED**"));
    assert!(slow.join("regression.json").is_file());
    let html = std::fs::read_to_string(slow.join("report.html")).unwrap();
    assert!(html.contains("regression:load_cached:p50"));
    assert!(html.contains("Regression against the baseline"), "{html}");

    // The comparison is in the record: `report DIR` renders the section
    // again, byte for byte.
    let md = std::fs::read_to_string(slow.join("regression.md")).unwrap();
    for name in ["summary.md", "regression.md", "regression.json"] {
        std::fs::remove_file(slow.join(name)).unwrap();
    }
    let again = run(&["report", slow.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(slow.join("summary.md")).unwrap(),
        summary
    );
    assert_eq!(
        std::fs::read_to_string(slow.join("regression.md")).unwrap(),
        md
    );
    assert!(slow.join("regression.json").is_file());
}

#[test]
fn a_missing_or_foreign_baseline_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("suite.toml");
    std::fs::write(&suite, SUITE).unwrap();
    let out = dir.path().join("never");
    let missing = gate(
        &suite,
        &out,
        &["--baseline", dir.path().join("nope").to_str().unwrap()],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("reading the baseline"));

    let foreign = PathBuf::from(dir.path()).join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(
        foreign.join("baseline.json"),
        r#"{"scenario":"quick","series":[]}"#,
    )
    .unwrap();
    let other = gate(&suite, &out, &["--baseline", foreign.to_str().unwrap()]);
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stderr).contains("is of scenario \"quick\""));
    assert!(!out.exists(), "nothing ran");

    let not_a_run = run(&["baseline", "save", dir.path().to_str().unwrap()]);
    assert_eq!(not_a_run.status.code(), Some(2));
}
