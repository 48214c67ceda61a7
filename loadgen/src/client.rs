//! The open model's keep-alive, pooled HTTP/1.1 client (hyper) and the
//! classification of its failures into [`Outcome`]s.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::request::{Method, Request};
use crate::{Error, Outcome};

/// A cheap-to-clone pooled client bound to one base URL.
#[derive(Clone, Debug)]
pub(crate) struct HttpClient {
    base: std::sync::Arc<str>,
    inner: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    pub(crate) fn new(base_url: &str, timeout: Duration) -> Result<HttpClient, Error> {
        let base: std::sync::Arc<str> = base_url.trim_end_matches('/').into();
        if !base.starts_with("http://") {
            return Err(Error::InvalidSetting {
                setting: "base_url",
                reason: format!("`{base_url}` is not an http:// URL (TLS is not supported)"),
            });
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(usize::MAX)
            .build(connector);
        Ok(HttpClient {
            base,
            inner,
            timeout,
        })
    }

    /// Sends `request`, reads the whole body, and says how it ended.
    pub(crate) async fn send(&self, request: &Request) -> Outcome {
        let uri = format!("{}{}", self.base, request.path);
        let mut builder = hyper::Request::builder().uri(uri);
        builder = match request.method {
            Method::Get => builder.method(hyper::Method::GET),
            Method::Post => builder
                .method(hyper::Method::POST)
                .header(hyper::header::CONTENT_TYPE, "application/json"),
        };
        let body = Full::new(request.body.clone().unwrap_or_default());
        let Ok(http_request) = builder.body(body) else {
            return Outcome::Other;
        };
        let exchange = async {
            let response = self.inner.request(http_request).await.map_err(|e| {
                if e.is_connect() {
                    Outcome::Connect
                } else {
                    classify(&e)
                }
            })?;
            let status = response.status().as_u16();
            response
                .into_body()
                .collect()
                .await
                .map_err(|e| classify(&e))?;
            Ok::<_, Outcome>(Outcome::from_status(status))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(outcome) | Err(outcome)) => outcome,
            Err(_) => Outcome::Timeout,
        }
    }
}

/// Resets show up as an `io::Error` somewhere in the chain, or as hyper's
/// "incomplete message" / "canceled" when the peer closed mid-exchange.
pub(crate) fn classify(error: &(dyn std::error::Error + 'static)) -> Outcome {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            return match io.kind() {
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => Outcome::Reset,
                ConnectionRefused | NotConnected | AddrNotAvailable => Outcome::Connect,
                TimedOut => Outcome::Timeout,
                _ => Outcome::Other,
            };
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
                return Outcome::Reset;
            }
        }
        current = e.source();
    }
    Outcome::Other
}
