//! The `ci/k8s/` manifests are valid Kubernetes
//! objects that fit together. `kubectl apply --dry-run=client` needs an
//! API server to discover kinds, and none is reachable here, so this is a
//! structural schema check of the batch/v1 Jobs and the objects they use;
//! when `kubectl` reaches a cluster, the dry run is made as well.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// What `run.sh` puts in the placeholders.
const RUN_ID: &str = "20260101-120000";
const START_AT: &str = "2026-01-01T12:01:30Z";

fn k8s() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ci/k8s")
}

/// The file with its placeholders filled, as `run.sh` applies it.
fn filled(file: &str) -> String {
    std::fs::read_to_string(k8s().join(file))
        .unwrap()
        .replace("__RUN_ID__", RUN_ID)
        .replace("__START_AT__", START_AT)
}

/// Every YAML document of a manifest file.
fn documents(file: &str) -> Vec<Value> {
    filled(file)
        .split("\n---\n")
        .map(|doc| serde_yaml_ng::from_str(doc).unwrap_or_else(|e| panic!("{file}: not YAML: {e}")))
        .collect()
}

fn one(file: &str) -> Value {
    let mut docs = documents(file);
    assert_eq!(docs.len(), 1, "{file} holds one object");
    docs.remove(0)
}

fn str_at<'a>(value: &'a Value, path: &str) -> &'a str {
    value
        .pointer(path)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{path} missing or not a string"))
}

fn u64_at(value: &Value, path: &str) -> u64 {
    value
        .pointer(path)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{path} missing or not a whole number"))
}

fn array_at<'a>(value: &'a Value, path: &str) -> &'a Vec<Value> {
    value
        .pointer(path)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{path} missing or not a list"))
}

/// A DNS-1123 name (what Job, ConfigMap and claim names must be).
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn env<'a>(container: &'a Value, name: &str) -> &'a str {
    array_at(container, "/env")
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str())
        .unwrap_or_else(|| panic!("env {name} missing"))
}

/// A Job's pod template: restart policy, containers with images, and
/// every mount backed by a declared volume of a known source.
fn check_pod(pod: &Value, claims: &[&str], config_maps: &[&str]) {
    let restart = str_at(pod, "/restartPolicy");
    assert!(["Never", "OnFailure"].contains(&restart), "{restart}");
    let volumes = array_at(pod, "/volumes");
    for volume in volumes {
        if let Some(claim) = volume.pointer("/persistentVolumeClaim/claimName") {
            assert!(claims.contains(&claim.as_str().unwrap()), "{claim}");
        } else if let Some(map) = volume.pointer("/configMap/name") {
            assert!(config_maps.contains(&map.as_str().unwrap()), "{map}");
        } else {
            panic!("volume of an unknown source: {volume}");
        }
    }
    let containers = array_at(pod, "/containers");
    assert!(!containers.is_empty());
    for container in containers {
        assert!(!str_at(container, "/name").is_empty());
        assert!(!str_at(container, "/image").is_empty());
        for mount in array_at(container, "/volumeMounts") {
            let name = str_at(mount, "/name");
            assert!(
                volumes.iter().any(|v| v["name"] == name),
                "mount {name} has no volume"
            );
            assert!(str_at(mount, "/mountPath").starts_with('/'));
        }
    }
}

#[test]
fn the_manifests_are_jobs_that_fit_together() {
    let results = one("results.yaml");
    let scenario_map = one("scenario.yaml");
    let target = documents("target.yaml");
    let shards = one("shards.yaml");
    let merge = one("merge.yaml");
    for object in [&results, &scenario_map, &shards, &merge]
        .into_iter()
        .chain(&target)
    {
        assert!(!str_at(object, "/apiVersion").is_empty());
        assert!(is_dns_name(str_at(object, "/metadata/name")), "{object}");
    }
    assert_eq!(str_at(&results, "/kind"), "PersistentVolumeClaim");
    assert!(array_at(&results, "/spec/accessModes").contains(&"ReadWriteMany".into()));
    assert_eq!(str_at(&scenario_map, "/kind"), "ConfigMap");
    let claims = [str_at(&results, "/metadata/name")];
    let maps = [str_at(&scenario_map, "/metadata/name")];

    // The shards: an Indexed Job of N pods, each running shard
    // $JOB_COMPLETION_INDEX of N, from the shared start, onto the volume.
    assert_eq!(str_at(&shards, "/apiVersion"), "batch/v1");
    assert_eq!(str_at(&shards, "/kind"), "Job");
    assert_eq!(str_at(&shards, "/spec/completionMode"), "Indexed");
    let n = u64_at(&shards, "/spec/completions");
    assert!(n >= 2);
    assert_eq!(
        u64_at(&shards, "/spec/parallelism"),
        n,
        "all shards at once"
    );
    assert_eq!(u64_at(&shards, "/spec/backoffLimit"), 0);
    let pod = shards.pointer("/spec/template/spec").unwrap();
    check_pod(pod, &claims, &maps);
    let shard = &array_at(pod, "/containers")[0];
    assert_eq!(env(shard, "SHARDS"), n.to_string());
    assert_eq!(env(shard, "START_AT"), START_AT);
    assert_eq!(env(shard, "RUN_ID"), RUN_ID);
    let script = array_at(shard, "/args")[0].as_str().unwrap();
    for needed in [
        "somon-verify run /scenario/scenario.toml",
        "--shard \"$JOB_COMPLETION_INDEX/$SHARDS\"",
        "--start-at \"$START_AT\"",
        "--target \"$TARGET_URL\"",
        "/results/$RUN_ID/shard-$JOB_COMPLETION_INDEX",
    ] {
        assert!(
            script.contains(needed),
            "shard script lacks {needed}: {script}"
        );
    }
    assert_eq!(
        shards.pointer("/spec/template/metadata/labels/somon-client"),
        Some(&Value::from("true")),
        "the reference system's NetworkPolicy admits clients only"
    );

    // The merge: one pod reading every shard's directory.
    assert_eq!(str_at(&merge, "/apiVersion"), "batch/v1");
    assert_eq!(str_at(&merge, "/kind"), "Job");
    let pod = merge.pointer("/spec/template/spec").unwrap();
    check_pod(pod, &claims, &maps);
    let script = array_at(&array_at(pod, "/containers")[0], "/args")[0]
        .as_str()
        .unwrap();
    assert!(script.contains("somon-verify merge /results/$RUN_ID/shard-*"));
    assert!(script.contains("--out /results/$RUN_ID/merged"));

    // The target: a Service in front of the Deployment's pods, at the URL
    // the shards and the scenario use, serving the scenario's corpus.
    let deployment = target.iter().find(|o| o["kind"] == "Deployment").unwrap();
    let service = target.iter().find(|o| o["kind"] == "Service").unwrap();
    let labels = deployment
        .pointer("/spec/template/metadata/labels")
        .unwrap();
    for (k, v) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&labels[k], v);
    }
    assert_eq!(
        deployment.pointer("/spec/selector/matchLabels").unwrap(),
        labels
    );
    let url = format!(
        "http://{}:{}",
        str_at(service, "/metadata/name"),
        u64_at(service, "/spec/ports/0/port")
    );
    assert_eq!(env(shard, "TARGET_URL"), url);
    let toml = str_at(&scenario_map, "/data/scenario.toml");
    let scenario = somon_scenarios::Scenario::from_toml(Path::new("scenario.toml"), toml).unwrap();
    assert_eq!(scenario.target, somon_scenarios::Target::Url(url));
    let corpus: Vec<&str> = array_at(deployment, "/spec/template/spec/initContainers/0/command")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let flag = |name: &str| corpus[corpus.iter().position(|a| *a == name).unwrap() + 1];
    assert_eq!(flag("--seed"), scenario.seed.to_string());
    assert_eq!(flag("--modules"), scenario.corpus.modules.to_string());
}

/// Where a cluster is reachable, the API server's own client-side check.
#[test]
fn kubectl_dry_run_where_a_cluster_is_reachable() {
    let reachable = Command::new("kubectl")
        .args(["version", "--request-timeout=3s"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !reachable {
        common::skip("no kubectl with a reachable API server: the dry run was not made");
        return;
    }
    for file in [
        "results.yaml",
        "scenario.yaml",
        "target.yaml",
        "shards.yaml",
        "merge.yaml",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file);
        std::fs::write(&path, filled(file)).unwrap();
        let out = Command::new("kubectl")
            .args(["apply", "--dry-run=client", "-f"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
