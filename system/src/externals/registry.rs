//! The HTTP client of the external-module registry:
//! `GET {registry}/modules/{name}` → `{"name", "version", "source", "sha256"}`,
//! with the source's sha256 verified.

use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::ExternalError;

/// Largest registry answer accepted: a module, not a data dump.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// An external module as the registry serves it, integrity checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalModule {
    /// Package name.
    pub name: String,
    /// Version the registry reported.
    pub version: String,
    /// The module's source.
    pub source: String,
    /// Lowercase hex sha256 of `source` (verified).
    pub sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    name: String,
    version: String,
    source: String,
    sha256: String,
}

/// A pooled HTTP client for one registry at a time (the URL comes with each
/// call, so a config change needs no new client).
#[derive(Clone, Debug)]
pub(super) struct RegistryClient {
    http: reqwest::Client,
}

impl RegistryClient {
    pub(super) fn new() -> RegistryClient {
        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build()
            .unwrap_or_default();
        RegistryClient { http }
    }

    /// Fetches and verifies `name`. A 404 is [`ExternalError::NotFound`];
    /// everything else that is not a verified module is a failure the
    /// breaker counts.
    pub(super) async fn fetch(
        &self,
        registry: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<ExternalModule, ExternalError> {
        let url = format!("{}/modules/{name}", registry.trim_end_matches('/'));
        let failed = |reason: String| ExternalError::Failed {
            name: name.to_owned(),
            reason,
        };
        let classify = |e: reqwest::Error| {
            if e.is_timeout() {
                ExternalError::Timeout {
                    name: name.to_owned(),
                    after: timeout,
                }
            } else {
                failed(format!("registry request failed: {}", error_chain(&e)))
            }
        };
        let response = self
            .http
            .get(&url)
            .timeout(timeout)
            .send()
            .await
            .map_err(classify)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(ExternalError::NotFound {
                name: name.to_owned(),
            });
        }
        if !status.is_success() {
            return Err(failed(format!("registry answered {status}")));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
        {
            return Err(failed("registry answer too large".into()));
        }
        let body = response.bytes().await.map_err(classify)?;
        if body.len() > MAX_RESPONSE_BYTES {
            return Err(failed("registry answer too large".into()));
        }
        let answer: Answer = serde_json::from_slice(&body)
            .map_err(|e| failed(format!("malformed registry answer: {e}")))?;
        if answer.name != name {
            return Err(failed(format!(
                "registry answered for \"{}\" instead",
                answer.name
            )));
        }
        let actual = sha256_hex(answer.source.as_bytes());
        if !actual.eq_ignore_ascii_case(answer.sha256.trim()) {
            return Err(ExternalError::Integrity {
                name: name.to_owned(),
                expected: answer.sha256,
                actual,
            });
        }
        Ok(ExternalModule {
            name: answer.name,
            version: answer.version,
            source: answer.source,
            sha256: actual,
        })
    }
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// reqwest hides the useful part (refused, reset) in its sources.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_standard_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
