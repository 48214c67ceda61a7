//! `somon-system` and `somon-verify serve`: the same flags, one runner.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::{bind, init_logging, serve, shutdown_signal, AppState, Drained, ServeOptions};
use crate::{load_startup, Defect, Defects, StartupFlags};

/// Flags of the module-system server. Every config field can also come
/// from `--config FILE` or a `SOMON_*` variable; flags win over both.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long)]
    pub host: Option<IpAddr>,
    /// Port to listen on (0 picks a free one; the bound address is logged).
    #[arg(long)]
    pub port: Option<u16>,
    /// Module root directory.
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// TOML config file (same keys as `GET /config`).
    #[arg(long = "config", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// `maxCacheSize`: most modules cached.
    #[arg(long)]
    pub cache_size: Option<u64>,
    /// `maxCacheMemory`: most bytes cached.
    #[arg(long)]
    pub cache_memory: Option<u64>,
    /// `memoryLimit`: the process's memory budget in bytes, the limit
    /// `memoryUsage` is measured against (like GOMEMLIMIT; 0 = not set).
    #[arg(long)]
    pub memory_limit: Option<u64>,
    /// `externals`: bare names resolved from the registry (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub externals: Option<Vec<String>>,
    /// `externalRegistry`: base URL of the external module registry.
    #[arg(long)]
    pub registry: Option<String>,
    /// `logLevel`: error, warn, info, debug or trace.
    #[arg(long)]
    pub log_level: Option<String>,
    /// Load these modules before `/ready` turns 200 (repeatable).
    #[arg(long = "warm", value_name = "MODULE")]
    pub warm: Vec<String>,
    /// Switch on a deliberate bug (a defect twin; repeatable; also
    /// `SOMON_DEFECTS=a,b`). Never on a production target: it says so in
    /// its log and in /health/details.
    #[arg(long = "defect", value_name = "NAME")]
    pub defects: Vec<String>,
    /// After SIGTERM, keep accepting (with `/ready` at 503) this long.
    #[arg(long, default_value_t = 1000)]
    pub drain_delay_ms: u64,
    /// Then wait at most this long for in-flight requests.
    #[arg(long, default_value_t = 30_000)]
    pub drain_timeout_ms: u64,
}

impl ServeArgs {
    fn flags(&self) -> StartupFlags {
        let mut patch = Map::new();
        if let Some(n) = self.cache_size {
            patch.insert("maxCacheSize".into(), Value::from(n));
        }
        if let Some(n) = self.cache_memory {
            patch.insert("maxCacheMemory".into(), Value::from(n));
        }
        if let Some(n) = self.memory_limit {
            patch.insert("memoryLimit".into(), Value::from(n));
        }
        if let Some(names) = &self.externals {
            patch.insert("externals".into(), Value::from(names.clone()));
        }
        if let Some(url) = &self.registry {
            patch.insert("externalRegistry".into(), Value::from(url.clone()));
        }
        if let Some(level) = &self.log_level {
            patch.insert("logLevel".into(), Value::from(level.clone()));
        }
        StartupFlags {
            host: self.host,
            port: self.port,
            module_root: self.root.clone(),
            config_file: self.config_file.clone(),
            patch,
        }
    }
}

/// Runs the server until SIGTERM/SIGINT and a drain. Returns an error
/// message (for exit code 2) when the settings are bad or the port cannot
/// be bound; `Ok(false)` when the drain timed out with requests in flight.
pub fn run_serve(args: ServeArgs) -> Result<bool, String> {
    let env: BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("SOMON_"))
        .collect();
    let startup = load_startup(&args.flags(), &env).map_err(|e| e.to_string())?;
    let mut defects: Defects = env
        .get("SOMON_DEFECTS")
        .map_or(Ok(Defects::NONE), |list| list.parse())
        .map_err(|e| format!("SOMON_DEFECTS: {e}"))?;
    for name in &args.defects {
        let defect: Defect = name.parse().map_err(|e| format!("--defect: {e}"))?;
        defects = defects.with(defect);
    }
    let hook = init_logging(startup.config.log_level);
    let state = AppState::with_defects(&startup, Some(hook), defects)
        .map_err(|e| format!("module root: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let options = ServeOptions {
        warm: args.warm.clone(),
        drain_delay: Duration::from_millis(args.drain_delay_ms),
        drain_timeout: Duration::from_millis(args.drain_timeout_ms),
    };
    runtime.block_on(async move {
        let wanted = SocketAddr::new(startup.host, startup.port);
        let listener = bind(wanted).map_err(|e| format!("cannot listen on {wanted}: {e}"))?;
        let address = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        let defect_names: Vec<&str> = state.defects.list().iter().map(|d| d.name()).collect();
        if !state.defects.is_sound() {
            tracing::warn!(defects = %defect_names.join(","), "DEFECTIVE TARGET: deliberate bugs are switched on (defect twins)");
        }
        tracing::info!(
            address = %address,
            module.root = %state.loader.resolver().root().display(),
            version = env!("CARGO_PKG_VERSION"),
            defects = %defect_names.join(","),
            "listening"
        );
        let drained = serve(state, listener, options, shutdown_signal())
            .await
            .map_err(|e| format!("server error: {e}"))?;
        Ok(drained == Drained::Complete)
    })
}
