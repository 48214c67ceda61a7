//! Recursive descent over the tokens, with unit checks per metric.

use std::time::Duration;

use super::lexer::{tokenize, Spanned, Token};
use super::quantity::{byte_unit, duration, percent, scaled};
use super::{ClaimError, Cmp, Dependency, Expectation, Metric, StatusClass, Threshold};

/// The metrics a claim may name, for error messages.
const METRICS: &str = "pNN(journey), mean(journey), max(journey), error_rate[(journey[, 4xx|5xx])], \
rps[(journey)], cache_hit_rate, availability, recovery_time(external:NAME), time_to_open(external:NAME), \
bytes_per_cached_module, compilations_per_module, memory_usage, memory_growth, cpu_usage, \
freshness, config_atomicity, hit_rate_accuracy, \
check(name), metric(series), metric(series / series), rate(counter[window])";

/// What kind of threshold a metric is compared with.
#[derive(Clone, Copy)]
enum Kind {
    Time,
    Ratio,
    Bytes,
    Rate,
    /// A plain number (a scraped series in its own unit).
    Number,
}

struct Parser {
    tokens: Vec<Spanned>,
    at: usize,
    /// Column just past the end, for "expected … at the end" errors.
    end: usize,
}

pub(super) fn expectation(text: &str) -> Result<Expectation, ClaimError> {
    let mut parser = Parser {
        tokens: tokenize(text)?,
        at: 0,
        end: text.chars().count() + 1,
    };
    let (metric, kind) = parser.metric()?;
    let cmp = parser.cmp()?;
    let threshold = parser.threshold(kind)?;
    let window = parser.window()?;
    if let Some((token, column)) = parser.peek() {
        return Err(ClaimError::new(
            column,
            format!("unexpected {} after the claim", describe(&token)),
        ));
    }
    Ok(Expectation {
        metric,
        cmp,
        threshold,
        window,
    })
}

fn describe(token: &Token) -> String {
    match token {
        Token::Name(name) => format!("\"{name}\""),
        Token::Number { digits, unit } => format!("\"{digits}{unit}\""),
        Token::Punct(p) => format!("\"{p}\""),
    }
}

impl Parser {
    fn peek(&self) -> Option<Spanned> {
        self.tokens.get(self.at).cloned()
    }

    fn next(&mut self, expected: &str) -> Result<Spanned, ClaimError> {
        let token = self
            .peek()
            .ok_or_else(|| ClaimError::new(self.end, format!("expected {expected} at the end")))?;
        self.at += 1;
        Ok(token)
    }

    fn punct(&mut self, wanted: &'static str) -> Result<(), ClaimError> {
        match self.next(&format!("\"{wanted}\""))? {
            (Token::Punct(p), _) if p == wanted => Ok(()),
            (other, column) => Err(ClaimError::new(
                column,
                format!("expected \"{wanted}\", found {}", describe(&other)),
            )),
        }
    }

    /// `( name )`, `( name : name )` or nothing when `optional`.
    fn argument(&mut self, required: bool) -> Result<Option<(String, usize)>, ClaimError> {
        if !matches!(self.peek(), Some((Token::Punct("("), _))) {
            if required {
                let column = self.peek().map_or(self.end, |(_, c)| c);
                return Err(ClaimError::new(column, "expected \"(\" and an argument"));
            }
            return Ok(None);
        }
        self.at += 1;
        let (first, column) = match self.next("an argument")? {
            (Token::Name(name), column) => (name, column),
            (other, column) => {
                return Err(ClaimError::new(
                    column,
                    format!("expected a name, found {}", describe(&other)),
                ))
            }
        };
        let mut text = first;
        if matches!(self.peek(), Some((Token::Punct(":"), _))) {
            self.at += 1;
            match self.next("a name after \":\"")? {
                (Token::Name(name), _) => {
                    text.push(':');
                    text.push_str(&name);
                }
                (other, column) => {
                    return Err(ClaimError::new(
                        column,
                        format!("expected a name after \":\", found {}", describe(&other)),
                    ))
                }
            }
        }
        self.punct(")")?;
        Ok(Some((text, column)))
    }

    /// `error_rate`'s arguments: none, `(journey)`, `(5xx)` or
    /// `(journey, 5xx)`. A class is a number token, so it cannot be taken
    /// for a journey (whose name starts with a letter).
    fn error_rate_arguments(
        &mut self,
    ) -> Result<(Option<String>, Option<StatusClass>), ClaimError> {
        if !matches!(self.peek(), Some((Token::Punct("("), _))) {
            return Ok((None, None));
        }
        self.at += 1;
        let class = |digits: &str, unit: &str, column: usize| {
            StatusClass::named(&format!("{digits}{unit}")).ok_or_else(|| {
                ClaimError::new(
                    column,
                    format!(
                        "expected a journey or a status class (4xx, 5xx), found \"{digits}{unit}\""
                    ),
                )
            })
        };
        let result = match self.next("a journey or a status class")? {
            (Token::Number { digits, unit }, column) => {
                (None, Some(class(&digits, &unit, column)?))
            }
            (Token::Name(journey), _) => {
                if matches!(self.peek(), Some((Token::Punct(","), _))) {
                    self.at += 1;
                    match self.next("a status class (4xx, 5xx)")? {
                        (Token::Number { digits, unit }, column) => {
                            (Some(journey), Some(class(&digits, &unit, column)?))
                        }
                        (other, column) => {
                            return Err(ClaimError::new(
                                column,
                                format!(
                                    "expected a status class (4xx, 5xx), found {}",
                                    describe(&other)
                                ),
                            ))
                        }
                    }
                } else {
                    (Some(journey), None)
                }
            }
            (other, column) => {
                return Err(ClaimError::new(
                    column,
                    format!(
                        "expected a journey or a status class, found {}",
                        describe(&other)
                    ),
                ))
            }
        };
        self.punct(")")?;
        Ok(result)
    }

    /// A series name.
    fn series_name(&mut self) -> Result<String, ClaimError> {
        match self.next("a series name")? {
            (Token::Name(name), _) => Ok(name),
            (other, column) => Err(ClaimError::new(
                column,
                format!("expected a series name, found {}", describe(&other)),
            )),
        }
    }

    /// `metric`'s argument: `(name)` or `(numerator / denominator)` (the
    /// lexer reads `a/b` without spaces as one name: series names have no
    /// `/`, so it is split here).
    fn series_arguments(&mut self) -> Result<Metric, ClaimError> {
        self.punct("(")?;
        let column = self.peek().map_or(self.end, |(_, c)| c);
        let first = self.series_name()?;
        let metric = if matches!(self.peek(), Some((Token::Punct("/"), _))) {
            self.at += 1;
            Metric::SeriesRatio {
                numerator: first,
                denominator: self.series_name()?,
            }
        } else if let Some((numerator, denominator)) = first.split_once('/') {
            if numerator.is_empty() || denominator.is_empty() || denominator.contains('/') {
                return Err(ClaimError::new(
                    column,
                    format!("expected a series or a ratio of two (a / b), found \"{first}\""),
                ));
            }
            Metric::SeriesRatio {
                numerator: numerator.to_owned(),
                denominator: denominator.to_owned(),
            }
        } else {
            Metric::Series { name: first }
        };
        self.punct(")")?;
        Ok(metric)
    }

    /// `rate`'s argument: `(counter[window])`.
    fn rate_arguments(&mut self) -> Result<Metric, ClaimError> {
        self.punct("(")?;
        let name = self.series_name()?;
        self.punct("[")?;
        let over = match self.next("a window (5m)")? {
            (Token::Number { digits, unit }, column) => duration(&digits, &unit)
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    ClaimError::new(
                        column,
                        format!("expected a window such as 5m, found \"{digits}{unit}\""),
                    )
                })?,
            (other, column) => {
                return Err(ClaimError::new(
                    column,
                    format!("expected a window such as 5m, found {}", describe(&other)),
                ))
            }
        };
        self.punct("]")?;
        self.punct(")")?;
        Ok(Metric::CounterRate { name, over })
    }

    fn metric(&mut self) -> Result<(Metric, Kind), ClaimError> {
        let (name, column) = match self.next("a metric")? {
            (Token::Name(name), column) => (name, column),
            (other, column) => {
                return Err(ClaimError::new(
                    column,
                    format!("expected a metric ({METRICS}), found {}", describe(&other)),
                ))
            }
        };
        let journey = |p: &mut Parser| {
            p.argument(true)
                .map(|a| a.map(|(t, _)| t).unwrap_or_default())
        };
        let optional = |p: &mut Parser| p.argument(false).map(|a| a.map(|(t, _)| t));
        let metric = match name.as_str() {
            "mean" => (
                Metric::MeanLatency {
                    journey: journey(self)?,
                },
                Kind::Time,
            ),
            "max" => (
                Metric::MaxLatency {
                    journey: journey(self)?,
                },
                Kind::Time,
            ),
            "error_rate" => {
                let (journey, class) = self.error_rate_arguments()?;
                (Metric::ErrorRate { journey, class }, Kind::Ratio)
            }
            "rps" => (
                Metric::Rps {
                    journey: optional(self)?,
                },
                Kind::Rate,
            ),
            "cache_hit_rate" => (Metric::CacheHitRate, Kind::Ratio),
            "availability" => (Metric::Availability, Kind::Ratio),
            "bytes_per_cached_module" => (Metric::BytesPerCachedModule, Kind::Bytes),
            "compilations_per_module" => (Metric::CompilationsPerModule, Kind::Number),
            "memory_usage" => (Metric::MemoryUsage, Kind::Ratio),
            "memory_growth" => (Metric::MemoryGrowth, Kind::Bytes),
            "freshness" => (Metric::Freshness, Kind::Ratio),
            "config_atomicity" => (Metric::ConfigAtomicity, Kind::Ratio),
            "hit_rate_accuracy" => (Metric::HitRateAccuracy, Kind::Ratio),
            "cpu_usage" => (Metric::CpuUsage, Kind::Ratio),
            "check" => (
                Metric::Check {
                    name: journey(self)?,
                },
                Kind::Ratio,
            ),
            "metric" => (self.series_arguments()?, Kind::Number),
            "rate" => (self.rate_arguments()?, Kind::Number),
            "recovery_time" | "time_to_open" => {
                let (arg, at) = self.argument(true)?.unwrap_or_default();
                let dependency = dependency(&arg, at)?;
                let metric = if name == "recovery_time" {
                    Metric::RecoveryTime { dependency }
                } else {
                    Metric::TimeToOpen { dependency }
                };
                (metric, Kind::Time)
            }
            other => match quantile(other) {
                Some(quantile) => (
                    Metric::Latency {
                        quantile,
                        journey: journey(self)?,
                    },
                    Kind::Time,
                ),
                None => {
                    return Err(ClaimError::new(
                        column,
                        format!("unknown metric \"{other}\"; known: {METRICS}"),
                    ))
                }
            },
        };
        Ok(metric)
    }

    fn cmp(&mut self) -> Result<Cmp, ClaimError> {
        match self.next("a comparison (<, <=, >, >=)")? {
            (Token::Punct("<"), _) => Ok(Cmp::Lt),
            (Token::Punct("<="), _) => Ok(Cmp::Le),
            (Token::Punct(">"), _) => Ok(Cmp::Gt),
            (Token::Punct(">="), _) => Ok(Cmp::Ge),
            (other, column) => Err(ClaimError::new(
                column,
                format!(
                    "expected a comparison (<, <=, >, >=), found {}",
                    describe(&other)
                ),
            )),
        }
    }

    fn threshold(&mut self, kind: Kind) -> Result<Threshold, ClaimError> {
        let (digits, unit, column) = match self.next("a threshold")? {
            (Token::Number { digits, unit }, column) => (digits, unit, column),
            (other, column) => {
                return Err(ClaimError::new(
                    column,
                    format!("expected a number, found {}", describe(&other)),
                ))
            }
        };
        let bad_number = || ClaimError::new(column, format!("\"{digits}\" is not a number"));
        let wrong_unit = |wanted: &str| {
            let found = if unit.is_empty() {
                "no unit".to_owned()
            } else {
                format!("\"{unit}\"")
            };
            ClaimError::new(column, format!("expected {wanted}, found {found}"))
        };
        match kind {
            Kind::Time => duration(&digits, &unit)
                .map(Threshold::Duration)
                .ok_or_else(|| {
                    if scaled(&digits, 1).is_none() {
                        bad_number()
                    } else {
                        wrong_unit("a time (ns, us, ms, s, m, h)")
                    }
                }),
            Kind::Ratio => {
                let ratio = match unit.as_str() {
                    "%" => percent(&digits).ok_or_else(bad_number)?,
                    "" => digits.parse().map_err(|_| bad_number())?,
                    _ => return Err(wrong_unit("a ratio (0.8) or a percentage (80%)")),
                };
                if !(0.0..=1.0).contains(&ratio) {
                    return Err(ClaimError::new(
                        column,
                        "a ratio must lie between 0 and 1 (0 % and 100 %)",
                    ));
                }
                Ok(Threshold::Ratio(ratio))
            }
            Kind::Bytes => {
                let size = byte_unit(&unit)
                    .ok_or_else(|| wrong_unit("a size (B, KB, MB, GB, KiB, MiB, GiB)"))?;
                let bytes = scaled(&digits, size).ok_or_else(bad_number)?;
                u64::try_from(bytes)
                    .map(Threshold::Bytes)
                    .map_err(|_| ClaimError::new(column, "size too large"))
            }
            Kind::Number => match unit.as_str() {
                "" => digits
                    .parse()
                    .map(Threshold::Number)
                    .map_err(|_| bad_number()),
                _ => Err(wrong_unit("a plain number (the series' own unit)")),
            },
            Kind::Rate => {
                let value: f64 = digits.parse().map_err(|_| bad_number())?;
                match unit.as_str() {
                    "" | "/s" | "rps" => Ok(Threshold::PerSec(value)),
                    _ => Err(wrong_unit("a rate (200, 200/s or 200rps)")),
                }
            }
        }
    }

    /// `for 2m`, the alert form.
    fn window(&mut self) -> Result<Option<Duration>, ClaimError> {
        match self.peek() {
            Some((Token::Name(word), _)) if word == "for" => self.at += 1,
            _ => return Ok(None),
        }
        match self.next("a window (e.g. 2m)")? {
            (Token::Number { digits, unit }, column) => duration(&digits, &unit)
                .filter(|d| !d.is_zero())
                .map(Some)
                .ok_or_else(|| ClaimError::new(column, "expected a window such as 30s or 2m")),
            (other, column) => Err(ClaimError::new(
                column,
                format!("expected a window such as 2m, found {}", describe(&other)),
            )),
        }
    }
}

/// `p50` → 0.5, `p99` → 0.99, `p999` → 0.999, `p99.9` → 0.999.
fn quantile(name: &str) -> Option<f64> {
    let digits = name.strip_prefix('p')?;
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let percent = if !digits.contains('.') && digits.len() >= 3 && digits.starts_with("99") {
        // p999 = 99.9th, p9999 = 99.99th (HdrHistogram's naming).
        format!("{}.{}", &digits[..2], &digits[2..])
    } else {
        digits.to_owned()
    };
    let (whole, fraction) = percent.split_once('.').unwrap_or((&percent, ""));
    if whole.is_empty() || fraction.contains('.') {
        return None;
    }
    // Parsed as one decimal literal, so 99.9 % is exactly the f64 nearest
    // 0.999 (dividing 99.9 by 100 is not).
    let quantile: f64 = format!("{whole}{fraction}e-{}", fraction.len() + 2)
        .parse()
        .ok()?;
    (quantile > 0.0 && quantile < 1.0).then_some(quantile)
}

fn dependency(text: &str, column: usize) -> Result<Dependency, ClaimError> {
    match text.split_once(':') {
        Some(("external", name)) if !name.is_empty() => Ok(Dependency::External(name.to_owned())),
        None if text == "target" => Err(ClaimError::new(
            column,
            "expected external:NAME: the target has no breaker, and its recovery after a \
             process fault is a game-day drill's (verify = \"ready\")",
        )),
        _ => Err(ClaimError::new(
            column,
            format!("expected external:NAME, found \"{text}\""),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_names() {
        assert_eq!(quantile("p50"), Some(0.5));
        assert_eq!(quantile("p99"), Some(0.99));
        assert_eq!(quantile("p999"), Some(0.999));
        assert_eq!(quantile("p99.9"), Some(0.999));
        assert_eq!(quantile("p100"), None);
        assert_eq!(quantile("p"), None);
        assert_eq!(quantile("px"), None);
    }
}
