//! A fake external-module registry on wiremock with switchable faults.
//!
//! Protocol (the reference system's): `GET /modules/{name}` → 200
//! `{"name","version","source","sha256"}` with `sha256` the lowercase hex
//! digest of `source`, 404 for unknown names.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::error::{Error, Result};

/// How long a "hang" delays the response: far beyond any client timeout.
/// wiremock delays are per response, so the server itself stays responsive.
pub const HANG_DELAY: Duration = Duration::from_secs(3600);

/// How often the recycler looks at the request count.
pub const RECYCLE_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Default for [`RegistryConfig::recycle_after`]: wiremock keeps ~4.5 KiB per
/// matched request until `reset()`, so 20 000 requests bound it to ~90 MiB.
pub const DEFAULT_RECYCLE_AFTER: u64 = 20_000;

/// How many decisions the log keeps (the counter goes on beyond it).
pub const DECISION_LOG_CAPACITY: usize = 100_000;

/// One module the registry serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Bare module name, e.g. `left-pad`.
    pub name: String,
    /// Version string.
    pub version: String,
    /// CommonJS source.
    pub source: String,
    /// Lowercase hex sha256 of `source`.
    pub sha256: String,
}

impl Package {
    /// A package with the digest computed from `source`.
    pub fn new(name: &str, version: &str, source: &str) -> Self {
        Package {
            name: name.to_owned(),
            version: version.to_owned(),
            source: source.to_owned(),
            sha256: sha256_hex(source.as_bytes()),
        }
    }

    /// Small CommonJS packages with the given names.
    pub fn named(names: &[&str]) -> Vec<Package> {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| Package::new(name, &format!("1.0.{i}"), &commonjs(name, i as u64)))
            .collect()
    }

    /// `count` packages with names and versions generated from `seed`
    /// (same seed, same packages).
    pub fn generated(seed: u64, count: usize) -> Vec<Package> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..count)
            .map(|i| {
                let tag: u32 = rng.random();
                let name = format!("pkg{i}-{tag:08x}");
                let version = format!(
                    "{}.{}.{}",
                    rng.random_range(0..5u8),
                    rng.random_range(0..20u8),
                    rng.random_range(0..50u8)
                );
                Package::new(&name, &version, &commonjs(&name, u64::from(tag)))
            })
            .collect()
    }

    fn body(&self, sha256: &str) -> serde_json::Value {
        serde_json::json!({"name": self.name, "version": self.version, "source": self.source, "sha256": sha256})
    }
}

fn commonjs(name: &str, value: u64) -> String {
    format!("module.exports = {{ name: \"{name}\", value: {value} }};\n")
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Random variation added to [`RegistryFaults::latency`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Jitter {
    /// No variation.
    #[default]
    None,
    /// Uniform in `[-plus_minus, +plus_minus]` (the total is clamped at 0).
    Uniform {
        /// Half-width of the interval.
        plus_minus: Duration,
    },
    /// A long tail: a log-normal extra delay with the given median and
    /// 99th percentile (`p99 > p50 > 0`).
    LogNormal {
        /// Median extra delay.
        p50: Duration,
        /// 99th-percentile extra delay.
        p99: Duration,
    },
}

/// z-score of the 99th percentile of the standard normal distribution.
const Z99: f64 = 2.326_347_874;

impl Jitter {
    /// The extra delay in seconds (may be negative for `Uniform`) from two
    /// uniform draws in `[0, 1)`.
    fn sample(&self, u1: f64, u2: f64) -> f64 {
        match *self {
            Jitter::None => 0.0,
            Jitter::Uniform { plus_minus } => (2.0 * u1 - 1.0) * plus_minus.as_secs_f64(),
            Jitter::LogNormal { p50, p99 } => {
                let mu = p50.as_secs_f64().max(1e-9).ln();
                let sigma = ((p99.as_secs_f64().max(1e-9)).ln() - mu).max(0.0) / Z99;
                // Box–Muller; 1 - u1 is in (0, 1] so the log is finite.
                let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                (mu + sigma * z).exp()
            }
        }
    }
}

/// An error status returned with some probability.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorStatus {
    /// HTTP status, e.g. 503.
    pub status: u16,
    /// Probability in `[0, 1]`.
    pub probability: f64,
}

/// The fault state the registry's responder reads on every request.
///
/// Reply probabilities are checked in the order hang, error, malformed,
/// wrong hash against one uniform draw, so their sum should stay ≤ 1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryFaults {
    /// Fixed delay added to every response.
    pub latency: Duration,
    /// Variation around `latency`.
    pub jitter: Jitter,
    /// Error status with probability.
    pub error: Option<ErrorStatus>,
    /// Probability of delaying the response by [`HANG_DELAY`].
    pub hang_probability: f64,
    /// Probability of a 200 whose body is cut-off JSON.
    pub malformed_probability: f64,
    /// Probability of a 200 whose `sha256` does not match `source`.
    pub wrong_hash_probability: f64,
}

impl RegistryFaults {
    /// True when nothing is injected.
    pub fn is_clear(&self) -> bool {
        *self == RegistryFaults::default()
    }
}

/// What the registry did with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum RegistryReply {
    /// The package, correct.
    Ok,
    /// Unknown name.
    NotFound,
    /// Injected error status.
    Status {
        /// The status.
        status: u16,
    },
    /// Response delayed by [`HANG_DELAY`].
    Hang,
    /// Cut-off JSON body.
    Malformed,
    /// Wrong `sha256`.
    WrongHash,
}

/// One per-request decision, in the order requests reached the responder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// 0-based sequence number since start (or the last reseed).
    pub seq: u64,
    /// Requested module name.
    pub name: String,
    /// Delay applied to the response.
    pub delay: Duration,
    /// What was served.
    pub outcome: RegistryReply,
}

struct Shared {
    packages: HashMap<String, Package>,
    faults: Mutex<RegistryFaults>,
    rng: Mutex<(ChaCha8Rng, u64)>,
    log: Mutex<Vec<Decision>>,
    requests: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Run-time handle on the registry's faults, counters and decision log.
/// Cheap to clone; thread-safe.
#[derive(Clone)]
pub struct RegistryControl(Arc<Shared>);

impl std::fmt::Debug for RegistryControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryControl")
            .field("faults", &self.faults())
            .field("requests", &self.requests())
            .finish()
    }
}

impl RegistryControl {
    /// Replaces the fault state; takes effect on the next request.
    pub fn set(&self, faults: RegistryFaults) {
        tracing::info!(fault.kind = "registry", fault.state = ?faults, "registry faults set");
        *lock(&self.0.faults) = faults;
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.set(RegistryFaults::default());
    }

    /// The current fault state.
    pub fn faults(&self) -> RegistryFaults {
        lock(&self.0.faults).clone()
    }

    /// Requests served since start; survives [`FakeRegistry::recycle`].
    pub fn requests(&self) -> u64 {
        self.0.requests.load(Ordering::Relaxed)
    }

    /// The decision log (at most [`DECISION_LOG_CAPACITY`] entries).
    pub fn decisions(&self) -> Vec<Decision> {
        lock(&self.0.log).clone()
    }

    /// Restarts the random sequence from `seed` and empties the log.
    pub fn reseed(&self, seed: u64) {
        let mut rng = lock(&self.0.rng);
        *rng = (ChaCha8Rng::seed_from_u64(seed), 0);
        lock(&self.0.log).clear();
    }

    fn decide(&self, name: &str) -> (Decision, Option<&Package>) {
        self.0.requests.fetch_add(1, Ordering::Relaxed);
        let faults = self.faults();
        let (seq, u1, u2, u3) = {
            let mut guard = lock(&self.0.rng);
            let (rng, seq) = &mut *guard;
            let draws = (
                *seq,
                rng.random::<f64>(),
                rng.random::<f64>(),
                rng.random::<f64>(),
            );
            *seq += 1;
            draws
        };
        let package = self.0.packages.get(name);
        let mut delay = (faults.latency.as_secs_f64() + faults.jitter.sample(u1, u2)).max(0.0);
        // One draw against cumulative thresholds: hang, error, malformed, wrong hash.
        let hang = faults.hang_probability;
        let error = hang + faults.error.map_or(0.0, |e| e.probability);
        let malformed = error + faults.malformed_probability;
        let wrong_hash = malformed + faults.wrong_hash_probability;
        let outcome = match (u3, faults.error, package) {
            (u, _, _) if u < hang => {
                delay = HANG_DELAY.as_secs_f64();
                RegistryReply::Hang
            }
            (u, Some(e), _) if u < error => RegistryReply::Status { status: e.status },
            (_, _, None) => RegistryReply::NotFound,
            (u, _, _) if u < malformed => RegistryReply::Malformed,
            (u, _, _) if u < wrong_hash => RegistryReply::WrongHash,
            _ => RegistryReply::Ok,
        };
        let decision = Decision {
            seq,
            name: name.to_owned(),
            delay: Duration::from_secs_f64(delay),
            outcome,
        };
        let mut log = lock(&self.0.log);
        if log.len() < DECISION_LOG_CAPACITY {
            log.push(decision.clone());
        }
        (decision, package)
    }
}

#[derive(Clone)]
struct Responder(RegistryControl);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path();
        let name = path.strip_prefix("/modules/").unwrap_or("");
        let (decision, package) = self.0.decide(name);
        let template = match (decision.outcome, package) {
            (RegistryReply::Status { status }, _) => ResponseTemplate::new(status)
                .set_body_json(serde_json::json!({"error": "injected"})),
            (RegistryReply::Ok | RegistryReply::Hang, Some(p)) => {
                ResponseTemplate::new(200).set_body_json(p.body(&p.sha256))
            }
            (RegistryReply::WrongHash, Some(p)) => {
                ResponseTemplate::new(200).set_body_json(p.body(&sha256_hex(b"not the source")))
            }
            (RegistryReply::Malformed, Some(p)) => {
                let full = p.body(&p.sha256).to_string();
                let cut = &full[..full.len() / 2];
                ResponseTemplate::new(200).set_body_raw(cut.as_bytes().to_vec(), "application/json")
            }
            _ => ResponseTemplate::new(404)
                .set_body_json(serde_json::json!({"error": "not found", "name": name})),
        };
        if decision.delay.is_zero() {
            template
        } else {
            template.set_delay(decision.delay)
        }
    }
}

/// How to build a [`FakeRegistry`].
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// Packages served.
    pub packages: Vec<Package>,
    /// Seed of the per-request decisions.
    pub seed: u64,
    /// Reset and re-mount wiremock after this many requests (checked every
    /// [`RECYCLE_CHECK_INTERVAL`]), bounding its memory.
    pub recycle_after: u64,
}

impl RegistryConfig {
    /// Serves `packages` with decisions seeded by `seed`.
    pub fn new(packages: Vec<Package>, seed: u64) -> Self {
        RegistryConfig {
            packages,
            seed,
            recycle_after: DEFAULT_RECYCLE_AFTER,
        }
    }
}

/// A wiremock registry on a socket2 listener with a 4096 backlog.
///
/// Dropping it stops the server and its recycler.
pub struct FakeRegistry {
    server: Arc<MockServer>,
    control: RegistryControl,
    recycler: JoinHandle<()>,
}

impl std::fmt::Debug for FakeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeRegistry")
            .field("uri", &self.uri())
            .finish()
    }
}

/// Binds a listening TCP socket on `addr` with a deep backlog (the default
/// 128 makes clients wait for 1 s SYN retransmits under bursts).
pub(crate) fn deep_listener(addr: SocketAddr, what: &'static str) -> Result<std::net::TcpListener> {
    let bind = |source| Error::Bind { what, addr, source };
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )
    .map_err(bind)?;
    socket.set_reuse_address(true).map_err(bind)?;
    socket.bind(&addr.into()).map_err(bind)?;
    socket.listen(4096).map_err(bind)?;
    socket.set_nonblocking(true).map_err(bind)?;
    Ok(socket.into())
}

impl FakeRegistry {
    /// Starts the registry on `127.0.0.1:0`.
    ///
    /// Fails with [`Error::Bind`] when no socket can be bound.
    pub async fn start(config: RegistryConfig) -> Result<Self> {
        let listener = deep_listener(SocketAddr::from(([127, 0, 0, 1], 0)), "registry")?;
        let server = Arc::new(MockServer::builder().listener(listener).start().await);
        let control = RegistryControl(Arc::new(Shared {
            packages: config
                .packages
                .into_iter()
                .map(|p| (p.name.clone(), p))
                .collect(),
            faults: Mutex::new(RegistryFaults::default()),
            rng: Mutex::new((ChaCha8Rng::seed_from_u64(config.seed), 0)),
            log: Mutex::new(Vec::new()),
            requests: AtomicU64::new(0),
        }));
        mount(&server, &control).await;
        let recycler = tokio::spawn(recycle_loop(
            server.clone(),
            control.clone(),
            config.recycle_after,
        ));
        tracing::info!(registry.uri = %server.uri(), "fake registry started");
        Ok(FakeRegistry {
            server,
            control,
            recycler,
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Listening address.
    pub fn addr(&self) -> SocketAddr {
        *self.server.address()
    }

    /// The fault switch and counters.
    pub fn control(&self) -> RegistryControl {
        self.control.clone()
    }

    /// Requests wiremock currently keeps in memory (drops to 0 on recycle).
    pub async fn retained_requests(&self) -> usize {
        self.server.received_requests().await.map_or(0, |r| r.len())
    }

    /// Drops wiremock's recorded requests (`reset()`) and re-mounts the
    /// responder. A request arriving in the microseconds between the two
    /// gets wiremock's 404; the request counter is unaffected.
    pub async fn recycle(&self) {
        recycle(&self.server, &self.control).await;
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.recycler.abort();
    }
}

async fn mount(server: &MockServer, control: &RegistryControl) {
    Mock::given(method("GET"))
        .respond_with(Responder(control.clone()))
        .mount(server)
        .await;
}

async fn recycle(server: &MockServer, control: &RegistryControl) {
    server.reset().await;
    mount(server, control).await;
    tracing::debug!(registry.requests = control.requests(), "registry recycled");
}

async fn recycle_loop(server: Arc<MockServer>, control: RegistryControl, after: u64) {
    let mut at_last = control.requests();
    let mut tick = tokio::time::interval(RECYCLE_CHECK_INTERVAL);
    loop {
        tick.tick().await;
        let now = control.requests();
        if now.saturating_sub(at_last) >= after {
            recycle(&server, &control).await;
            at_last = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_jitter_spans_the_interval() {
        let j = Jitter::Uniform {
            plus_minus: Duration::from_millis(50),
        };
        assert!((j.sample(0.0, 0.0) + 0.05).abs() < 1e-12);
        assert!(j.sample(0.5, 0.3).abs() < 1e-12);
    }

    #[test]
    fn lognormal_median_is_p50() {
        let j = Jitter::LogNormal {
            p50: Duration::from_millis(100),
            p99: Duration::from_millis(300),
        };
        // z = 0 when cos(2π u2) = 0.
        assert!((j.sample(0.3, 0.25) - 0.1).abs() < 1e-9);
    }

    proptest::proptest! {
        #[test]
        fn jitter_samples_stay_in_range(u1 in 0.0f64..1.0, u2 in 0.0f64..1.0) {
            let uniform = Jitter::Uniform { plus_minus: Duration::from_millis(50) };
            proptest::prop_assert!(uniform.sample(u1, u2).abs() <= 0.05 + 1e-12);
            let tail = Jitter::LogNormal { p50: Duration::from_millis(10), p99: Duration::from_millis(100) };
            let x = tail.sample(u1, u2);
            proptest::prop_assert!(x.is_finite() && x > 0.0);
        }
    }

    #[test]
    fn generated_packages_are_reproducible_and_hashed() {
        let a = Package::generated(7, 5);
        assert_eq!(a, Package::generated(7, 5));
        assert_ne!(a, Package::generated(8, 5));
        for p in &a {
            assert_eq!(p.sha256, sha256_hex(p.source.as_bytes()));
            assert_eq!(p.sha256.len(), 64);
        }
    }
}
