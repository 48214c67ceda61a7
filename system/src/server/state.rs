//! What every handler shares: the loader, metrics, externals, the runtime
//! config and the server's lifecycle flags.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{
    BreakerSettings, CacheLimits, Config, ConfigProblem, Defect, Defects, Error, Externals, Loader,
    LogLevel, Metrics, ModuleCache, PatchContext, Resolver, ResolverConfig, Startup, SystemSampler,
};

/// Applies a new log level to the process's subscriber (installed by the
/// binary; tests run without one).
pub type LogLevelHook = Box<dyn Fn(LogLevel) + Send + Sync>;

/// The server's shared state. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The fields behind [`AppState`].
pub struct Shared {
    /// Resolves, compiles and caches modules.
    pub loader: Loader,
    /// Latency histograms and counters.
    pub metrics: Metrics,
    /// Registry client, external cache and one breaker per external.
    pub externals: Externals,
    /// Process memory and CPU.
    pub system: SystemSampler,
    config: RwLock<Arc<Config>>,
    /// Serialises config patches so two cannot interleave their effects.
    config_writer: Mutex<()>,
    admin_token: Option<String>,
    warmed: AtomicBool,
    draining: AtomicBool,
    in_flight: AtomicU64,
    log_level: Option<LogLevelHook>,
    started: Instant,
    started_wall: SystemTime,
    /// Deliberate bugs switched on (defect twins); empty for a sound target.
    pub defects: Defects,
    /// Defect twin `global-lock`: held across every load.
    pub(super) global_lock: tokio::sync::Mutex<()>,
    /// Defect twin `leak`: grows by 64 KiB per load, never shrinks.
    pub(super) leaked: Mutex<Vec<Box<[u8]>>>,
    /// Defect twin `slow-hits`: counts cache hits to slow every 100th.
    pub(super) hit_count: AtomicU64,
    /// Defect twin `reload-on-config`: loads are refused until this instant.
    pub(super) reloading_until: Mutex<Option<Instant>>,
}

/// Defect twin `reload-on-config`: how long loads are refused after a
/// config is applied (a worker restart on a small service).
const RELOAD_GAP: Duration = Duration::from_millis(500);

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("root", &self.0.loader.resolver().root())
            .field("config", &self.config())
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Builds the state for `startup`: a loader over its module root, empty
    /// cache and metrics, a breaker per external. Not ready until
    /// [`AppState::set_warmed`].
    ///
    /// # Errors
    /// [`Error::Io`] when the module root is not a readable directory.
    pub fn new(startup: &Startup, log_level: Option<LogLevelHook>) -> Result<AppState, Error> {
        AppState::with_defects(startup, log_level, Defects::NONE)
    }

    /// Like [`AppState::new`], with deliberate bugs switched on (defect
    /// twins), so the harness can show each claim check can fail.
    ///
    /// # Errors
    /// [`Error::Io`] when the module root is not a readable directory.
    pub fn with_defects(
        startup: &Startup,
        log_level: Option<LogLevelHook>,
        defects: Defects,
    ) -> Result<AppState, Error> {
        let now = Instant::now();
        let config = &startup.config;
        let resolver = Resolver::new(&startup.module_root, resolver_config(config))?;
        let cache = ModuleCache::new(
            resolver.root().to_path_buf(),
            cache_limits(config),
            config.cache_validation,
        )
        .with_defects(defects);
        let externals = Externals::new(breaker_settings(config));
        externals.breakers.set_defects(defects);
        for name in &config.externals {
            externals.breakers.get_or_create(name, now);
        }
        Ok(AppState(Arc::new(Shared {
            loader: Loader::new(resolver, cache),
            metrics: Metrics::new(now),
            externals,
            system: if defects.has(Defect::HeavyHealth) {
                SystemSampler::rebuilding_each_call()
            } else {
                SystemSampler::new()
            },
            config: RwLock::new(Arc::new(config.clone())),
            config_writer: Mutex::new(()),
            admin_token: startup.admin_token.clone(),
            warmed: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            in_flight: AtomicU64::new(0),
            log_level,
            started: now,
            started_wall: SystemTime::now(),
            defects,
            global_lock: tokio::sync::Mutex::new(()),
            leaked: Mutex::new(Vec::new()),
            hit_count: AtomicU64::new(0),
            reloading_until: Mutex::new(None),
        })))
    }

    /// The config in force.
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Validates `patch` as a whole and, only if every field is valid,
    /// applies its effects and swaps the new config in. Returns the new
    /// config and the names of the fields that changed.
    ///
    /// # Errors
    /// Every problem of the patch; nothing is changed then.
    pub fn patch_config(
        &self,
        patch: &serde_json::Value,
    ) -> Result<(Arc<Config>, Vec<&'static str>), Vec<ConfigProblem>> {
        let _writer = self
            .config_writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let old = self.config();
        let context = PatchContext {
            admin_token_configured: self.admin_token.is_some(),
        };
        let new = match old.patched(patch, &context) {
            Ok(new) => new,
            Err(problems) => {
                if self.defects.has(Defect::ConfigApplyBeforeValidate) {
                    self.apply_field_by_field(patch, &context);
                }
                return Err(problems);
            }
        };
        let changed = old.changed_fields(&new);
        let new = self.apply(&old, new)?;
        Ok((new, changed))
    }

    /// Defect twin `config-apply-before-validate`: every field that is valid
    /// on its own is applied, although the patch as a whole was refused.
    fn apply_field_by_field(&self, patch: &serde_json::Value, context: &PatchContext) {
        let Some(fields) = patch.as_object() else {
            return;
        };
        for (key, value) in fields {
            let single = serde_json::json!({ key: value });
            let old = self.config();
            if let Ok(new) = old.patched(&single, context) {
                let _ = self.apply(&old, new);
            }
        }
    }

    /// Applies the effects of `new` (validated) and swaps it in.
    fn apply(&self, old: &Config, new: Config) -> Result<Arc<Config>, Vec<ConfigProblem>> {
        // The one fallible effect goes first, so a failure leaves everything
        // as it was.
        if old.externals != new.externals || old.paths != new.paths {
            self.loader
                .reconfigure(resolver_config(&new))
                .map_err(|e| {
                    vec![ConfigProblem {
                        field: "paths".into(),
                        message: e.to_string(),
                    }]
                })?;
        }
        let now = Instant::now();
        let cache = self.loader.cache();
        // Defect::ShrinkOnRestart: the new size is the config's, not the
        // running cache's.
        if !self.defects.has(Defect::ShrinkOnRestart) {
            cache.set_limits(cache_limits(&new));
        }
        cache.set_validation(new.cache_validation);
        let breakers = &self.externals.breakers;
        breakers.set_settings(breaker_settings(&new), now);
        breakers.retain(&new.externals);
        for name in &new.externals {
            breakers.get_or_create(name, now);
        }
        if old.external_registry != new.external_registry {
            self.externals.clear_cache();
        }
        if old.log_level != new.log_level {
            if let Some(hook) = &self.log_level {
                hook(new.log_level);
            }
        }
        if self.defects.has(Defect::ReloadOnConfig) {
            *self
                .reloading_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(now + RELOAD_GAP);
        }
        let new = Arc::new(new);
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&new);
        Ok(new)
    }

    /// Defect twin `reload-on-config`: whether loads are refused now, and
    /// for how much longer.
    pub(super) fn reloading(&self, now: Instant) -> Option<Duration> {
        let until = (*self
            .reloading_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner))?;
        (now < until).then(|| until - now)
    }

    /// The admin token, if one is configured.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref()
    }

    /// Marks start-up warm-up as done: `/ready` may answer 200.
    pub fn set_warmed(&self) {
        self.warmed.store(true, Ordering::Release);
    }

    /// Marks the server as draining: `/ready` answers 503 from now on.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Whether the server should receive traffic.
    pub fn is_ready(&self) -> bool {
        self.warmed.load(Ordering::Acquire) && !self.draining.load(Ordering::Acquire)
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Requests being handled right now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Counts a request as in flight until the guard drops.
    pub fn enter(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Time since the state was built.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Wall-clock now in Unix milliseconds, consistent with the start time.
    pub fn unix_ms(&self, now: Instant) -> u64 {
        let wall = self.started_wall + now.saturating_duration_since(self.started);
        wall.duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// Decrements the in-flight count when a request finishes (or is dropped).
pub struct InFlight(AppState);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn resolver_config(config: &Config) -> ResolverConfig {
    ResolverConfig {
        paths: config
            .paths
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        externals: config.externals.clone(),
    }
}

fn cache_limits(config: &Config) -> CacheLimits {
    CacheLimits {
        max_entries: config.max_cache_size,
        max_bytes: config.max_cache_memory,
    }
}

/// The breaker settings a config asks for.
pub fn breaker_settings(config: &Config) -> BreakerSettings {
    BreakerSettings {
        failure_threshold: config.failure_threshold,
        window: Duration::from_millis(config.circuit_breaker_window_ms),
        min_failure_ratio: 0.5,
        retry_delay: Duration::from_millis(config.retry_delay_ms),
        max_wait: Duration::from_millis(config.timeout_ms),
        half_open_max_calls: config.half_open_max_calls,
    }
}
