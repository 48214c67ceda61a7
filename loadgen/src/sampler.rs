//! Polls the target's own view (`/metrics`, `/circuit-breakers/status`)
//! while load runs, so the record holds the server side beside the client.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// One answer of the target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Run-clock time the answer arrived.
    pub at: Duration,
    /// The endpoint's path, e.g. `/metrics`.
    pub endpoint: String,
    /// The JSON body (a JSON string when the body is not JSON).
    pub body: serde_json::Value,
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
    /// its samples. An endpoint answering 404 is not polled again; other
    /// failures are skipped (the target may be under fault).
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
                    let Ok(response) = client.get(&url).send().await else {
                        continue;
                    };
                    let status = response.status().as_u16();
                    if status == 404 {
                        tracing::debug!(sampler.endpoint = %endpoint, "404: no longer polled");
                        gone.push(endpoint.clone());
                        continue;
                    }
                    if status != 200 {
                        continue;
                    }
                    let Ok(text) = response.text().await else {
                        continue;
                    };
                    let body =
                        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
                    samples.push(Sample {
                        at: clock.elapsed(),
                        endpoint: endpoint.clone(),
                        body,
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
