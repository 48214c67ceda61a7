//! The parts of a scenario that declare things for other services besides
//! its requests: `[[checks]]` (endpoints polled during the method) and
//! `[regression]` (the baseline gate's tolerance); and the checks of names
//! and paths that `[[requests]]` shares.

use std::time::Duration;

use toml::Spanned;

use super::super::raw::{RawCheck, RawRegression, RawTolerance};
use super::super::EndpointCheck;
use super::Validator;
use crate::parse_duration;
use crate::RegressionSettings;

/// `[[checks]]`.
pub(super) fn checks(c: &mut Validator<'_>, raw: &[Spanned<RawCheck>]) -> Vec<EndpointCheck> {
    let mut out: Vec<EndpointCheck> = Vec::new();
    for (i, check) in raw.iter().enumerate() {
        let path = format!("checks[{i}]");
        let r = check.get_ref();
        let name = r.name.get_ref();
        if !valid_name(name) || out.iter().any(|o| o.name == *name) {
            c.at(
                r.name.span(),
                format!("{path}.name"),
                format!("check name \"{name}\" is empty, not unique, or has characters other than letters, digits, `_`, `-`, `.`"),
            );
            continue;
        }
        if !self::path(c, &r.path, &format!("{path}.path")) {
            continue;
        }
        let status = match &r.status {
            Some(s) if !(100..600).contains(s.get_ref()) => {
                c.at(
                    s.span(),
                    format!("{path}.status"),
                    "a status lies in 100–599",
                );
                continue;
            }
            Some(s) => *s.get_ref(),
            None => 200,
        };
        let every = match &r.every {
            Some(e) => match c.duration(e, &format!("{path}.every")) {
                Some(d) if d >= Duration::from_millis(100) => d,
                Some(_) => {
                    c.at(
                        e.span(),
                        format!("{path}.every"),
                        "poll at most every 100ms",
                    );
                    continue;
                }
                None => continue,
            },
            None => Duration::from_secs(1),
        };
        let json = r
            .json
            .iter()
            .filter_map(|(k, v)| serde_json::to_value(v).ok().map(|v| (k.clone(), v)))
            .collect();
        out.push(EndpointCheck {
            name: name.clone(),
            path: r.path.get_ref().clone(),
            status,
            json,
            every,
        });
    }
    out
}

/// `[regression]`, defaults where absent.
pub(super) fn regression(
    c: &mut Validator<'_>,
    raw: Option<&Spanned<RawRegression>>,
) -> RegressionSettings {
    let mut out = RegressionSettings::default();
    let Some(raw) = raw else { return out };
    let r = raw.get_ref();
    let span = r.tolerance.span();
    let items: Vec<&str> = match r.tolerance.get_ref() {
        RawTolerance::One(one) => vec![one.as_str()],
        RawTolerance::Many(many) => many.iter().map(String::as_str).collect(),
    };
    let (mut relative, mut absolute) = (None, None);
    for item in items {
        if let Some(p) = percent(item) {
            relative = Some(p);
        } else if let Some(d) = parse_duration(item) {
            absolute = Some(d);
        } else {
            c.at(
                span.clone(),
                "regression.tolerance",
                format!("\"{item}\" is neither a percentage (10%) nor a time (5ms)"),
            );
        }
    }
    // Only what is written counts: a tolerance given as a time alone
    // allows no relative slack, and the other way round.
    if relative.is_some() || absolute.is_some() {
        out.relative = relative.unwrap_or(0.0);
        out.absolute = absolute.unwrap_or(Duration::ZERO);
    }
    if let Some(conf) = &r.confidence {
        match percent(conf.get_ref()).filter(|p| *p >= 0.5 && *p < 1.0) {
            Some(p) => out.confidence = p,
            None => c.at(
                conf.span(),
                "regression.confidence",
                "expected a confidence between 50% and 100% (e.g. 95%)",
            ),
        }
    }
    if let Some(n) = r.resamples {
        if !(100..=100_000).contains(&n) {
            c.at(
                span,
                "regression.resamples",
                "resamples must lie between 100 and 100000",
            );
        } else {
            out.resamples = n;
        }
    }
    out
}

/// `"10%"` → 0.1.
fn percent(text: &str) -> Option<f64> {
    let value: f64 = text.trim().strip_suffix('%')?.trim().parse().ok()?;
    (value.is_finite() && (0.0..=1000.0).contains(&value)).then_some(value / 100.0)
}

/// Whether `value` is a path to request (reported at `at` when not): it
/// starts with `/` and has no space or control character.
pub(super) fn path(c: &mut Validator<'_>, value: &Spanned<String>, at: &str) -> bool {
    let text = value.get_ref();
    let problem = if !text.starts_with('/') {
        "a path starts with `/`"
    } else if text.chars().any(|ch| ch.is_control() || ch == ' ') {
        "a path has no spaces or control characters (write %20; a query can go in `query`)"
    } else {
        return true;
    };
    c.at(value.span(), at, problem);
    false
}

/// A name the claim language reads as one argument.
pub(super) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}
