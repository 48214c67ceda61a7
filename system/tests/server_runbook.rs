//! Every `curl … localhost:8080` command of the
//! SomonScript runbook and deployment guide works against the reference
//! server as written (port substituted), with the real `curl` and `jq`.

mod util;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use somon_system::{generate, Config, CorpusSpec};
use util::server::{state, Running};

const COMMANDS: &str = include_str!("data/runbook-commands.txt");

/// `curl` fails on non-2xx (keeping the body for the message), is quiet,
/// and cannot hang the test.
const PRELUDE: &str = r#"set -o pipefail
curl() {
  local fail=--fail-with-body
  for a in "$@"; do [ "$a" = -f ] && fail=; done
  command curl -sS $fail --max-time 10 "$@"
}
"#;

fn tool_missing() -> Option<&'static str> {
    ["curl", "jq", "bash"].into_iter().find(|tool| {
        Command::new(tool)
            .arg("--version")
            .output()
            .map_or(true, |o| !o.status.success())
    })
}

fn corpus(dir: &Path) {
    generate(
        dir,
        &CorpusSpec {
            modules: 40,
            seed: 3,
            ..CorpusSpec::default()
        },
    )
    .unwrap();
    for name in ["utils", "types", "helpers"] {
        std::fs::create_dir_all(dir.join("common")).unwrap();
        std::fs::write(
            dir.join(format!("common/{name}.som")),
            format!("содир собит {name} = \"{name}\";\n"),
        )
        .unwrap();
    }
}

fn config() -> Config {
    Config {
        externals: vec!["dependency-name".into()],
        ..Config::default()
    }
}

/// Runs one command line against `base`, in `cwd`.
fn shell(command: &str, base: &str, cwd: &Path) -> std::process::Output {
    let script = format!(
        "{PRELUDE}{}\n",
        command.replace("http://localhost:8080", base)
    );
    Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// Runs one command line that must succeed; returns its stdout.
fn run(command: &str, base: &str, cwd: &Path) -> String {
    let output = shell(command, base, cwd);
    assert!(
        output.status.success(),
        "command failed ({}): {command}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check(expect: &str, command: &str, output: &str) {
    if expect == "ok" {
        return;
    }
    let value: Value = serde_json::from_str(output.trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}) from {command}:\n{output}"));
    let (kind, keys) = expect.split_once(':').unwrap_or((expect, ""));
    assert_eq!(type_of(&value), kind, "{command} → {value}");
    for pair in keys.split(',').filter(|p| !p.is_empty()) {
        let (key, wanted) = pair.split_once('=').unwrap();
        let found = value.get(key).map_or("missing", type_of);
        assert_eq!(found, wanted, "{command}: .{key} in {value}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_runbook_command_works_as_written() {
    if let Some(tool) = tool_missing() {
        util::skip(&format!(
            "`{tool}` is not installed (.ci/run installs curl and jq): the runbook's commands were not run"
        ));
        return;
    }
    let root = tempfile::tempdir().unwrap();
    corpus(root.path());
    let cwd = tempfile::tempdir().unwrap();
    let server = Running::start(state(root.path(), config(), Some("s3cret"))).await;
    let base = server.base();

    // Some traffic first, so latency and rates have something to show
    // (the diagnostic summary divides by totalLoads).
    let warm_up = run(
        "for m in app/main.som app/main.som common/utils.som nope.som; do curl -s -o /dev/null \"http://localhost:8080/modules/load?path=$m\" || true; done; curl http://localhost:8080/config > new-config.json",
        &base,
        cwd.path(),
    );
    assert!(warm_up.is_empty());

    for line in COMMANDS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut fields = line.split('\t');
        let (expect, mut command) = (fields.next().unwrap(), fields.next().expect("a command"));
        let (expect, fresh) = match expect.strip_prefix("fresh ") {
            Some(expect) => (
                expect,
                Some(Running::start(state(root.path(), config(), Some("s3cret"))).await),
            ),
            None => (expect, None),
        };
        let target = fresh.as_ref().map_or(base.clone(), Running::base);
        let cwd_path = cwd.path().to_path_buf();
        let expect = match expect.strip_prefix("docbug ") {
            Some(expect) => {
                // The document's own command is broken: show it, then run the fix.
                let (verbatim, target, cwd_path) =
                    (command.to_owned(), target.clone(), cwd_path.clone());
                let output =
                    tokio::task::spawn_blocking(move || shell(&verbatim, &target, &cwd_path))
                        .await
                        .unwrap();
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(
                    !output.status.success() && stderr.contains("jq: error"),
                    "the documented command now works; drop its docbug mark: {command}\n{stderr}"
                );
                command = fields
                    .next()
                    .expect("docbug lines carry a corrected command");
                expect
            }
            None => expect,
        };
        let owned = command.to_owned();
        let output = tokio::task::spawn_blocking(move || run(&owned, &target, &cwd_path))
            .await
            .unwrap();
        check(expect, command, &output);
        if command.contains("/cache/warm") {
            let reply: Value = serde_json::from_str(&output).unwrap();
            assert_eq!(reply["warmed"].as_array().unwrap().len(), 3, "{reply}");
        }
    }
}
