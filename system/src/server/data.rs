//! The data plane: what load is aimed at. `GET|POST /modules/load`,
//! `POST /modules/compile`, `POST /modules/bundle`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::api_error::ApiError;
use super::input::{query_param, JsonBody};
use super::AppState;
use crate::graph::package_name;
use crate::{
    bundle, BundleOptions, CachedModule, CycleStrategy, Defect, Dependency, Error, ExternalError,
    ExternalSettings, ExternalUse, GraphOptions, Loaded, ModuleGraph, Op, OpOutcome, Resolved,
};

/// The data-plane routes.
pub(super) fn data_routes() -> Router<AppState> {
    Router::new()
        .route("/modules/load", get(load_by_query).post(load_by_body))
        .route("/modules/compile", post(compile))
        .route("/modules/bundle", post(bundle_entry))
}

/// `POST /modules/load` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadRequest {
    path: String,
}

/// What a load answers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoadResponse {
    id: String,
    path: String,
    exports: Vec<String>,
    dependencies: Vec<Dependency>,
    bytes: usize,
    cached: bool,
    /// True when a stale external copy stood in for a failing registry.
    degraded: bool,
    externals: Vec<ExternalUse>,
    duration_us: u64,
}

async fn load_by_query(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<LoadResponse>, ApiError> {
    let started = Instant::now();
    let path = query_param(query.as_deref(), "path")
        .and_then(|p| p.ok_or_else(|| ApiError::bad_request("missing query parameter `path`")));
    match path {
        Ok(path) => load(state, path, started).await,
        Err(error) => Err(record(&state, Op::Load, started, error)),
    }
}

async fn load_by_body(
    State(state): State<AppState>,
    body: Result<JsonBody<LoadRequest>, ApiError>,
) -> Result<Json<LoadResponse>, ApiError> {
    let started = Instant::now();
    match body {
        Ok(JsonBody(request)) => load(state, request.path, started).await,
        Err(error) => Err(record(&state, Op::Load, started, error)),
    }
}

/// Hits are answered on the async worker (a shard read lock and one
/// `stat`); misses compile on the blocking pool so a slow compile never
/// stalls other connections.
async fn load(
    state: AppState,
    path: String,
    started: Instant,
) -> Result<Json<LoadResponse>, ApiError> {
    if let Some(left) = state.reloading(started) {
        // Defect twin `reload-on-config`: the workers are restarting.
        let refused = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "RELOADING",
            "the service is reloading its configuration",
        )
        .retry_after(left);
        return Err(record(&state, Op::Load, started, refused));
    }
    // Defect twin `global-lock`: every load waits for every other one.
    let _serialised = if state.defects.has(Defect::GlobalLock) {
        Some(state.global_lock.lock().await)
    } else {
        None
    };
    if state.defects.has(Defect::Leak) {
        // Defect twin `leak`: each load keeps its 64 KiB read buffer alive
        // (a request log that never drops them), written so the pages are
        // real resident memory, not a reservation.
        let leaked = vec![0xA5u8; 64 << 10].into_boxed_slice();
        state
            .leaked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(leaked);
    }
    let result = match state.loader.load_if_cached(&path, started) {
        Some(loaded) => Ok(loaded),
        None => {
            let worker = state.clone();
            let request = path.clone();
            blocking(move || worker.loader.load(&request, Instant::now())).await
        }
    };
    let Loaded { module, cached } = result.map_err(|e| record(&state, Op::Load, started, e))?;
    if state.defects.has(Defect::RejectCycles) {
        // Defect twin `reject-cycles`, on the load path: `require` refuses
        // any module whose imports reach a cycle, hit or miss alike (the
        // graph is walked through the cache, nothing counted).
        let worker = state.clone();
        let request = path.clone();
        blocking(move || {
            let options = GraphOptions {
                cycles: CycleStrategy::Error,
                externals: Vec::new(),
            };
            ModuleGraph::build(&worker.loader, &request, &options, Instant::now()).map(|_| ())
        })
        .await
        .map_err(|e| record(&state, Op::Load, started, e))?;
    }
    if cached
        && state.defects.has(Defect::SlowHits)
        && state.hit_count.fetch_add(1, Ordering::Relaxed) % 100 == 99
    {
        // Defect twin `slow-hits`: every hundredth hit is 150 ms late, and
        // late the way the upstream's was: a synchronous step on the hit
        // path stalls the thread serving it (in a single-threaded event
        // loop, everything queued behind it waits too). An async sleep
        // would delay only exactly 1 % of hits — a p99 boundary case, not
        // the bug.
        std::thread::sleep(Duration::from_millis(150));
    }
    if cached && state.defects.has(Defect::SlowCached) {
        // Defect twin `slow-cached`: a build whose cached loads are all
        // 20 ms slower, for the regression gate to catch against a
        // baseline of the sound build.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let externals = provide_externals(&state, &module)
        .await
        .map_err(|e| record(&state, Op::Load, started, e))?;
    let duration = started.elapsed();
    state
        .metrics
        .record(Op::Load, OpOutcome::Ok, duration, Instant::now());
    Ok(Json(LoadResponse {
        id: module.id.to_string(),
        path,
        exports: module.exports.clone(),
        dependencies: module.deps.clone(),
        bytes: module.code.len(),
        cached,
        degraded: externals.iter().any(|e| e.degraded),
        externals,
        duration_us: duration.as_micros() as u64,
    }))
}

/// Every external the module imports must be available (fresh, fetched,
/// or stale under stale-if-error) for the load to succeed.
async fn provide_externals(
    state: &AppState,
    module: &CachedModule,
) -> Result<Vec<ExternalUse>, ExternalError> {
    let mut names: Vec<&str> = module
        .deps
        .iter()
        .filter_map(|d| match &d.target {
            Resolved::External(name) => Some(package_name(name).unwrap_or(name)),
            Resolved::Module(_) => None,
        })
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    names.dedup();
    let settings = ExternalSettings::from(&*state.config());
    let mut used = Vec::with_capacity(names.len());
    for name in names {
        used.push(
            state
                .externals
                .provide(name, &settings, &state.metrics)
                .await?,
        );
    }
    Ok(used)
}

/// `POST /modules/compile` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompileRequest {
    entry: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CompileResponse {
    entry: String,
    modules: usize,
    bytes: usize,
    duration_us: u64,
    warnings: Vec<String>,
    errors: Vec<String>,
}

/// Compiles the entry's whole graph afresh (not from the cache): a build.
async fn compile(
    State(state): State<AppState>,
    body: Result<JsonBody<CompileRequest>, ApiError>,
) -> Result<Json<CompileResponse>, ApiError> {
    let started = Instant::now();
    let JsonBody(request) = body.map_err(|e| record(&state, Op::Compile, started, e))?;
    let options = GraphOptions {
        cycles: cycle_strategy(&state),
        externals: Vec::new(),
    };
    let worker = state.clone();
    let entry = request.entry.clone();
    let graph = blocking(move || ModuleGraph::compile(&worker.loader, &entry, &options))
        .await
        .map_err(|e| record(&state, Op::Compile, started, e))?;
    let duration = started.elapsed();
    state
        .metrics
        .record(Op::Compile, OpOutcome::Ok, duration, Instant::now());
    Ok(Json(CompileResponse {
        entry: graph.entry.to_string(),
        modules: graph.modules.len(),
        bytes: graph.code_bytes(),
        duration_us: duration.as_micros() as u64,
        warnings: graph.warnings,
        errors: Vec::new(),
    }))
}

/// `POST /modules/bundle` body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BundleRequest {
    entry: String,
    #[serde(default)]
    externals: Vec<String>,
    #[serde(default)]
    source_maps: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BundleResponse {
    entry: String,
    code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    map: Option<String>,
    modules: usize,
    bytes: usize,
    externals: Vec<String>,
    warnings: Vec<String>,
    duration_us: u64,
}

async fn bundle_entry(
    State(state): State<AppState>,
    body: Result<JsonBody<BundleRequest>, ApiError>,
) -> Result<Json<BundleResponse>, ApiError> {
    let started = Instant::now();
    let JsonBody(request) = body.map_err(|e| record(&state, Op::Bundle, started, e))?;
    let options = GraphOptions {
        cycles: cycle_strategy(&state),
        externals: request.externals.clone(),
    };
    let worker = state.clone();
    let entry = request.entry.clone();
    let built = blocking(move || {
        let graph = ModuleGraph::build(&worker.loader, &entry, &options, Instant::now())?;
        let out = bundle(
            &graph,
            &BundleOptions {
                source_map: request.source_maps,
                externals: options.externals.clone(),
                rescan_per_line: worker.defects.has(Defect::QuadraticSourceMap),
            },
        );
        Ok((graph.entry, out))
    })
    .await
    .map_err(|e| record(&state, Op::Bundle, started, e))?;
    let (entry, out) = built;
    let duration = started.elapsed();
    state
        .metrics
        .record(Op::Bundle, OpOutcome::Ok, duration, Instant::now());
    Ok(Json(BundleResponse {
        entry: entry.to_string(),
        code: out.code,
        map: out.map,
        modules: out.modules,
        bytes: out.bytes,
        externals: out.externals,
        warnings: out.warnings,
        duration_us: duration.as_micros() as u64,
    }))
}

/// Runs blocking module work off the async workers.
async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(join) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            format!("module work failed: {join}"),
        )),
    }
}

/// Counts a failed operation (its latency too) and passes the error on.
/// The configured cycle strategy, or `error` under the `reject-cycles` twin.
fn cycle_strategy(state: &AppState) -> CycleStrategy {
    if state.defects.has(Defect::RejectCycles) {
        CycleStrategy::Error
    } else {
        state.config().circular_dependency_strategy
    }
}

fn record(state: &AppState, op: Op, started: Instant, error: impl Into<ApiError>) -> ApiError {
    state
        .metrics
        .record(op, OpOutcome::Error, started.elapsed(), Instant::now());
    error.into()
}
