//! The knobs: each moves one quantity a profile's claims read, and nothing
//! else, so a claim can be shown to fail when only its own threshold is
//! crossed.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One setting, as written on a command line or in the twin map:
///
/// - `latency=600ms`: every answer but the scrape waits this long;
/// - `errors=2%`: this share of answers (but the scrape's) are `500`,
///   spread evenly (every 50th at 2 %), so a per-second rate is steady;
/// - `fail=/health`: this path answers `503`, always;
/// - `metric:NAME=VALUE`: `/metrics` exports the gauge `NAME` at `VALUE`.
#[derive(Clone, Debug, PartialEq)]
pub enum Knob {
    /// Delay before every answer.
    Latency(Duration),
    /// Share of answers that are server errors, 0–1.
    Errors(f64),
    /// A path that answers `503`.
    Fail(String),
    /// A gauge on `/metrics`.
    Metric(String, f64),
}

/// Why a knob was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("knob `{text}`: {reason}")]
pub struct KnobError {
    text: String,
    reason: &'static str,
}

impl FromStr for Knob {
    type Err = KnobError;

    fn from_str(text: &str) -> Result<Knob, KnobError> {
        let refuse = |reason| KnobError {
            text: text.to_owned(),
            reason,
        };
        let (key, value) = text.split_once('=').ok_or_else(|| {
            refuse("expected KEY=VALUE (latency=600ms, errors=2%, fail=/health, metric:NAME=VALUE)")
        })?;
        match key {
            "latency" => parse_duration(value)
                .map(Knob::Latency)
                .ok_or_else(|| refuse("a latency is a number with ms or s (600ms, 2.1s)")),
            "errors" => value
                .strip_suffix('%')
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|p| (0.0..=100.0).contains(p))
                .map(|p| Knob::Errors(p / 100.0))
                .ok_or_else(|| refuse("an error share is a percentage from 0% to 100%")),
            "fail" if value.starts_with('/') => Ok(Knob::Fail(value.to_owned())),
            "fail" => Err(refuse("a failing path starts with /")),
            _ => {
                let name = key
                    .strip_prefix("metric:")
                    .ok_or_else(|| refuse("unknown knob: latency, errors, fail or metric:NAME"))?;
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                    || name.starts_with(|c: char| c.is_ascii_digit())
                {
                    return Err(refuse("a metric name is letters, digits, _ and :"));
                }
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .map(|v| Knob::Metric(name.to_owned(), v))
                    .ok_or_else(|| refuse("a metric's value is a finite number"))
            }
        }
    }
}

impl fmt::Display for Knob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Knob::Latency(d) => write!(f, "latency={}ms", d.as_secs_f64() * 1000.0),
            Knob::Errors(share) => write!(f, "errors={}%", share * 100.0),
            Knob::Fail(path) => write!(f, "fail={path}"),
            Knob::Metric(name, value) => write!(f, "metric:{name}={value}"),
        }
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1e-3)
    } else {
        (text.strip_suffix('s')?, 1.0)
    };
    let value = number.parse::<f64>().ok()? * scale;
    (0.0..3600.0)
        .contains(&value)
        .then(|| Duration::from_secs_f64(value))
}

/// A whole setting of the stand-in: what each knob is turned to. A later
/// knob of the same kind (same path, same metric) replaces an earlier one,
/// so a profile's base setting can be overridden one knob at a time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Knobs {
    /// Delay before every answer but the scrape.
    pub latency: Duration,
    /// Share of answers (but the scrape's) that are `500`.
    pub errors: f64,
    /// Paths that answer `503`.
    pub failing: Vec<String>,
    /// Gauges `/metrics` exports, by name.
    pub metrics: BTreeMap<String, f64>,
}

impl Knobs {
    /// Applies `knob` over the current setting.
    pub fn set(&mut self, knob: Knob) {
        match knob {
            Knob::Latency(d) => self.latency = d,
            Knob::Errors(share) => self.errors = share,
            Knob::Fail(path) => {
                if !self.failing.contains(&path) {
                    self.failing.push(path);
                }
            }
            Knob::Metric(name, value) => {
                self.metrics.insert(name, value);
            }
        }
    }

    /// The setting `texts` describe, applied in order.
    ///
    /// # Errors
    /// The first knob that does not parse.
    pub fn parse<S: AsRef<str>>(texts: &[S]) -> Result<Knobs, KnobError> {
        let mut knobs = Knobs::default();
        for text in texts {
            knobs.set(text.as_ref().parse()?);
        }
        Ok(knobs)
    }

    /// Whether answer number `n` (0-based) is an error: errors are spread
    /// evenly, one each time `n × share` passes a whole number, so any
    /// stretch of `k` answers holds `k × share` errors give or take one.
    pub fn is_error(&self, n: u64) -> bool {
        let share = self.errors;
        share > 0.0 && ((n + 1) as f64 * share).floor() > (n as f64 * share).floor()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_knob_parses_and_prints_back() {
        for text in [
            "latency=600ms",
            "errors=2%",
            "fail=/health",
            "metric:godel_queue_depth=1001",
        ] {
            let knob: Knob = text.parse().unwrap();
            assert_eq!(knob.to_string(), text);
        }
        assert_eq!(
            "latency=2.1s".parse(),
            Ok(Knob::Latency(Duration::from_millis(2100)))
        );
        assert_eq!("errors=0.5%".parse(), Ok(Knob::Errors(0.005)));
    }

    #[test]
    fn bad_knobs_say_what_is_wrong() {
        for (text, says) in [
            ("latency", "KEY=VALUE"),
            ("latency=fast", "ms or s"),
            ("errors=2", "percentage"),
            ("errors=120%", "percentage"),
            ("fail=health", "starts with /"),
            ("speed=3", "unknown knob"),
            ("metric:1x=3", "metric name"),
            ("metric:x=NaN", "finite"),
        ] {
            let e = text.parse::<Knob>().unwrap_err().to_string();
            assert!(e.contains(text) && e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn a_later_knob_replaces_an_earlier_one_of_its_kind() {
        let knobs = Knobs::parse(&[
            "metric:q=120",
            "errors=1%",
            "metric:q=1001",
            "metric:cpu=35",
        ])
        .unwrap();
        assert_eq!(knobs.metrics["q"], 1001.0);
        assert_eq!(knobs.metrics["cpu"], 35.0);
        assert_eq!(knobs.errors, 0.01);
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in "\\PC{0,40}") {
            let _ = text.parse::<Knob>();
        }

        /// Any stretch of answers holds its share of errors, give or take
        /// one: the per-second error rate a windowed alert reads is steady.
        #[test]
        fn errors_are_spread_evenly(percent in 0.0f64..100.0, start in 0u64..100_000, len in 1u64..5_000) {
            let knobs = Knobs { errors: percent / 100.0, ..Knobs::default() };
            let errors = (start..start + len).filter(|n| knobs.is_error(*n)).count() as f64;
            let expected = len as f64 * knobs.errors;
            prop_assert!((errors - expected).abs() <= 1.0 + 1e-9, "{errors} vs {expected}");
        }
    }
}
