//! External modules: the allowlisted bare names fetched from the registry
//! through one circuit breaker each, with an external cache that serves
//! fresh copies without the network and stale copies when the registry
//! fails or the breaker is open (stale-if-error, answered as degraded).

mod registry;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{BreakerSettings, Breakers, CallOutcome, Config, Metrics, Op, OpOutcome};
use registry::RegistryClient;
pub use registry::{sha256_hex, ExternalModule};

/// Why an external could not be provided.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExternalError {
    /// The registry has no such package (404). Not a breaker failure: the
    /// registry answered. Fix the import or publish the package.
    #[error("external module \"{name}\" not found in the registry")]
    NotFound {
        /// Package name.
        name: String,
    },
    /// The registry failed: 5xx, refused or reset connection, malformed
    /// answer. Counted by the breaker.
    #[error("external module \"{name}\" could not be fetched: {reason}")]
    Failed {
        /// Package name.
        name: String,
        /// What went wrong.
        reason: String,
    },
    /// The registry served a source whose sha256 is not the one it
    /// announced. Counted by the breaker: a registry serving corrupt code is
    /// failing.
    #[error("external module \"{name}\" failed its integrity check: sha256 {actual}, announced {expected}")]
    Integrity {
        /// Package name.
        name: String,
        /// The sha256 the registry announced.
        expected: String,
        /// The sha256 of what it served.
        actual: String,
    },
    /// No answer within `externalTimeoutMs`. Counted by the breaker.
    #[error("external module \"{name}\" timed out after {} ms", after.as_millis())]
    Timeout {
        /// Package name.
        name: String,
        /// The timeout in force.
        after: Duration,
    },
    /// The dependency's breaker is open and no cached copy exists: failing
    /// fast. Retry after `retry_after`.
    #[error("circuit open for external module \"{name}\"; retry after {} ms", retry_after.as_millis())]
    CircuitOpen {
        /// Package name.
        name: String,
        /// Time until the breaker admits a trial call.
        retry_after: Duration,
    },
}

impl ExternalError {
    /// The stable API code.
    pub fn code(&self) -> &'static str {
        match self {
            ExternalError::NotFound { .. } => "MODULE_NOT_FOUND",
            ExternalError::Failed { .. } | ExternalError::Integrity { .. } => "EXTERNAL_FAILED",
            ExternalError::Timeout { .. } => "EXTERNAL_TIMEOUT",
            ExternalError::CircuitOpen { .. } => "CIRCUIT_OPEN",
        }
    }
}

/// Where a provided external came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Provenance {
    /// No registry is configured: the host's `require` provides it.
    Host,
    /// Fetched from the registry just now.
    Registry,
    /// A cached copy younger than `externalCacheTtlMs`.
    Cache,
    /// A cached copy served because the registry failed or the breaker is
    /// open: the answer is degraded.
    Stale,
}

/// An external a load depends on, as the load response reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalUse {
    /// Package name.
    pub name: String,
    /// Version served, when fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where it came from.
    pub provenance: Provenance,
    /// True when a stale copy stood in for a failing registry.
    pub degraded: bool,
}

/// The external settings of a [`Config`], read once per call so a runtime
/// change applies to the next load.
#[derive(Clone, Debug, PartialEq)]
pub struct ExternalSettings {
    /// Registry base URL; `None` leaves externals to the host.
    pub registry: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Whether fetched copies are kept.
    pub cache: bool,
    /// How long a kept copy is fresh.
    pub ttl: Duration,
}

impl From<&Config> for ExternalSettings {
    fn from(config: &Config) -> ExternalSettings {
        ExternalSettings {
            registry: config.external_registry.clone(),
            timeout: Duration::from_millis(config.external_timeout_ms),
            cache: config.enable_external_cache,
            ttl: Duration::from_millis(config.external_cache_ttl_ms),
        }
    }
}

struct Cached {
    module: Arc<ExternalModule>,
    fetched: Instant,
}

/// Externals: registry client, breakers and cache.
///
/// Concurrent loads that need the same stale external wait for one fetch
/// (a per-name async lock) instead of stampeding the registry; with the
/// cache off every load fetches, as configured.
pub struct Externals {
    client: RegistryClient,
    /// One breaker per external name.
    pub breakers: Breakers,
    cache: Mutex<HashMap<String, Cached>>,
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Externals {
    /// No breakers, empty cache; breakers created later use `settings`.
    pub fn new(settings: BreakerSettings) -> Externals {
        Externals {
            client: RegistryClient::new(),
            breakers: Breakers::new(settings),
            cache: Mutex::new(HashMap::new()),
            fetching: Mutex::new(HashMap::new()),
        }
    }

    /// Drops every cached copy (the registry changed).
    pub fn clear_cache(&self) {
        lock(&self.cache).clear();
    }

    /// How many externals have a cached copy.
    pub fn cached(&self) -> usize {
        lock(&self.cache).len()
    }

    /// Provides external `name` (a package name): from the fresh cache, else
    /// from the registry through its breaker, else a stale copy (degraded),
    /// else the error. Registry calls are timed into `metrics` as
    /// [`Op::External`].
    ///
    /// # Errors
    /// See [`ExternalError`]: not found, failed, integrity, timeout, or
    /// circuit open — the last three only when no cached copy exists.
    pub async fn provide(
        &self,
        name: &str,
        settings: &ExternalSettings,
        metrics: &Metrics,
    ) -> Result<ExternalUse, ExternalError> {
        let Some(registry) = settings.registry.as_deref() else {
            return Ok(ExternalUse {
                name: name.to_owned(),
                version: None,
                provenance: Provenance::Host,
                degraded: false,
            });
        };
        if let Some(fresh) = self.fresh(name, settings, Instant::now()) {
            return Ok(fresh);
        }
        let gate = settings.cache.then(|| self.gate(name));
        let _turn = match &gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        };
        // Someone else may have fetched it while this call waited its turn.
        if let Some(fresh) = self.fresh(name, settings, Instant::now()) {
            return Ok(fresh);
        }
        let breaker = self.breakers.get_or_create(name, Instant::now());
        let permit = match breaker.try_acquire(Instant::now()) {
            Ok(permit) => permit,
            Err(rejected) => {
                return self
                    .stale(name, settings)
                    .ok_or(ExternalError::CircuitOpen {
                        name: name.to_owned(),
                        retry_after: rejected.retry_after,
                    })
            }
        };
        let started = Instant::now();
        let fetched = self.client.fetch(registry, name, settings.timeout).await;
        let now = Instant::now();
        let (outcome, call) = match &fetched {
            Ok(_) => (OpOutcome::Ok, CallOutcome::Success),
            // The registry answered; the package just is not there.
            Err(ExternalError::NotFound { .. }) => (OpOutcome::Error, CallOutcome::Success),
            Err(_) => (OpOutcome::Error, CallOutcome::Failure),
        };
        metrics.record(Op::External, outcome, now - started, now);
        breaker.record(permit, call, now);
        match fetched {
            Ok(module) => {
                let module = Arc::new(module);
                if settings.cache {
                    lock(&self.cache).insert(
                        name.to_owned(),
                        Cached {
                            module: Arc::clone(&module),
                            fetched: now,
                        },
                    );
                }
                Ok(used(&module, Provenance::Registry))
            }
            Err(error @ ExternalError::NotFound { .. }) => Err(error),
            Err(error) => {
                tracing::warn!(
                    external.name = name,
                    error.code = error.code(),
                    "external fetch failed: {error}"
                );
                self.stale(name, settings).ok_or(error)
            }
        }
    }

    fn fresh(&self, name: &str, settings: &ExternalSettings, now: Instant) -> Option<ExternalUse> {
        if !settings.cache {
            return None;
        }
        let cache = lock(&self.cache);
        let entry = cache.get(name)?;
        (now.saturating_duration_since(entry.fetched) < settings.ttl)
            .then(|| used(&entry.module, Provenance::Cache))
    }

    fn stale(&self, name: &str, settings: &ExternalSettings) -> Option<ExternalUse> {
        if !settings.cache {
            return None;
        }
        lock(&self.cache)
            .get(name)
            .map(|entry| used(&entry.module, Provenance::Stale))
    }

    fn gate(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(lock(&self.fetching).entry(name.to_owned()).or_default())
    }
}

fn used(module: &ExternalModule, provenance: Provenance) -> ExternalUse {
    ExternalUse {
        name: module.name.clone(),
        version: Some(module.version.clone()),
        provenance,
        degraded: provenance == Provenance::Stale,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
