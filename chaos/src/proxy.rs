//! A TCP fault proxy for what HTTP mocks cannot do: resets, refusals,
//! blackholes, bandwidth limits, truncation and slow closes.
//!
//! A fault applies to connections accepted while it is set; connections
//! already open keep the behaviour they started with.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::error::Result;
use crate::registry::deep_listener;

/// A connection-level fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ProxyFault {
    /// Accept, wait for the first request bytes (at most 1 s), then close
    /// with `SO_LINGER 0`: the client gets a real RST ("connection reset").
    Reset,
    /// Stop listening but keep the port bound: connects get ECONNREFUSED.
    Refused,
    /// Accept and never forward or answer; the client times out.
    Blackhole,
    /// Token bucket of `bytes_per_sec` in each direction.
    Bandwidth {
        /// Rate in bytes per second (each direction).
        bytes_per_sec: u64,
    },
    /// Forward only the first `after_bytes` of the response, then close.
    Truncate {
        /// Response bytes let through.
        after_bytes: u64,
    },
    /// After the upstream closes, wait `delay` before closing the client.
    SlowClose {
        /// Extra delay before the close reaches the client.
        delay: Duration,
    },
}

/// Run-time switch and counters of a [`FaultProxy`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ProxyControl {
    fault: Arc<watch::Sender<Option<ProxyFault>>>,
    accepted: Arc<AtomicU64>,
}

impl ProxyControl {
    /// Sets the fault for new connections (replacing any other).
    pub fn set(&self, fault: ProxyFault) {
        tracing::info!(fault.kind = "proxy", fault.state = ?fault, "proxy fault set");
        self.fault.send_replace(Some(fault));
    }

    /// Back to pass-through.
    pub fn clear(&self) {
        tracing::info!(fault.kind = "proxy", "proxy fault cleared");
        self.fault.send_replace(None);
    }

    /// The active fault, if any.
    pub fn fault(&self) -> Option<ProxyFault> {
        *self.fault.borrow()
    }

    /// Connections accepted since start.
    pub fn connections(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

/// A TCP proxy on `127.0.0.1:0` in front of one upstream address.
///
/// Dropping it closes the listener and every proxied connection.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    control: ProxyControl,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts proxying to `upstream`.
    ///
    /// Fails with [`crate::Error::Bind`] when the listener cannot be bound.
    pub async fn start(upstream: SocketAddr) -> Result<Self> {
        let std_listener = deep_listener(SocketAddr::from(([127, 0, 0, 1], 0)), "proxy")?;
        let addr = std_listener
            .local_addr()
            .map_err(|source| crate::Error::Bind {
                what: "proxy",
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                source,
            })?;
        let listener =
            TcpListener::from_std(std_listener).map_err(|source| crate::Error::Bind {
                what: "proxy",
                addr,
                source,
            })?;
        let (tx, rx) = watch::channel(None);
        let control = ProxyControl {
            fault: Arc::new(tx),
            accepted: Arc::new(AtomicU64::new(0)),
        };
        let task = tokio::spawn(accept_loop(
            listener,
            addr,
            upstream,
            rx,
            control.accepted.clone(),
        ));
        tracing::info!(proxy.addr = %addr, proxy.upstream = %upstream, "fault proxy started");
        Ok(FaultProxy {
            addr,
            control,
            task,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The fault switch and counters.
    pub fn control(&self) -> ProxyControl {
        self.control.clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn is_refused(rx: &watch::Receiver<Option<ProxyFault>>) -> bool {
    matches!(*rx.borrow(), Some(ProxyFault::Refused))
}

/// A bound socket that never listens: the kernel answers SYNs with RST.
fn reserve(addr: SocketAddr) -> std::io::Result<socket2::Socket> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    Ok(socket)
}

async fn accept_loop(
    mut listener: TcpListener,
    addr: SocketAddr,
    upstream: SocketAddr,
    mut rx: watch::Receiver<Option<ProxyFault>>,
    accepted: Arc<AtomicU64>,
) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        if is_refused(&rx) {
            drop(listener);
            let placeholder = reserve(addr);
            if let Err(e) = &placeholder {
                tracing::warn!(proxy.addr = %addr, error = %e, "cannot hold the port while refusing");
            }
            while is_refused(&rx) {
                if rx.changed().await.is_err() {
                    return;
                }
            }
            drop(placeholder);
            listener = match relisten(addr).await {
                Some(l) => l,
                None => return,
            };
            continue;
        }
        tokio::select! {
            accepted_conn = listener.accept() => match accepted_conn {
                Ok((stream, _)) => {
                    accepted.fetch_add(1, Ordering::Relaxed);
                    let fault = *rx.borrow();
                    connections.spawn(handle(stream, upstream, fault));
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(proxy.addr = %addr, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            changed = rx.changed() => if changed.is_err() { return },
        }
    }
}

async fn relisten(addr: SocketAddr) -> Option<TcpListener> {
    for _ in 0..100 {
        match deep_listener(addr, "proxy").and_then(|l| {
            TcpListener::from_std(l).map_err(|source| crate::Error::Bind {
                what: "proxy",
                addr,
                source,
            })
        }) {
            Ok(l) => return Some(l),
            Err(e) => {
                tracing::warn!(proxy.addr = %addr, error = %e, "re-listen failed, retrying");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    tracing::error!(proxy.addr = %addr, "cannot listen again; proxy stopped");
    None
}

async fn handle(mut client: TcpStream, upstream: SocketAddr, fault: Option<ProxyFault>) {
    let _ = client.set_nodelay(true);
    match fault {
        Some(ProxyFault::Reset | ProxyFault::Refused) => {
            // Consume the start of the request first: a reset that arrives
            // before the client has written is reported by HTTP clients as
            // "connection not ready", not as the reset it is. (`readable()`
            // alone may wake spuriously.)
            let mut request = [0u8; 1024];
            let _ = tokio::time::timeout(Duration::from_secs(1), client.read(&mut request)).await;
            let _ = socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO));
            drop(client);
        }
        Some(ProxyFault::Blackhole) => {
            let mut sink = [0u8; 4096];
            while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
        }
        other => {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                tracing::debug!(proxy.upstream = %upstream, "upstream connect failed");
                return;
            };
            let _ = server.set_nodelay(true);
            match other {
                None => {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
                Some(fault) => shaped(client, server, fault).await,
            }
        }
    }
}

/// How one direction of a connection is copied.
#[derive(Default)]
struct Pump {
    limit: Option<u64>,
    bucket: Option<TokenBucket>,
    close_delay: Duration,
}

impl Pump {
    /// Copies until EOF (or `limit`), then waits `close_delay` and shuts the
    /// writer down. Returns the bytes copied.
    async fn run(
        mut self,
        mut from: impl AsyncRead + Unpin,
        mut to: impl AsyncWrite + Unpin,
    ) -> u64 {
        let chunk = self.bucket.as_ref().map_or(16 * 1024, |b| b.chunk());
        let mut buf = vec![0u8; chunk];
        let mut total = 0u64;
        loop {
            let want = match self.limit {
                Some(limit) if total >= limit => break,
                Some(limit) => chunk.min((limit - total) as usize),
                None => chunk,
            };
            let n = match from.read(&mut buf[..want]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if let Some(bucket) = self.bucket.as_mut() {
                bucket.take(n).await;
            }
            if to.write_all(&buf[..n]).await.is_err() {
                return total;
            }
            total += n as u64;
        }
        if !self.close_delay.is_zero() {
            tokio::time::sleep(self.close_delay).await;
        }
        let _ = to.shutdown().await;
        total
    }
}

async fn shaped(client: TcpStream, server: TcpStream, fault: ProxyFault) {
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let (mut up, mut down) = (Pump::default(), Pump::default());
    match fault {
        ProxyFault::Bandwidth { bytes_per_sec } => {
            up.bucket = Some(TokenBucket::new(bytes_per_sec));
            down.bucket = Some(TokenBucket::new(bytes_per_sec));
        }
        ProxyFault::Truncate { after_bytes } => down.limit = Some(after_bytes),
        ProxyFault::SlowClose { delay } => down.close_delay = delay,
        _ => {}
    }
    let up = up.run(client_read, server_write);
    let down = down.run(server_read, client_write);
    if matches!(fault, ProxyFault::Truncate { .. }) {
        // Once the response is cut, close everything.
        tokio::select! {
            _ = up => {}
            _ = down => {}
        }
    } else {
        tokio::join!(up, down);
    }
}

/// Token bucket: `rate` bytes/s, a 20 ms burst, starting empty so the
/// first bytes are paced too. Chunks are a quarter of the burst so timer
/// overshoot (tokio sleeps round up to the next ms) is kept as tokens
/// instead of being clipped at the capacity, which would slow the rate.
struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(bytes_per_sec: u64) -> Self {
        let rate = bytes_per_sec.max(1) as f64;
        TokenBucket {
            rate,
            capacity: (rate / 50.0).max(4096.0),
            tokens: 0.0,
            last: Instant::now(),
        }
    }

    /// Largest read: a quarter of the burst.
    fn chunk(&self) -> usize {
        ((self.capacity / 4.0) as usize).clamp(1, 16 * 1024)
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let earned = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.capacity);
        self.last = now;
    }

    async fn take(&mut self, n: usize) {
        self.refill();
        let need = n as f64 - self.tokens;
        if need > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(need / self.rate)).await;
            self.refill();
        }
        // May go slightly negative after a short sleep: a debt paid next time.
        self.tokens -= n as f64;
    }
}
