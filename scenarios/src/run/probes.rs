//! The harness's own probes: changes a load alone cannot judge. A
//! `module-edit` appends an export to a module's file and loads it: a
//! cache that never re-validates still serves the old exports. A
//! `config-invalid-patch` posts a patch that must be refused and compares
//! `GET /config` before and after: a patch applied field by field before
//! validation leaves its valid fields behind. A `hit-rate-audit` loads a
//! module itself and holds the server's hit figures against the answers.

use std::path::PathBuf;
use std::time::Duration;

use somon_chaos::RunClock;
use somon_loadgen::RunControl;

use crate::{Fault, FaultStep, ProbeEvent};

/// What the probes act on.
pub(crate) struct ProbeTarget {
    pub(crate) base: String,
    pub(crate) root: PathBuf,
    /// The module a `module-edit` without a name edits (the most popular).
    pub(crate) default_module: Option<String>,
}

/// Runs the probe steps at their times on `clock` until done or cancelled.
pub(crate) fn spawn(
    steps: Vec<FaultStep>,
    target: ProbeTarget,
    clock: RunClock,
    control: RunControl,
) -> tokio::task::JoinHandle<Vec<ProbeEvent>> {
    tokio::spawn(async move {
        let mut probes: Vec<&FaultStep> = steps.iter().filter(|s| s.fault.is_probe()).collect();
        probes.sort_by_key(|s| s.at);
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
        {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!(error = %e, "probe client failed; no probes");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (n, step) in probes.into_iter().enumerate() {
            let wait = step.at.saturating_sub(clock.elapsed());
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = control.cancelled() => break,
            }
            let at = clock.elapsed();
            let (kind, result) = match &step.fault {
                Fault::ModuleEdit(module) => (
                    "module-edit",
                    edit(&client, &target, module.as_deref(), n).await,
                ),
                Fault::ConfigInvalidPatch(patch) => (
                    "config-invalid-patch",
                    refused(&client, &target, patch).await,
                ),
                Fault::HitRateAudit(count) => {
                    ("hit-rate-audit", audit(&client, &target, *count).await)
                }
                _ => continue,
            };
            let (passed, detail) = match result {
                Ok(detail) => (true, detail),
                Err(detail) => (false, detail),
            };
            tracing::info!(probe = kind, passed, "{detail}");
            out.push(ProbeEvent {
                at,
                kind: kind.into(),
                passed,
                detail,
            });
        }
        out
    })
}

/// Appends `содир собит ТАҲРИР_n = n;` to the module and loads it: the
/// answer must list the new export.
async fn edit(
    client: &reqwest::Client,
    target: &ProbeTarget,
    module: Option<&str>,
    n: usize,
) -> Result<String, String> {
    let module = module
        .map(str::to_owned)
        .or_else(|| target.default_module.clone())
        .ok_or("no module to edit")?;
    let file = target.root.join(&module);
    let export = format!("ТАҲРИР_{n}");
    let mut text =
        std::fs::read_to_string(&file).map_err(|e| format!("reading {}: {e}", file.display()))?;
    text.push_str(&format!("\nсодир собит {export} = {n};\n"));
    std::fs::write(&file, text).map_err(|e| format!("writing {}: {e}", file.display()))?;
    let url = format!("{}/modules/load?path={module}", target.base);
    let body: serde_json::Value = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("loading {module} after the edit: {e}"))?
        .json()
        .await
        .map_err(|e| format!("loading {module} after the edit: {e}"))?;
    let exports = body["exports"].as_array().cloned().unwrap_or_default();
    if exports.iter().any(|e| e.as_str() == Some(export.as_str())) {
        Ok(format!(
            "{module} edited; the load served the new export {export}"
        ))
    } else {
        Err(format!(
            "{module} edited, but the load still served the old module (no {export}; cached: {})",
            body["cached"]
        ))
    }
}

/// Posts `patch` (which must be refused) and compares the config around it.
async fn refused(
    client: &reqwest::Client,
    target: &ProbeTarget,
    patch: &serde_json::Value,
) -> Result<String, String> {
    let url = format!("{}/config", target.base);
    let get = || async {
        client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("GET /config: {e}"))?
            .json::<serde_json::Value>()
            .await
            .map_err(|e| format!("GET /config: {e}"))
    };
    let before = get().await?;
    let answer = client
        .post(&url)
        .json(patch)
        .send()
        .await
        .map_err(|e| format!("POST /config: {e}"))?;
    let status = answer.status();
    let after = get().await?;
    let changed: Vec<String> = match (before.as_object(), after.as_object()) {
        (Some(b), Some(a)) => a
            .iter()
            .filter(|(k, v)| b.get(*k) != Some(*v))
            .map(|(k, v)| format!("{k} → {v}"))
            .collect(),
        _ => vec!["GET /config did not answer an object".into()],
    };
    match (status.is_client_error(), changed.is_empty()) {
        (true, true) => Ok(format!("patch refused ({status}), config unchanged")),
        (true, false) => Err(format!(
            "patch refused ({status}) but the config changed: {}",
            changed.join(", ")
        )),
        (false, _) => Err(format!("an invalid patch was answered {status}")),
    }
}

/// The server's `(cacheHits, cacheMisses, cacheHitRate)`.
async fn hit_figures(client: &reqwest::Client, base: &str) -> Result<(f64, f64, f64), String> {
    let body: serde_json::Value = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .map_err(|e| format!("GET /metrics: {e}"))?
        .json()
        .await
        .map_err(|e| format!("GET /metrics: {e}"))?;
    let field = |name: &str| {
        body[name]
            .as_f64()
            .ok_or_else(|| format!("/metrics has no {name}"))
    };
    Ok((
        field("cacheHits")?,
        field("cacheMisses")?,
        field("cacheHitRate")?,
    ))
}

/// Loads the most popular module `count` times, counting the answers that
/// say `cached: true`. Other load runs alongside, so the server's hit
/// counter must have grown by *at least* that many; and the rate it
/// reports must be its own counters' ratio.
async fn audit(
    client: &reqwest::Client,
    target: &ProbeTarget,
    count: u32,
) -> Result<String, String> {
    let module = target.default_module.clone().ok_or("no module to load")?;
    let (hits0, _, _) = hit_figures(client, &target.base).await?;
    let url = format!("{}/modules/load?path={module}", target.base);
    let mut seen = 0u32;
    for _ in 0..count {
        let body: serde_json::Value = client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("loading {module}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("loading {module}: {e}"))?;
        if body["cached"].as_bool() == Some(true) {
            seen += 1;
        }
    }
    let (hits1, misses1, reported) = hit_figures(client, &target.base).await?;
    let counted = hits1 - hits0;
    let own = hits1 / (hits1 + misses1).max(1.0);
    if counted < f64::from(seen) {
        return Err(format!(
            "{seen} of {count} loads answered cached, but the hit counter grew by only {counted}"
        ));
    }
    if (reported - own).abs() > 0.01 {
        return Err(format!(
            "{seen} of {count} loads answered cached; the server reports cacheHitRate {reported:.4} but its counters give {own:.4}"
        ));
    }
    Ok(format!(
        "{seen} of {count} loads answered cached; hit counter +{counted}; reported rate {reported:.4} matches its counters"
    ))
}
