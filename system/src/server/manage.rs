//! The management API, at the paths the runbooks use: `/config`,
//! `/cache/*`, `/circuit-breakers/*`, `/metrics/export`.

use std::time::{Duration, Instant};

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::api_error::ApiError;
use super::input::{query_param, JsonBody};
use super::AppState;
use crate::{CacheStats, Config, Defect};

/// The management routes (guarded by auth and lockdown in [`super::router`]).
pub(super) fn management_routes() -> Router<AppState> {
    Router::new()
        .route("/config", get(get_config).post(post_config))
        .route("/cache/clear", post(cache_clear))
        .route("/cache/warm", post(cache_warm))
        .route("/cache/stats", get(cache_stats))
        .route("/cache/cleanup", post(cache_cleanup))
        .route("/circuit-breakers/status", get(breakers_status))
        .route("/circuit-breakers/reset", post(breakers_reset_all))
        .route("/circuit-breakers/reset/{name}", post(breaker_reset))
        .route(
            "/circuit-breakers/force-open/{name}",
            post(breaker_force_open),
        )
        .route("/metrics/export", get(metrics_export))
}

async fn get_config(State(state): State<AppState>) -> Json<Config> {
    Json(Config::clone(&state.config()))
}

#[derive(Serialize)]
struct ConfigApplied {
    changed: Vec<&'static str>,
    config: Config,
}

/// A partial patch validated as a whole: all of it applies or none of it.
async fn post_config(
    State(state): State<AppState>,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Json<ConfigApplied>, ApiError> {
    let (config, changed) = state
        .patch_config(&patch)
        .map_err(ApiError::invalid_config)?;
    tracing::info!(config.changed = ?changed, "configuration changed");
    Ok(Json(ConfigApplied {
        changed,
        config: Config::clone(&config),
    }))
}

async fn cache_clear(State(state): State<AppState>) -> Json<Value> {
    let cache = state.loader.cache();
    let cleared = if state.defects.has(Defect::ClearIgnored) {
        // Defect::ClearIgnored: counted as cleared, kept.
        cache.stats().size
    } else {
        cache.clear()
    };
    tracing::info!(cache.cleared = cleared, "cache cleared");
    Json(json!({ "cleared": cleared }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WarmRequest {
    modules: Vec<String>,
}

/// Loads each listed module (uncounted). Modules that fail are reported,
/// not fatal: warming is best effort.
async fn cache_warm(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<WarmRequest>,
) -> Result<Json<Value>, ApiError> {
    let worker = state.clone();
    let report =
        tokio::task::spawn_blocking(move || worker.loader.warm(&request.modules, Instant::now()))
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL",
                    format!("warming failed: {e}"),
                )
            })?;
    let failed: Vec<Value> = report
        .failed
        .iter()
        .map(|(module, error)| {
            json!({ "module": module, "error": { "code": error.code(), "message": error.to_string() } })
        })
        .collect();
    Ok(Json(json!({
        "warmed": report.loaded,
        "failed": failed,
        "size": state.loader.cache().len(),
    })))
}

async fn cache_stats(State(state): State<AppState>) -> Json<CacheStats> {
    Json(state.loader.cache().stats())
}

/// Drops entries whose files changed or vanished; with `?idleMs=N` also
/// those unused for longer than N ms.
async fn cache_cleanup(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let idle = match query_param(query.as_deref(), "idleMs")? {
        Some(ms) => Some(Duration::from_millis(ms.parse().map_err(|_| {
            ApiError::bad_request("idleMs must be a whole number of milliseconds")
        })?)),
        None => None,
    };
    let worker = state.clone();
    let removed =
        tokio::task::spawn_blocking(move || worker.loader.cache().cleanup(Instant::now(), idle))
            .await
            .unwrap_or(0);
    Ok(Json(
        json!({ "removed": removed, "size": state.loader.cache().len() }),
    ))
}

async fn breakers_status(State(state): State<AppState>) -> Json<Value> {
    let statuses = state.externals.breakers.statuses(Instant::now());
    let open = statuses
        .iter()
        .filter(|s| s.state == crate::BreakerState::Open)
        .count();
    let breakers: serde_json::Map<String, Value> = statuses
        .into_iter()
        .map(|s| (s.name.clone(), json!(s)))
        .collect();
    Json(json!({
        "total": breakers.len(),
        "open": open,
        "trips": state.externals.breakers.total_trips(),
        "breakers": breakers,
    }))
}

async fn breakers_reset_all(State(state): State<AppState>) -> Json<Value> {
    let reset = state.externals.breakers.reset_all(Instant::now());
    tracing::info!(breaker.count = reset, "circuit breakers reset");
    Json(json!({ "reset": reset }))
}

async fn breaker_reset(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let breakers = &state.externals.breakers;
    let now = Instant::now();
    let known = if state.defects.has(Defect::ResetIgnored) {
        // Defect::ResetIgnored: acknowledged, not done.
        breakers.statuses(now).iter().any(|b| b.name == name)
    } else {
        breakers.reset(&name, now)
    };
    if !known {
        return Err(unknown_breaker(&state, &name));
    }
    tracing::info!(breaker.name = %name, "circuit breaker reset");
    Ok(Json(json!({ "reset": name })))
}

async fn breaker_force_open(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !state.externals.breakers.force_open(&name, Instant::now()) {
        return Err(unknown_breaker(&state, &name));
    }
    tracing::warn!(breaker.name = %name, "circuit breaker forced open");
    Ok(Json(json!({ "forcedOpen": name })))
}

fn unknown_breaker(state: &AppState, name: &str) -> ApiError {
    let known: Vec<String> = state
        .externals
        .breakers
        .statuses(Instant::now())
        .into_iter()
        .map(|s| s.name)
        .collect();
    ApiError::new(
        StatusCode::NOT_FOUND,
        "BREAKER_NOT_FOUND",
        format!("no circuit breaker named \"{name}\" (breakers exist for configured externals)"),
    )
    .with("known", json!(known))
}

/// Everything needed to analyse the run offline, HDR histograms included.
async fn metrics_export(State(state): State<AppState>) -> Json<Value> {
    let now = Instant::now();
    Json(json!({
        "timestamp": state.unix_ms(now),
        "uptime": state.metrics.uptime(now).as_secs_f64(),
        "metrics": state.metrics.export(now),
        "cache": state.loader.cache().stats(),
        "circuitBreakers": state.externals.breakers.statuses(now),
        "config": Config::clone(&state.config()),
    }))
}
