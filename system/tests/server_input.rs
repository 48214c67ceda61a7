//! Bad input gets a 4xx JSON error, never a 5xx
//! or a panic.

mod util;

use axum::http::Method;
use proptest::prelude::*;
use somon_system::server::{AppState, MAX_BODY_BYTES};
use somon_system::Config;
use util::server::{call, state};
use util::Tree;

fn app() -> (Tree, AppState) {
    let tree = Tree::with(&[("app/main.som", "содир собит x = 1;\n")]);
    let state = state(tree.root(), Config::default(), None);
    (tree, state)
}

async fn expect_4xx(state: &AppState, method: Method, uri: &str, body: Option<&[u8]>) -> String {
    let reply = call(state, method.clone(), uri, body, &[]).await;
    assert!(
        reply.status.is_client_error(),
        "{method} {uri}: {} {}",
        reply.status,
        reply.text
    );
    reply.body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{method} {uri}: not a JSON error: {}", reply.text))
        .to_owned()
}

#[tokio::test]
async fn each_kind_of_bad_input_gets_its_json_error() {
    let (_tree, state) = app();
    let cases: &[(Method, &str, Option<&[u8]>, &str)] = &[
        (Method::POST, "/config", Some(b"{not json"), "BAD_JSON"),
        (Method::POST, "/config", Some(b""), "BAD_JSON"),
        (Method::POST, "/config", Some(b"[1, 2]"), "INVALID_CONFIG"),
        (
            Method::POST,
            "/modules/load",
            Some(b"{\"path\": "),
            "BAD_JSON",
        ),
        (Method::POST, "/modules/compile", Some(b"{}"), "BAD_JSON"),
        (
            Method::POST,
            "/modules/bundle",
            Some(b"{\"entry\": 1}"),
            "BAD_JSON",
        ),
        (
            Method::POST,
            "/cache/warm",
            Some(b"{\"modules\": \"x\"}"),
            "BAD_JSON",
        ),
        (Method::GET, "/no/such/route", None, "NOT_FOUND"),
        (Method::DELETE, "/config", None, "METHOD_NOT_ALLOWED"),
        (
            Method::GET,
            "/modules/load?path=../../etc/passwd",
            None,
            "PATH_ESCAPES_ROOT",
        ),
        (
            Method::GET,
            "/modules/load?path=app/%00main.som",
            None,
            "BAD_REQUEST",
        ),
        (
            Method::GET,
            "/modules/load?path=%ff%fe",
            None,
            "BAD_REQUEST",
        ),
        (Method::GET, "/modules/load?path=%zz", None, "BAD_REQUEST"),
        (
            Method::GET,
            "/modules/load?path=nope.som",
            None,
            "MODULE_NOT_FOUND",
        ),
        (
            Method::POST,
            "/circuit-breakers/reset/nope",
            None,
            "BREAKER_NOT_FOUND",
        ),
        (
            Method::POST,
            "/cache/cleanup?idleMs=soon",
            None,
            "BAD_REQUEST",
        ),
    ];
    for (method, uri, body, code) in cases {
        let got = expect_4xx(&state, method.clone(), uri, *body).await;
        assert_eq!(&got, code, "{method} {uri}");
    }
}

#[tokio::test]
async fn huge_bodies_are_refused_with_413() {
    let (_tree, state) = app();
    let huge = vec![b' '; MAX_BODY_BYTES + 1];
    for uri in ["/config", "/modules/load", "/cache/warm", "/modules/bundle"] {
        let reply = call(&state, Method::POST, uri, Some(&huge), &[]).await;
        assert_eq!(reply.status, 413, "{uri}: {}", reply.text);
        assert_eq!(reply.body["error"]["code"], "PAYLOAD_TOO_LARGE");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn no_query_or_body_makes_a_5xx(
        query in "[a-z%0-9./&=+\\x00-\\x20]{0,40}",
        body in prop::collection::vec(any::<u8>(), 0..64),
        route in prop::sample::select(vec!["/modules/load", "/modules/compile", "/modules/bundle", "/config", "/cache/warm", "/cache/cleanup"]),
    ) {
        let (_tree, state) = app();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let uri = format!("{route}?{}", query.replace(' ', "+").replace(|c: char| c.is_control(), ""));
            for method in [Method::GET, Method::POST] {
                let reply = call(&state, method.clone(), &uri, Some(&body), &[]).await;
                assert!(reply.status.as_u16() < 500, "{method} {uri}: {} {}", reply.status, reply.text);
                if !reply.status.is_success() {
                    assert!(reply.body["error"]["code"].is_string(), "{}", reply.text);
                }
            }
        });
    }
}
