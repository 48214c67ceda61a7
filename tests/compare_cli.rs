//! `somon-verify compare A B` as a user runs it: exit 0 with the
//! comparison written to --out, exit 2 with a clear message when a
//! directory is not a run directory.

use std::process::Command;

use somon_scenarios::{Manifest, RunRecord, RunReport, RunStatus};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_somon-verify")
}

fn report(scenario: &str) -> RunReport {
    RunReport {
        manifest: Manifest {
            scenario: scenario.into(),
            ..Manifest::default()
        },
        status: RunStatus::Completed,
        reason: None,
        validity: vec![],
        steady_state: vec![],
        verdicts: vec![],
        record: RunRecord::default(),
        history: vec![],
        regression: None,
    }
}

#[test]
fn two_run_directories_compare_with_exit_0_and_a_missing_one_exits_2() {
    let temp = tempfile::tempdir().unwrap();
    let (a, b, out) = (
        temp.path().join("before"),
        temp.path().join("after"),
        temp.path().join("cmp"),
    );
    somon_reports::write_run_dir(&a, &report("smoke")).unwrap();
    somon_reports::write_run_dir(&b, &report("smoke")).unwrap();

    let ok = Command::new(bin())
        .args(["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert_eq!(ok.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("compare.html"), "{stderr}");
    for file in [
        "compare.html",
        "compare.md",
        "compare.json",
        "charts/throughput.svg",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
    assert!(html.contains(
        "Comparison: <span class=\"A\">A</span> before vs <span class=\"B\">B</span> after"
    ));

    let missing = temp.path().join("no-such-run");
    let bad = Command::new(bin())
        .args(["compare", a.to_str().unwrap(), missing.to_str().unwrap()])
        .current_dir(temp.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no-such-run: not a run directory: it does not exist"),
        "{stderr}"
    );
    // The default output directory was not created for a failed compare.
    assert!(!temp.path().join("reports").exists());
}
