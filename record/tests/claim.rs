//! The claim language: every documented form and every form the catalog
//! uses, errors with
//! columns, and properties (never panics; display and parse agree).

use std::time::Duration;

use proptest::prelude::*;
use somon_record::{Cmp, Dependency, Expectation, Metric, StatusClass, Threshold};

fn parse(text: &str) -> Expectation {
    text.parse()
        .unwrap_or_else(|e| panic!("{text:?} does not parse: {e}"))
}

fn error(text: &str) -> (usize, String) {
    let e = text.parse::<Expectation>().unwrap_err();
    (e.column, e.message)
}

#[test]
fn every_form_of_the_claim_language_parses() {
    let cases: &[(&str, Metric, Cmp, Threshold, Option<Duration>)] = &[
        (
            "p99(load_cached) < 100ms",
            Metric::Latency {
                quantile: 0.99,
                journey: "load_cached".into(),
            },
            Cmp::Lt,
            Threshold::Duration(Duration::from_millis(100)),
            None,
        ),
        (
            "error_rate < 1%",
            Metric::ErrorRate {
                journey: None,
                class: None,
            },
            Cmp::Lt,
            Threshold::Ratio(0.01),
            None,
        ),
        (
            "error_rate(templates, 5xx) < 1%",
            Metric::ErrorRate {
                journey: Some("templates".into()),
                class: Some(StatusClass::ServerError),
            },
            Cmp::Lt,
            Threshold::Ratio(0.01),
            None,
        ),
        (
            "error_rate(4xx) > 5% for 2m",
            Metric::ErrorRate {
                journey: None,
                class: Some(StatusClass::ClientError),
            },
            Cmp::Gt,
            Threshold::Ratio(0.05),
            Some(Duration::from_secs(120)),
        ),
        (
            "metric(pg_stat_database_numbackends / pg_settings_max_connections) > 0.8 for 5m",
            Metric::SeriesRatio {
                numerator: "pg_stat_database_numbackends".into(),
                denominator: "pg_settings_max_connections".into(),
            },
            Cmp::Gt,
            Threshold::Number(0.8),
            Some(Duration::from_secs(300)),
        ),
        (
            "rate(template_generation_failures_total[5m]) > 0.1 for 2m",
            Metric::CounterRate {
                name: "template_generation_failures_total".into(),
                over: Duration::from_secs(300),
            },
            Cmp::Gt,
            Threshold::Number(0.1),
            Some(Duration::from_secs(120)),
        ),
        (
            "recovery_time(external:lodash) < 30s",
            Metric::RecoveryTime {
                dependency: Dependency::External("lodash".into()),
            },
            Cmp::Lt,
            Threshold::Duration(Duration::from_secs(30)),
            None,
        ),
        (
            "time_to_open(external:@acme/ui) <= 10s",
            Metric::TimeToOpen {
                dependency: Dependency::External("@acme/ui".into()),
            },
            Cmp::Le,
            Threshold::Duration(Duration::from_secs(10)),
            None,
        ),
        (
            "bytes_per_cached_module < 50KB",
            Metric::BytesPerCachedModule,
            Cmp::Lt,
            Threshold::Bytes(50_000),
            None,
        ),
        (
            "compilations_per_module <= 1",
            Metric::CompilationsPerModule,
            Cmp::Le,
            Threshold::Number(1.0),
            None,
        ),
        (
            "p99(load_cached) > 1000ms for 2m",
            Metric::Latency {
                quantile: 0.99,
                journey: "load_cached".into(),
            },
            Cmp::Gt,
            Threshold::Duration(Duration::from_millis(1000)),
            Some(Duration::from_secs(120)),
        ),
        (
            "cache_hit_rate > 0.8",
            Metric::CacheHitRate,
            Cmp::Gt,
            Threshold::Ratio(0.8),
            None,
        ),
        (
            "availability >= 99.9%",
            Metric::Availability,
            Cmp::Ge,
            Threshold::Ratio(0.999),
            None,
        ),
        (
            "rps(load_cached) >= 1000/s",
            Metric::Rps {
                journey: Some("load_cached".into()),
            },
            Cmp::Ge,
            Threshold::PerSec(1000.0),
            None,
        ),
        (
            "p999(health)<1ms",
            Metric::Latency {
                quantile: 0.999,
                journey: "health".into(),
            },
            Cmp::Lt,
            Threshold::Duration(Duration::from_millis(1)),
            None,
        ),
        (
            "max(burst) ≤ 1.5s",
            Metric::MaxLatency {
                journey: "burst".into(),
            },
            Cmp::Le,
            Threshold::Duration(Duration::from_millis(1500)),
            None,
        ),
        (
            "error_rate(load_cached) > 10% for 1m",
            Metric::ErrorRate {
                journey: Some("load_cached".into()),
                class: None,
            },
            Cmp::Gt,
            Threshold::Ratio(0.10),
            Some(Duration::from_secs(60)),
        ),
    ];
    for (text, metric, cmp, threshold, window) in cases {
        let e = parse(text);
        assert_eq!(&e.metric, metric, "{text}");
        assert_eq!(&e.cmp, cmp, "{text}");
        assert_eq!(&e.threshold, threshold, "{text}");
        assert_eq!(&e.window, window, "{text}");
    }
}

#[test]
fn errors_point_at_the_column_and_say_what_was_expected() {
    let cases = [
        ("p99(load_cached) < 5%", 20, "expected a time"),
        ("p99(load_cached) < 100", 20, "found no unit"),
        ("latency < 100ms", 1, "unknown metric \"latency\""),
        ("p99 < 100ms", 5, "expected \"(\""),
        ("p99(load_cached < 100ms", 17, "expected \")\""),
        ("error_rate = 1%", 12, "unexpected character '='"),
        ("error_rate < 150%", 14, "between 0 and 1"),
        ("cache_hit_rate > 0.8 for", 25, "expected a window"),
        ("cache_hit_rate > 0.8 for 0s", 26, "expected a window"),
        ("bytes_per_cached_module < 50ms", 27, "expected a size"),
        (
            "compilations_per_module <= 1%",
            28,
            "expected a plain number",
        ),
        (
            "recovery_time(lodash) < 30s",
            15,
            "expected external:NAME, found \"lodash\"",
        ),
        (
            "recovery_time(target) < 30s",
            15,
            "the target has no breaker",
        ),
        ("time_to_open(target) < 2m", 14, "expected external:NAME"),
        ("rps > 10/min", 7, "expected a rate"),
        ("error_rate < 1% extra", 17, "unexpected \"extra\""),
        ("", 1, "expected a metric"),
        ("p99(load_cached) <", 19, "expected a threshold at the end"),
    ];
    for (text, column, message) in cases {
        let (at, said) = error(text);
        assert_eq!(at, column, "{text}: {said}");
        assert!(said.contains(message), "{text}: {said}");
    }
}

#[test]
fn the_display_form_is_canonical() {
    for (text, shown) in [
        ("p99(load_cached)<100ms", "p99(load_cached) < 100ms"),
        ("p99.9(x) <= 0.25s", "p99.9(x) <= 250ms"),
        ("error_rate < 0.01", "error_rate < 1%"),
        ("availability >= 99.9%", "availability >= 99.9%"),
    ] {
        assert_eq!(parse(text).to_string(), shown);
    }
    assert_eq!(
        parse("cache_hit_rate > 80% for 120s").to_string(),
        "cache_hit_rate > 80% for 2m"
    );
}

#[test]
fn comparisons_hold_as_written() {
    assert!(Cmp::Lt.holds(0.09, 0.1));
    assert!(!Cmp::Lt.holds(0.1, 0.1));
    assert!(Cmp::Le.holds(0.1, 0.1));
    assert!(Cmp::Gt.holds(2.0, 1.0));
    assert!(Cmp::Ge.holds(1.0, 1.0));
    assert_eq!(
        Threshold::Duration(Duration::from_millis(250)).value(),
        0.25
    );
}

fn journey() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,10}"
}

fn metric() -> impl Strategy<Value = (Metric, u8)> {
    prop_oneof![
        (
            prop::sample::select(vec![0.5, 0.9, 0.95, 0.99, 0.999]),
            journey()
        )
            .prop_map(|(quantile, journey)| (Metric::Latency { quantile, journey }, 0)),
        journey().prop_map(|journey| (Metric::MeanLatency { journey }, 0)),
        journey().prop_map(|journey| (Metric::MaxLatency { journey }, 0)),
        (
            proptest::option::of(journey()),
            proptest::option::of(prop::sample::select(vec![
                StatusClass::ClientError,
                StatusClass::ServerError
            ]))
        )
            .prop_map(|(journey, class)| (Metric::ErrorRate { journey, class }, 1)),
        proptest::option::of(journey()).prop_map(|journey| (Metric::Rps { journey }, 3)),
        Just((Metric::CacheHitRate, 1)),
        Just((Metric::Availability, 1)),
        "[a-z][a-z0-9-]{0,8}".prop_map(|n| (
            Metric::RecoveryTime {
                dependency: Dependency::External(n)
            },
            0
        )),
        "[a-z][a-z0-9-]{0,8}".prop_map(|n| (
            Metric::TimeToOpen {
                dependency: Dependency::External(n)
            },
            0
        )),
        Just((Metric::BytesPerCachedModule, 2)),
        Just((Metric::MemoryUsage, 1)),
        Just((Metric::CpuUsage, 1)),
        (journey(), journey()).prop_map(|(numerator, denominator)| (
            Metric::SeriesRatio {
                numerator,
                denominator
            },
            4
        )),
        (journey(), (1u64..3600).prop_map(Duration::from_secs))
            .prop_map(|(name, over)| (Metric::CounterRate { name, over }, 4)),
    ]
}

fn threshold(kind: u8) -> BoxedStrategy<Threshold> {
    match kind {
        0 => (1u64..10_000_000_000)
            .prop_map(|n| Threshold::Duration(Duration::from_nanos(n)))
            .boxed(),
        1 => (0u32..=10_000)
            .prop_map(|bp| Threshold::Ratio(f64::from(bp) / 10_000.0))
            .boxed(),
        2 => (0u64..1 << 40).prop_map(Threshold::Bytes).boxed(),
        4 => (0u32..1_000_000)
            .prop_map(|r| Threshold::Number(f64::from(r) / 8.0))
            .boxed(),
        _ => (0u32..1_000_000)
            .prop_map(|r| Threshold::PerSec(f64::from(r) / 4.0))
            .boxed(),
    }
}

fn expectation() -> impl Strategy<Value = Expectation> {
    metric().prop_flat_map(|(metric, kind)| {
        (
            Just(metric),
            prop::sample::select(vec![Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge]),
            threshold(kind),
            proptest::option::of((1u64..100_000).prop_map(Duration::from_millis)),
        )
            .prop_map(|(metric, cmp, threshold, window)| Expectation {
                metric,
                cmp,
                threshold,
                window,
            })
    })
}

proptest! {
    #[test]
    fn parsing_never_panics(text in "\\PC{0,60}") {
        let _ = text.parse::<Expectation>();
    }

    #[test]
    fn parsing_token_soup_never_panics(parts in prop::collection::vec(prop::sample::select(vec![
        "p99", "(", ")", "<", "<=", ">", ">=", ":", "100ms", "1%", "0.8", "for", "2m", "x", "external",
        "error_rate", "50KB", "1.2.3", "%", "/s", "µs", " ", "≤", "target", "p999", "metric", "rate",
        "/", "[", "]", ",", "5xx", "9".repeat(40).leak(),
    ]), 0..12)) {
        let text: String = parts.concat();
        if let Err(e) = text.parse::<Expectation>() {
            prop_assert!(e.column >= 1 && e.column <= text.chars().count() + 1, "{} for {:?}", e, text);
        }
    }

    #[test]
    fn display_then_parse_gives_back_the_same_claim(e in expectation()) {
        let text = e.to_string();
        let back: Expectation = text.parse().map_err(|err| TestCaseError::fail(format!("{text}: {err}")))?;
        prop_assert_eq!(back, e, "{}", text);
    }
}

#[test]
fn a_status_class_is_4xx_or_5xx_after_the_journey() {
    assert_eq!(
        error("error_rate(3xx) < 1%").1,
        "expected a journey or a status class (4xx, 5xx), found \"3xx\""
    );
    assert_eq!(error("error_rate(3xx) < 1%").0, 12);
    let (column, message) = error("error_rate(templates, other) < 1%");
    assert_eq!(column, 23);
    assert!(
        message.contains("expected a status class (4xx, 5xx)"),
        "{message}"
    );
    let (column, message) = error("error_rate(templates 5xx) < 1%");
    assert_eq!(column, 22);
    assert!(message.contains("expected \")\""), "{message}");
}

#[test]
fn a_ratio_and_a_rate_are_written_as_promql_writes_them() {
    let e = parse("metric(a/b) < 0.8");
    assert_eq!(e.to_string(), "metric(a / b) < 0.8");
    assert_eq!(error("rate(x) > 1").0, 7);
    assert!(error("rate(x) > 1").1.contains("expected \"[\""));
    let (column, message) = error("rate(x[0s]) > 1");
    assert_eq!(column, 8);
    assert!(message.contains("a window such as 5m"), "{message}");
    assert!(error("metric(a/) < 1").1.contains("a ratio of two"));
}
