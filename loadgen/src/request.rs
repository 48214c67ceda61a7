//! What the open model sends: a [`RequestSource`] yields [`Request`]s.

use std::sync::Arc;

use bytes::Bytes;

/// HTTP method of a [`Request`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST` (a body, if any, is sent as `application/json`).
    Post,
}

/// One request to send: the operation it is recorded under, method, path
/// (with query) relative to the target's base URL, and an optional JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The op / journey the latency is recorded under.
    pub op: Arc<str>,
    /// The method.
    pub method: Method,
    /// Path and query, starting with `/`.
    pub path: String,
    /// JSON body for `POST`.
    pub body: Option<Bytes>,
}

impl Request {
    /// A `GET path` recorded under `op`.
    pub fn get(op: &str, path: impl Into<String>) -> Request {
        Request {
            op: op.into(),
            method: Method::Get,
            path: path.into(),
            body: None,
        }
    }

    /// A `POST path` with a JSON body, recorded under `op`.
    pub fn post_json(op: &str, path: impl Into<String>, body: &serde_json::Value) -> Request {
        Request {
            op: op.into(),
            method: Method::Post,
            path: path.into(),
            body: Some(Bytes::from(body.to_string())),
        }
    }
}

/// Supplies the open model's requests, one per arrival. Called from the
/// pacer thread or a connection worker, under the lock of the schedule's
/// cursor, so it must be quick (no I/O).
///
/// Any `FnMut() -> Request + Send` is a source; so is a [`Request`]
/// (sent again and again).
///
/// ```
/// use somon_loadgen::{Request, RequestSource};
///
/// let mut n = 0;
/// let mut source = move || { n += 1; Request::get("load", format!("/modules/load?path=m{}.som", n % 3)) };
/// assert_eq!(source.next_request().path, "/modules/load?path=m1.som");
/// ```
pub trait RequestSource: Send {
    /// The next request to send.
    fn next_request(&mut self) -> Request;
}

impl<F: FnMut() -> Request + Send> RequestSource for F {
    fn next_request(&mut self) -> Request {
        self()
    }
}

impl RequestSource for Request {
    fn next_request(&mut self) -> Request {
        self.clone()
    }
}
