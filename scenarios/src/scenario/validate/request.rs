//! `[[requests]]`: requests to any HTTP service, each a journey of its own
//! recorded under its name (for `--target URL` scenarios).
//!
//! ```toml
//! [[requests]]
//! name = "create"
//! method = "POST"                 # any method; GET when absent
//! path = "/items"
//! query = { tenant = "acme" }     # appended, percent-encoded
//! headers = { Authorization = "Bearer ${API_TOKEN}" }
//! json = { name = "widget" }      # or body = '…' or body_file = "item.bin"
//! timeout = "2s"                  # this request's own; 10 s when absent
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use somon_loadgen::{Header, Method, Request};
use toml::Spanned;

use super::super::raw::RawRequest;
use super::super::Journey;
use super::Validator;

/// Headers whose values are secrets whatever the scenario says: they carry
/// credentials.
const SECRET_HEADERS: [&str; 6] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "api-key",
    "x-auth-token",
];

/// Headers the client writes itself from the body.
const FRAMING_HEADERS: [&str; 2] = ["content-length", "transfer-encoding"];

/// Whether header `name` carries a credential.
pub(crate) fn is_secret_header(name: &str) -> bool {
    SECRET_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// `[[requests]]` as journeys, by name. `dir` is the scenario file's
/// folder, which `body_file` is relative to.
pub(super) fn requests(
    c: &mut Validator<'_>,
    raw: &[Spanned<RawRequest>],
    dir: &Path,
) -> BTreeMap<String, Journey> {
    let mut out = BTreeMap::new();
    for (i, request) in raw.iter().enumerate() {
        let at = format!("requests[{i}]");
        let r = request.get_ref();
        let name = r.name.get_ref();
        if !super::declared::valid_name(name) {
            c.at(
                r.name.span(),
                format!("{at}.name"),
                "a request's name is a claim argument: letters, digits, `_`, `-`, `.`",
            );
            continue;
        }
        if Journey::named(name).is_some() {
            c.at(
                r.name.span(),
                format!("{at}.name"),
                format!("\"{name}\" is a built-in journey; pick another name"),
            );
            continue;
        }
        let Some(request) = one(c, r, &at, dir) else {
            continue;
        };
        if out.insert(name.clone(), Journey::http(request)).is_some() {
            c.at(
                r.name.span(),
                format!("{at}.name"),
                format!("request \"{name}\" appears twice"),
            );
        }
    }
    out
}

/// One request, or `None` after reporting what is wrong with it (every
/// problem of the entry is reported, not only the first).
fn one(c: &mut Validator<'_>, r: &RawRequest, at: &str, dir: &Path) -> Option<Request> {
    let before = c.problems.len();
    let method = match &r.method {
        None => Method::GET,
        Some(m) => method(c, m, &format!("{at}.method")).unwrap_or(Method::GET),
    };
    let path = r.path.get_ref();
    super::declared::path(c, &r.path, &format!("{at}.path"));
    let mut target = path.clone();
    if let Some(query) = &r.query {
        for (key, value) in query.get_ref() {
            let Some(value) = scalar(value) else {
                c.at(
                    query.span(),
                    format!("{at}.query.{key}"),
                    "a query value is a string, number or boolean",
                );
                continue;
            };
            target.push(if target.contains('?') { '&' } else { '?' });
            target.push_str(&encode(key));
            target.push('=');
            target.push_str(&encode(&value));
        }
    }
    let mut headers: Vec<Header> = Vec::new();
    if let Some(table) = &r.headers {
        for (name, value) in table.get_ref() {
            let problem = if !is_token(name) {
                Some("a header name is letters, digits and `!#$%&'*+-.^_`|~`".to_owned())
            } else if FRAMING_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
                Some(format!("`{name}` is set from the body, not by hand"))
            } else {
                match scalar(value) {
                    None => Some("a header value is a string, number or boolean".to_owned()),
                    Some(v) if v.chars().any(|ch| ch.is_control() && ch != '\t') => {
                        Some("a header value has no line breaks or control characters".to_owned())
                    }
                    Some(v) => {
                        headers.push((name.clone(), v));
                        None
                    }
                }
            };
            if let Some(message) = problem {
                c.at(table.span(), format!("{at}.headers.{name}"), message);
            }
        }
    }
    let typed = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    let body = body(c, r, at, dir, typed, &mut headers);
    if body.is_some() && (method == Method::GET || method == Method::HEAD) {
        let span = [&r.body, &r.body_file]
            .into_iter()
            .flatten()
            .map(Spanned::span)
            .next()
            .or_else(|| r.json.as_ref().map(Spanned::span))
            .unwrap_or_default();
        c.at(
            span,
            format!("{at}.body"),
            format!("a {method} sends no body"),
        );
    }
    let timeout = match &r.timeout {
        None => None,
        Some(t) => match c.duration(t, &format!("{at}.timeout")) {
            Some(d) if d > Duration::ZERO && d <= Duration::from_secs(600) => Some(d),
            Some(_) => {
                c.at(
                    t.span(),
                    format!("{at}.timeout"),
                    "a timeout lies between 1ms and 10m",
                );
                None
            }
            None => None,
        },
    };
    (c.problems.len() == before).then(|| Request {
        op: r.name.get_ref().as_str().into(),
        method,
        path: target,
        headers: Arc::from(headers),
        body,
        timeout,
    })
}

/// An HTTP method as written: upper case, as HTTP compares them.
fn method(c: &mut Validator<'_>, m: &Spanned<String>, at: &str) -> Option<Method> {
    let text = m.get_ref();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_uppercase()) {
        let hint = if text.bytes().all(|b| b.is_ascii_alphabetic()) && !text.is_empty() {
            format!(
                ": methods are upper case (\"{}\")",
                text.to_ascii_uppercase()
            )
        } else {
            String::new()
        };
        c.at(
            m.span(),
            at,
            format!("\"{text}\" is not an HTTP method{hint}"),
        );
        return None;
    }
    Method::from_bytes(text.as_bytes()).ok()
}

/// The body from `body`, `json` or `body_file` (at most one), with a
/// `content-type` header added when none is given: JSON for `json` and for
/// a `body` (which must then be JSON), octet-stream for a file.
fn body(
    c: &mut Validator<'_>,
    r: &RawRequest,
    at: &str,
    dir: &Path,
    typed: bool,
    headers: &mut Vec<Header>,
) -> Option<Bytes> {
    let given = [r.body.is_some(), r.json.is_some(), r.body_file.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        let span = r.path.span();
        c.at(
            span,
            at.to_owned(),
            "give one of `body`, `json` and `body_file`",
        );
        return None;
    }
    let mut content_type = |value: &str| {
        if !typed {
            headers.push(("content-type".into(), value.into()));
        }
    };
    if let Some(text) = &r.body {
        if !typed {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(text.get_ref()) {
                c.at(
                    text.span(),
                    format!("{at}.body"),
                    format!("not JSON: {e} (give a content-type header to send other text)"),
                );
                return None;
            }
        }
        content_type("application/json");
        return Some(Bytes::from(text.get_ref().clone()));
    }
    if let Some(value) = &r.json {
        let json = match serde_json::to_vec(value.get_ref()) {
            Ok(json) => json,
            Err(e) => {
                c.at(value.span(), format!("{at}.json"), format!("not JSON: {e}"));
                return None;
            }
        };
        content_type("application/json");
        return Some(Bytes::from(json));
    }
    if let Some(file) = &r.body_file {
        let full = dir.join(file.get_ref());
        return match std::fs::read(&full) {
            Ok(bytes) => {
                content_type("application/octet-stream");
                Some(Bytes::from(bytes))
            }
            Err(e) => {
                c.at(
                    file.span(),
                    format!("{at}.body_file"),
                    format!("cannot read {}: {e}", full.display()),
                );
                None
            }
        };
    }
    None
}

/// A TOML string, number or boolean as text.
fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An HTTP token (a header name).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Percent-encodes everything but the unreserved characters.
fn encode(text: &str) -> String {
    somon_loadgen::percent_encode(text, b"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode("A-z_0.9~"), "A-z_0.9~");
    }

    #[test]
    fn credential_headers_are_secret_in_any_case() {
        assert!(is_secret_header("Authorization"));
        assert!(is_secret_header("COOKIE"));
        assert!(!is_secret_header("Accept"));
        assert!(is_token("X-Api-Key"));
        assert!(!is_token("X Api"));
        assert!(!is_token(""));
    }
}
