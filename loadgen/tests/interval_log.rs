//! An interval log written by the recorder, read back and
//! merged, holds exactly what the in-memory histograms hold.

use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use somon_loadgen::{interval_log, IntervalLogWriter, Key, Recorder, RequestOutcome};

fn outcome(i: u8) -> RequestOutcome {
    match i % 4 {
        0 => RequestOutcome::Ok,
        1 => RequestOutcome::Status5xx,
        2 => RequestOutcome::Timeout,
        _ => RequestOutcome::Reset,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn round_trip_keeps_totals_and_percentiles(
        // (latency µs, op index, outcome index, interval index)
        samples in prop::collection::vec((1u64..120_000_000, 0u8..3, 0u8..4, 0u8..4), 1..2000)
    ) {
        let recorder = Recorder::new();
        let mut interval = 0;
        for (micros, op, out, at) in &samples {
            while interval < *at {
                recorder.tick();
                interval += 1;
            }
            let key = Key::new(&format!("op{op}"), "main", outcome(*out));
            recorder.record(&key, Duration::from_micros(*micros));
        }
        let m = recorder.finish();
        let in_memory = m.merged(|_| true);
        let read_back = interval_log::merge(&m.interval_log, |_| true).unwrap();
        prop_assert_eq!(read_back.len(), samples.len() as u64);
        prop_assert_eq!(read_back.len(), in_memory.len());
        prop_assert_eq!(read_back.min(), in_memory.min());
        prop_assert_eq!(read_back.max(), in_memory.max());
        for q in [0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            prop_assert_eq!(read_back.value_at_quantile(q), in_memory.value_at_quantile(q));
        }
        prop_assert_eq!(&read_back, &in_memory);
        // Per key, through the tags.
        for (key, h) in &m.histograms {
            let tag = key.tag();
            let one = interval_log::merge(&m.interval_log, |t| t == Some(tag.as_str())).unwrap();
            prop_assert_eq!(&one, h);
        }
        // Per interval, the series counts what the log holds.
        let intervals = interval_log::read(&m.interval_log).unwrap();
        let logged: u64 = intervals.iter().map(|i| i.histogram.len()).sum();
        let series: u64 = m.series.iter().map(|p| p.requests).sum();
        prop_assert_eq!(logged, series);
    }
}

#[test]
fn log_is_a_standard_v2_interval_log() {
    let recorder = Recorder::new();
    recorder.record(
        &Key::new("a", "main", RequestOutcome::Ok),
        Duration::from_millis(3),
    );
    let m = recorder.finish();
    println!("{}", m.interval_log);
    assert!(m.interval_log.contains("#[StartTime: "));
    let line = m
        .interval_log
        .lines()
        .find(|l| l.starts_with("Tag="))
        .unwrap();
    assert!(line.starts_with("Tag=a/main/ok,"), "{line}");
    // V2 + deflate payloads start with the compressed cookie 0x1c849304 → "HISTF".
    assert!(line.contains(",HISTF"), "{line}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any key survives the log: what the recorder wrote reads back as the
    /// key it was recorded under.
    #[test]
    fn keys_survive_the_log(
        op in ".*",
        phase in ".*",
        outcome in prop::sample::select(RequestOutcome::ALL.to_vec()),
    ) {
        let key = Key::new(&op, &phase, outcome);
        let recorder = Recorder::new();
        recorder.record(&key, Duration::from_millis(7));
        let log = recorder.finish().interval_log;
        let read: Vec<(Key, interval_log::Interval)> = interval_log::keyed(&log).unwrap().collect();
        prop_assert_eq!(read.len(), 1);
        prop_assert_eq!(&read[0].0, &key);
        prop_assert_eq!(read[0].1.key(), Some(key));
    }
}

/// A log written by hand: `(start ms, duration ms, tag, latencies µs)`.
fn log(lines: &[(u64, u64, Option<&str>, &[u64])]) -> String {
    let mut log = IntervalLogWriter::new(SystemTime::UNIX_EPOCH);
    for (start, duration, tag, values) in lines {
        let mut h = somon_loadgen::new_histogram();
        for v in *values {
            h.record(*v).unwrap();
        }
        log.write(
            Duration::from_millis(*start),
            Duration::from_millis(*duration),
            *tag,
            &h,
        )
        .unwrap();
    }
    log.finish()
}

#[test]
fn per_second_adds_up_the_matching_intervals_of_each_second() {
    let text = log(&[
        (0, 1000, Some("get/main/ok"), &[10, 20]),
        (0, 1000, Some("get/main/timeout"), &[5_000_000]),
        (0, 1000, Some("put/main/ok"), &[30]),
        (0, 1000, None, &[40]),
        (0, 1000, Some("not-a-key"), &[50]),
        (2001, 1000, Some("get/main/ok"), &[60]),
        (3001, 400, Some("put/main/ok"), &[70]),
    ]);
    let gets = interval_log::per_second(&text, |k| &*k.op == "get").unwrap();
    assert_eq!(gets.len(), 3, "up to the last second with a get");
    let first = gets[0].as_ref().unwrap();
    assert_eq!(first.histogram.len(), 3);
    assert_eq!(first.duration, Duration::from_secs(1));
    assert!(gets[1].is_none());
    assert_eq!(gets[2].as_ref().unwrap().histogram.max(), 60);

    let by_op = interval_log::per_second_by(&text, |k| Some(k.op.to_string())).unwrap();
    assert_eq!(by_op.keys().collect::<Vec<_>>(), ["get", "put"]);
    let puts = &by_op["put"];
    assert_eq!(puts.len(), 4);
    assert_eq!(
        puts[3].as_ref().unwrap().duration,
        Duration::from_millis(400)
    );

    let errors = interval_log::per_second(&text, |k| k.outcome.is_error()).unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].as_ref().unwrap().histogram.len(), 1);

    assert!(interval_log::per_second(&text, |_| false)
        .unwrap()
        .is_empty());
    assert!(interval_log::per_second("garbage\n", |_| true).is_err());
}
