//! The signals a drill detects a fault by and verifies recovery with, and
//! how each reads off one observation of the target.
//!
//! ```text
//! breaker_open(external:NAME)   breaker_closed(external:NAME)
//! health_degraded               health_healthy
//! not_ready                     ready
//! restarted                     (/health's uptime went back: the process was replaced)
//! alert:ID                      (a windowed [[alerts]] rule firing; detect only)
//! cache_memory > 5MB            cache_size > 100          rss > 200MB
//! cache_memory_drop >= 50%      cache_size_drop >= 50%    rss_drop >= 20%   (verify only)
//! error_rate < 1%               (per second, from the load generator)
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::gameday::Observation;
use crate::Cmp;

/// A server-side figure from `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gauge {
    /// `cacheMemoryUsage`, bytes.
    CacheMemory,
    /// `cacheSize`, modules.
    CacheSize,
    /// `systemMetrics.rssBytes`, bytes.
    Rss,
}

impl Gauge {
    fn name(self) -> &'static str {
        match self {
            Gauge::CacheMemory => "cache_memory",
            Gauge::CacheSize => "cache_size",
            Gauge::Rss => "rss",
        }
    }

    /// The value in a `/metrics` body.
    pub fn read(self, metrics: &serde_json::Value) -> Option<f64> {
        match self {
            Gauge::CacheMemory => metrics["cacheMemoryUsage"].as_f64(),
            Gauge::CacheSize => metrics["cacheSize"].as_f64(),
            Gauge::Rss => metrics["systemMetrics"]["rssBytes"].as_f64(),
        }
    }
}

/// What a drill watches.
#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    /// `breaker_open(external:NAME)`: the breaker's state is `open`.
    BreakerOpen(String),
    /// `breaker_closed(external:NAME)`: the breaker's state is `closed`.
    BreakerClosed(String),
    /// `health_degraded`: `/health` says anything but healthy, or does not
    /// answer.
    HealthDegraded,
    /// `health_healthy`: `/health` answers `healthy`.
    HealthHealthy,
    /// `not_ready`: `/ready` does not answer 200.
    NotReady,
    /// `ready`: `/ready` answers 200.
    Ready,
    /// `restarted`: `/health` reports a smaller `uptime` than the answer
    /// before it: the process was replaced, however briefly it was down.
    Restarted,
    /// `alert:ID`: the plan's windowed alert rule fires.
    Alert(String),
    /// `GAUGE CMP VALUE` at one `/metrics` answer.
    Gauge {
        /// Which figure.
        gauge: Gauge,
        /// How it compares.
        cmp: Cmp,
        /// Bytes or modules.
        threshold: f64,
    },
    /// `GAUGE_drop >= RATIO`: the figure fell by at least this share of
    /// its value just before the remedy (or the fault's end).
    Drop {
        /// Which figure.
        gauge: Gauge,
        /// Share in `(0, 1]`.
        at_least: f64,
    },
    /// `error_rate CMP RATIO` over one second of the generator's intervals.
    ErrorRate {
        /// How it compares.
        cmp: Cmp,
        /// Ratio.
        threshold: f64,
    },
}

impl Signal {
    /// The endpoint an observation must come from to show this signal
    /// (`None`: read from the run record, not from polling).
    pub fn endpoint(&self) -> Option<&'static str> {
        match self {
            Signal::BreakerOpen(_) | Signal::BreakerClosed(_) => Some("/circuit-breakers/status"),
            Signal::HealthDegraded | Signal::HealthHealthy | Signal::Restarted => Some("/health"),
            Signal::NotReady | Signal::Ready => Some("/ready"),
            Signal::Gauge { .. } | Signal::Drop { .. } => Some("/metrics"),
            Signal::Alert(_) | Signal::ErrorRate { .. } => None,
        }
    }

    /// Whether one observation shows the signal (`None`: it says nothing
    /// about it — another endpoint, or no answer where one is needed).
    /// `Drop` needs a baseline and is judged by the caller.
    pub fn holds(&self, observation: &Observation) -> Option<bool> {
        if Some(observation.endpoint.as_str()) != self.endpoint() {
            return None;
        }
        let ok = observation.status == Some(200);
        let body = &observation.body;
        match self {
            Signal::BreakerOpen(name) | Signal::BreakerClosed(name) => {
                let state = body["breakers"][name.as_str()]["state"].as_str()?;
                let wanted = if matches!(self, Signal::BreakerOpen(_)) {
                    "open"
                } else {
                    "closed"
                };
                ok.then_some(state == wanted)
            }
            // A target that does not answer is not healthy.
            Signal::HealthDegraded => {
                Some(observation.status.is_none() || body["status"] != "healthy")
            }
            Signal::HealthHealthy => {
                Some(observation.status.is_some() && body["status"] == "healthy")
            }
            Signal::NotReady => Some(!ok),
            Signal::Ready => Some(ok),
            Signal::Gauge {
                gauge,
                cmp,
                threshold,
            } => Some(cmp.holds(gauge.read(body).filter(|_| ok)?, *threshold)),
            Signal::Drop { .. }
            | Signal::Restarted
            | Signal::Alert(_)
            | Signal::ErrorRate { .. } => None,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signal::BreakerOpen(name) => write!(f, "breaker_open(external:{name})"),
            Signal::BreakerClosed(name) => write!(f, "breaker_closed(external:{name})"),
            Signal::HealthDegraded => f.write_str("health_degraded"),
            Signal::HealthHealthy => f.write_str("health_healthy"),
            Signal::NotReady => f.write_str("not_ready"),
            Signal::Ready => f.write_str("ready"),
            Signal::Restarted => f.write_str("restarted"),
            Signal::Alert(id) => write!(f, "alert:{id}"),
            Signal::Gauge {
                gauge,
                cmp,
                threshold,
            } => match gauge {
                Gauge::CacheSize => write!(f, "cache_size {} {threshold}", symbol(*cmp)),
                _ if *threshold >= 1e6 => {
                    write!(f, "{} {} {}MB", gauge.name(), symbol(*cmp), threshold / 1e6)
                }
                _ => write!(f, "{} {} {threshold}B", gauge.name(), symbol(*cmp)),
            },
            Signal::Drop { gauge, at_least } => {
                write!(f, "{}_drop >= {}%", gauge.name(), at_least * 100.0)
            }
            Signal::ErrorRate { cmp, threshold } => {
                write!(f, "error_rate {} {}%", symbol(*cmp), threshold * 100.0)
            }
        }
    }
}

fn symbol(cmp: Cmp) -> &'static str {
    match cmp {
        Cmp::Lt => "<",
        Cmp::Le => "<=",
        Cmp::Gt => ">",
        Cmp::Ge => ">=",
    }
}

/// The `/health` answers whose `uptime` is below the previous answer's:
/// the process restarted between the two.
pub fn restarts(observations: &[Observation]) -> impl Iterator<Item = &Observation> {
    let mut last: Option<f64> = None;
    observations
        .iter()
        .filter(|o| o.endpoint == "/health" && o.status.is_some())
        .filter(move |o| {
            let Some(uptime) = o.body["uptime"].as_f64() else {
                return false;
            };
            let went_back = last.is_some_and(|before| uptime < before);
            last = Some(uptime);
            went_back
        })
}

/// A signal text that does not parse: 1-based column and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalError {
    /// 1-based character column in the text.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

fn err(column: usize, message: impl Into<String>) -> SignalError {
    SignalError {
        column,
        message: message.into(),
    }
}

impl std::str::FromStr for Signal {
    type Err = SignalError;

    fn from_str(text: &str) -> Result<Signal, SignalError> {
        let lead = text.len() - text.trim_start().len();
        let t = text.trim();
        let col = |byte: usize| text[..lead + byte].chars().count() + 1;
        if let Some(inner) = t
            .strip_prefix("breaker_open(")
            .or_else(|| t.strip_prefix("breaker_closed("))
        {
            let open = t.starts_with("breaker_open(");
            let start = t.len() - inner.len();
            let Some(inner) = inner.strip_suffix(')') else {
                return Err(err(col(t.len()), "expected `)`"));
            };
            let Some(name) = inner.strip_prefix("external:").filter(|n| !n.is_empty()) else {
                return Err(err(col(start), "expected external:NAME"));
            };
            let name = name.to_owned();
            return Ok(if open {
                Signal::BreakerOpen(name)
            } else {
                Signal::BreakerClosed(name)
            });
        }
        if let Some(id) = t.strip_prefix("alert:") {
            if id.trim().is_empty() {
                return Err(err(col(6), "expected an alert id after `alert:`"));
            }
            return Ok(Signal::Alert(id.trim().to_owned()));
        }
        match t {
            "health_degraded" => return Ok(Signal::HealthDegraded),
            "health_healthy" => return Ok(Signal::HealthHealthy),
            "not_ready" => return Ok(Signal::NotReady),
            "ready" => return Ok(Signal::Ready),
            "restarted" => return Ok(Signal::Restarted),
            _ => {}
        }
        let name_end = t
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(t.len());
        let name = &t[..name_end];
        let rest = t[name_end..].trim_start();
        let rest_at = t.len() - rest.len();
        let (cmp, cmp_len) = if let Some(r) = rest.strip_prefix("<=") {
            (Cmp::Le, rest.len() - r.len())
        } else if let Some(r) = rest.strip_prefix(">=") {
            (Cmp::Ge, rest.len() - r.len())
        } else if rest.starts_with('<') {
            (Cmp::Lt, 1)
        } else if rest.starts_with('>') {
            (Cmp::Gt, 1)
        } else if name.is_empty() || !rest.is_empty() {
            return Err(err(
                col(0),
                "expected a signal: breaker_open(external:NAME), breaker_closed(…), health_degraded, \
                 health_healthy, not_ready, ready, alert:ID, cache_memory|cache_size|rss CMP VALUE, \
                 …_drop >= PERCENT, error_rate CMP PERCENT",
            ));
        } else {
            return Err(err(col(name_end), "expected a comparison (<, <=, >, >=)"));
        };
        let value_text = rest[cmp_len..].trim_start();
        let value_at = t.len() - value_text.len();
        let gauge = |n: &str| match n {
            "cache_memory" => Some(Gauge::CacheMemory),
            "cache_size" => Some(Gauge::CacheSize),
            "rss" => Some(Gauge::Rss),
            _ => None,
        };
        if let Some(g) = name.strip_suffix("_drop").and_then(gauge) {
            if cmp != Cmp::Ge {
                return Err(err(col(rest_at), "a drop is verified with `>=`"));
            }
            let ratio = ratio(value_text)
                .ok_or_else(|| err(col(value_at), "expected a share, e.g. 50%"))?;
            if !(ratio > 0.0 && ratio <= 1.0) {
                return Err(err(col(value_at), "a drop lies in (0 %, 100 %]"));
            }
            return Ok(Signal::Drop {
                gauge: g,
                at_least: ratio,
            });
        }
        if let Some(g) = gauge(name) {
            let threshold = if g == Gauge::CacheSize {
                value_text.parse::<f64>().ok()
            } else {
                size(value_text)
            }
            .ok_or_else(|| {
                err(
                    col(value_at),
                    if g == Gauge::CacheSize {
                        "expected a module count"
                    } else {
                        "expected a size (B, KB, MB, GB, KiB, MiB, GiB)"
                    },
                )
            })?;
            return Ok(Signal::Gauge {
                gauge: g,
                cmp,
                threshold,
            });
        }
        if name == "error_rate" {
            let threshold =
                ratio(value_text).ok_or_else(|| err(col(value_at), "expected a share, e.g. 1%"))?;
            return Ok(Signal::ErrorRate { cmp, threshold });
        }
        Err(err(col(0), format!("unknown signal \"{name}\"")))
    }
}

/// `50%` or `0.5`.
fn ratio(text: &str) -> Option<f64> {
    let t = text.trim();
    let value = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().ok()? / 100.0,
        None => t.parse::<f64>().ok()?,
    };
    value.is_finite().then_some(value)
}

/// `5MB` (1000-based), `5MiB` (1024-based), `512B`.
fn size(text: &str) -> Option<f64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let number: f64 = t[..split].parse().ok()?;
    let unit = match t[split..].trim() {
        "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(number * unit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_form_parses_and_prints_back() {
        for text in [
            "breaker_open(external:lodash)",
            "breaker_closed(external:lodash)",
            "health_degraded",
            "health_healthy",
            "not_ready",
            "ready",
            "restarted",
            "cache_memory > 5MB",
            "rss < 512B",
            "alert:errors-high",
            "cache_memory_drop >= 50%",
            "error_rate < 1%",
        ] {
            let signal: Signal = text.parse().unwrap();
            assert_eq!(signal.to_string(), text);
        }
        assert_eq!(
            "cache_memory > 5MB".parse::<Signal>().unwrap(),
            Signal::Gauge {
                gauge: Gauge::CacheMemory,
                cmp: Cmp::Gt,
                threshold: 5e6
            }
        );
    }

    #[test]
    fn errors_point_at_the_culprit() {
        let e = "breaker_open(lodash)".parse::<Signal>().unwrap_err();
        assert_eq!(e.column, 14);
        let e = "cache_memory > 5 parsecs".parse::<Signal>().unwrap_err();
        assert_eq!(e.column, 16);
        let e = "rss_drop < 20%".parse::<Signal>().unwrap_err();
        assert_eq!(e.column, 10);
        let e = "cache_memory_drop >= 150%".parse::<Signal>().unwrap_err();
        assert_eq!(e.column, 22);
        assert!("healthy".parse::<Signal>().is_err());
    }

    #[test]
    fn an_unanswered_health_check_is_degraded_and_not_ready() {
        let gone = |endpoint: &str| Observation {
            at: Duration::ZERO,
            endpoint: endpoint.into(),
            status: None,
            body: serde_json::Value::Null,
        };
        assert_eq!(Signal::HealthDegraded.holds(&gone("/health")), Some(true));
        assert_eq!(Signal::HealthHealthy.holds(&gone("/health")), Some(false));
        assert_eq!(Signal::NotReady.holds(&gone("/ready")), Some(true));
        assert_eq!(Signal::NotReady.holds(&gone("/health")), None);
        let breaker = Signal::BreakerOpen("lodash".into());
        assert_eq!(breaker.holds(&gone("/circuit-breakers/status")), None);
    }
}
