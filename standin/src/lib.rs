//! A stand-in for a user's service, with one knob per threshold.
//!
//! A profile (the claims an operations document makes about *another*
//! service, run with `--target URL`) has no defect twin: the reference
//! system is not that service. To show each of its claims able to fail,
//! the mutation matrix runs it against this stand-in instead: an HTTP
//! service that answers every path `200 {"status":"healthy"}` and exports
//! gauges on `/metrics`, whose [`Knob`]s each move one quantity a claim
//! reads (answer latency, error share, a failing path, a gauge's value).
//! Turned just past a threshold the claim must FAIL; turned just inside
//! it, PASS.
//!
//! Main types: [`Knob`] (one setting, parsed from `errors=2%`), [`Knobs`]
//! (a whole setting) and [`StandIn`] (the running service).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use somon_standin::{Knobs, StandIn};
//!
//! let knobs = Knobs::parse(&["errors=2%", "metric:godel_queue_depth=1001"]).unwrap();
//! let service = StandIn::start(knobs).await?;
//! println!("profile target: {}", service.base());
//! service.stop().await;
//! # Ok(()) }
//! ```

mod knob;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

pub use knob::{Knob, KnobError, Knobs};

/// The running stand-in, on a loopback port of its own until [`StandIn::stop`]
/// (or drop).
#[derive(Debug)]
pub struct StandIn {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

/// What every answer reads: the setting, and how many answers it has given
/// (the error knob counts them).
struct Shared {
    knobs: Knobs,
    answered: AtomicU64,
}

impl StandIn {
    /// Starts the stand-in on `127.0.0.1`, on a free port.
    ///
    /// # Errors
    /// Binding the port failed.
    pub async fn start(knobs: Knobs) -> std::io::Result<StandIn> {
        StandIn::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), knobs).await
    }

    /// Starts the stand-in on `addr`, which must be a loopback address: it
    /// exists to be loaded and broken on purpose.
    ///
    /// # Errors
    /// `addr` is not loopback, or binding it failed.
    pub async fn start_on(addr: SocketAddr, knobs: Knobs) -> std::io::Result<StandIn> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the stand-in listens on loopback only, not {addr}"),
            ));
        }
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            knobs,
            answered: AtomicU64::new(0),
        });
        let app = Router::new().fallback(move |uri: Uri| answer(shared.clone(), uri));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(StandIn {
            addr,
            shutdown: Some(tx),
            task,
        })
    }

    /// `http://127.0.0.1:PORT`, the `--target` a profile runs against.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets answers in flight finish, and returns.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn answer(shared: Arc<Shared>, uri: Uri) -> Response {
    let knobs = &shared.knobs;
    let path = uri.path();
    // The scrape is the stand-in's own telemetry, not the API the latency
    // and error knobs model: slowing or failing it would take the gauge
    // claims' data away instead of moving a quantity. Only `fail=/metrics`
    // fails it, on purpose.
    if knobs.failing.iter().any(|p| p == path) {
        return (StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"unhealthy"}"#).into_response();
    }
    if path == "/metrics" {
        return metrics(&shared).into_response();
    }
    if !knobs.latency.is_zero() {
        // The latency knob is this wait: the answer is slow on purpose.
        tokio::time::sleep(knobs.latency).await;
    }
    let n = shared.answered.fetch_add(1, Ordering::Relaxed);
    if knobs.is_error(n) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"stand-in error knob"}"#,
        )
            .into_response();
    }
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        r#"{"status":"healthy"}"#,
    )
        .into_response()
}

/// The gauges in the Prometheus text format, and the answer count.
fn metrics(shared: &Shared) -> String {
    let mut text = String::new();
    for (name, value) in &shared.knobs.metrics {
        text.push_str(&format!("# TYPE {name} gauge\n{name} {value}\n"));
    }
    let answered = shared.answered.load(Ordering::Relaxed);
    text.push_str(&format!(
        "# TYPE standin_answers_total counter\nstandin_answers_total {answered}\n"
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(client: &reqwest::Client, url: String) -> (u16, String) {
        let r = client.get(url).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    #[tokio::test]
    async fn each_knob_moves_its_own_quantity_only() {
        let knobs =
            Knobs::parse(&["errors=25%", "fail=/ready", "metric:queue_depth=1001"]).unwrap();
        let service = StandIn::start(knobs).await.unwrap();
        let base = service.base();
        let client = reqwest::Client::new();
        let mut statuses = Vec::new();
        for _ in 0..8 {
            statuses.push(get(&client, format!("{base}/health")).await.0);
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 500).count(),
            2,
            "{statuses:?}"
        );
        assert_eq!(get(&client, format!("{base}/ready")).await.0, 503);
        let (status, text) = get(&client, format!("{base}/metrics")).await;
        assert_eq!(status, 200);
        assert!(text.contains("queue_depth 1001\n"), "{text}");
        assert!(text.contains("standin_answers_total 8\n"), "{text}");
        service.stop().await;
    }

    #[tokio::test]
    async fn it_listens_on_loopback_only() {
        let addr = SocketAddr::from(([0, 0, 0, 0], 0));
        let e = StandIn::start_on(addr, Knobs::default()).await.unwrap_err();
        assert!(e.to_string().contains("loopback only"), "{e}");
    }
}
