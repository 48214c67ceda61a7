//! Both load models send a scenario's request as declared: its method,
//! its path under the base URL's prefix, its headers and its body.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method as HttpMethod, StatusCode, Uri};
use axum::Router;
use somon_loadgen::{
    ArrivalSchedule, ClosedModel, Method, OpenModel, Request, StopCondition, Users,
};

/// What the server saw: method, URI, `authorization`, `content-type`, body.
type Seen = Arc<Mutex<Vec<(String, String, String, String, Vec<u8>)>>>;

/// A loopback server that records every request and answers 201.
async fn recorder() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .fallback(
            |State(seen): State<Seen>,
             method: HttpMethod,
             uri: Uri,
             headers: HeaderMap,
             body: Bytes| async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                seen.lock().unwrap().push((
                    method.to_string(),
                    uri.to_string(),
                    header("authorization"),
                    header("content-type"),
                    body.to_vec(),
                ));
                StatusCode::CREATED
            },
        )
        .with_state(Arc::clone(&seen));
    // On a runtime of its own, so the generator's users never share its
    // worker threads.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}/api/v1/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let _ = axum::serve(listener, app).await;
        });
    });
    (base, seen)
}

fn declared() -> Request {
    Request {
        method: Method::PUT,
        headers: Arc::from([
            ("Authorization".to_owned(), "Bearer abc".to_owned()),
            ("content-type".to_owned(), "text/csv".to_owned()),
        ]),
        body: Some(Bytes::from_static(b"a,b\n1,2")),
        timeout: Some(Duration::from_secs(2)),
        ..Request::get("put_item", "/items/7?x=1")
    }
}

fn assert_sent_as_declared(seen: &Seen) {
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty(), "nothing arrived");
    for (method, uri, auth, content_type, body) in seen.iter() {
        assert_eq!(method, "PUT");
        assert_eq!(uri, "/api/v1/items/7?x=1");
        assert_eq!(auth, "Bearer abc");
        assert_eq!(content_type, "text/csv");
        assert_eq!(body, b"a,b\n1,2");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_model_sends_the_request_as_declared() {
    let (base, seen) = recorder().await;
    let schedule = ArrivalSchedule::constant(20.0, Duration::from_secs(1)).unwrap();
    let stop = StopCondition::new(Duration::from_secs(5), 100).unwrap();
    let run = OpenModel::new(&base, schedule, stop)
        .run(declared())
        .await
        .unwrap();
    assert_eq!(run.errors.total(), 0, "201 is a success: {:?}", run.errors);
    assert_sent_as_declared(&seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_closed_model_sends_the_request_as_declared() {
    let (base, seen) = recorder().await;
    let users = Users::Fixed {
        count: 2,
        per_sec: 2,
        hold: Duration::from_secs(1),
    };
    // Bounded by time, not by the request ceiling; each user pauses
    // between requests.
    let stop = StopCondition::new(Duration::from_secs(10), 100_000).unwrap();
    let mut model = ClosedModel::new(&base, users, stop);
    model.think = (Duration::from_millis(20), Duration::from_millis(40));
    let run = model.run(Arc::new(declared())).await.unwrap();
    assert_eq!(run.errors.total(), 0, "201 is a success: {:?}", run.errors);
    assert_sent_as_declared(&seen);
}
