//! [`BaseUrl`]: a target's base URL as both load models read it, checked
//! once, the same way for a scenario being checked and for a run.

use std::fmt;

/// `http://host[:port][/prefix]`: where a target answers. Every request's
/// path is appended to the prefix (`http://127.0.0.1:8080/api/v1` and
/// `/items` send `GET /api/v1/items`).
///
/// ```
/// use somon_loadgen::BaseUrl;
///
/// let base = BaseUrl::parse("http://127.0.0.1:8080/api/v1/").unwrap();
/// assert_eq!(base.authority(), "127.0.0.1:8080");
/// assert_eq!(base.prefix(), "/api/v1");
/// assert_eq!(base.url_of("/items?x=1"), "http://127.0.0.1:8080/api/v1/items?x=1");
/// assert!(BaseUrl::parse("127.0.0.1:8080").unwrap_err().contains("http://"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl {
    authority: String,
    prefix: String,
}

impl BaseUrl {
    /// Checks `url`.
    ///
    /// # Errors
    /// Why `url` cannot be a target: not `http://` (`https://` says that
    /// TLS is not built in), no host, a port that is not a number, a query,
    /// a fragment, credentials, or spaces and control characters.
    pub fn parse(url: &str) -> Result<BaseUrl, String> {
        let rest = if let Some(rest) = url.strip_prefix("http://") {
            rest
        } else if url.starts_with("https://") {
            return Err(format!(
                "`{url}`: https:// targets are not supported yet (the load generator has no TLS); \
                 use http:// or a TLS-terminating proxy on loopback"
            ));
        } else {
            return Err(format!("`{url}` is not an http:// URL"));
        };
        if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(format!("`{url}` has spaces or control characters"));
        }
        if url.contains(['?', '#']) {
            return Err(format!(
                "`{url}` has a query or fragment: give them in each request's path"
            ));
        }
        let (authority, prefix) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(format!(
                "`{url}` has credentials: send them as a header (`Authorization`)"
            ));
        }
        // `[v6]:port`, `[v6]`, `host:port` or `host`.
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((host, "")) => (host, None),
                Some((host, rest)) => match rest.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None => return Err(format!("`{url}`: `{rest}` after the address")),
                },
                None => return Err(format!("`{url}`: `[` without its `]`")),
            },
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if let Some(port) = port {
            if port.parse::<u16>().is_err() {
                return Err(format!(
                    "`{url}`: port `{port}` is not a number up to 65535"
                ));
            }
        }
        if host.is_empty() {
            return Err(format!("`{url}` has no host"));
        }
        Ok(BaseUrl {
            authority: authority.to_owned(),
            prefix: prefix.trim_end_matches('/').to_owned(),
        })
    }

    /// `host:port` as written (the `Host` header).
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The path every request is sent under: empty, or `/…` without a
    /// trailing `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The full URL of `path` (which starts with `/`).
    pub fn url_of(&self, path: &str) -> String {
        format!("http://{}{}{path}", self.authority, self.prefix)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_run_refuses_is_refused_here() {
        for (url, why) in [
            ("https://127.0.0.1:8443", "TLS"),
            ("ftp://x", "not an http://"),
            ("http://", "no host"),
            ("http://:80", "no host"),
            ("http://h:port", "not a number"),
            ("http://h:99999", "not a number"),
            ("http://h/a?b=1", "query"),
            ("http://u:p@h", "credentials"),
            ("http://h/a b", "spaces"),
        ] {
            let err = BaseUrl::parse(url).unwrap_err();
            assert!(err.contains(why), "{url}: {err}");
        }
    }

    #[test]
    fn a_prefix_is_kept_without_its_trailing_slash() {
        let base = BaseUrl::parse("http://localhost").unwrap();
        assert_eq!((base.authority(), base.prefix()), ("localhost", ""));
        assert_eq!(base.url_of("/x"), "http://localhost/x");
        assert_eq!(BaseUrl::parse("http://[::1]").unwrap().authority(), "[::1]");
        let base = BaseUrl::parse("http://[::1]:8080/v2//").unwrap();
        assert_eq!((base.authority(), base.prefix()), ("[::1]:8080", "/v2"));
        assert_eq!(base.to_string(), "http://[::1]:8080/v2");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(url in "(http://)?[a-z0-9:/@?#\\[\\] .]{0,30}") {
            let _ = BaseUrl::parse(&url);
        }
    }
}
