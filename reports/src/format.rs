//! The words and numbers every artefact shares: a verdict's measured value
//! in the unit its claim was written in, and how a run ended.

use somon_record::{Exit, RunReport, RunStatus, Verdict};

/// What a cell shows when there is no value.
pub(crate) const NONE: &str = "—";

/// A verdict's measured value in the unit of its expectation.
///
/// A verdict carries its value in base units (seconds, ratio, bytes, per
/// second) and its expectation only as text, so the unit is read back from
/// that text's threshold, the way `Threshold`'s `Display` writes it:
/// `100ms`, `1.5s`, `2m`, `1%`, `50KB`, `200/s`, or a bare ratio.
pub(crate) fn format_measured(verdict: &Verdict) -> String {
    let Some(value) = verdict.measured else {
        return NONE.to_string();
    };
    // The windowed (alert) form measures how long its condition held.
    if verdict.expected.contains(" for ") {
        return format!("held {value:.0} s");
    }
    let threshold = verdict.expected.split_whitespace().last().unwrap_or("");
    if threshold.ends_with("/s") {
        format!("{}/s", decimals(value))
    } else if threshold.ends_with('%') {
        format!("{}%", decimals(value * 100.0))
    } else if threshold.ends_with('B') {
        bytes(value)
    } else if is_duration(threshold) {
        seconds(value)
    } else {
        decimals(value)
    }
}

/// `100ms`, `1.5s`, `2m`: digits, then a duration unit.
fn is_duration(threshold: &str) -> bool {
    let unit = threshold.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    unit.len() < threshold.len() && ["ns", "us", "ms", "s", "m", "h"].contains(&unit)
}

/// Latencies are mostly well under a second, recoveries well over one:
/// each reads best in its own unit.
pub(crate) fn seconds(value: f64) -> String {
    if value.abs() < 1.0 {
        format!("{:.3} ms", value * 1e3)
    } else {
        format!("{value:.3} s")
    }
}

/// Decimal units, as the claim language writes them (`50KB` is 50 000).
pub(crate) fn bytes(value: f64) -> String {
    match value.abs() {
        v if v >= 1e9 => format!("{} GB", decimals(value / 1e9)),
        v if v >= 1e6 => format!("{} MB", decimals(value / 1e6)),
        v if v >= 1e3 => format!("{} KB", decimals(value / 1e3)),
        _ => format!("{} B", decimals(value)),
    }
}

/// At most three decimals, without trailing zeros.
pub(crate) fn decimals(value: f64) -> String {
    let text = format!("{value:.3}");
    if !text.contains('.') {
        return text;
    }
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// The status as `verdicts.json` spells it (serde's kebab-case).
pub(crate) fn status_name(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Completed => "completed",
        RunStatus::Interrupted => "interrupted",
        RunStatus::Aborted => "aborted",
        RunStatus::TargetCrashed => "target-crashed",
        RunStatus::SteadyStateFailed => "steady-state-failed",
    }
}

/// The run's overall result as its exit code reads: `PASS`, `FAIL` or
/// `INCONCLUSIVE`.
pub(crate) fn result_label(report: &RunReport) -> &'static str {
    match report.exit_code() {
        Exit::Pass => "PASS",
        Exit::Fail => "FAIL",
        _ => "INCONCLUSIVE",
    }
}

/// How a run that did not complete ended: `INTERRUPTED: Ctrl-C`, or just
/// `ABORTED` when no reason was given. `None` for a completed run.
pub(crate) fn cut_short(report: &RunReport) -> Option<String> {
    if report.status.is_complete() {
        return None;
    }
    let status = status_name(report.status).to_uppercase();
    Some(match report.reason.as_deref() {
        Some(reason) if !reason.is_empty() => format!("{status}: {reason}"),
        _ => status,
    })
}

/// The phases whose generator did not keep up, one `phase: reason; reason`
/// each.
pub(crate) fn invalid_phases(report: &RunReport) -> Vec<String> {
    report
        .validity
        .iter()
        .filter(|v| !v.valid)
        .map(|v| {
            if v.reasons.is_empty() {
                v.phase.clone()
            } else {
                format!("{}: {}", v.phase, v.reasons.join("; "))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use somon_record::Outcome;

    fn measured(expected: &str, value: Option<f64>) -> String {
        format_measured(&Verdict {
            kind: Default::default(),
            claim: "c".into(),
            source: "s".into(),
            phase: None,
            outcome: Outcome::Pass,
            expected: expected.into(),
            measured: value,
            samples: 1,
            evidence: String::new(),
        })
    }

    #[test]
    fn durations_read_in_ms_below_a_second_and_s_above() {
        assert_eq!(
            measured("p99(load_cached) < 100ms", Some(0.012345)),
            "12.345 ms"
        );
        assert_eq!(
            measured("p99(load_cached) < 100ms", Some(0.0000004)),
            "0.000 ms"
        );
        assert_eq!(measured("mean(health) < 500us", Some(0.00025)), "0.250 ms");
        assert_eq!(
            measured("recovery_time(external:lodash) < 30s", Some(12.5)),
            "12.500 s"
        );
        assert_eq!(
            measured("time_to_open(external:lodash) < 2m", Some(0.5)),
            "500.000 ms"
        );
        assert_eq!(measured("max(load) < 1.5s", Some(1.0)), "1.000 s");
    }

    #[test]
    fn ratios_read_as_percent_when_written_so() {
        assert_eq!(measured("error_rate < 1%", Some(0.034)), "3.4%");
        assert_eq!(measured("error_rate < 0.1%", Some(0.0)), "0%");
        assert_eq!(measured("availability > 99.9%", Some(0.99871)), "99.871%");
        assert_eq!(measured("cache_hit_rate > 0.333", Some(0.5)), "0.5");
    }

    #[test]
    fn bytes_read_in_decimal_units() {
        assert_eq!(
            measured("bytes_per_cached_module < 50KB", Some(48_213.0)),
            "48.213 KB"
        );
        assert_eq!(
            measured("bytes_per_cached_module < 50KB", Some(2_500_000.0)),
            "2.5 MB"
        );
        assert_eq!(
            measured("bytes_per_cached_module < 900B", Some(512.0)),
            "512 B"
        );
        assert_eq!(measured("bytes_per_cached_module < 1GB", Some(3e9)), "3 GB");
    }

    #[test]
    fn rates_keep_their_unit() {
        assert_eq!(measured("rps(load) > 200/s", Some(1234.5678)), "1234.568/s");
    }

    #[test]
    fn windowed_form_reads_as_seconds_held() {
        assert_eq!(
            measured("p99(load_cached) > 1000ms for 2m", Some(130.0)),
            "held 130 s"
        );
        assert_eq!(measured("error_rate > 5% for 30s", Some(0.0)), "held 0 s");
    }

    #[test]
    fn missing_or_odd_values_still_read() {
        assert_eq!(measured("error_rate < 1%", None), NONE);
        assert_eq!(measured("", Some(2.0)), "2");
        assert_eq!(measured("weird", Some(-0.0001)), "0");
        assert_eq!(measured("weird", Some(f64::NAN)), "NaN");
        assert_eq!(measured("weird", Some(f64::INFINITY)), "inf");
    }

    #[test]
    fn status_names_match_serde() {
        for status in [
            RunStatus::Completed,
            RunStatus::Interrupted,
            RunStatus::Aborted,
            RunStatus::TargetCrashed,
            RunStatus::SteadyStateFailed,
        ] {
            let serde = serde_json::to_value(status).unwrap();
            assert_eq!(serde.as_str(), Some(status_name(status)));
        }
    }
}
