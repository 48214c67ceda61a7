//! Field-by-field validation of a config patch. Every field is checked even
//! after a failure so one response lists every problem.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{Config, ConfigProblem, PatchContext, FIELDS};

/// Longest npm package name.
const MAX_PACKAGE_NAME: usize = 214;
/// Longest value echoed back in a message, so a huge body is not mirrored.
const MAX_ECHO: usize = 80;
/// Smallest non-zero `memoryLimit`: below 1 MiB no process of ours fits, so
/// a smaller value is a unit slip (KiB or MiB given as bytes).
pub(crate) const MIN_MEMORY_LIMIT: u64 = 1 << 20;
/// Largest `memoryLimit` (1 PiB): far above any machine, and below 2^53 so
/// a JSON client reading `GET /config` as a double keeps it exact.
pub(crate) const MAX_MEMORY_LIMIT: u64 = 1 << 50;

/// Applies every known field of `fields` to a copy of `base`. Keys in
/// `extra_known` belong to the caller (e.g. `host` in a TOML file): they are
/// skipped here and only listed as known in unknown-key messages.
pub(super) fn apply_fields(
    base: &Config,
    fields: &Map<String, Value>,
    extra_known: &[&str],
) -> (Config, Vec<ConfigProblem>) {
    let mut next = base.clone();
    let mut problems = Vec::new();
    for (key, value) in fields {
        if extra_known.contains(&key.as_str()) {
            continue;
        }
        if let Err(mut found) = apply(&mut next, key, value) {
            problems.append(&mut found);
        }
    }
    (next, problems)
}

/// The rules that involve more than one field, checked on the merged result.
/// `given` decides which field a violation is blamed on: the one the patch set.
pub(super) fn cross_check(
    next: &Config,
    given: &Map<String, Value>,
    ctx: &PatchContext,
) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if next.timeout_ms < next.retry_delay_ms {
        let field = if given.contains_key("retryDelayMs") && !given.contains_key("timeoutMs") {
            "retryDelayMs"
        } else {
            "timeoutMs"
        };
        problems.push(ConfigProblem::new(
            field,
            format!(
                "timeoutMs ({}) must be at least retryDelayMs ({}): it caps the retry backoff",
                next.timeout_ms, next.retry_delay_ms
            ),
        ));
    }
    if next.require_auth && !ctx.admin_token_configured {
        problems.push(ConfigProblem::new(
            "requireAuth",
            "no admin token is configured (set SOMON_ADMIN_TOKEN)",
        ));
    }
    problems
}

/// One problem at `field`, as the `Err` of a field check.
fn one(field: &str, message: String) -> Vec<ConfigProblem> {
    vec![ConfigProblem::new(field, message)]
}

/// Validates one field and stores it into `next`.
fn apply(next: &mut Config, key: &str, value: &Value) -> Result<(), Vec<ConfigProblem>> {
    let whole = |min: u64, max: u64| whole(value, min, max).map_err(|m| one(key, m));
    let flag = || {
        value.as_bool().ok_or_else(|| {
            one(
                key,
                format!("expected true or false, got {}", describe(value)),
            )
        })
    };
    match key {
        // The range bounds fit every target type, so the `as` casts below
        // cannot truncate.
        "maxCacheSize" => next.max_cache_size = whole(1, 1_000_000)? as usize,
        "maxCacheMemory" => next.max_cache_memory = whole(1024, 64 << 30)?,
        "memoryLimit" => next.memory_limit = memory_limit(value).map_err(|m| one(key, m))?,
        "cacheValidation" => next.cache_validation = variant(key, value, &["stat", "none"])?,
        "externals" => next.externals = externals(value)?,
        "externalRegistry" => next.external_registry = registry(value)?,
        "externalTimeoutMs" => next.external_timeout_ms = whole(1, 600_000)?,
        "enableExternalCache" => next.enable_external_cache = flag()?,
        "externalCacheTtlMs" => next.external_cache_ttl_ms = whole(0, 86_400_000)?,
        "failureThreshold" => next.failure_threshold = whole(1, 10_000)? as u32,
        "circuitBreakerWindowMs" => next.circuit_breaker_window_ms = whole(100, 3_600_000)?,
        "retryDelayMs" => next.retry_delay_ms = whole(1, 3_600_000)?,
        "timeoutMs" => next.timeout_ms = whole(1, 3_600_000)?,
        "halfOpenMaxCalls" => next.half_open_max_calls = whole(1, 1000)? as u32,
        "circularDependencyStrategy" => {
            next.circular_dependency_strategy = variant(key, value, &["error", "warn", "ignore"])?;
        }
        "logLevel" => {
            next.log_level = variant(key, value, &["error", "warn", "info", "debug", "trace"])?;
        }
        "managementApiEnabled" => next.management_api_enabled = flag()?,
        "requireAuth" => next.require_auth = flag()?,
        "paths" => next.paths = paths(value)?,
        unknown => return Err(one(unknown, unknown_key(unknown))),
    }
    Ok(())
}

/// Names the known keys, and the likely one when only case or separators differ
/// (`max_cache_size` in a TOML file is an easy slip).
fn unknown_key(key: &str) -> String {
    let fold = |s: &str| {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let folded = fold(key);
    let hint = FIELDS
        .iter()
        .find(|known| fold(known) == folded)
        .map(|known| format!(" (did you mean \"{known}\"?)"))
        .unwrap_or_default();
    format!("unknown key{hint}; known keys: {}", FIELDS.join(", "))
}

/// A JSON value as given, shortened: the message says what was sent without
/// mirroring a whole body.
pub(super) fn describe(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= MAX_ECHO {
        return text;
    }
    let cut: String = text.chars().take(MAX_ECHO).collect();
    format!("{cut}…")
}

/// A non-negative integer within `min..=max`. Floats (even `1.0`), negatives,
/// strings and numbers too big for `u64` all fail with the same message.
fn whole(value: &Value, min: u64, max: u64) -> Result<u64, String> {
    match value.as_u64() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a whole number from {min} to {max}, got {}",
            describe(value)
        )),
    }
}

/// 0 (no budget) or a byte count from [`MIN_MEMORY_LIMIT`] to
/// [`MAX_MEMORY_LIMIT`].
fn memory_limit(value: &Value) -> Result<u64, String> {
    match value.as_u64() {
        Some(n) if n == 0 || (MIN_MEMORY_LIMIT..=MAX_MEMORY_LIMIT).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected 0 (not set) or a whole number of bytes from {MIN_MEMORY_LIMIT} (1 MiB) to {MAX_MEMORY_LIMIT} (1 PiB), got {}",
            describe(value)
        )),
    }
}

/// One of the lowercase `names` of a serde enum.
fn variant<T: DeserializeOwned>(
    key: &str,
    value: &Value,
    names: &[&str],
) -> Result<T, Vec<ConfigProblem>> {
    let fail = || {
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        one(
            key,
            format!(
                "expected one of {}, got {}",
                quoted.join(", "),
                describe(value)
            ),
        )
    };
    match value.as_str() {
        Some(name) if names.contains(&name) => T::deserialize(value).map_err(|_| fail()),
        _ => Err(fail()),
    }
}

/// A JSON array of valid, distinct bare package names.
fn externals(value: &Value) -> Result<Vec<String>, Vec<ConfigProblem>> {
    let Some(items) = value.as_array() else {
        return Err(one(
            "externals",
            format!(
                "expected an array of package names, got {}",
                describe(value)
            ),
        ));
    };
    let mut names = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        let field = format!("externals[{index}]");
        let Some(name) = item.as_str() else {
            problems.push(ConfigProblem::new(
                field,
                format!("expected a package name string, got {}", describe(item)),
            ));
            continue;
        };
        if let Err(message) = package_name(name) {
            problems.push(ConfigProblem::new(field, message));
        } else if let Some(first) = seen.insert(name, index) {
            problems.push(ConfigProblem::new(
                field,
                format!("duplicate of externals[{first}] (\"{name}\")"),
            ));
        } else {
            names.push(name.to_owned());
        }
    }
    if problems.is_empty() {
        Ok(names)
    } else {
        Err(problems)
    }
}

/// A bare npm-style name: `name` or `@scope/name`. Anything path-like would
/// make the resolver send relative imports to the registry.
pub(super) fn package_name(name: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "\"{}\" is not a bare package name (`name` or `@scope/name`): {why}",
            describe_str(name)
        ))
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.chars().count() > MAX_PACKAGE_NAME {
        return bad("it is longer than 214 characters");
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return bad("it contains whitespace, a control character or a backslash");
    }
    if name.starts_with('.') || name.starts_with('/') {
        return bad("it starts with `.` or `/`, like a path");
    }
    let (scope, rest) = match name.strip_prefix('@') {
        Some(scoped) => match scoped.split_once('/') {
            Some((scope, rest)) => (Some(scope), rest),
            None => return bad("a scoped name needs `/name` after the scope"),
        },
        None => (None, name),
    };
    if scope.is_some_and(str::is_empty) || rest.is_empty() {
        return bad("the scope and the name must both be non-empty");
    }
    if rest.contains('/') {
        return bad("it contains more than one `/`");
    }
    if rest.starts_with('.') {
        return bad("the name starts with `.`");
    }
    Ok(())
}

/// A string shortened like [`describe`], without JSON quoting.
fn describe_str(s: &str) -> String {
    if s.chars().count() <= MAX_ECHO {
        return s.to_owned();
    }
    let cut: String = s.chars().take(MAX_ECHO).collect();
    format!("{cut}…")
}

/// `null` or an `http(s)://host[:port][/path]` URL.
fn registry(value: &Value) -> Result<Option<String>, Vec<ConfigProblem>> {
    let field = "externalRegistry";
    match value {
        Value::Null => Ok(None),
        Value::String(url) => registry_url(url)
            .map(|()| Some(url.clone()))
            .map_err(|m| one(field, m)),
        other => Err(one(
            field,
            format!(
                "expected null or an http:// or https:// URL, got {}",
                describe(other)
            ),
        )),
    }
}

/// Checks the URL's shape; reachability is the breaker's business.
pub(super) fn registry_url(url: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "\"{}\" is not a usable registry URL: {why}",
            describe_str(url)
        ))
    };
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return bad("it must start with http:// or https://");
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains whitespace or a control character");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // GET /config echoes the URL, so credentials in it would leak.
    if authority.contains('@') {
        return bad("credentials in the URL are not allowed");
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    if host.is_empty() || host == "[]" {
        return bad("it has no host");
    }
    if let Some(port) = port {
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            return bad("the port must be a number from 1 to 65535");
        }
    }
    Ok(())
}

/// An object of alias pattern → replacement, in the shape the resolver
/// supports (a single trailing `*`).
fn paths(value: &Value) -> Result<BTreeMap<String, String>, Vec<ConfigProblem>> {
    let Some(entries) = value.as_object() else {
        return Err(one(
            "paths",
            format!(
                "expected an object of alias pattern to replacement, like {{\"@lib/*\": \"lib/*\"}}, got {}",
                describe(value)
            ),
        ));
    };
    let mut aliases = BTreeMap::new();
    let mut problems = Vec::new();
    for (pattern, replacement) in entries {
        let field = format!("paths[{}]", Value::String(describe_str(pattern)));
        match replacement.as_str() {
            None => problems.push(ConfigProblem::new(
                field,
                format!(
                    "expected a replacement string, got {}",
                    describe(replacement)
                ),
            )),
            Some(target) => match alias(pattern, target) {
                Ok(()) => {
                    aliases.insert(pattern.clone(), target.to_owned());
                }
                Err(message) => problems.push(ConfigProblem::new(field, message)),
            },
        }
    }
    if problems.is_empty() {
        Ok(aliases)
    } else {
        Err(problems)
    }
}

/// One alias; replacements stay inside the module root.
fn alias(pattern: &str, target: &str) -> Result<(), String> {
    let star = |s: &str, what: &str| -> Result<bool, String> {
        match s.find('*') {
            None => Ok(false),
            Some(i) if i == s.len() - 1 => Ok(true),
            Some(_) => Err(format!(
                "the {what} may hold one `*`, only as its last character"
            )),
        }
    };
    if pattern.is_empty() || target.is_empty() {
        return Err("pattern and replacement must both be non-empty".to_owned());
    }
    let pattern_star = star(pattern, "pattern")?;
    let target_star = star(target, "replacement")?;
    if pattern_star != target_star {
        return Err("the replacement must end in `*` exactly when the pattern does".to_owned());
    }
    let windows_drive = target.len() >= 2 && target.as_bytes()[1] == b':';
    if target.starts_with('/') || target.starts_with('\\') || windows_drive {
        return Err("the replacement must be relative to the module root".to_owned());
    }
    if target.split(['/', '\\']).any(|segment| segment == "..") {
        return Err("the replacement must not contain `..` segments".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn package_names() {
        for good in ["lodash", "@scope/pkg", "a.b", "x-y_z", &"a".repeat(214)] {
            assert_eq!(package_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "./x",
            "/x",
            ".hidden",
            "a b",
            "@scope",
            "@/x",
            "@s/",
            "a/b",
            "@s/a/b",
            "a\\b",
            &"a".repeat(215),
        ] {
            assert!(package_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn registry_urls() {
        for good in [
            "http://localhost",
            "https://r.example:8443/base",
            "http://[::1]:80/",
        ] {
            assert_eq!(registry_url(good), Ok(()), "{good}");
        }
        for bad in [
            "ftp://x",
            "http://",
            "https:///x",
            "http://u:p@h",
            "http://h:0",
            "http://h:x",
            "http://a b",
        ] {
            assert!(registry_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn aliases() {
        assert_eq!(alias("@lib/*", "lib/*"), Ok(()));
        assert_eq!(alias("config", "src/config.som"), Ok(()));
        for (p, t) in [
            ("@lib/*", "lib"),
            ("@lib", "lib/*"),
            ("*a*", "b*"),
            ("a/*/b", "c/*/d"),
            ("a", "/abs"),
            ("a", "C:/x"),
            ("a", "../up"),
            ("a", "x/../../up"),
            ("", "x"),
            ("x", ""),
        ] {
            assert!(alias(p, t).is_err(), "{p} -> {t}");
        }
    }

    #[test]
    fn whole_rejects_every_non_integer() {
        for v in [
            json!(1.0),
            json!(-1),
            json!("5"),
            json!(null),
            json!(1e300),
            json!([1]),
        ] {
            assert!(whole(&v, 0, u64::MAX).is_err(), "{v}");
        }
        assert_eq!(whole(&json!(u64::MAX), 0, u64::MAX), Ok(u64::MAX));
    }

    #[test]
    fn unknown_key_suggests_the_field() {
        let message = unknown_key("max_cache_size");
        assert!(
            message.contains("did you mean \"maxCacheSize\""),
            "{message}"
        );
        assert!(message.contains("known keys: maxCacheSize, "), "{message}");
    }

    #[test]
    fn long_values_are_shortened() {
        let long = Value::String("x".repeat(1000));
        assert!(describe(&long).chars().count() <= MAX_ECHO + 1);
    }
}
