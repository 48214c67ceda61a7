//! Coordinated omission: a 1 s stall of the target. The open model, timing from
//! intended send times, sees it in its p99; a closed model's raw p99 hides it.

mod util;

use std::sync::Arc;
use std::time::{Duration, Instant};

use somon_loadgen::{ArrivalSchedule, ClosedModel, OpenModel, Request, StopCondition, Users};

const STALL_AT: Duration = Duration::from_secs(4);
const STALL: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_sees_the_stall_closed_model_hides_it() {
    // Open model, 200/s for 10 s; the target stalls 1 s at t = 4 s.
    let target = util::slow_target(Duration::from_millis(20));
    let schedule = ArrivalSchedule::constant(200.0, Duration::from_secs(10)).unwrap();
    let stop = StopCondition::new(Duration::from_secs(12), 3_000).unwrap();
    let model = OpenModel::new(&target.base(), schedule, stop);
    target.gate.stall(Instant::now() + STALL_AT, STALL);
    let open = model.run(Request::get("slow", "/")).await.unwrap();
    let open_all = open.overall();

    // Closed model: 4 users, no think time, same stall.
    let target = util::slow_target(Duration::from_millis(20));
    let stop = StopCondition::new(Duration::from_secs(11), 100_000).unwrap();
    let users = Users::Fixed {
        count: 4,
        per_sec: 100,
        hold: Duration::from_secs(10),
    };
    let closed_model = ClosedModel::new(&target.base(), users, stop);
    target.gate.stall(Instant::now() + STALL_AT, STALL);
    let closed = closed_model
        .run(Arc::new(Request::get("slow", "/")))
        .await
        .unwrap();
    let closed_all = closed.overall();

    println!(
        "open model:   count {} p50 {:?} p99 {:?} max {:?} errors {} {:?}",
        open_all.count,
        open_all.p50,
        open_all.p99,
        open_all.max,
        open.errors.total(),
        open.validity
    );
    println!(
        "closed model: count {} p50 {:?} p99 {:?} max {:?} errors {} ({:.1} req/s)",
        closed_all.count,
        closed_all.p50,
        closed_all.p99,
        closed_all.max,
        closed.errors.total(),
        closed_all.per_sec
    );
    assert_eq!(open.errors.total(), 0);
    assert_eq!(closed.errors.total(), 0);
    assert!(
        open_all.p99 >= Duration::from_millis(800),
        "open p99 {:?}",
        open_all.p99
    );
    assert!(
        open_all.max >= Duration::from_millis(950),
        "open max {:?}",
        open_all.max
    );
    // The stall is in the closed run too (its max shows it)…
    assert!(
        closed_all.max >= Duration::from_millis(900),
        "closed max {:?}",
        closed_all.max
    );
    // …but its raw p99 under-reports it.
    assert!(
        open_all.p99 > closed_all.p99,
        "open p99 {:?} vs closed p99 {:?}",
        open_all.p99,
        closed_all.p99
    );
}
