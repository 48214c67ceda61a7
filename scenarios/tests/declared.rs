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
    assert!(matches!(&render.0, Journey::Http(r) if r.path == "/api/render"));
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
        .replace("method = \"POST\"", "method = \"post\"")
        .replace("every = \"500ms\"", "every = \"10ms\"")
        .replace("tolerance = \"5ms\"", "tolerance = \"lots\"")
        .replace("check(health)", "check(ready)");
    let err = parse(&bad).unwrap_err();
    assert!(
        err.contains(
            "p.toml:8:10: requests[0].method: \"post\" is not an HTTP method: methods are upper case (\"POST\")"
        ),
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
        err.contains("p.toml:9:8: requests[0].body: a GET sends no body"),
        "{err}"
    );

    let not_json = GOOD.replace(r#"'{"template": "page"}'"#, "'{oops'");
    let err = parse(&not_json).unwrap_err();
    assert!(err.contains("requests[0].body: not JSON"), "{err}");
}

/// A request to an API as a user writes one: any method, query, headers,
/// a JSON body from TOML, its own timeout.
const API: &str = r#"
name = "api"
secrets = ["API_TOKEN"]
[target]
kind = "url"
url = "http://127.0.0.1:3000"
[[requests]]
name = "create"
method = "PUT"
path = "/items/7?v=1"
query = { tenant = "acme corp", page = 2 }
headers = { Authorization = "Bearer ${API_TOKEN}", X-Trace = "on" }
json = { name = "widget", tags = ["a", "b"] }
timeout = "1500ms"
[[requests]]
name = "remove"
method = "DELETE"
path = "/items/7"
headers = { Cookie = "session=${SESSION:-anonymous}" }
[[requests]]
name = "upload"
method = "POST"
path = "/upload"
headers = { content-type = "text/csv" }
body = "a,b\n1,2"
[[phases]]
name = "steady"
duration = "10s"
load = { model = "open", rate = 20, journeys = { create = 1, remove = 1, upload = 1 } }
"#;

fn with_env(text: &str) -> Result<Scenario, String> {
    let env = |name: &str| (name == "API_TOKEN").then(|| "tok-\"1\"".to_owned());
    Scenario::from_toml_with_env(Path::new("p.toml"), text, env).map_err(|e| e.to_string())
}

fn request<'a>(s: &'a Scenario, name: &str) -> &'a somon_loadgen::Request {
    let Load::Open { journeys, .. } = &s.phases[0].load else {
        panic!("open")
    };
    match journeys.iter().find(|(j, _)| j.name() == name) {
        Some((Journey::Http(r), _)) => r,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn any_method_with_query_headers_body_and_timeout() {
    let s = with_env(API).unwrap();
    let create = request(&s, "create");
    assert_eq!(create.method.as_str(), "PUT");
    assert_eq!(create.path, "/items/7?v=1&page=2&tenant=acme%20corp");
    assert_eq!(create.header("authorization"), Some("Bearer tok-\"1\""));
    assert_eq!(create.header("x-trace"), Some("on"));
    assert_eq!(create.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(create.body.as_ref().unwrap()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "name": "widget", "tags": ["a", "b"] })
    );
    assert_eq!(create.timeout, Some(Duration::from_millis(1500)));

    let remove = request(&s, "remove");
    assert_eq!(remove.method.as_str(), "DELETE");
    assert_eq!(
        remove.header("cookie"),
        Some("session=anonymous"),
        "the default"
    );
    assert_eq!((remove.body.as_ref(), remove.timeout), (None, None));

    let upload = request(&s, "upload");
    assert_eq!(
        upload.header("content-type"),
        Some("text/csv"),
        "not replaced"
    );
    assert_eq!(upload.body.as_deref(), Some(&b"a,b\n1,2"[..]));
}

#[test]
fn the_token_and_credential_headers_are_secrets() {
    let s = with_env(API).unwrap();
    assert_eq!(s.secrets.len(), 3, "{:?}", s.secrets);
    let text = "Bearer tok-\"1\" / tok-\"1\" / session=anonymous / Bearer x";
    assert_eq!(
        s.secrets.redact(text),
        "[redacted] / [redacted] / [redacted] / Bearer x"
    );
    let typo = API.replace("secrets = [\"API_TOKEN\"]", "secrets = [\"API_TOKN\"]");
    let err = with_env(&typo).unwrap_err();
    assert!(
        err.contains("p.toml:3:12: secrets[0]: no `${API_TOKN}` in this file uses API_TOKN"),
        "{err}"
    );
}

#[test]
fn a_body_file_is_read_beside_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("item.bin"), [0u8, 159, 146, 150]).unwrap();
    let text = API.replace(
        "json = { name = \"widget\", tags = [\"a\", \"b\"] }",
        "body_file = \"item.bin\"",
    );
    let file = dir.path().join("api.toml");
    let env = |name: &str| (name == "API_TOKEN").then(|| "t".to_owned());
    let s = Scenario::from_toml_with_env(&file, &text, env).unwrap();
    let create = request(&s, "create");
    assert_eq!(create.body.as_deref(), Some(&[0u8, 159, 146, 150][..]));
    assert_eq!(
        create.header("content-type"),
        Some("application/octet-stream")
    );

    let missing = text.replace("item.bin", "gone.bin");
    let err = Scenario::from_toml_with_env(&file, &missing, env)
        .unwrap_err()
        .to_string();
    assert!(err.contains("requests[0].body_file: cannot read"), "{err}");
    assert!(err.contains("gone.bin"), "{err}");
}

#[test]
fn request_mistakes_are_reported_where_they_are() {
    let bad = API
        .replace("X-Trace = \"on\"", "\"X Trace\" = \"on\"")
        .replace("timeout = \"1500ms\"", "timeout = \"0s\"")
        .replace(
            "headers = { content-type = \"text/csv\" }",
            "headers = { content-length = 3 }",
        )
        .replace("path = \"/upload\"", "path = \"/up load\"");
    let err = with_env(&bad).unwrap_err();
    for wanted in [
        "requests[0].headers.X Trace: a header name is letters",
        "p.toml:14:11: requests[0].timeout: a timeout lies between 1ms and 10m",
        "requests[2].headers.content-length: `content-length` is set from the body",
        "requests[2].path: a path has no spaces",
    ] {
        assert!(err.contains(wanted), "{wanted}\n{err}");
    }
    let two_bodies = API.replace("timeout = \"1500ms\"", "body = \"{}\"");
    let err = with_env(&two_bodies).unwrap_err();
    assert!(
        err.contains("requests[0]: give one of `body`, `json` and `body_file`"),
        "{err}"
    );
    let raw_text = API.replace("headers = { content-type = \"text/csv\" }\n", "");
    let err = with_env(&raw_text).unwrap_err();
    assert!(err.contains("requests[2].body: not JSON"), "{err}");
    assert!(err.contains("content-type header"), "{err}");
}

#[test]
fn an_unset_variable_is_reported_where_it_is_written() {
    let err = Scenario::from_toml_with_env(Path::new("p.toml"), API, |_| None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "p.toml:12:37: environment variable API_TOKEN is not set or empty (write `${API_TOKEN:-…}` to give a default)"
    );
    // A later mistake on a line after a replaced value points at the text as written.
    let bad = API.replace("timeout = \"1500ms\"", "timeout = \"soon\"");
    let err = with_env(&bad).unwrap_err();
    assert!(
        err.contains("p.toml:14:11: requests[0].timeout: \"soon\" is not a duration"),
        "{err}"
    );
    let same_line = API.replace("X-Trace = \"on\"", "X-Trace = [1]");
    let err = with_env(&same_line).unwrap_err();
    assert!(
        err.contains("p.toml:12:11: requests[0].headers.X-Trace"),
        "{err}"
    );
}

#[test]
fn another_service_gets_no_built_in_journey_unless_named() {
    let unnamed = GOOD.replace(", journeys = { render = 3, health = 1 }", "");
    let err = parse(&unnamed).unwrap_err();
    assert!(
        err.contains("phases[0].load.journeys: name the journeys this phase sends"),
        "{err}"
    );
    // The module system's own scenarios keep their default.
    let ours = "name = \"m\"\n[[phases]]\nname = \"p\"\nduration = \"1s\"\nload = { model = \"open\", rate = 5 }\n";
    let s = parse(ours).unwrap();
    let Load::Open { journeys, .. } = &s.phases[0].load else {
        panic!("open")
    };
    assert_eq!(journeys, &[(Journey::LoadCached, 1)]);
}
