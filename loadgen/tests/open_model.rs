//! Acceptance 1: the open model measures a known 20 ms target correctly and
//! keeps its rate.

mod util;

use std::time::Duration;

use somon_loadgen::{ArrivalSchedule, OpenModel, Outcome, Request, StopCondition};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_answer_20ms_at_200_per_sec() {
    let target = util::slow_target(Duration::from_millis(20));
    // The loopback round trip of an immediate answer, measured the same way:
    // the known answer is 20 ms on top of it. On a shared 2-core VM its tail
    // alone can pass a millisecond.
    let baseline = {
        let schedule = ArrivalSchedule::constant(200.0, Duration::from_secs(3)).unwrap();
        let stop = StopCondition::new(Duration::from_secs(5), 1_000).unwrap();
        let model = OpenModel::new(&target.base(), schedule, stop);
        model
            .run(Request::get("hello", "/hello"))
            .await
            .unwrap()
            .overall()
    };
    println!(
        "loopback round trip: p50 {:?} p99 {:?}",
        baseline.p50, baseline.p99
    );
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
    let known = Duration::from_millis(20);
    let near = |d: Duration, to: Duration| d.abs_diff(to) <= Duration::from_millis(2);
    assert!(near(all.p50, known), "p50 {:?}", all.p50);
    assert!(all.p99 >= known, "p99 {:?} below the known delay", all.p99);
    assert!(
        near(all.p99, known) || near(all.p99, known + baseline.p99),
        "p99 {:?}: not within 2 ms of 20 ms (+ round trip p99 {:?})",
        all.p99,
        baseline.p99
    );
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
