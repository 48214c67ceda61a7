//! A hand-built run report for the renderers' tests, and a whole-text
//! comparison that prints a line diff when it fails.

use std::time::Duration;

use somon_record::{
    Host, Manifest, Outcome, PhaseValidity, RunRecord, RunReport, RunStatus, Verdict,
};

#[allow(
    clippy::too_many_arguments,
    reason = "one argument per Verdict field keeps the fixture table-like"
)]
fn verdict(
    claim: &str,
    source: &str,
    phase: Option<&str>,
    outcome: Outcome,
    expected: &str,
    measured: Option<f64>,
    samples: u64,
    evidence: &str,
) -> Verdict {
    Verdict {
        kind: Default::default(),
        claim: claim.into(),
        source: source.into(),
        phase: phase.map(Into::into),
        outcome,
        expected: expected.into(),
        measured,
        samples,
        evidence: evidence.into(),
    }
}

/// A completed, valid run: two PASS, one FAIL, one UNKNOWN, one
/// steady-state probe. One claim id and one source hold characters that
/// need escaping in every format.
pub(crate) fn report() -> RunReport {
    RunReport {
        manifest: Manifest {
            scenario: "cache-smoke".into(),
            description: "Cached loads stay fast".into(),
            file: Some("catalog/cache-smoke.toml".into()),
            seed: 42,
            git_sha: Some("abc1234".into()),
            versions: [("somon-verify".to_string(), "0.1.0".to_string())].into(),
            host: Host {
                cores: 2,
                memory_bytes: 8_000_000_000,
                os: "Linux 6.1".into(),
                cpu: "Test CPU".into(),
            },
            target: "spawn".into(),
            defects: vec!["slow-hits".into()],
            started_at: "2025-01-01T00:00:00Z".into(),
            wall_time: Duration::from_millis(65_500),
            shard: None,
        },
        status: RunStatus::Completed,
        reason: None,
        validity: vec![
            PhaseValidity {
                phase: "steady".into(),
                valid: true,
                reasons: vec![],
            },
            PhaseValidity {
                phase: "fault".into(),
                valid: true,
                reasons: vec![],
            },
        ],
        steady_state: vec![verdict(
            "healthy",
            "RUNBOOK.md §Health",
            Some("before"),
            Outcome::Pass,
            "error_rate < 1%",
            Some(0.0),
            50,
            "0 failed of 50 requests",
        )],
        verdicts: vec![
            verdict(
                "p99-cached",
                "README.md §Performance",
                Some("steady"),
                Outcome::Pass,
                "p99(load_cached) < 100ms",
                Some(0.012345),
                12_000,
                "12000 requests of load_cached: p99 = 12.345 ms",
            ),
            verdict(
                "error-rate",
                "RUNBOOK.md §Alerts",
                Some("fault"),
                Outcome::Fail,
                "error_rate < 1%",
                Some(0.034),
                5_000,
                "170 failed of 5000 requests",
            ),
            verdict(
                "module-size",
                "README.md §Memory",
                None,
                Outcome::Unknown,
                "bytes_per_cached_module < 50KB",
                None,
                12,
                "only 12 modules entered the cache",
            ),
            verdict(
                "alert<&\">",
                "RUNBOOK | alerts",
                Some("fault"),
                Outcome::Pass,
                "p99(load_cached) > 1000ms for 2m",
                Some(130.0),
                300,
                "condition held for at most 130 consecutive seconds (window 120 s)",
            ),
        ],
        record: RunRecord::default(),
        history: Vec::new(),
        regression: None,
    }
}

/// The run compared with a baseline (`gate --baseline`): cached p50
/// regressed by 20 ms, the rate not judged (no interval in this run); both
/// comparisons are among the verdicts too.
pub(crate) fn compared() -> RunReport {
    use somon_record::regression::{BaselineRef, Comparison, Finding, Regression, Stat};
    let comparison =
        |stat, baseline, current: Option<f64>, interval, tolerance, finding| Comparison {
            journey: "load_cached".into(),
            phase: "steady".into(),
            stat,
            baseline: Some(baseline),
            current,
            interval,
            confidence: 0.95,
            tolerance,
            intervals: (10, if current.is_some() { 10 } else { 0 }),
            finding,
        };
    let comparisons = vec![
        comparison(
            Stat::P50,
            0.4,
            Some(20.4),
            Some((19.95, 20.05)),
            1.0,
            Finding::Regressed,
        ),
        comparison(Stat::Rps, 200.0, None, None, 20.0, Finding::Unknown),
    ];
    let mut report = report();
    report
        .verdicts
        .extend(comparisons.iter().map(Comparison::to_verdict));
    report.regression = Some(Regression {
        baseline: BaselineRef {
            location: "ci/baselines/quick".into(),
            scenario: "cache-smoke".into(),
            git_sha: Some("def5678".into()),
            started_at: "2024-12-31T00:00:00Z".into(),
        },
        comparisons,
    });
    report
}

/// The same run cut short by Ctrl-C, with its fault phase invalid.
pub(crate) fn interrupted() -> RunReport {
    let mut report = report();
    report.status = RunStatus::Interrupted;
    report.reason = Some("Ctrl-C".into());
    report.validity[1] = PhaseValidity {
        phase: "fault".into(),
        valid: false,
        reasons: vec!["generator fell 2.1 s behind its schedule".into()],
    };
    report
}

/// Asserts two texts are equal; on failure prints both with the first
/// differing line marked, which a plain `assert_eq!` on long strings hides.
macro_rules! assert_text_eq {
    ($expected:expr, $got:expr $(,)?) => {{
        let expected: &str = &$expected;
        let got: &str = &$got;
        if expected != got {
            panic!("{}", $crate::fixture::line_diff(expected, got));
        }
    }};
}
pub(crate) use assert_text_eq;

pub(crate) fn line_diff(expected: &str, got: &str) -> String {
    let mut out = String::from("texts differ (- expected, + got):\n");
    let (e, g): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), got.lines().collect());
    for i in 0..e.len().max(g.len()) {
        match (e.get(i), g.get(i)) {
            (Some(a), Some(b)) if a == b => out += &format!("  {a}\n"),
            (a, b) => {
                if let Some(a) = a {
                    out += &format!("- {a}\n");
                }
                if let Some(b) = b {
                    out += &format!("+ {b}\n");
                }
            }
        }
    }
    if expected.ends_with('\n') != got.ends_with('\n') {
        out += "(trailing newline differs)\n";
    }
    out
}
