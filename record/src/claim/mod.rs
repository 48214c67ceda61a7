//! The claim language: what a claim's `expect` says, typed.
//!
//! ```text
//! expect     = comparison [ "for" duration ]
//! comparison = metric ( "<" | "<=" | ">" | ">=" ) threshold
//! metric     = name [ "(" argument [ "," argument ] ")" ]
//! threshold  = number [ unit ]          100ms · 1% · 0.8 · 50KB · 200/s
//! ```

mod lexer;
mod parse;
mod quantity;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use quantity::{format_bytes, format_duration};

/// What is measured.
#[derive(Clone, Debug, PartialEq)]
pub enum Metric {
    /// A latency quantile of one journey (`p99(load_cached)`), quantile in
    /// `[0, 1]`.
    Latency {
        /// 0.99 for `p99`.
        quantile: f64,
        /// The journey or operation.
        journey: String,
    },
    /// Mean latency of a journey (`mean(load_cached)`).
    MeanLatency {
        /// The journey or operation.
        journey: String,
    },
    /// Largest latency of a journey (`max(burst)`).
    MaxLatency {
        /// The journey or operation.
        journey: String,
    },
    /// Failed requests over all requests, of one journey or of all
    /// (`error_rate(templates)`); with a status class, only the requests
    /// answered with it count as failed (`error_rate(templates, 5xx)`).
    ErrorRate {
        /// `None` for every journey together.
        journey: Option<String>,
        /// `None`: every failure (4xx, 5xx, timeouts, transport).
        class: Option<StatusClass>,
    },
    /// Completed requests per second, of one journey or of all.
    Rps {
        /// `None` for every journey together.
        journey: Option<String>,
    },
    /// The server's own hit rate over the phase (from its `/metrics`).
    CacheHitRate,
    /// Share of 1 s intervals in which requests succeeded.
    Availability,
    /// Time from a dependency's recovery (fault removed) to its breaker
    /// closed again. Never observed closed, it is a bound, not a value: it
    /// can FAIL the claim, never pass it.
    RecoveryTime {
        /// The dependency.
        dependency: Dependency,
    },
    /// Time from a dependency's failure (fault applied) to its breaker
    /// opening (never observed open: a bound, as for `RecoveryTime`).
    TimeToOpen {
        /// The dependency.
        dependency: Dependency,
    },
    /// Resident memory growth per module added to the cache.
    BytesPerCachedModule,
    /// Modules the target compiled for its cache per module that entered
    /// it, between the phase's first and last `/metrics` sample
    /// (Δ`moduleCompilations` ÷ Δ`cacheSize`): 1 when every module is
    /// compiled once (single-flight), more when concurrent
    /// misses of one module each compile it.
    CompilationsPerModule,
    /// The target's memory use as a share of its limit (from its `/metrics`).
    MemoryUsage,
    /// The target's CPU use as a share of its cores (from its `/metrics`).
    CpuUsage,
    /// Growth of the target's resident memory over the phase (first to
    /// last `/metrics` sample).
    MemoryGrowth,
    /// Share of `module-edit` probes after which the target served the
    /// edited module (a cache that never invalidates serves the old one).
    Freshness,
    /// Share of `config-invalid-patch` probes the target refused whole:
    /// a 4xx answer and `GET /config` unchanged.
    ConfigAtomicity,
    /// Share of `hit-rate-audit` probes in which the server's hit figures
    /// agreed with what the client saw: its hit counter grew by at least
    /// the hits the probe's own loads were told of, and its reported
    /// `cacheHitRate` matched its counters.
    HitRateAccuracy,
    /// Share of a `[[checks]]` endpoint's polls during the phase that
    /// answered the expected status and JSON fields (`check(health)`).
    Check {
        /// The check's name.
        name: String,
    },
    /// A series of the target's `/metrics`, by name
    /// (`metric(godel_queue_depth)`): Prometheus text exposition, or a
    /// top-level number of a JSON body. Compared as a plain number; the
    /// claim must hold at every sample (the worst label set and sample is
    /// judged).
    Series {
        /// The series (metric family) name.
        name: String,
    },
    /// The ratio of two series of the same `/metrics` sample
    /// (`metric(pg_stat_database_numbackends / pg_settings_max_connections)`),
    /// each summed over its label sets; judged per sample like a series.
    SeriesRatio {
        /// The series divided.
        numerator: String,
        /// The series it is divided by (a sample where it sums to 0 has no
        /// value).
        denominator: String,
    },
    /// The per-second increase of a counter over a trailing window, as
    /// Prometheus's `rate(NAME[5m])`: summed over label sets, a drop read
    /// as a counter reset. A sample with less than the window of samples
    /// behind it has no value.
    CounterRate {
        /// The counter.
        name: String,
        /// The trailing window.
        over: Duration,
    },
}

/// A dependency a time-to-open or recovery claim is about: one with a
/// circuit breaker, whose state the run samples. (The target process has
/// none: its recovery after a kill is a game-day drill's `ready` signal.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dependency {
    /// An external module, by package name (`external:lodash`).
    External(String),
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Cmp {
    /// Whether `measured ⋄ threshold` holds.
    pub fn holds(self, measured: f64, threshold: f64) -> bool {
        match self {
            Cmp::Lt => measured < threshold,
            Cmp::Le => measured <= threshold,
            Cmp::Gt => measured > threshold,
            Cmp::Ge => measured >= threshold,
        }
    }

    /// `<`, `<=`, `>` or `>=`, as the claim language writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// A threshold with its unit kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    /// A time.
    Duration(Duration),
    /// A ratio in `[0, 1]` (written `1%` or `0.01`).
    Ratio(f64),
    /// A size in bytes.
    Bytes(u64),
    /// A rate per second.
    PerSec(f64),
    /// A plain number in the measured series' own unit (`metric(…)`).
    Number(f64),
}

impl Threshold {
    /// The value in base units (seconds, ratio, bytes, per second), for
    /// comparing with a measurement in the same units.
    pub fn value(self) -> f64 {
        match self {
            Threshold::Duration(d) => d.as_secs_f64(),
            Threshold::Ratio(r) => r,
            Threshold::Bytes(b) => b as f64,
            Threshold::PerSec(r) | Threshold::Number(r) => r,
        }
    }
}

/// A parsed `expect`: metric, comparison, threshold and, for the alert
/// form, the window the condition must hold for.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// What is measured.
    pub metric: Metric,
    /// How it is compared.
    pub cmp: Cmp,
    /// With what.
    pub threshold: Threshold,
    /// `for 2m`: the condition must hold over a sliding window this long.
    pub window: Option<Duration>,
}

/// A syntax or unit error in an `expect`, at a 1-based character column.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ClaimError {
    /// Where the problem starts (1-based, in characters).
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl ClaimError {
    fn new(column: usize, message: impl Into<String>) -> ClaimError {
        ClaimError {
            column,
            message: message.into(),
        }
    }
}

/// Parses a duration written with a unit (`10s`, `250ms`, `2m`, `1.5s`).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(somon_record::parse_duration("1.5s"), Some(Duration::from_millis(1500)));
/// assert_eq!(somon_record::parse_duration("10"), None);
/// ```
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    quantity::duration(&text[..split], &text[split..])
}

impl FromStr for Expectation {
    type Err = ClaimError;

    fn from_str(text: &str) -> Result<Expectation, ClaimError> {
        parse::expectation(text)
    }
}

/// A class of HTTP answers an error rate can be limited to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    /// `4xx`: the client's request was refused.
    ClientError,
    /// `5xx`: the server failed.
    ServerError,
}

impl StatusClass {
    /// The class written `4xx` or `5xx`.
    pub fn named(text: &str) -> Option<StatusClass> {
        match text {
            "4xx" => Some(StatusClass::ClientError),
            "5xx" => Some(StatusClass::ServerError),
            _ => None,
        }
    }

    /// Whether a request that ended `outcome` is of this class.
    pub fn holds(self, outcome: somon_loadgen::RequestOutcome) -> bool {
        use somon_loadgen::RequestOutcome;
        matches!(
            (self, outcome),
            (StatusClass::ClientError, RequestOutcome::Status4xx)
                | (StatusClass::ServerError, RequestOutcome::Status5xx)
        )
    }

    /// How many of `errors` are of this class.
    pub fn count(self, errors: &somon_loadgen::ErrorCounts) -> u64 {
        match self {
            StatusClass::ClientError => errors.status_4xx,
            StatusClass::ServerError => errors.status_5xx,
        }
    }
}

impl fmt::Display for StatusClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StatusClass::ClientError => "4xx",
            StatusClass::ServerError => "5xx",
        })
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Latency { quantile, journey } => {
                write!(f, "p{}({journey})", quantile_name(*quantile))
            }
            Metric::MeanLatency { journey } => write!(f, "mean({journey})"),
            Metric::MaxLatency { journey } => write!(f, "max({journey})"),
            Metric::ErrorRate { journey, class } => {
                f.write_str("error_rate")?;
                match (journey, class) {
                    (None, None) => Ok(()),
                    (Some(j), None) => write!(f, "({j})"),
                    (None, Some(c)) => write!(f, "({c})"),
                    (Some(j), Some(c)) => write!(f, "({j}, {c})"),
                }
            }
            Metric::Rps { journey: None } => f.write_str("rps"),
            Metric::Rps { journey: Some(j) } => write!(f, "rps({j})"),
            Metric::CacheHitRate => f.write_str("cache_hit_rate"),
            Metric::Availability => f.write_str("availability"),
            Metric::RecoveryTime { dependency } => write!(f, "recovery_time({dependency})"),
            Metric::TimeToOpen { dependency } => write!(f, "time_to_open({dependency})"),
            Metric::BytesPerCachedModule => f.write_str("bytes_per_cached_module"),
            Metric::CompilationsPerModule => f.write_str("compilations_per_module"),
            Metric::MemoryUsage => f.write_str("memory_usage"),
            Metric::CpuUsage => f.write_str("cpu_usage"),
            Metric::MemoryGrowth => f.write_str("memory_growth"),
            Metric::Freshness => f.write_str("freshness"),
            Metric::ConfigAtomicity => f.write_str("config_atomicity"),
            Metric::HitRateAccuracy => f.write_str("hit_rate_accuracy"),
            Metric::Check { name } => write!(f, "check({name})"),
            Metric::Series { name } => write!(f, "metric({name})"),
            Metric::SeriesRatio {
                numerator,
                denominator,
            } => write!(f, "metric({numerator} / {denominator})"),
            Metric::CounterRate { name, over } => {
                write!(f, "rate({name}[{}])", format_duration(*over))
            }
        }
    }
}

/// `0.99` → `99`, `0.999` → `99.9`, `0.5` → `50`.
fn quantile_name(quantile: f64) -> String {
    let percent = quantile * 100.0;
    let rounded = (percent * 1e6).round() / 1e6;
    format!("{rounded}")
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dependency::External(name) => write!(f, "external:{name}"),
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Threshold::Duration(d) => f.write_str(&format_duration(d)),
            Threshold::Ratio(r) => {
                let shown = format!("{}", r * 100.0);
                // Percent only where it reads back as the same number.
                if quantity::percent(&shown) == Some(r) {
                    write!(f, "{shown}%")
                } else {
                    write!(f, "{r}")
                }
            }
            Threshold::Bytes(b) => f.write_str(&format_bytes(b)),
            Threshold::PerSec(r) => write!(f, "{r}/s"),
            Threshold::Number(n) => write!(f, "{n}"),
        }
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.metric,
            self.cmp.symbol(),
            self.threshold
        )?;
        if let Some(window) = self.window {
            write!(f, " for {}", format_duration(window))?;
        }
        Ok(())
    }
}

/// A claim to verify.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    /// Stable id (testcase name in JUnit).
    pub id: String,
    /// Which document and section states it.
    pub source: String,
    /// What must hold.
    pub expect: Expectation,
    /// The phase it is judged on; `None` for the whole run.
    pub phase: Option<String>,
}
