//! The open model's keep-alive HTTP/1.1 client (one connection per worker, `httparse`) and the
//! classification of its failures into [`RequestOutcome`]s.

use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Sleep;

use crate::base_url::BaseUrl;
use crate::request::Request;
use crate::{Error, RequestOutcome};

/// What the open model's connection workers share: the target's address,
/// `Host` header and per-request timeout. Each worker owns one keep-alive
/// connection ([`Conn`]) and speaks plain HTTP/1.1 on it directly (request
/// written in one `write`, response head parsed with `httparse`, body
/// framed by `Content-Length`, chunked encoding or close): no connection
/// task, no channels, no pool lock. See the README for what this bought
/// over hyper's client with a task per request.
#[derive(Debug)]
pub(crate) struct HttpClient {
    addr: SocketAddr,
    host: String,
    /// The base URL's path, written before every request's.
    prefix: String,
    timeout: Duration,
}

/// One HTTP/1.1 keep-alive connection with its buffers, owned by one
/// worker.
pub(crate) struct Conn {
    stream: TcpStream,
    /// Bytes read and not yet consumed.
    input: Vec<u8>,
    /// The request being written.
    output: Vec<u8>,
}

/// Most bytes of a response head.
const MAX_HEAD: usize = 64 * 1024;

/// How a response body is delimited.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

impl Conn {
    /// Whether an idle connection is still usable: not closed by the peer
    /// and with no unexpected bytes waiting (checked without waiting).
    async fn usable(&self) -> bool {
        let stream = &self.stream;
        let readable =
            std::future::poll_fn(|cx| Poll::Ready(stream.poll_read_ready(cx).is_ready())).await;
        if !readable {
            return true;
        }
        let mut probe = [0u8; 1];
        matches!(stream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }

    /// Reads more bytes into `input`; an end of stream is an error.
    async fn fill(&mut self) -> Result<(), RequestOutcome> {
        if self.input.capacity() - self.input.len() < 4096 {
            self.input.reserve(8192);
        }
        let n = self
            .stream
            .read_buf(&mut self.input)
            .await
            .map_err(|e| classify(&e))?;
        if n == 0 {
            return Err(RequestOutcome::Reset);
        }
        Ok(())
    }

    /// Reads one response; returns its outcome and whether the connection
    /// may be reused.
    async fn read_response(&mut self) -> Result<(RequestOutcome, bool), RequestOutcome> {
        loop {
            let (status, head, framing, close) = loop {
                let mut headers = [httparse::EMPTY_HEADER; 32];
                let mut response = httparse::Response::new(&mut headers);
                match response.parse(&self.input) {
                    Ok(httparse::Status::Complete(head)) => {
                        let status = response.code.unwrap_or(0);
                        let mut framing = Framing::UntilClose;
                        let mut close = response.version == Some(0);
                        for h in response.headers.iter() {
                            if h.name.eq_ignore_ascii_case("content-length") {
                                let n = std::str::from_utf8(h.value)
                                    .ok()
                                    .and_then(|v| v.trim().parse().ok())
                                    .ok_or(RequestOutcome::Other)?;
                                if !matches!(framing, Framing::Chunked) {
                                    framing = Framing::Length(n);
                                }
                            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                                if h.value.eq_ignore_ascii_case(b"chunked") {
                                    framing = Framing::Chunked;
                                }
                            } else if h.name.eq_ignore_ascii_case("connection") {
                                if h.value.eq_ignore_ascii_case(b"close") {
                                    close = true;
                                } else if h.value.eq_ignore_ascii_case(b"keep-alive") {
                                    close = false;
                                }
                            }
                        }
                        if (100..200).contains(&status) || status == 204 || status == 304 {
                            framing = Framing::Length(0);
                        }
                        break (status, head, framing, close);
                    }
                    Ok(httparse::Status::Partial) => {
                        if self.input.len() > MAX_HEAD {
                            return Err(RequestOutcome::Other);
                        }
                        self.fill().await?;
                    }
                    Err(_) => return Err(RequestOutcome::Other),
                }
            };
            self.input.drain(..head);
            let keep = match framing {
                Framing::Length(n) => {
                    while self.input.len() < n {
                        self.fill().await?;
                    }
                    self.input.drain(..n);
                    !close
                }
                Framing::Chunked => {
                    self.skip_chunked().await?;
                    !close
                }
                Framing::UntilClose => {
                    loop {
                        self.input.clear();
                        match self.fill().await {
                            Ok(()) => {}
                            Err(RequestOutcome::Reset) => break,
                            Err(other) => return Err(other),
                        }
                    }
                    false
                }
            };
            // An interim (1xx) response: the final one follows.
            if (100..200).contains(&status) && status != 101 {
                continue;
            }
            return Ok((RequestOutcome::from_status(status), keep));
        }
    }

    /// Consumes a chunked body and its trailers.
    async fn skip_chunked(&mut self) -> Result<(), RequestOutcome> {
        loop {
            let size = loop {
                match httparse::parse_chunk_size(&self.input) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.input.drain(..used);
                        break usize::try_from(size).map_err(|_| RequestOutcome::Other)?;
                    }
                    Ok(httparse::Status::Partial) => self.fill().await?,
                    Err(_) => return Err(RequestOutcome::Other),
                }
            };
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    if let Some(end) = self.input.windows(2).position(|w| w == b"\r\n") {
                        self.input.drain(..end + 2);
                        if end == 0 {
                            return Ok(());
                        }
                    } else {
                        self.fill().await?;
                    }
                }
            }
            while self.input.len() < size + 2 {
                self.fill().await?;
            }
            self.input.drain(..size + 2);
        }
    }
}

impl HttpClient {
    pub(crate) fn new(base_url: &str, timeout: Duration) -> Result<HttpClient, Error> {
        let bad = |reason: String| Error::InvalidSetting {
            setting: "base_url",
            reason,
        };
        let base = BaseUrl::parse(base_url).map_err(bad)?;
        let authority = base.authority();
        let with_port = if authority.ends_with(']') || !authority.contains(':') {
            format!("{authority}:80")
        } else {
            authority.to_owned()
        };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| bad(format!("cannot resolve `{authority}`: {e}")))?
            .next()
            .ok_or_else(|| bad(format!("`{authority}` resolves to no address")))?;
        Ok(HttpClient {
            addr,
            host: authority.to_owned(),
            prefix: base.prefix().to_owned(),
            timeout,
        })
    }

    async fn connect(&self) -> Result<Conn, RequestOutcome> {
        let stream = TcpStream::connect(self.addr)
            .await
            .map_err(|_| RequestOutcome::Connect)?;
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            input: Vec::with_capacity(8192),
            output: Vec::with_capacity(256),
        })
    }

    /// Sends `request` on the worker's connection in `slot` (opening one
    /// when there is none), reads the whole response, and says how it
    /// ended. The connection is kept only after a complete exchange that
    /// leaves it open. `timer` is the worker's one timeout timer, re-armed
    /// here: the timeout counts from the send (connect included).
    pub(crate) async fn send(
        &self,
        slot: &mut Option<Conn>,
        timer: Pin<&mut Sleep>,
        request: &Request,
    ) -> RequestOutcome {
        if !request.is_well_formed() {
            return RequestOutcome::Other;
        }
        let mut timer = timer;
        timer
            .as_mut()
            .reset(tokio::time::Instant::now() + request.timeout.unwrap_or(self.timeout));
        let exchange = async {
            let mut conn = match slot.take() {
                Some(conn) if conn.usable().await => conn,
                _ => self.connect().await?,
            };
            write_request(&mut conn.output, &self.host, &self.prefix, request);
            conn.stream
                .write_all(&conn.output)
                .await
                .map_err(|e| classify(&e))?;
            let (outcome, keep) = conn.read_response().await?;
            Ok::<_, RequestOutcome>((outcome, keep.then_some(conn)))
        };
        let result = tokio::select! {
            biased;
            r = exchange => r,
            () = timer => Err(RequestOutcome::Timeout),
        };
        match result {
            Ok((outcome, conn)) => {
                *slot = conn;
                outcome
            }
            Err(outcome) => outcome,
        }
    }
}

/// Writes `request` as HTTP/1.1 into `out`: the request line (its path
/// under `prefix`), `host` (unless the request gives its own), its
/// headers, then the body framed by `content-length`.
fn write_request(out: &mut Vec<u8>, host: &str, prefix: &str, request: &Request) {
    out.clear();
    out.extend_from_slice(request.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(request.path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if request.header("host").is_none() {
        out.extend_from_slice(b"host: ");
        out.extend_from_slice(host.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in request.headers.iter() {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match &request.body {
        Some(body) => {
            if request.header("content-type").is_none() {
                out.extend_from_slice(b"content-type: application/json\r\n");
            }
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(body.len().to_string().as_bytes());
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(body);
        }
        None if request.says_empty_body() => out.extend_from_slice(b"content-length: 0\r\n\r\n"),
        None => out.extend_from_slice(b"\r\n"),
    }
}

/// Resets show up as an `io::Error` somewhere in the chain, or as hyper's
/// "incomplete message" / "canceled" when the peer closed mid-exchange.
pub(crate) fn classify(error: &(dyn std::error::Error + 'static)) -> RequestOutcome {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            return match io.kind() {
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                    RequestOutcome::Reset
                }
                ConnectionRefused | NotConnected | AddrNotAvailable => RequestOutcome::Connect,
                TimedOut => RequestOutcome::Timeout,
                _ => RequestOutcome::Other,
            };
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
                return RequestOutcome::Reset;
            }
        }
        current = e.source();
    }
    RequestOutcome::Other
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::task::JoinHandle;

    /// A one-connection server answering each request (up to its blank
    /// line, plus `body` bytes for a POST) with the next canned response;
    /// yields all it received.
    async fn serve(responses: Vec<&'static [u8]>, body: usize) -> (String, JoinHandle<Vec<u8>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            for response in responses {
                let start = seen.len();
                let mut buf = [0u8; 1024];
                loop {
                    let text = &seen[start..];
                    if let Some(end) = text.windows(4).position(|w| w == b"\r\n\r\n") {
                        if !text.starts_with(b"POST") || text.len() >= end + 4 + body {
                            break;
                        }
                    }
                    let n = s.read(&mut buf).await.unwrap();
                    assert!(n > 0, "client closed early");
                    seen.extend_from_slice(&buf[..n]);
                }
                s.write_all(response).await.unwrap();
            }
            seen
        });
        (base, server)
    }

    #[tokio::test]
    async fn frames_length_chunked_and_close_on_one_connection() {
        let (base, server) = serve(
            vec![
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\ntrailer: 1\r\n\r\n",
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil close",
            ],
            7,
        )
        .await;
        let client = HttpClient::new(&base, Duration::from_secs(5)).unwrap();
        let mut slot = None;
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        let get = Request::get("t", "/a?b=1");
        let post = Request {
            method: crate::Method::POST,
            body: Some(bytes::Bytes::from_static(b"{\"a\":1}")),
            ..Request::get("t", "/p")
        };
        assert_eq!(
            client.send(&mut slot, timer.as_mut(), &get).await,
            RequestOutcome::Ok
        );
        assert!(slot.is_some(), "kept alive");
        assert_eq!(
            client.send(&mut slot, timer.as_mut(), &post).await,
            RequestOutcome::Status5xx
        );
        assert_eq!(
            client.send(&mut slot, timer.as_mut(), &get).await,
            RequestOutcome::Status4xx
        );
        assert!(slot.is_some(), "still the same connection");
        // The last response ends at the close, and the connection is gone.
        let last = tokio::spawn(async move {
            let mut slot = slot;
            let timer = tokio::time::sleep(Duration::ZERO);
            tokio::pin!(timer);
            let outcome = client.send(&mut slot, timer.as_mut(), &get).await;
            (outcome, slot.is_none())
        });
        let seen = String::from_utf8(server.await.unwrap()).unwrap();
        assert_eq!(last.await.unwrap(), (RequestOutcome::Ok, true));
        assert!(seen.starts_with("GET /a?b=1 HTTP/1.1\r\nhost: 127.0.0.1:"));
        assert!(seen.contains("POST /p HTTP/1.1\r\nhost: 127.0.0.1:"));
        assert!(
            seen.contains("content-type: application/json\r\ncontent-length: 7\r\n\r\n{\"a\":1}")
        );
        assert_eq!(seen.matches("GET /a?b=1").count(), 3);
    }

    #[test]
    fn writes_any_method_with_its_headers_and_body() {
        let mut out = Vec::new();
        let put = Request {
            method: crate::Method::PUT,
            headers: std::sync::Arc::from([
                ("Authorization".to_owned(), "Bearer abc".to_owned()),
                ("content-type".to_owned(), "text/csv".to_owned()),
            ]),
            body: Some(bytes::Bytes::from_static(b"a,b")),
            ..Request::get("t", "/items/7?x=1")
        };
        write_request(&mut out, "h:1", "/api", &put);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "PUT /api/items/7?x=1 HTTP/1.1\r\nhost: h:1\r\nAuthorization: Bearer abc\r\n\
             content-type: text/csv\r\ncontent-length: 3\r\n\r\na,b"
        );
        let delete = Request {
            method: crate::Method::DELETE,
            headers: std::sync::Arc::from([("Host".to_owned(), "api.test".to_owned())]),
            ..Request::get("t", "/items/7")
        };
        write_request(&mut out, "h:1", "", &delete);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "DELETE /items/7 HTTP/1.1\r\nHost: api.test\r\n\r\n"
        );
        let empty_post = Request {
            method: crate::Method::POST,
            ..Request::get("t", "/login")
        };
        write_request(&mut out, "h:1", "", &empty_post);
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with("host: h:1\r\ncontent-length: 0\r\n\r\n"));
    }

    /// A server that takes one connection and answers nothing for 5 s.
    async fn silent() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(s);
        });
        base
    }

    #[tokio::test]
    async fn a_request_timeout_overrides_the_clients() {
        let base = silent().await;
        let client = HttpClient::new(&base, Duration::from_secs(30)).unwrap();
        let mut slot = None;
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        let request = Request {
            timeout: Some(Duration::from_millis(100)),
            ..Request::get("t", "/")
        };
        let sent = std::time::Instant::now();
        let outcome = client.send(&mut slot, timer.as_mut(), &request).await;
        assert_eq!(outcome, RequestOutcome::Timeout);
        assert!(
            sent.elapsed() < Duration::from_secs(5),
            "the request's 100 ms, not the client's 30 s"
        );
    }

    #[tokio::test]
    async fn times_out_and_drops_the_connection() {
        let base = silent().await;
        let client = HttpClient::new(&base, Duration::from_millis(100)).unwrap();
        let mut slot = None;
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        let outcome = client
            .send(&mut slot, timer.as_mut(), &Request::get("t", "/"))
            .await;
        assert_eq!(outcome, RequestOutcome::Timeout);
        assert!(slot.is_none());
    }
}
