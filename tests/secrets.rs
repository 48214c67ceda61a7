//! A token given to a scenario through the environment reaches the service
//! it is for, and no artefact of the run: the run directory is written as
//! `somon-verify run` writes it, and every file in it is searched.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use somon_loadgen::ValidityLimits;
use somon_scenarios::{execute, Outcome, RunOptions, RunReport, Scenario};

const TOKEN: &str = "t0k3nZq9xWv";

/// `GET /me` answers 200 to `Authorization: Bearer TOKEN`, 401 otherwise.
async fn service() -> SocketAddr {
    let me = |headers: HeaderMap| async move {
        let wanted = format!("Bearer {TOKEN}");
        match headers.get("authorization").and_then(|v| v.to_str().ok()) {
            Some(given) if given == wanted => (StatusCode::OK, r#"{"user":"ada"}"#),
            _ => (StatusCode::UNAUTHORIZED, r#"{"error":"unauthorized"}"#),
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/me", get(me));
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

const SCENARIO: &str = r#"
name = "auth"
description = "calls /me as Bearer ${API_TOKEN}"
secrets = ["API_TOKEN"]
[target]
kind = "url"
url = "http://127.0.0.1:9"
[[requests]]
name = "me"
path = "/me"
headers = { Authorization = "Bearer ${API_TOKEN}" }
[[phases]]
name = "steady"
duration = "2s"
load = { model = "open", rate = 20, journeys = { me = 1 } }
[[claims]]
id = "authorised"
expect = "error_rate < 1%"
phase = "steady"
"#;

async fn run(token: &str, addr: SocketAddr, dir: &Path) -> (Scenario, RunReport) {
    let env = |name: &str| (name == "API_TOKEN").then(|| token.to_owned());
    let scenario = Scenario::from_toml_with_env(Path::new("auth.toml"), SCENARIO, env).unwrap();
    let options = RunOptions {
        target_url: Some(format!("http://{addr}")),
        work_dir: dir.to_path_buf(),
        // The generator shares two cores with the other tests: this test
        // is about what is sent and written, not the generator's limits.
        limits: ValidityLimits {
            max_send_lag_p99: Duration::from_secs(1),
            max_cpu_fraction: 1.0,
            ..ValidityLimits::default()
        },
        ..RunOptions::default()
    };
    let report = execute(&scenario, &options).await.expect("the run starts");
    (scenario, report)
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut names: Vec<String> = files(dir)
        .into_iter()
        .filter(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).contains(needle))
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_reaches_the_service_and_no_artefact() {
    let addr = service().await;
    let temp = tempfile::tempdir().unwrap();
    let (scenario, report) = run(TOKEN, addr, temp.path()).await;
    let verdict = &report.verdicts[0];
    // Every request was answered 200: the header went out with the token.
    assert_eq!(verdict.outcome, Outcome::Pass, "{}", verdict.evidence);

    let dir = temp.path().join("run");
    somon_reports::write_run_dir_redacted(&dir, &report, &scenario.secrets).unwrap();
    for name in ["record.json", "events.jsonl", "summary.md", "report.html"] {
        assert!(dir.join(name).is_file(), "{name} written");
    }
    assert_eq!(holding(&dir, TOKEN), Vec::<String>::new());
    // The header value is a secret whole, the variable within it too.
    assert!(holding(&dir, "calls /me as [redacted]").contains(&"record.json".to_owned()));

    // Written without the scenario's secrets, the token is there: the
    // search above can fail.
    let plain = temp.path().join("plain");
    somon_reports::write_run_dir(&plain, &report).unwrap();
    let found = holding(&plain, TOKEN);
    for name in ["record.json", "report.html", "summary.md"] {
        assert!(found.contains(&name.to_owned()), "{name} not in {found:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_fails_the_claim() {
    let addr = service().await;
    let temp = tempfile::tempdir().unwrap();
    let (_, report) = run("wrong-token", addr, temp.path()).await;
    let verdict = &report.verdicts[0];
    assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.evidence);
}
