//! Bearer-token auth and lockdown guard every
//! management route; the probes stay open.

mod util;

use axum::http::Method;
use somon_system::Config;
use util::server::{call, state};
use util::Tree;

const TOKEN: &str = "correct-horse-battery-staple";

/// Every guarded route with a body that makes it succeed.
const GUARDED: &[(&str, &str, &str)] = &[
    ("GET", "/config", ""),
    ("POST", "/config", "{}"),
    ("POST", "/cache/clear", ""),
    ("POST", "/cache/warm", r#"{"modules": ["a.som"]}"#),
    ("GET", "/cache/stats", ""),
    ("POST", "/cache/cleanup", ""),
    ("GET", "/circuit-breakers/status", ""),
    ("POST", "/circuit-breakers/reset", ""),
    ("POST", "/circuit-breakers/reset/lodash", ""),
    ("POST", "/circuit-breakers/force-open/lodash", ""),
    ("GET", "/metrics", ""),
    ("GET", "/metrics/prometheus", ""),
    ("GET", "/metrics/export", ""),
    ("GET", "/health/details", ""),
];

const OPEN: &[&str] = &["/health", "/ready", "/live"];

fn tree() -> Tree {
    Tree::with(&[("a.som", "содир собит a = 1;\n")])
}

fn config(require_auth: bool, enabled: bool) -> Config {
    Config {
        externals: vec!["lodash".into()],
        require_auth,
        management_api_enabled: enabled,
        ..Config::default()
    }
}

async fn status_of(
    state: &somon_system::server::AppState,
    (method, uri, body): (&str, &str, &str),
    headers: &[(&str, &str)],
) -> u16 {
    let method: Method = method.parse().unwrap();
    let body = (!body.is_empty()).then_some(body.as_bytes());
    let reply = call(state, method, uri, body, headers).await;
    if reply.status.is_client_error() {
        assert!(
            reply.body["error"]["code"].is_string(),
            "{uri}: {}",
            reply.text
        );
    }
    reply.status.as_u16()
}

#[tokio::test]
async fn every_management_route_needs_the_token() {
    let tree = tree();
    let state = state(tree.root(), config(true, true), Some(TOKEN));
    let right = format!("Bearer {TOKEN}");
    for &route in GUARDED {
        assert_eq!(
            status_of(&state, route, &[]).await,
            401,
            "{route:?} without token"
        );
        let wrong = [("authorization", "Bearer not-the-token")];
        assert_eq!(
            status_of(&state, route, &wrong).await,
            401,
            "{route:?} wrong token"
        );
        let basic = [("authorization", "Basic YWRtaW46YWRtaW4=")];
        assert_eq!(
            status_of(&state, route, &basic).await,
            401,
            "{route:?} basic auth"
        );
        let ok = [("authorization", right.as_str())];
        let status = status_of(&state, route, &ok).await;
        assert!(
            (200..300).contains(&status),
            "{route:?} with token: {status}"
        );
    }
    for uri in OPEN {
        assert_eq!(status_of(&state, ("GET", uri, ""), &[]).await, 200, "{uri}");
    }
    // The data plane is not management.
    let load = ("GET", "/modules/load?path=a.som", "");
    assert_eq!(status_of(&state, load, &[]).await, 200);
}

#[tokio::test]
async fn lockdown_forbids_every_management_route() {
    let tree = tree();
    let state = state(tree.root(), config(false, true), Some(TOKEN));
    let lock = ("POST", "/config", r#"{"managementApiEnabled": false}"#);
    assert_eq!(status_of(&state, lock, &[]).await, 200);
    let right = format!("Bearer {TOKEN}");
    for &route in GUARDED {
        assert_eq!(status_of(&state, route, &[]).await, 403, "{route:?}");
        let ok = [("authorization", right.as_str())];
        assert_eq!(
            status_of(&state, route, &ok).await,
            403,
            "{route:?} with token"
        );
    }
    for uri in OPEN {
        assert_eq!(status_of(&state, ("GET", uri, ""), &[]).await, 200, "{uri}");
    }
}

#[tokio::test]
async fn auth_cannot_be_turned_on_without_a_token() {
    let tree = tree();
    let state = state(tree.root(), config(false, true), None);
    let enable = ("POST", "/config", r#"{"requireAuth": true}"#);
    assert_eq!(status_of(&state, enable, &[]).await, 400);
    let config = call(&state, Method::GET, "/config", None, &[]).await;
    assert_eq!(config.body["requireAuth"], false);
}
