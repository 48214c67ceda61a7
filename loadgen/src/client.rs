//! The open model's keep-alive, pooled HTTP/1.1 client (hyper) and the
//! classification of its failures into [`Outcome`]s.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;

use crate::request::{Method, Request};
use crate::{Error, Outcome};

/// A cheap-to-share pool of HTTP/1.1 keep-alive connections to one
/// address. A request takes an idle connection or opens a new one, and
/// puts it back when the response is read; so there are as many
/// connections as requests were ever in flight at once.
///
/// Hyper's own pooled client (`hyper-util` legacy) costs about twice as
/// much per request here; a plain `Vec` under a short lock is enough for
/// one host.
#[derive(Debug)]
pub(crate) struct HttpClient {
    addr: SocketAddr,
    host: HeaderValue,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
    timeout: Duration,
}

impl HttpClient {
    pub(crate) fn new(base_url: &str, timeout: Duration) -> Result<HttpClient, Error> {
        let bad = |reason: String| Error::InvalidSetting {
            setting: "base_url",
            reason,
        };
        let authority = base_url
            .strip_prefix("http://")
            .ok_or_else(|| bad(format!("`{base_url}` is not an http:// URL (no TLS)")))?
            .trim_end_matches('/');
        if authority.contains('/') {
            return Err(bad(format!(
                "`{base_url}` has a path; give only scheme://host:port"
            )));
        }
        let with_port = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| bad(format!("cannot resolve `{authority}`: {e}")))?
            .next()
            .ok_or_else(|| bad(format!("`{authority}` resolves to no address")))?;
        let host = HeaderValue::from_str(authority).map_err(|e| bad(e.to_string()))?;
        Ok(HttpClient {
            addr,
            host,
            idle: Mutex::new(Vec::new()),
            timeout,
        })
    }

    fn take_idle(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(sender) = idle.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Outcome> {
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|_| Outcome::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| classify(&e))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// Sends `request`, reads the whole body, and says how it ended.
    pub(crate) async fn send(&self, request: &Request) -> Outcome {
        let mut builder = hyper::Request::builder()
            .uri(request.path.as_str())
            .header(HOST, self.host.clone());
        builder = match request.method {
            Method::Get => builder.method(hyper::Method::GET),
            Method::Post => builder
                .method(hyper::Method::POST)
                .header(CONTENT_TYPE, "application/json"),
        };
        let body = Full::new(request.body.clone().unwrap_or_default());
        let Ok(http_request) = builder.body(body) else {
            return Outcome::Other;
        };
        let exchange = async {
            let mut sender = match self.take_idle() {
                Some(sender) => sender,
                None => self.connect().await?,
            };
            sender.ready().await.map_err(|e| classify(&e))?;
            let response = sender
                .send_request(http_request)
                .await
                .map_err(|e| classify(&e))?;
            let status = response.status().as_u16();
            response
                .into_body()
                .collect()
                .await
                .map_err(|e| classify(&e))?;
            Ok::<_, Outcome>((Outcome::from_status(status), sender))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok((outcome, sender))) => {
                if !sender.is_closed() {
                    self.idle
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(sender);
                }
                outcome
            }
            Ok(Err(outcome)) => outcome,
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
