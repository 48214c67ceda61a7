//! Polls the target's own view (`/metrics`, `/circuit-breakers/status`)
//! while load runs, so the record holds the server side beside the client.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// One poll of the target: its answer, or why there was none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Run-clock time the answer arrived (or the poll failed).
    pub at: Duration,
    /// The endpoint's path, e.g. `/metrics`.
    pub endpoint: String,
    /// The JSON body (a JSON string when the body is not JSON, e.g.
    /// Prometheus text); `null` for a failed poll.
    pub body: serde_json::Value,
    /// Why the poll gave no data; `None` when the target answered 2xx and
    /// `body` is that answer. Records written before failed polls were
    /// kept have no such field: every sample in them is an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<PollFailure>,
}

impl Sample {
    /// The answer's body, or `None` for a failed poll (whose body is no
    /// data and must not be read as such).
    pub fn data(&self) -> Option<&serde_json::Value> {
        self.failed.is_none().then_some(&self.body)
    }
}

/// Why a poll gave no data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollFailure {
    /// The HTTP status when the target answered (not 2xx, or 2xx with a
    /// body that could not be read); `None` when it did not answer.
    #[serde(default)]
    pub status: Option<u16>,
    /// What happened, in words: `404 Not Found`, `connection refused`,
    /// `timed out after 1s`.
    pub error: String,
}

/// The endpoints polled by default.
pub const DEFAULT_ENDPOINTS: [&str; 2] = ["/metrics", "/circuit-breakers/status"];

/// Polls endpoints of a target every `every` until stopped.
#[derive(Clone, Debug)]
pub struct Sampler {
    /// `http://host:port` of the target.
    pub base_url: String,
    /// Paths to poll.
    pub endpoints: Vec<String>,
    /// Poll period (250 ms by default).
    pub every: Duration,
}

impl Sampler {
    /// Polls [`DEFAULT_ENDPOINTS`] of `base_url` every 250 ms.
    pub fn new(base_url: &str) -> Sampler {
        Sampler {
            base_url: base_url.trim_end_matches('/').to_owned(),
            endpoints: DEFAULT_ENDPOINTS.iter().map(|s| (*s).to_owned()).collect(),
            every: Duration::from_millis(250),
        }
    }

    /// Spawns the polling task; it ends when `stop` turns true and returns
    /// its samples, failed polls included (with [`Sample::failed`] saying
    /// why), so a judge can tell "no data" from "no problem". An endpoint
    /// answering 404 is not polled again (the target does not have it);
    /// other failures are polled again (the target may be under fault).
    pub fn spawn(
        self,
        clock: Instant,
        mut stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<Vec<Sample>> {
        tokio::spawn(async move {
            let client = match reqwest::Client::builder()
                .timeout(self.every.max(Duration::from_millis(200)) * 4)
                .build()
            {
                Ok(client) => client,
                Err(e) => {
                    tracing::warn!(error = %e, "sampler client failed; no target samples");
                    return Vec::new();
                }
            };
            let mut active = self.endpoints.clone();
            let mut samples = Vec::new();
            let mut every = tokio::time::interval(self.every);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stop.wait_for(|stopped| *stopped) => break,
                }
                let mut gone = Vec::new();
                for endpoint in &active {
                    let url = format!("{}{endpoint}", self.base_url);
                    let (body, failed) = match poll(&client, &url).await {
                        Ok(body) => (body, None),
                        Err(failure) => {
                            if failure.status == Some(404) {
                                tracing::debug!(sampler.endpoint = %endpoint, "404: no longer polled");
                                gone.push(endpoint.clone());
                            }
                            (serde_json::Value::Null, Some(failure))
                        }
                    };
                    samples.push(Sample {
                        at: clock.elapsed(),
                        endpoint: endpoint.clone(),
                        body,
                        failed,
                    });
                }
                active.retain(|e| !gone.contains(e));
                if active.is_empty() {
                    break;
                }
            }
            samples
        })
    }
}

/// One GET of `url`: the body of a 2xx answer (JSON, or the text as a JSON
/// string), or why there is none.
async fn poll(client: &reqwest::Client, url: &str) -> Result<serde_json::Value, PollFailure> {
    let response = client.get(url).send().await.map_err(|e| PollFailure {
        status: None,
        error: describe(&e),
    })?;
    let status = response.status();
    if !status.is_success() {
        let mut error = status.to_string();
        if status.as_u16() == 404 {
            error.push_str(" (not polled again)");
        }
        return Err(PollFailure {
            status: Some(status.as_u16()),
            error,
        });
    }
    let text = response.text().await.map_err(|e| PollFailure {
        status: Some(status.as_u16()),
        error: format!("the body could not be read: {}", describe(&e)),
    })?;
    Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
}

/// A transport error in a few words: a timeout as such, otherwise its
/// innermost cause (`Connection refused (os error 111)`), which says more
/// than reqwest's "error sending request for url (…)".
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_owned();
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use axum::http::StatusCode;
    use axum::routing::get;
    use axum::Router;

    use super::*;

    /// Serves `router` on 127.0.0.1:0 for the rest of the test.
    async fn serve(router: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_poll_gives_the_body_or_why_there_is_none() {
        let base = serve(
            Router::new()
                .route("/json", get(|| async { r#"{"cacheSize": 3}"# }))
                .route("/text", get(|| async { "somon_cache_size 3\n" }))
                .route(
                    "/broken",
                    get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "oops") }),
                ),
        )
        .await;
        let client = reqwest::Client::new();
        let at = |path: &str| format!("{base}{path}");
        assert_eq!(
            poll(&client, &at("/json")).await,
            Ok(serde_json::json!({ "cacheSize": 3 }))
        );
        assert_eq!(
            poll(&client, &at("/text")).await,
            Ok(serde_json::json!("somon_cache_size 3\n"))
        );
        assert_eq!(
            poll(&client, &at("/broken")).await,
            Err(PollFailure {
                status: Some(500),
                error: "500 Internal Server Error".into()
            })
        );
        assert_eq!(
            poll(&client, &at("/missing")).await,
            Err(PollFailure {
                status: Some(404),
                error: "404 Not Found (not polled again)".into()
            })
        );
        // A port nobody listens on: no answer, and the cause in words.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let failure = poll(&client, &format!("http://127.0.0.1:{port}/metrics"))
            .await
            .unwrap_err();
        assert_eq!(failure.status, None);
        assert!(
            failure.error.to_lowercase().contains("refused"),
            "{failure:?}"
        );
    }

    #[tokio::test]
    async fn failed_polls_are_recorded_beside_the_answers() {
        // /metrics fails twice, then answers; the breaker endpoint does not
        // exist. The test stops the sampler once /metrics answered twice.
        let calls = Arc::new(AtomicU32::new(0));
        let (answered, mut twice) = watch::channel(0u32);
        let metrics = {
            let calls = calls.clone();
            move || {
                let calls = calls.clone();
                let answered = answered.clone();
                async move {
                    let n = calls.fetch_add(1, Ordering::SeqCst);
                    if n < 2 {
                        return (StatusCode::SERVICE_UNAVAILABLE, String::new());
                    }
                    answered.send_modify(|a| *a += 1);
                    (StatusCode::OK, format!(r#"{{"call": {n}}}"#))
                }
            }
        };
        let base = serve(Router::new().route("/metrics", get(metrics))).await;
        let sampler = Sampler {
            every: Duration::from_millis(20),
            ..Sampler::new(&base)
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = sampler.spawn(Instant::now(), stop_rx);
        twice.wait_for(|a| *a >= 2).await.unwrap();
        stop_tx.send(true).unwrap();
        let samples = task.await.unwrap();

        let breaker: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.endpoint == "/circuit-breakers/status")
            .collect();
        assert_eq!(breaker.len(), 1, "a 404 is recorded once: {breaker:?}");
        assert_eq!(breaker[0].failed.as_ref().unwrap().status, Some(404));
        assert_eq!(breaker[0].data(), None);

        let metrics: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.endpoint == "/metrics")
            .collect();
        assert!(metrics.len() >= 4, "{metrics:?}");
        for failed in &metrics[..2] {
            assert_eq!(
                failed.failed,
                Some(PollFailure {
                    status: Some(503),
                    error: "503 Service Unavailable".into()
                })
            );
            assert_eq!(failed.data(), None);
            assert_eq!(failed.body, serde_json::Value::Null);
        }
        assert_eq!(
            metrics[2].data(),
            Some(&serde_json::json!({ "call": 2 })),
            "{metrics:?}"
        );
    }

    #[test]
    fn samples_of_older_records_read_as_answers_and_failures_round_trip() {
        let old = r#"{"at":{"secs":1,"nanos":0},"endpoint":"/metrics","body":{"cacheSize":3}}"#;
        let sample: Sample = serde_json::from_str(old).unwrap();
        assert_eq!(sample.failed, None);
        assert_eq!(sample.data(), Some(&serde_json::json!({ "cacheSize": 3 })));
        // An answer is written as before (no `failed` field).
        assert_eq!(serde_json::to_string(&sample).unwrap(), old);

        let failed = Sample {
            failed: Some(PollFailure {
                status: None,
                error: "Connection refused (os error 111)".into(),
            }),
            body: serde_json::Value::Null,
            ..sample
        };
        let text = serde_json::to_string(&failed).unwrap();
        assert!(text.contains(r#""failed":{"status":null,"error":"Connection refused"#));
        assert_eq!(serde_json::from_str::<Sample>(&text).unwrap(), failed);
    }
}
