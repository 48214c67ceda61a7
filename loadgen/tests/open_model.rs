//! The open model measures a known 20 ms target correctly and
//! keeps its rate.

mod util;

use std::time::Duration;

use somon_loadgen::{ArrivalSchedule, OpenModel, Request, RequestOutcome, StopCondition};

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
    let known = Duration::from_millis(20);
    let near = |d: Duration, to: Duration| d.abs_diff(to) <= Duration::from_millis(2);
    // A shared 2-core VM sometimes stops the whole process for tens of
    // milliseconds; an open-model generator rightly counts that against
    // every request due in the stall, so the tail moves. An attempt whose
    // tail misses is repeated only when an independent stall meter saw a
    // platform stall large enough to explain the miss; an unexplained miss
    // fails at once.
    const ATTEMPTS: usize = 3;
    for attempt in 1..=ATTEMPTS {
        let hiccups = util::Hiccups::start();
        let schedule = ArrivalSchedule::constant(200.0, Duration::from_secs(10)).unwrap();
        let stop = StopCondition::new(Duration::from_secs(12), 3_000).unwrap();
        let mut model = OpenModel::new(&target.base(), schedule, stop);
        // The test target has no /metrics: the sampler must give up on the 404s.
        model.sample_target = true;
        let run = model.run(Request::get("slow", "/")).await.unwrap();
        let stall = hiccups.finish();
        let all = run.overall();
        let check = &run.self_check;
        println!(
            "attempt {attempt}: count {} p50 {:?} p99 {:?} max {:?}; achieved {:.2}/s of {:.2}/s (ratio {:.4}); \
             lag p50 {:?} send lag p99 {:?}; cpu {:.1} %; {:?}; worst platform stall {:?}",
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
            run.validity,
            stall
        );
        assert_eq!(run.errors.total(), 0, "errors: {:?}", run.errors);
        assert!(
            (check.achieved_per_sec - 200.0).abs() <= 4.0,
            "achieved {:.2}/s",
            check.achieved_per_sec
        );
        assert_eq!(all.count, 2000);
        // 10 one-second intervals (plus possibly a short drain interval).
        assert!(run.series.len() >= 10, "{} intervals", run.series.len());
        assert!(run
            .summaries
            .iter()
            .all(|s| s.key.outcome == RequestOutcome::Ok));
        // One failed poll per endpoint, recorded with its 404, then no more.
        assert_eq!(run.samples.len(), 2, "{:?}", run.samples);
        assert!(run
            .samples
            .iter()
            .all(|s| s.data().is_none() && s.failed.as_ref().unwrap().status == Some(404)));
        let json = serde_json::to_value(&run).unwrap();
        assert!(json["interval_log"].as_str().unwrap().contains("HISTF"));
        assert!(all.p99 >= known, "p99 {:?} below the known delay", all.p99);
        let precise =
            near(all.p50, known) && (near(all.p99, known) || near(all.p99, known + baseline.p99));
        if precise {
            assert!(run.validity.is_valid(), "{:?}", run.validity);
            assert_eq!(json["validity"]["validity"], "valid");
            return;
        }
        let slack = known + baseline.p99 + stall + Duration::from_millis(2);
        assert!(
            all.p50 <= slack && all.p99 <= slack,
            "p50 {:?} p99 {:?}: not within 2 ms of 20 ms (+ round trip p99 {:?}), \
             and the worst platform stall ({stall:?}) does not explain it",
            all.p50,
            all.p99,
            baseline.p99
        );
        println!("attempt {attempt}: the tail is explained by a platform stall; measuring again");
    }
    println!("every attempt saw a platform stall; each tail was within the stall's reach");
}
