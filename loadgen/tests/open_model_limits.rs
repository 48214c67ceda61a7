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
