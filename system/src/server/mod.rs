//! The HTTP server over the module system (data plane, health and
//! metrics, management API): one
//! [`router`] builds the whole app; [`serve`] runs it with graceful
//! shutdown. Handlers are thin: they extract, call one domain method and
//! answer; failures become JSON in [`ApiError`] only.

mod api_error;
mod busy_poll;
mod cli;
mod data;
mod guard;
mod input;
mod manage;
mod observe;
mod state;
mod trace;

use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::{TcpListener, TcpSocket};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

use crate::Defect;

pub use api_error::{ApiError, ErrorCode};
pub use cli::{run_serve, ServeArgs};
pub use input::MAX_BODY_BYTES;
pub use state::{breaker_settings, AppState, InFlight, LogLevelHook, Shared};
pub use trace::init_logging;

/// How long one request may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The whole application: data plane, probes, and the guarded management
/// and metrics routes, with body limit, timeout, panic catching, request
/// tracing and JSON for every error.
///
/// ```
/// # async fn demo(state: somon_system::server::AppState) {
/// use tower::ServiceExt;
/// let app = somon_system::server::router(state);
/// let response = app
///     .oneshot(axum::http::Request::get("/live").body(axum::body::Body::empty()).unwrap())
///     .await
///     .unwrap();
/// assert_eq!(response.status(), 200);
/// # }
/// ```
pub fn router(state: AppState) -> Router {
    let guarded = manage::management_routes()
        .merge(observe::metrics_routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), guard::guard));
    Router::new()
        .merge(data::data_routes())
        .merge(observe::probe_routes())
        .merge(guarded)
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(json_errors))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            trace::trace_requests,
        ))
        .with_state(state)
}

async fn no_route(request: Request) -> ApiError {
    ApiError::no_route(request.method().as_str(), request.uri().path())
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
        "internal error (logged)",
    )
    .into_response()
}

/// Turns any error response that is not already JSON (axum's 405, a
/// framework rejection, the timeout's bare 408) into the API's JSON error.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let message = match String::from_utf8_lossy(&text).trim() {
        "" => status.canonical_reason().unwrap_or("error").to_owned(),
        text => text.to_owned(),
    };
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
        StatusCode::REQUEST_TIMEOUT => "REQUEST_TIMEOUT",
        StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
        s if s.is_client_error() => "BAD_REQUEST",
        _ => "INTERNAL",
    };
    let mut fixed = ApiError::new(status, code, message).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fixed.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fixed
}

/// Binds `addr` with a deep accept backlog: at 1000 simultaneous connects
/// the default 128 overflows and clients stall on SYN retransmits.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Shutdown timing.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Modules to load before `/ready` turns 200.
    pub warm: Vec<String>,
    /// After the shutdown signal, keep serving (with `/ready` at 503) this
    /// long so load balancers notice before the listener closes.
    pub drain_delay: Duration,
    /// Then wait at most this long for in-flight requests to finish.
    pub drain_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            warm: Vec::new(),
            drain_delay: Duration::from_secs(1),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// How a drain ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drained {
    /// Every accepted request was answered.
    Complete,
    /// The drain timeout passed with requests still running.
    TimedOut {
        /// Requests still in flight when the server gave up.
        in_flight: u64,
    },
}

/// Serves `state` on `listener` until `shutdown` resolves, then drains:
/// `/ready` answers 503 at once, the listener stays open for
/// [`ServeOptions::drain_delay`], then closes, and in-flight requests get up
/// to [`ServeOptions::drain_timeout`] to finish.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<Drained> {
    let warmer = state.clone();
    let warm = options.warm.clone();
    tokio::spawn(async move {
        let worker = warmer.clone();
        let report =
            tokio::task::spawn_blocking(move || worker.loader.warm(&warm, Instant::now())).await;
        if let Ok(report) = report {
            for (module, error) in &report.failed {
                tracing::warn!(module.name = %module, error.code = error.code(), "warm-up could not load a module: {error}");
            }
        }
        warmer.set_warmed();
    });

    // Defect twin `busy-poll`: pollers that spin until the server stops.
    let _pollers = state
        .defects
        .has(Defect::BusyPoll)
        .then(|| busy_poll::start(&state));
    let app = router(state.clone());
    if state.defects.has(Defect::DropInflightOnShutdown) {
        // Defect twin: stop at the signal, abandoning requests in flight.
        let server = axum::serve(listener, app).into_future();
        tokio::select! {
            result = server => result?,
            _ = shutdown => {
                tracing::warn!(in_flight = state.in_flight(), "defect twin drop-inflight-on-shutdown: exiting without draining");
            }
        }
        return Ok(Drained::Complete);
    }

    let (closing, mut closed) = tokio::sync::watch::channel(false);
    let draining = state.clone();
    let delay = options.drain_delay;
    let graceful = async move {
        shutdown.await;
        draining.start_draining();
        tracing::info!(
            drain.delay_ms = delay.as_millis() as u64,
            in_flight = draining.in_flight(),
            "shutdown requested: /ready now answers 503"
        );
        tokio::time::sleep(delay).await;
        tracing::info!(
            in_flight = draining.in_flight(),
            "listener closed; draining in-flight requests"
        );
        let _ = closing.send(true);
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(graceful);
    let timeout = options.drain_timeout;
    tokio::select! {
        result = server.into_future() => {
            result?;
            tracing::info!("drained: every accepted request was answered");
            Ok(Drained::Complete)
        }
        _ = async {
            let _ = closed.wait_for(|closing| *closing).await;
            tokio::time::sleep(timeout).await;
        } => {
            let in_flight = state.in_flight();
            tracing::error!(in_flight, "drain timeout: exiting with requests still in flight");
            Ok(Drained::TimedOut { in_flight })
        }
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
