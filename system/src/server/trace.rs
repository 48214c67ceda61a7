//! Request tracing: a trace id per request (taken from `traceparent` or
//! `x-request-id`, else generated) on every log line and echoed back, and
//! the JSON log format `{timestamp, level, message, component, traceId, …}`.

use std::fmt;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Instrument, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, Layer};

use super::api_error::ErrorCode;
use super::state::LogLevelHook;
use super::AppState;
use crate::LogLevel;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps every request in a span carrying its trace id, counts it in
/// flight, echoes `x-request-id`, and logs its outcome: failures at info
/// (4xx) or error (5xx), successes only at debug — a load test at 50 k
/// requests a second must not spend its time writing logs.
pub(super) async fn trace_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let _in_flight = state.enter();
    let trace_id = trace_id(request.headers());
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let method = request.method().clone();
    let span = tracing::info_span!("request", traceId = %trace_id);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = response.status().as_u16();
    let code = response.extensions().get::<ErrorCode>().map_or("", |c| c.0);
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(http.method = %method, http.route = %route, http.status = status, error.code = code, duration_ms, "request failed");
        } else if status >= 400 {
            tracing::info!(http.method = %method, http.route = %route, http.status = status, error.code = code, duration_ms, "request rejected");
        } else {
            tracing::debug!(http.method = %method, http.route = %route, http.status = status, duration_ms, "request served");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    response
}

/// The W3C trace id of `traceparent`, else a sane `x-request-id`, else a
/// fresh random id.
fn trace_id(headers: &HeaderMap) -> String {
    let parent = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split('-').nth(1))
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()));
    if let Some(id) = parent {
        return id.to_ascii_lowercase();
    }
    let given = headers
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()));
    match given {
        Some(id) => id.to_owned(),
        None => format!("{:032x}", rand::random::<u128>()),
    }
}

fn filter(level: LogLevel) -> Targets {
    let ours = match level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    };
    // Library chatter (hyper, tower) only when it is a warning.
    Targets::new()
        .with_default(LevelFilter::WARN.min(ours))
        .with_target("somon_system", ours)
        .with_target("somon_verify", ours)
}

/// Installs the process-wide JSON logger on standard output at `level` and
/// returns the hook that changes the level at run time (`logLevel` in
/// `POST /config`). Call once, from a binary.
pub fn init_logging(level: LogLevel) -> LogLevelHook {
    let (filter, handle) = reload::Layer::new(filter(level));
    let format = tracing_subscriber::fmt::layer()
        .fmt_fields(JsonFields::new())
        .event_format(FlatJson)
        .with_writer(std::io::stdout)
        .with_filter(filter);
    let _ = tracing_subscriber::registry().with(format).try_init();
    Box::new(move |level| {
        let _ = handle.modify(|f| *f = self::filter(level));
    })
}

/// One flat JSON object per event: span fields (the trace id) merged in,
/// so `jq .traceId` works on every line.
struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Map::new();
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        line.insert("timestamp".into(), Value::from(timestamp));
        line.insert(
            "level".into(),
            Value::from(level_name(*event.metadata().level())),
        );
        let target = event.metadata().target();
        let component = target.strip_prefix("somon_system::").unwrap_or(target);
        line.insert("component".into(), Value::from(component));
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(fields) {
                    line.extend(fields);
                }
            }
        }
        event.record(&mut Fields(&mut line));
        writeln!(writer, "{}", Value::Object(line))
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_come_from_traceparent_then_request_id_then_random() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "traceparent",
            HeaderValue::from_static("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
        );
        headers.insert("x-request-id", HeaderValue::from_static("abc-123"));
        assert_eq!(trace_id(&headers), "4bf92f3577b34da6a3ce929d0e0e4736");
        headers.remove("traceparent");
        assert_eq!(trace_id(&headers), "abc-123");
        headers.insert("x-request-id", HeaderValue::from_static(""));
        let generated = trace_id(&headers);
        assert_eq!(generated.len(), 32);
        assert_ne!(generated, trace_id(&headers));
    }
}
