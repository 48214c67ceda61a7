//! Operator actions against the management API, for runbook drills.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One management-API call a runbook would make.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "arg", rename_all = "camelCase")]
pub enum OperatorAction {
    /// `POST /config` with a partial patch.
    ConfigPatch(serde_json::Value),
    /// `POST /cache/clear`.
    CacheClear,
    /// `POST /circuit-breakers/reset` (all) or `…/reset/{name}`.
    BreakerReset(Option<String>),
    /// `POST /circuit-breakers/force-open/{name}`.
    BreakerForceOpen(String),
}

impl OperatorAction {
    /// Path and JSON body of the request.
    pub fn request(&self) -> (String, serde_json::Value) {
        match self {
            OperatorAction::ConfigPatch(patch) => ("/config".into(), patch.clone()),
            OperatorAction::CacheClear => ("/cache/clear".into(), serde_json::json!({})),
            OperatorAction::BreakerReset(None) => {
                ("/circuit-breakers/reset".into(), serde_json::json!({}))
            }
            OperatorAction::BreakerReset(Some(name)) => (
                format!("/circuit-breakers/reset/{name}"),
                serde_json::json!({}),
            ),
            OperatorAction::BreakerForceOpen(name) => (
                format!("/circuit-breakers/force-open/{name}"),
                serde_json::json!({}),
            ),
        }
    }
}

impl std::fmt::Display for OperatorAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (path, _) = self.request();
        write!(f, "POST {path}")
    }
}

/// The management API's answer to a successful (2xx) action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionReply {
    /// HTTP status.
    pub status: u16,
    /// Body as text.
    pub body: String,
}

/// A management-API client: base URL and optional bearer token.
#[derive(Clone, Debug)]
pub struct Operator {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Operator {
    /// Client for `base` (e.g. `http://127.0.0.1:8080`), each call bounded
    /// by a 10 s timeout.
    pub fn new(base: &str, token: Option<String>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Operator {
            client,
            base: base.trim_end_matches('/').to_owned(),
            token,
        }
    }

    /// Sends `action`. A non-2xx answer is [`Error::ActionRejected`] with
    /// the status and body; no answer at all is [`Error::ActionTransport`].
    pub async fn perform(&self, action: &OperatorAction) -> Result<ActionReply> {
        let (path, body) = action.request();
        let mut request = self.client.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let transport = |source| Error::ActionTransport {
            action: action.to_string(),
            source,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(transport)?;
        tracing::info!(action = %action, http.status = status, "operator action");
        if (200..300).contains(&status) {
            Ok(ActionReply { status, body })
        } else {
            Err(Error::ActionRejected {
                action: action.to_string(),
                status,
                body,
            })
        }
    }
}
