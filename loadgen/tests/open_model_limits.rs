//! Open model bounds: the request ceiling stops a run first, and the in-flight
//! cap drops (and counts) what it cannot send. Apart from the known-answer test
//! so its timing is not disturbed by this one.

mod util;

use std::time::Duration;

use somon_loadgen::{ArrivalSchedule, OpenModel, Request, StopCondition};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ceiling_stops_first_and_cap_drops() {
    let target = util::slow_target(Duration::from_millis(200));
    let schedule = ArrivalSchedule::constant(500.0, Duration::from_secs(30)).unwrap();
    let stop = StopCondition::new(Duration::from_secs(30), 300).unwrap();
    let mut model = OpenModel::new(&target.base(), schedule, stop);
    model.max_in_flight = 50;
    let run = model.run(Request::get("slow", "/")).await.unwrap();
    println!(
        "ceiling: intended {} sent {} dropped {} elapsed {:?} {:?}",
        run.self_check.intended,
        run.self_check.sent,
        run.self_check.dropped,
        run.elapsed,
        run.validity
    );
    assert_eq!(run.self_check.intended, 300);
    assert!(run.self_check.dropped > 0);
    assert_eq!(run.self_check.sent + run.self_check.dropped, 300);
    assert_eq!(run.requests, run.self_check.sent);
    assert!(run.elapsed < Duration::from_secs(3));
    assert!(!run.validity.is_valid());
}

/// A cancelled run stops sending, lets what is in flight finish, and still
/// returns its record; the live channel saw the intervals as they closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_cuts_the_run_short_and_keeps_the_record() {
    let target = util::slow_target(Duration::from_millis(5));
    let schedule = ArrivalSchedule::constant(100.0, Duration::from_secs(60)).unwrap();
    let stop = StopCondition::new(Duration::from_secs(60), 6_000).unwrap();
    let (tx, mut live) = tokio::sync::mpsc::unbounded_channel();
    let mut model = OpenModel::new(&target.base(), schedule, stop);
    model.control = somon_loadgen::RunControl::new().with_live(tx);
    let control = model.control.clone();
    // Cancel once the first one-second interval has been reported.
    let watcher = tokio::spawn(async move {
        let first = live.recv().await.expect("an interval");
        control.cancel();
        first
    });
    let run = model.run(Request::get("slow", "/")).await.unwrap();
    let first = watcher.await.unwrap();
    assert!(first.requests > 0, "{first:?}");
    assert!(run.elapsed < Duration::from_secs(20), "{:?}", run.elapsed);
    assert!(
        run.requests >= first.requests && run.requests < 2_000,
        "{}",
        run.requests
    );
    assert_eq!(run.errors.total(), 0);
    assert_eq!(run.self_check.sent, run.requests);
}
