//! An interval log written by the recorder, read back and
//! merged, holds exactly what the in-memory histograms hold.

use std::time::Duration;

use proptest::prelude::*;
use somon_loadgen::{interval_log, Key, Outcome, Recorder};

fn outcome(i: u8) -> Outcome {
    match i % 4 {
        0 => Outcome::Ok,
        1 => Outcome::Status5xx,
        2 => Outcome::Timeout,
        _ => Outcome::Reset,
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
        &Key::new("a", "main", Outcome::Ok),
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
