//! What the load models send: a [`Request`] (any method, headers, body,
//! its own timeout), and the [`RequestSource`] the open model draws them
//! from, one per arrival.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

/// The HTTP method of a [`Request`]: any method, `GET` and `POST` as
/// `Method::GET` and `Method::POST` (the `http` crate's type, as hyper and
/// reqwest use it).
pub use hyper::Method;

/// One request header: name and value.
pub type Header = (String, String);

/// One request to send: the operation it is recorded under, method, path
/// (with query) relative to the target's base URL, headers, an optional
/// body and an optional timeout of its own.
///
/// A body goes with any method; without a `content-type` header it is sent
/// as `application/json` (what the module system's API takes). A `POST`,
/// `PUT` or `PATCH` without a body says `content-length: 0`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Request {
    /// The op / journey the latency is recorded under.
    pub op: Arc<str>,
    /// The method.
    pub method: Method,
    /// Path and query, starting with `/`.
    pub path: String,
    /// Headers sent as written, after `host` (which one of them may
    /// replace). Shared: a journey's request is cloned for every send.
    pub headers: Arc<[Header]>,
    /// The body, if any.
    pub body: Option<Bytes>,
    /// How long this request may take; `None`: the model's timeout.
    pub timeout: Option<Duration>,
}

impl Request {
    /// A `GET path` recorded under `op`.
    pub fn get(op: &str, path: impl Into<String>) -> Request {
        Request {
            op: op.into(),
            method: Method::GET,
            path: path.into(),
            headers: Arc::from([]),
            body: None,
            timeout: None,
        }
    }

    /// A `POST path` with a JSON body, recorded under `op`.
    pub fn post_json(op: &str, path: impl Into<String>, body: &serde_json::Value) -> Request {
        Request {
            method: Method::POST,
            body: Some(Bytes::from(body.to_string())),
            ..Request::get(op, path)
        }
    }

    /// The value of header `name` (any case), if given.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether `content-length: 0` is said when there is no body: the
    /// methods whose requests normally carry one.
    pub(crate) fn says_empty_body(&self) -> bool {
        self.body.is_none()
            && (self.method == Method::POST
                || self.method == Method::PUT
                || self.method == Method::PATCH)
    }

    /// Whether the request can be written as it is: a path starting with
    /// `/` without spaces or control characters, and header names and
    /// values without line breaks (which would let a value start a header
    /// or request of its own).
    pub(crate) fn is_well_formed(&self) -> bool {
        let clean = |s: &str| !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0);
        self.path.starts_with('/')
            && !self.path.bytes().any(|b| b.is_ascii_control() || b == b' ')
            && self
                .headers
                .iter()
                .all(|(n, v)| !n.is_empty() && clean(n) && !n.contains(':') && clean(v))
    }
}

/// `text` percent-encoded for a URL: every byte but the unreserved
/// characters (letters, digits, `-._~`) and those in `keep` (`/` in a
/// path).
///
/// ```
/// assert_eq!(somon_loadgen::percent_encode("lib/a b&c.som", b"/"), "lib/a%20b%26c.som");
/// assert_eq!(somon_loadgen::percent_encode("a/b=é", b""), "a%2Fb%3D%C3%A9");
/// ```
pub fn percent_encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || keep.contains(&b)
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_value_with_a_line_break_is_not_written() {
        let mut r = Request::get("t", "/");
        assert!(r.is_well_formed());
        r.headers = Arc::from([("x-a".to_owned(), "1\r\nx-b: 2".to_owned())]);
        assert!(!r.is_well_formed());
        r.headers = Arc::from([("x-a: 1\r\n".to_owned(), "2".to_owned())]);
        assert!(!r.is_well_formed());
        r.headers = Arc::from([("Authorization".to_owned(), "Bearer t".to_owned())]);
        assert!(r.is_well_formed());
        assert_eq!(r.header("authorization"), Some("Bearer t"));
    }

    #[test]
    fn only_methods_that_carry_a_body_say_an_empty_one() {
        let mut r = Request::get("t", "/");
        assert!(!r.says_empty_body());
        for method in [Method::POST, Method::PUT, Method::PATCH] {
            r.method = method;
            assert!(r.says_empty_body());
        }
        r.method = Method::DELETE;
        assert!(!r.says_empty_body());
        let json = Request::post_json("t", "/", &serde_json::json!({}));
        assert!(!json.says_empty_body());
    }
}
