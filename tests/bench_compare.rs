//! `somon-verify bench-compare`: one quick ratio end to end (table on
//! stdout, JSON file), and its usage errors.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_somon-verify"))
}

/// P7 takes ~2 s per repetition and needs no external tool: the breaker's
/// recovery is measured against a fake registry on loopback.
#[test]
fn measures_one_ratio_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("compare.json");
    let output = bin()
        .args(["bench-compare", "--only", "P7", "--repeats", "1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    // 0 when the goal is met, 1 when missed; never unmeasured here.
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("P7"), "{stdout}");
    assert!(
        stdout.contains("configured wait (retryDelayMs) = 2000 ms"),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let ratios = json["ratios"].as_array().unwrap();
    assert_eq!(ratios.len(), 1);
    assert_eq!(ratios[0]["id"], "P7");
    let ratio = ratios[0]["ratio"].as_f64().unwrap();
    // Recovery cannot come much before the configured wait has passed (the
    // open state is seen by polling, so up to a poll's lateness early).
    assert!(ratio >= 0.9, "recovery ratio {ratio}");
    assert_eq!(ratios[0]["goal"]["at_most"], 1.1);
}

#[test]
fn rejects_unknown_ids_and_zero_repeats() {
    for args in [
        &["bench-compare", "--only", "P4"][..],
        &["bench-compare", "--repeats", "0"][..],
    ] {
        let output = bin().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}
