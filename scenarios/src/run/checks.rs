//! `[[checks]]`: endpoints polled while the phases run, each answer judged
//! on its status and the JSON fields the scenario names. Every poll is a
//! [`ProbeEvent`] of kind `check:NAME`, so `check(NAME)` is the share that
//! passed and the record keeps what each failed one saw.

use std::time::Duration;

use somon_chaos::RunClock;
use somon_loadgen::RunControl;

use crate::{EndpointCheck, ProbeEvent};

/// Polls every check on its own period until `control` is cancelled.
pub(crate) fn spawn(
    checks: Vec<EndpointCheck>,
    base: String,
    clock: RunClock,
    control: RunControl,
) -> tokio::task::JoinHandle<Vec<ProbeEvent>> {
    tokio::spawn(async move {
        if checks.is_empty() {
            return Vec::new();
        }
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
        {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!(error = %e, "check client failed; no endpoint checks");
                return Vec::new();
            }
        };
        // One task per check, each on its own period.
        let tasks: Vec<_> = checks
            .into_iter()
            .map(|check| {
                let client = client.clone();
                let base = base.clone();
                let control = control.clone();
                tokio::spawn(async move {
                    let mut out = Vec::new();
                    let mut every = tokio::time::interval(check.every);
                    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tokio::select! {
                            _ = every.tick() => {}
                            _ = control.cancelled() => break,
                        }
                        let at = clock.elapsed();
                        let (passed, detail) = poll(&client, &base, &check).await;
                        out.push(ProbeEvent {
                            at,
                            kind: format!("check:{}", check.name),
                            passed,
                            detail,
                        });
                    }
                    out
                })
            })
            .collect();
        let mut events = Vec::new();
        for task in tasks {
            events.extend(task.await.unwrap_or_default());
        }
        events.sort_by_key(|e| e.at);
        events
    })
}

/// One poll: the answer's status and named fields against the check.
async fn poll(client: &reqwest::Client, base: &str, check: &EndpointCheck) -> (bool, String) {
    let url = format!("{base}{}", check.path);
    let response = match client.get(&url).send().await {
        Ok(r) => r,
        Err(e) => return (false, format!("GET {}: {e}", check.path)),
    };
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    judge(check, status, &text)
}

/// Whether an answer `status` with body `text` satisfies `check`, and why.
pub(crate) fn judge(check: &EndpointCheck, status: u16, text: &str) -> (bool, String) {
    if status != check.status {
        return (
            false,
            format!(
                "GET {} answered {status}, expected {}",
                check.path, check.status
            ),
        );
    }
    if check.json.is_empty() {
        return (true, format!("GET {} answered {status}", check.path));
    }
    let body: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return (false, format!("GET {}: body is not JSON ({e})", check.path)),
    };
    for (path, wanted) in &check.json {
        let found = path
            .split('.')
            .try_fold(&body, |v, key| v.get(key))
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        if found != *wanted {
            return (
                false,
                format!("GET {}: {path} is {found}, expected {wanted}", check.path),
            );
        }
    }
    (
        true,
        format!(
            "GET {} answered {status} with the expected fields",
            check.path
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> EndpointCheck {
        EndpointCheck {
            name: "health".into(),
            path: "/health".into(),
            status: 200,
            json: vec![
                ("status".into(), serde_json::json!("healthy")),
                ("checks.db".into(), serde_json::json!("up")),
            ],
            every: Duration::from_secs(1),
        }
    }

    #[test]
    fn status_and_fields_must_all_match() {
        let good = r#"{"status":"healthy","checks":{"db":"up"}}"#;
        assert!(judge(&check(), 200, good).0);
        let (ok, why) = judge(&check(), 503, good);
        assert!(!ok && why.contains("503"), "{why}");
        let (ok, why) = judge(
            &check(),
            200,
            r#"{"status":"degraded","checks":{"db":"up"}}"#,
        );
        assert!(!ok && why.contains("status is \"degraded\""), "{why}");
        let (ok, why) = judge(&check(), 200, r#"{"status":"healthy"}"#);
        assert!(!ok && why.contains("checks.db is null"), "{why}");
        assert!(!judge(&check(), 200, "OK").0);
    }
}
