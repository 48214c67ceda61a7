//! The runtime configuration: its fields and defaults, the
//! validated patches `POST /config` applies, and the start-up settings merged
//! from defaults, a TOML file, the environment and flags ([`load_startup`]).
//!
//! A [`Config`] is checked once — by [`Config::patched`] or [`load_startup`] —
//! and then trusted: code that reads it never re-validates a field.
//!
//! # Ranges
//!
//! | field | accepted |
//! |---|---|
//! | `maxCacheSize` | 1 ..= 1 000 000 entries |
//! | `maxCacheMemory` | 1024 ..= 68 719 476 736 bytes (64 GiB) |
//! | `memoryLimit` | 0 (not set) or 1 048 576 (1 MiB) ..= 1 125 899 906 842 624 bytes (1 PiB) |
//! | `externalTimeoutMs` | 1 ..= 600 000 |
//! | `externalCacheTtlMs` | 0 ..= 86 400 000 (0 = entries are never fresh) |
//! | `failureThreshold` | 1 ..= 10 000 |
//! | `circuitBreakerWindowMs` | 100 ..= 3 600 000 |
//! | `retryDelayMs` | 1 ..= 3 600 000 |
//! | `timeoutMs` | 1 ..= 3 600 000 and ≥ `retryDelayMs` |
//! | `halfOpenMaxCalls` | 1 ..= 1000 |
//! | `externals` | bare package names (`name`, `@scope/name`), ≤ 214 chars, no duplicates |
//! | `externalRegistry` | `null` or an `http://` / `https://` URL with a host and no credentials |
//! | `paths` | non-empty pattern → replacement, `*` only as the last character and in both or neither; replacements relative, without `..` segments |
//! | `requireAuth` | `true` only when an admin token is configured |

mod patch;
mod startup;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{CycleStrategy, Validation};

pub use startup::{
    load_startup, ProblemOrigin, Startup, StartupError, StartupFlags, StartupProblem,
};

/// The runtime configuration: what `GET /config` returns and `POST /config`
/// patches. Field names are camelCase in JSON and TOML.
///
/// ```
/// use somon_system::{Config, PatchContext};
/// let current = Config::default();
/// let ctx = PatchContext { admin_token_configured: false };
/// let next = current.patched(&serde_json::json!({"maxCacheSize": 2000}), &ctx).unwrap();
/// assert_eq!(next.max_cache_size, 2000);
/// assert_eq!(current.changed_fields(&next), ["maxCacheSize"]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// Most modules the cache holds (default 1000).
    pub max_cache_size: usize,
    /// Most bytes the cache holds (default 100 MiB).
    pub max_cache_memory: u64,
    /// The process's memory budget in bytes, like Go's `GOMEMLIMIT`: when
    /// set (non-zero) and smaller than the cgroup limit and the machine's
    /// memory, `memoryUsage` is resident memory as a share of it. 0 (the
    /// default) means not set.
    pub memory_limit: u64,
    /// Whether cache hits re-check their file (default `stat`).
    pub cache_validation: Validation,
    /// Bare package names fetched from the registry instead of `node_modules`.
    pub externals: Vec<String>,
    /// Base URL of the external module registry; `None` disables fetching.
    pub external_registry: Option<String>,
    /// How long one registry fetch may take before it counts as a failure.
    pub external_timeout_ms: u64,
    /// Whether fetched externals are kept for `externalCacheTtlMs`.
    pub enable_external_cache: bool,
    /// How long a fetched external stays fresh.
    pub external_cache_ttl_ms: u64,
    /// Failures within `circuitBreakerWindowMs` that open a breaker.
    pub failure_threshold: u32,
    /// The sliding window in which failures are counted.
    pub circuit_breaker_window_ms: u64,
    /// How long an open breaker waits before its first trial call.
    pub retry_delay_ms: u64,
    /// The longest an open breaker waits (the backoff cap).
    pub timeout_ms: u64,
    /// Trial calls a half-open breaker lets through.
    pub half_open_max_calls: u32,
    /// What a bundle or graph does on an import cycle.
    pub circular_dependency_strategy: CycleStrategy,
    /// The most verbose log level emitted.
    pub log_level: LogLevel,
    /// `false` locks every management route until restart.
    pub management_api_enabled: bool,
    /// Whether management routes need `Authorization: Bearer <SOMON_ADMIN_TOKEN>`.
    pub require_auth: bool,
    /// Resolution aliases like `{"@lib/*": "lib/*"}`; not among the documents'
    /// configuration fields, but part of the config so operators can change them like any other.
    pub paths: BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_cache_size: 1000,
            max_cache_memory: 104_857_600,
            memory_limit: 0,
            cache_validation: Validation::Stat,
            externals: Vec::new(),
            external_registry: None,
            external_timeout_ms: 2000,
            enable_external_cache: true,
            external_cache_ttl_ms: 300_000,
            failure_threshold: 5,
            circuit_breaker_window_ms: 10_000,
            retry_delay_ms: 5000,
            timeout_ms: 30_000,
            half_open_max_calls: 3,
            circular_dependency_strategy: CycleStrategy::Warn,
            log_level: LogLevel::Info,
            management_api_enabled: true,
            require_auth: false,
            paths: BTreeMap::new(),
        }
    }
}

/// The most verbose level logged (`logLevel`), lowercase in JSON.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Only failures.
    Error,
    /// Failures and degraded operation (open breakers, cycles).
    Warn,
    /// Normal operation: start-up, config changes, breaker transitions.
    #[default]
    Info,
    /// Per-request detail.
    Debug,
    /// Everything, including cache decisions.
    Trace,
}

impl LogLevel {
    /// The lowercase name, as in JSON and `tracing` filter directives.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem in a patch or setting, with where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigProblem {
    /// Where: a camelCase field (`maxCacheSize`), an element (`externals[2]`,
    /// `paths["@lib/*"]`), an environment variable (`SOMON_CACHE_SIZE`), or
    /// `$` for the patch as a whole.
    pub field: String,
    /// What is wrong and what would be accepted.
    pub message: String,
}

impl ConfigProblem {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> ConfigProblem {
        ConfigProblem {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// What a patch is checked against besides the config itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PatchContext {
    /// Whether `SOMON_ADMIN_TOKEN` was set at start-up; `requireAuth: true`
    /// without one would lock every operator out.
    pub admin_token_configured: bool,
}

/// The camelCase names of every field, in declaration order.
pub(crate) const FIELDS: [&str; 19] = [
    "maxCacheSize",
    "maxCacheMemory",
    "memoryLimit",
    "cacheValidation",
    "externals",
    "externalRegistry",
    "externalTimeoutMs",
    "enableExternalCache",
    "externalCacheTtlMs",
    "failureThreshold",
    "circuitBreakerWindowMs",
    "retryDelayMs",
    "timeoutMs",
    "halfOpenMaxCalls",
    "circularDependencyStrategy",
    "logLevel",
    "managementApiEnabled",
    "requireAuth",
    "paths",
];

impl Config {
    /// Validates `patch` (a JSON object of camelCase fields) as a whole
    /// against `self` and returns the config that results.
    ///
    /// Each given field replaces the current value whole (`externals` and
    /// `paths` are not merged). A complete `GET /config` body is a valid patch
    /// that changes nothing, so a backup can be POSTed back as is.
    ///
    /// Fails with *every* problem found: unknown keys (naming the known ones),
    /// wrong types and out-of-range values (naming what is accepted and what
    /// was given), and cross-field rules checked on the result (`timeoutMs ≥
    /// retryDelayMs`, `requireAuth` needs an admin token). `self` is never
    /// modified: the caller swaps the returned config in atomically.
    pub fn patched(
        &self,
        patch: &serde_json::Value,
        ctx: &PatchContext,
    ) -> Result<Config, Vec<ConfigProblem>> {
        let Some(fields) = patch.as_object() else {
            return Err(vec![ConfigProblem::new(
                "$",
                format!(
                    "expected a JSON object of config fields, got {}",
                    patch::describe(patch)
                ),
            )]);
        };
        let (next, mut problems) = patch::apply_fields(self, fields, &[]);
        problems.extend(patch::cross_check(&next, fields, ctx));
        if problems.is_empty() {
            Ok(next)
        } else {
            Err(problems)
        }
    }

    /// Which fields differ between `self` and `other` (camelCase names, in
    /// declaration order), for logging a change and applying its effects.
    pub fn changed_fields(&self, other: &Config) -> Vec<&'static str> {
        let differs = [
            self.max_cache_size != other.max_cache_size,
            self.max_cache_memory != other.max_cache_memory,
            self.memory_limit != other.memory_limit,
            self.cache_validation != other.cache_validation,
            self.externals != other.externals,
            self.external_registry != other.external_registry,
            self.external_timeout_ms != other.external_timeout_ms,
            self.enable_external_cache != other.enable_external_cache,
            self.external_cache_ttl_ms != other.external_cache_ttl_ms,
            self.failure_threshold != other.failure_threshold,
            self.circuit_breaker_window_ms != other.circuit_breaker_window_ms,
            self.retry_delay_ms != other.retry_delay_ms,
            self.timeout_ms != other.timeout_ms,
            self.half_open_max_calls != other.half_open_max_calls,
            self.circular_dependency_strategy != other.circular_dependency_strategy,
            self.log_level != other.log_level,
            self.management_api_enabled != other.management_api_enabled,
            self.require_auth != other.require_auth,
            self.paths != other.paths,
        ];
        FIELDS
            .iter()
            .zip(differs)
            .filter_map(|(name, differs)| differs.then_some(*name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_match_serialized_names() {
        let value = serde_json::to_value(Config::default()).unwrap();
        let names: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = FIELDS.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected);
    }

    #[test]
    fn changed_fields_names_each_difference() {
        let a = Config::default();
        let mut b = a.clone();
        b.paths.insert("@lib/*".into(), "lib/*".into());
        b.log_level = LogLevel::Debug;
        assert_eq!(a.changed_fields(&b), ["logLevel", "paths"]);
        assert!(a.changed_fields(&a).is_empty());
    }

    #[test]
    fn non_object_patch_is_one_problem() {
        let ctx = PatchContext::default();
        let problems = Config::default().patched(&json!([1]), &ctx).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "$");
    }

    #[test]
    fn log_level_names() {
        assert_eq!(LogLevel::Trace.to_string(), "trace");
        assert_eq!(serde_json::to_value(LogLevel::Warn).unwrap(), json!("warn"));
    }
}
