//! Observability: `/metrics` (JSON or Prometheus text), `/health`,
//! `/health/details`, `/ready`, `/live`.

use std::time::Instant;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use crate::{evaluate, Defect, HealthReport, HealthStatus, HealthThresholds, MetricsReport, Op};

/// Prometheus text exposition format.
const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Probes that stay open whatever the auth and lockdown settings.
pub(super) fn probe_routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/live", get(live))
}

/// Metrics and detailed health: guarded like the management API.
pub(super) fn metrics_routes() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/metrics/prometheus", get(prometheus))
        .route("/health/details", get(health_details))
}

/// Everything `/metrics` shows, gathered at one instant.
pub(super) fn report(state: &AppState, now: Instant) -> MetricsReport {
    MetricsReport::build(
        &state.metrics,
        &state.loader.cache().stats(),
        state.externals.breakers.statuses(now),
        state.externals.breakers.total_trips(),
        // The budget is read per call so a `POST /config` shows at once.
        state.system.sample(now, state.config().memory_limit),
        now,
    )
}

fn health_of(state: &AppState, now: Instant) -> (MetricsReport, HealthReport) {
    let report = report(state, now);
    let mut health = evaluate(&report, &HealthThresholds::default(), state.unix_ms(now));
    if state.defects.has(Defect::StaticHealth) {
        // Defect::StaticHealth: the checks run and are shown; the verdict
        // is not theirs.
        health.status = HealthStatus::Healthy;
    }
    (report, health)
}

/// JSON by default (the runbook pipes it to jq); Prometheus text when the
/// client asks for `text/plain` and not JSON, as a Prometheus scraper does.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let wants_text = (accept.contains("text/plain") || accept.contains("openmetrics"))
        && !accept.contains("application/json");
    if wants_text {
        prometheus(State(state)).await
    } else {
        Json(report(&state, Instant::now())).into_response()
    }
}

async fn prometheus(State(state): State<AppState>) -> Response {
    let now = Instant::now();
    let (report, health) = health_of(&state, now);
    let mut text = report.prometheus(&state.metrics.histogram(Op::Load));
    // The runbook's "status unhealthy" alert needs the health verdict as a
    // series; it is the server's judgement, so it is added here.
    let status = match health.status {
        HealthStatus::Healthy => 0,
        HealthStatus::Degraded => 1,
        HealthStatus::Unhealthy => 2,
    };
    text.push_str(
        "# HELP somon_health_status Overall health: 0 healthy, 1 degraded, 2 unhealthy.\n\
         # TYPE somon_health_status gauge\n",
    );
    text.push_str(&format!("somon_health_status {status}\n"));
    text.push_str(
        "# HELP somon_ready Whether /ready answers 200 (1) or 503 (0).\n\
         # TYPE somon_ready gauge\n",
    );
    text.push_str(&format!("somon_ready {}\n", u8::from(state.is_ready())));
    ([(header::CONTENT_TYPE, PROMETHEUS)], text).into_response()
}

async fn health(State(state): State<AppState>) -> Response {
    let (_, health) = health_of(&state, Instant::now());
    let status = StatusCode::from_u16(health.http_status()).unwrap_or(StatusCode::OK);
    (status, Json(health)).into_response()
}

async fn health_details(State(state): State<AppState>) -> Response {
    let now = Instant::now();
    let (report, health) = health_of(&state, now);
    let status = StatusCode::from_u16(health.http_status()).unwrap_or(StatusCode::OK);
    let config = state.config();
    let body = json!({
        "status": health.status,
        "uptime": health.uptime,
        "version": health.version,
        "timestamp": health.timestamp,
        "checks": health.checks,
        "defects": state.defects,
        "ready": state.is_ready(),
        "draining": state.is_draining(),
        "inFlight": state.in_flight(),
        "moduleRoot": state.loader.resolver().root(),
        "cache": state.loader.cache().stats(),
        "circuitBreakers": report.circuit_breakers,
        "systemMetrics": report.system_metrics,
        "load": {
            "total": report.total_loads,
            "errors": report.load_errors,
            "errorRate": report.error_rate,
            "recentErrorRate": report.recent_error_rate,
            "latency": report.load_latency,
        },
        "config": {
            "externals": config.externals,
            "externalRegistry": config.external_registry,
            "requireAuth": config.require_auth,
            "managementApiEnabled": config.management_api_enabled,
        },
    });
    (status, Json(body)).into_response()
}

/// 200 once warm-up is done; 503 before that and while draining, so load
/// balancers stop sending traffic before the listener closes.
async fn ready(State(state): State<AppState>) -> Response {
    let ready = state.is_ready();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let reason = if state.is_draining() {
        "draining"
    } else if ready {
        "ready"
    } else {
        "warming up"
    };
    (status, Json(json!({ "ready": ready, "status": reason }))).into_response()
}

async fn live() -> Json<serde_json::Value> {
    Json(json!({ "live": true }))
}
