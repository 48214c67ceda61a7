//! Acceptance 1: the open model measures a known 20 ms target correctly and
//! keeps its rate.

mod util;

use std::time::Duration;

use somon_loadgen::{ArrivalSchedule, OpenModel, Outcome, Request, StopCondition};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_answer_20ms_at_200_per_sec() {
    let target = util::slow_target(Duration::from_millis(20));
    let schedule = ArrivalSchedule::constant(200.0, Duration::from_secs(10)).unwrap();
    let stop = StopCondition::new(Duration::from_secs(12), 3_000).unwrap();
    let mut model = OpenModel::new(&target.base(), schedule, stop);
    // The test target has no /metrics: the sampler must give up on the 404s.
    model.sample_target = true;
    let run = model.run(Request::get("slow", "/")).await.unwrap();
    let all = run.overall();
    let check = &run.self_check;
    println!(
        "known answer: count {} p50 {:?} p99 {:?} max {:?}; achieved {:.2}/s of {:.2}/s (ratio {:.4}); lag p50 {:?} \
         send lag p99 {:?}; cpu {:.1} %; {:?}",
        all.count,
        all.p50,
        all.p99,
        all.max,
        check.achieved_per_sec,
        check.intended_per_sec,
        check.rate_ratio,
        check.send_lag.p50,
        check.send_lag.p99,
        check.cpu_fraction * 100.0,
        run.validity
    );
    assert_eq!(run.errors.total(), 0, "errors: {:?}", run.errors);
    let near = |d: Duration| d.abs_diff(Duration::from_millis(20)) <= Duration::from_millis(2);
    assert!(near(all.p50), "p50 {:?}", all.p50);
    assert!(near(all.p99), "p99 {:?}", all.p99);
    assert!(
        (check.achieved_per_sec - 200.0).abs() <= 4.0,
        "achieved {:.2}/s",
        check.achieved_per_sec
    );
    assert_eq!(all.count, 2000);
    assert!(run.validity.is_valid(), "{:?}", run.validity);
    // 10 one-second intervals (plus possibly a short drain interval).
    assert!(run.series.len() >= 10, "{} intervals", run.series.len());
    assert!(run.summaries.iter().all(|s| s.key.outcome == Outcome::Ok));
    assert!(run.samples.is_empty());
    let json = serde_json::to_value(&run).unwrap();
    assert!(json["interval_log"].as_str().unwrap().contains("HISTF"));
    assert_eq!(json["validity"]["validity"], "valid");
}

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
