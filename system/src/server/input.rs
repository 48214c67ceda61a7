//! Request inputs that never turn into a 5xx: JSON bodies accepted whatever
//! the content type, and strictly decoded query strings.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::api_error::ApiError;

/// Largest request body accepted, in bytes. Config patches and warm lists
/// are small; anything bigger is a mistake or an attack.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON body, parsed whatever the `Content-Type` says: the runbooks use
/// `curl -d '{…}'`, which sends `application/x-www-form-urlencoded`.
/// Errors are JSON: 400 `BAD_JSON` with line and column, 413 when too big.
pub(super) struct JsonBody<T>(pub(super) T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "PAYLOAD_TOO_LARGE",
                        format!("request body exceeds {MAX_BODY_BYTES} bytes"),
                    )
                } else {
                    ApiError::bad_request(format!("cannot read the request body: {rejection}"))
                }
            })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses `bytes` as JSON of type `T`, with the position of any error.
pub(super) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let what = if bytes.iter().all(u8::is_ascii_whitespace) {
            "the request body is empty; expected JSON".to_owned()
        } else {
            format!("invalid JSON body: {e}")
        };
        ApiError::bad_json(what)
            .with("line", e.line())
            .with("column", e.column())
    })
}

/// The value of `name` in a raw query string, decoded strictly: `+` is a
/// space, `%XX` must be valid, the result must be UTF-8 without NUL.
/// `Ok(None)` when the parameter is absent.
pub(super) fn query_param(query: Option<&str>, name: &str) -> Result<Option<String>, ApiError> {
    let Some(query) = query else {
        return Ok(None);
    };
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if decode(key)? == name {
            return decode(value).map(Some);
        }
    }
    Ok(None)
}

fn decode(raw: &str) -> Result<String, ApiError> {
    let raw = raw.replace('+', " ");
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| ApiError::bad_request("malformed percent-escape in the query"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out)
        .map_err(|_| ApiError::bad_request("the query is not valid UTF-8"))?;
    if text.contains('\0') {
        return Err(ApiError::bad_request("the query contains a NUL byte"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent_escapes() {
        let q = Some("a=1&path=app%2Fmain+x.som");
        assert_eq!(query_param(q, "path").unwrap().unwrap(), "app/main x.som");
        assert_eq!(query_param(q, "missing").unwrap(), None);
        assert_eq!(query_param(None, "path").unwrap(), None);
        assert_eq!(query_param(Some("path"), "path").unwrap().unwrap(), "");
    }

    #[test]
    fn rejects_bad_escapes_invalid_utf8_and_nul() {
        for q in ["path=%zz", "path=%4", "path=%ff%fe", "path=a%00b"] {
            let e = query_param(Some(q), "path").unwrap_err();
            assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{q}");
        }
    }

    #[test]
    fn json_errors_carry_a_position() {
        let e = parse_json::<serde_json::Value>(b"{\n  \"a\": }").unwrap_err();
        assert_eq!(e.code(), "BAD_JSON");
        let e = parse_json::<serde_json::Value>(b"  ").unwrap_err();
        assert_eq!(e.code(), "BAD_JSON");
    }
}
