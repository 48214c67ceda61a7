//! The scenario parts for other services — `[[requests]]`, `[[checks]]`,
//! `metric(…)`, `check(…)` — and `[regression]`: read as written, and every
//! mistake reported at its line and column.

use std::path::Path;
use std::time::Duration;

use somon_scenarios::{Cmp, Expectation, Journey, Load, Metric, Scenario, Threshold};

fn parse(text: &str) -> Result<Scenario, String> {
    Scenario::from_toml(Path::new("p.toml"), text).map_err(|e| e.to_string())
}

const GOOD: &str = r#"
name = "svc"
[target]
kind = "url"
url = "http://127.0.0.1:3000"
[[requests]]
name = "render"
method = "POST"
path = "/api/render"
body = '{"template": "page"}'
[[checks]]
name = "health"
path = "/health"
json = { status = "healthy", "checks.db" = "up" }
every = "500ms"
[[phases]]
name = "steady"
duration = "10s"
load = { model = "open", rate = 20, journeys = { render = 3, health = 1 } }
[[claims]]
id = "p95"
expect = "p95(render) < 200ms"
[[claims]]
id = "health"
expect = "check(health) >= 100%"
[[claims]]
id = "queue"
expect = "metric(godel_queue_depth) <= 1000"
[regression]
tolerance = "5ms"
"#;

#[test]
fn requests_checks_and_regression_are_read_as_written() {
    let s = parse(GOOD).unwrap();
    let Load::Open { journeys, .. } = &s.phases[0].load else {
        panic!("open")
    };
    assert_eq!(journeys.len(), 2);
    assert!(journeys.contains(&(Journey::Health, 1)));
    let render = journeys.iter().find(|(j, _)| j.name() == "render").unwrap();
    assert!(matches!(&render.0, Journey::Http { path, .. } if &**path == "/api/render"));
    assert_eq!(s.checks[0].every, Duration::from_millis(500));
    assert_eq!(s.checks[0].status, 200);
    assert_eq!(s.checks[0].json.len(), 2);
    assert_eq!(s.regression.absolute, Duration::from_millis(5));
    assert_eq!(s.regression.relative, 0.0, "only what is written counts");
    assert_eq!(
        s.claims[2].expect.metric,
        Metric::Series {
            name: "godel_queue_depth".into()
        }
    );
    assert_eq!(s.claims[2].expect.threshold, Threshold::Number(1000.0));
}

#[test]
fn the_new_metrics_print_as_they_parse() {
    for text in [
        "check(health) >= 100%",
        "metric(godel_cpu_usage_percent) <= 70",
        "metric(godel_memory_usage_percent) > 95 for 2m",
        "p95(templates) < 200ms",
    ] {
        let e: Expectation = text.parse().unwrap();
        assert_eq!(e.to_string(), text);
    }
    let e: Expectation = "metric(x) < 0.5".parse().unwrap();
    assert_eq!((e.cmp, e.threshold), (Cmp::Lt, Threshold::Number(0.5)));
}

#[test]
fn a_series_threshold_takes_no_unit() {
    let err = "metric(godel_cpu_usage_percent) < 80%"
        .parse::<Expectation>()
        .unwrap_err();
    assert_eq!(err.column, 35);
    assert!(err.message.contains("plain number"), "{}", err.message);
}

#[test]
fn mistakes_are_reported_where_they_are() {
    let bad = GOOD
        .replace("method = \"POST\"", "method = \"PATCH\"")
        .replace("every = \"500ms\"", "every = \"10ms\"")
        .replace("tolerance = \"5ms\"", "tolerance = \"lots\"")
        .replace("check(health)", "check(ready)");
    let err = parse(&bad).unwrap_err();
    assert!(
        err.contains("p.toml:8:10: requests[0].method: unsupported method \"PATCH\""),
        "{err}"
    );
    assert!(
        err.contains("p.toml:15:9: checks[0].every: poll at most every 100ms"),
        "{err}"
    );
    assert!(
        err.contains("claims[1].expect: no [[checks]] entry named \"ready\""),
        "{err}"
    );
    assert!(
        err.contains("regression.tolerance: \"lots\" is neither"),
        "{err}"
    );

    let clash = GOOD.replace("name = \"render\"", "name = \"health\"");
    let err = parse(&clash).unwrap_err();
    assert!(
        err.contains("p.toml:7:8: requests[0].name: \"health\" is a built-in journey"),
        "{err}"
    );

    let unknown = GOOD.replace("render = 3", "renders = 3");
    let err = parse(&unknown).unwrap_err();
    assert!(err.contains("unknown journey \"renders\""), "{err}");
    assert!(
        err.contains("render"),
        "the declared requests are listed: {err}"
    );

    let get_body = GOOD.replace("method = \"POST\"\n", "");
    let err = parse(&get_body).unwrap_err();
    assert!(
        err.contains("requests[0].body: only a POST sends a body"),
        "{err}"
    );

    let not_json = GOOD.replace(r#"'{"template": "page"}'"#, "'{oops'");
    let err = parse(&not_json).unwrap_err();
    assert!(err.contains("requests[0].body: not JSON"), "{err}");
}
