//! `somon-verify init` as a user runs it: the starter it writes passes
//! `check`, is never written over an existing file, and runs as written
//! against a service on loopback.

mod common;

use std::process::Command;

use common::{bin, text};

#[test]
fn the_starter_checks_and_an_existing_file_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    let init = |extra: &[&str]| {
        Command::new(bin())
            .args(["init", "--target", "http://127.0.0.1:9/api", "--out"])
            .arg(&file)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = init(&[]);
    assert!(out.status.success(), "{}", text(&out));
    let check = Command::new(bin())
        .arg("check")
        .arg(&file)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    assert!(text(&check).contains("3 claim(s)"), "{}", text(&check));

    let before = std::fs::read_to_string(&file).unwrap();
    let again = init(&["--rate", "99"]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(
        text(&again).contains("never overwritten"),
        "{}",
        text(&again)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before, "unchanged");

    let https = Command::new(bin())
        .args(["init", "--target", "https://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(https.status.code(), Some(2), "{}", text(&https));
    assert!(text(&https).contains("https://"), "{}", text(&https));
}

#[test]
fn the_starter_runs_against_a_service_as_written() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/items", axum::routing::get(|| async { r#"[{"id":1}]"# }));
    runtime.spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    let target = format!("http://{addr}");
    let out = Command::new(bin())
        .args(["init", "--target", &target, "--path", "/items"])
        .args(["--rate", "100", "--duration", "3s", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let run = Command::new(bin())
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    // All three claims PASS: 300 answers of `/items`, none failed.
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let verdicts = common::json(&dir.path().join("run/verdicts.json"));
    let passed = verdicts["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["outcome"] == "PASS")
        .count();
    assert_eq!(passed, 3, "{verdicts:#}");
}
