//! The deployment artefacts under `system/deploy/`, checked by
//! the ecosystem's own tools where they are installed (promtool) and by
//! structural checks where they are not (Kubernetes schema, Dockerfile).

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use somon_system::{load_startup, Config, StartupFlags};
use util::server::{get, state};
use util::Tree;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

/// `promtool`, or `None` after saying the test skips and why.
fn promtool() -> Option<&'static str> {
    match Command::new("promtool").arg("--version").output() {
        Ok(out) if out.status.success() => Some("promtool"),
        _ => {
            util::skip(
                "promtool is not installed (Debian package `prometheus`; .ci/run installs it)",
            );
            None
        }
    }
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn promtool_checks_and_unit_tests_the_alert_rules() {
    let Some(promtool) = promtool() else { return };
    let dir = deploy().join("prometheus");
    let (ok, text) = run(Command::new(promtool)
        .args(["check", "rules", "alerts.yml"])
        .current_dir(&dir));
    assert!(ok, "{text}");
    assert!(text.contains("9 rules found"), "{text}");
    let (ok, text) = run(Command::new(promtool)
        .args(["test", "rules", "alerts.test.yml"])
        .current_dir(&dir));
    assert!(ok && text.contains("SUCCESS"), "{text}");
}

/// A server with a breaker and some traffic, so every family has samples.
async fn scrape() -> String {
    let tree = Tree::with(&[("a.som", "содир собит a = 1;\n")]);
    let config = Config {
        externals: vec!["lodash".into()],
        ..Config::default()
    };
    let state = state(tree.root(), config, None);
    for path in ["a.som", "a.som", "missing.som"] {
        get(&state, &format!("/modules/load?path={path}")).await;
    }
    get(&state, "/metrics/prometheus").await.text
}

#[tokio::test]
async fn promtool_accepts_a_live_scrape() {
    let Some(promtool) = promtool() else { return };
    let text = scrape().await;
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lint = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool check metrics:\n{lint}\n--- scrape ---\n{text}"
    );
    assert!(lint.trim().is_empty(), "lint findings:\n{lint}");
}

/// `somon_…` identifiers in a text.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("somon_") {
        let start = i + at;
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        names.insert(text[start..end].to_owned());
        i = end;
    }
    names
}

#[tokio::test]
async fn every_metric_the_rules_and_dashboard_use_is_exported() {
    let exported: BTreeSet<String> = scrape()
        .await
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_owned())
        .collect();
    for file in ["prometheus/alerts.yml", "grafana/dashboard.json"] {
        let text = std::fs::read_to_string(deploy().join(file)).unwrap();
        let used = metric_names(&text);
        assert!(used.len() >= 5, "{file} uses {used:?}");
        for name in used {
            assert!(
                exported.contains(&name),
                "{file} uses {name}, which the server does not export; it exports {exported:?}"
            );
        }
    }
}

#[test]
fn the_dashboard_has_the_runbooks_key_panels() {
    let text = std::fs::read_to_string(deploy().join("grafana/dashboard.json")).unwrap();
    let dashboard: Value = serde_json::from_str(&text).unwrap();
    let titles: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_lowercase())
        .collect();
    for wanted in [
        "latency p99",
        "hit rate",
        "error rate",
        "memory",
        "cpu",
        "breaker",
    ] {
        assert!(
            titles.iter().any(|t| t.contains(wanted)),
            "no {wanted} panel in {titles:?}"
        );
    }
}

/// Every YAML document of a manifest file.
fn documents(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(deploy().join("k8s").join(file)).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| serde::Deserialize::deserialize(doc).unwrap())
        .collect()
}

fn string<'a>(value: &'a Value, path: &str) -> &'a str {
    value
        .pointer(path)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{path} missing or not a string in {value}"))
}

/// Kubernetes quantities: `128Mi`, `100m`, `0.5`, `1G`.
fn is_quantity(text: &str) -> bool {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &text[digits.len()..];
    !digits.is_empty()
        && digits.parse::<f64>().is_ok()
        && ["", "m", "k", "M", "G", "T", "Ki", "Mi", "Gi", "Ti"].contains(&suffix)
}

/// A structural schema check of the objects (no kubectl on this machine):
/// required fields, label selectors that match, probes on declared ports,
/// valid quantities, env the server understands, nothing public.
#[test]
fn manifests_are_valid_kubernetes_objects() {
    let deployments = documents("deployment.yaml");
    let services = documents("service.yaml");
    assert_eq!(deployments.len(), 1);
    let deployment = &deployments[0];
    for object in deployments.iter().chain(&services) {
        string(object, "/apiVersion");
        string(object, "/kind");
        string(object, "/metadata/name");
    }
    assert_eq!(string(deployment, "/apiVersion"), "apps/v1");
    assert_eq!(string(deployment, "/kind"), "Deployment");
    let selector = deployment["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap();
    let labels = deployment["spec"]["template"]["metadata"]["labels"]
        .as_object()
        .unwrap();
    for (key, value) in selector {
        assert_eq!(
            labels.get(key),
            Some(value),
            "selector {key} does not match the pod labels"
        );
    }
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let container = &pod["containers"][0];
    string(container, "/name");
    string(container, "/image");
    let ports: BTreeMap<&str, u64> = container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (string(p, "/name"), p["containerPort"].as_u64().unwrap()))
        .collect();
    for (probe, path) in [("livenessProbe", "/live"), ("readinessProbe", "/ready")] {
        assert_eq!(string(container, &format!("/{probe}/httpGet/path")), path);
        let port = string(container, &format!("/{probe}/httpGet/port"));
        assert!(
            ports.contains_key(port),
            "{probe} uses undeclared port {port}"
        );
    }
    for (kind, resource) in [
        ("requests", "memory"),
        ("requests", "cpu"),
        ("limits", "memory"),
        ("limits", "cpu"),
    ] {
        let quantity = string(container, &format!("/resources/{kind}/{resource}"));
        assert!(is_quantity(quantity), "{kind}.{resource} = {quantity}");
    }
    // The guide's figures.
    assert_eq!(string(container, "/resources/requests/memory"), "128Mi");
    assert_eq!(string(container, "/resources/limits/memory"), "512Mi");

    // Every plain env value is one the server accepts at start-up.
    let mut env = BTreeMap::new();
    for var in container["env"].as_array().unwrap() {
        let name = string(var, "/name");
        assert!(name.starts_with("SOMON_"), "{name}");
        if let Some(value) = var.get("value") {
            env.insert(name.to_owned(), value.as_str().unwrap().to_owned());
        }
    }
    let startup = load_startup(&StartupFlags::default(), &env);
    assert!(
        startup.is_ok(),
        "the manifest's env is refused: {}",
        startup.unwrap_err()
    );

    let service = services
        .iter()
        .find(|o| o["kind"] == "Service")
        .expect("a Service");
    assert_eq!(string(service, "/apiVersion"), "v1");
    let kind = service["spec"]["type"].as_str().unwrap_or("ClusterIP");
    assert_eq!(
        kind, "ClusterIP",
        "the management API must not be published"
    );
    for (key, value) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(labels.get(key), Some(value), "service selector {key}");
    }
    let target = string(service, "/spec/ports/0/targetPort");
    assert!(
        ports.contains_key(target),
        "service targets undeclared port {target}"
    );
    let policy = services
        .iter()
        .find(|o| o["kind"] == "NetworkPolicy")
        .expect("a NetworkPolicy");
    assert_eq!(string(policy, "/apiVersion"), "networking.k8s.io/v1");
}

/// No Docker engine here (`docker build` needs one): the Dockerfile is
/// linted for what the issue asks — multi-stage, non-root, a health check
/// on /health, the serve command.
#[test]
fn the_dockerfile_is_multi_stage_non_root_and_health_checked() {
    let text = std::fs::read_to_string(deploy().join("Dockerfile")).unwrap();
    let instructions: Vec<(String, String)> = text
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (op, rest) = l.split_once(' ').unwrap_or((l, ""));
            (op.to_uppercase(), rest.trim().to_owned())
        })
        .collect();
    let stages = instructions.iter().filter(|(op, _)| op == "FROM").count();
    assert!(stages >= 2, "not multi-stage");
    let last_from = instructions
        .iter()
        .rposition(|(op, _)| op == "FROM")
        .unwrap();
    let last = &instructions[last_from..];
    let user = last
        .iter()
        .rev()
        .find(|(op, _)| op == "USER")
        .map(|(_, u)| u.as_str())
        .expect("the final stage sets USER");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "USER {user}"
    );
    let health = last
        .iter()
        .find(|(op, _)| op == "HEALTHCHECK")
        .expect("HEALTHCHECK");
    assert!(health.1.contains("/health"), "{}", health.1);
    assert!(last
        .iter()
        .any(|(op, rest)| op == "COPY" && rest.starts_with("--from=")));
    let entry = last
        .iter()
        .find(|(op, _)| op == "ENTRYPOINT")
        .expect("ENTRYPOINT");
    assert!(
        entry.1.contains("\"somon-verify\", \"serve\""),
        "{}",
        entry.1
    );
    if Command::new("docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!(
            "a Docker engine exists: build with `docker build -f system/deploy/Dockerfile .`"
        );
    } else {
        eprintln!("no Docker engine: the Dockerfile was linted, not built");
    }
}
