//! The one place where failures become HTTP responses.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::{ConfigProblem, Error, ExternalError};

/// A failed request: status, stable code, client-safe message and extra
/// fields, rendered as `{"error": {"code", "message", …}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Map<String, Value>,
    retry_after: Option<Duration>,
}

impl ApiError {
    /// A bare error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Map::new(),
            retry_after: None,
        }
    }

    /// Adds a field next to `code` and `message`.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// Sets `Retry-After` (rounded up to whole seconds).
    pub fn retry_after(mut self, wait: Duration) -> ApiError {
        self.retry_after = Some(wait);
        self
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code, e.g. `MODULE_NOT_FOUND`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// 400 for a body that is not the JSON the route expects.
    pub fn bad_json(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "BAD_JSON", message)
    }

    /// 400 for a query or field that is missing or malformed.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    /// 400 listing every problem of a rejected config patch.
    pub fn invalid_config(problems: Vec<ConfigProblem>) -> ApiError {
        let count = problems.len();
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_CONFIG",
            format!("the patch has {count} problem(s); nothing was changed"),
        )
        .with("problems", json!(problems))
    }

    /// 404 for a route that does not exist.
    pub fn no_route(method: &str, path: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no route for {method} {path}"),
        )
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        let message = error.to_string();
        let code = error.code();
        match error {
            Error::ModuleNotFound {
                specifier,
                importer,
            } => with_importer(
                ApiError::new(StatusCode::NOT_FOUND, code, message).with("specifier", specifier),
                importer,
            ),
            Error::PathEscapesRoot {
                specifier,
                importer,
            } => with_importer(
                ApiError::new(StatusCode::FORBIDDEN, code, message).with("specifier", specifier),
                importer,
            ),
            Error::Parse { module, error } => ApiError::new(StatusCode::BAD_REQUEST, code, message)
                .with("module", module.as_str())
                .with("line", error.at.line)
                .with("column", error.at.column),
            Error::CircularDependency { cycle } => {
                let cycle: Vec<&str> = cycle.iter().map(|m| m.as_str()).collect();
                ApiError::new(StatusCode::CONFLICT, code, message).with("cycle", json!(cycle))
            }
            // The path is the server's business, not the client's.
            Error::Io { source, .. } => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                code,
                format!("cannot read a module file: {source}"),
            ),
        }
    }
}

impl From<ExternalError> for ApiError {
    fn from(error: ExternalError) -> ApiError {
        let message = error.to_string();
        let code = error.code();
        match error {
            ExternalError::NotFound { name } => {
                ApiError::new(StatusCode::NOT_FOUND, code, message).with("specifier", name)
            }
            ExternalError::Failed { name, .. } => {
                ApiError::new(StatusCode::BAD_GATEWAY, code, message).with("external", name)
            }
            ExternalError::Integrity {
                name,
                expected,
                actual,
            } => ApiError::new(StatusCode::BAD_GATEWAY, code, message)
                .with("external", name)
                .with("expectedSha256", expected)
                .with("actualSha256", actual),
            ExternalError::Timeout { name, after } => {
                ApiError::new(StatusCode::GATEWAY_TIMEOUT, code, message)
                    .with("external", name)
                    .with("timeoutMs", after.as_millis() as u64)
            }
            ExternalError::CircuitOpen { name, retry_after } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
                    .with("external", name)
                    .with("retryAfterMs", retry_after.as_millis() as u64)
                    .retry_after(retry_after)
            }
        }
    }
}

fn with_importer(error: ApiError, importer: Option<crate::Importer>) -> ApiError {
    match importer {
        Some(importer) => error
            .with("importer", importer.module.as_str())
            .with("line", importer.at.line)
            .with("column", importer.at.column),
        None => error,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("code".into(), Value::from(self.code));
        body.insert("message".into(), Value::from(self.message));
        body.extend(self.details);
        let mut response = (self.status, Json(json!({ "error": body }))).into_response();
        if let Some(wait) = self.retry_after {
            let seconds = wait.as_millis().div_ceil(1000).max(1);
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        // Lets the logging middleware log the code without parsing the body.
        response.extensions_mut().insert(ErrorCode(self.code));
        response
    }
}

/// The code of an error response, for the request log.
#[derive(Clone, Copy, Debug)]
pub struct ErrorCode(pub &'static str);
