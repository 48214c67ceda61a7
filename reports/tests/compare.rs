//! `compare A B`: overlaid charts with A and B in each, a delta table whose
//! numbers follow from the two records, a self-contained page, and clear
//! errors for directories that are not runs.

mod util;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use somon_loadgen::{
    new_histogram, ErrorCounts, IntervalLogWriter, IntervalPoint, Key, Model, RequestOutcome,
    RunOutput, SelfCheck, Validity,
};
use somon_record::{Manifest, PhaseRun, RunRecord, RunReport, RunStatus};
use somon_reports::compare::{compare_dirs, CompareError};
use somon_reports::write_run_dir;

/// Seconds of the one phase.
const SECONDS: u64 = 10;

/// A run of one 10 s phase `steady` of `load_cached`: each second 100
/// successful requests taking `ok_micros`, and `errors` failed (5xx) ones
/// taking 1 ms.
fn run(ok_micros: u64, errors: u64) -> RunReport {
    let mut log = IntervalLogWriter::new(SystemTime::UNIX_EPOCH);
    let mut series = Vec::new();
    let ok = Key::new("load_cached", "steady", RequestOutcome::Ok).tag();
    let failed = Key::new("load_cached", "steady", RequestOutcome::Status5xx).tag();
    for second in 0..SECONDS {
        let start = Duration::from_secs(second);
        let mut h = new_histogram();
        h.record_n(ok_micros, 100).unwrap();
        log.write(start, Duration::from_secs(1), Some(&ok), &h)
            .unwrap();
        if errors > 0 {
            let mut e = new_histogram();
            e.record_n(1_000, errors).unwrap();
            log.write(start, Duration::from_secs(1), Some(&failed), &e)
                .unwrap();
        }
        series.push(IntervalPoint {
            start,
            duration: Duration::from_secs(1),
            requests: 100 + errors,
            errors: ErrorCounts {
                status_5xx: errors,
                ..ErrorCounts::default()
            },
            in_flight: 1,
            in_flight_peak: 2,
            dropped: 0,
        });
    }
    RunReport {
        manifest: Manifest {
            scenario: "cache-smoke".into(),
            started_at: "2025-01-01T00:00:00Z".into(),
            ..Manifest::default()
        },
        status: RunStatus::Completed,
        reason: None,
        validity: vec![],
        steady_state: vec![],
        verdicts: vec![],
        record: RunRecord {
            phases: vec![PhaseRun {
                name: "steady".into(),
                start: Duration::from_secs(1),
                output: RunOutput {
                    model: Model::Open,
                    phase: "steady".into(),
                    elapsed: Duration::from_secs(SECONDS),
                    requests: (100 + errors) * SECONDS,
                    errors: ErrorCounts::default(),
                    summaries: Vec::new(),
                    interval_log: log.finish(),
                    series,
                    self_check: SelfCheck::default(),
                    validity: Validity::Valid,
                    samples: Vec::new(),
                    measurement: Default::default(),
                },
            }],
            faults: vec![],
            probes: vec![],
        },
        history: vec![],
        regression: None,
    }
}

/// Writes A (2 ms, no errors) and B (3 ms, 10 errors a second) as run
/// directories `fast` and `slow`, compares them into `cmp`.
fn compared(temp: &Path) -> (PathBuf, Vec<PathBuf>) {
    let (a, b, out) = (temp.join("fast"), temp.join("slow"), temp.join("cmp"));
    write_run_dir(&a, &run(2_000, 0)).unwrap();
    write_run_dir(&b, &run(3_000, 10)).unwrap();
    let written = compare_dirs(&a, &b, &out).unwrap();
    (out, written)
}

fn has_text(svg: &str, text: &str) -> bool {
    svg.contains(&format!("\n{text}\n</text>"))
}

/// Lines (and legend marks) drawn in `colour`.
fn strokes(svg: &str, colour: &str) -> usize {
    svg.matches(&format!(
        r#"<polyline fill="none" opacity="1" stroke="{colour}""#
    ))
    .count()
}

#[test]
fn every_overlaid_chart_has_one_line_for_a_and_one_for_b() {
    let temp = tempfile::tempdir().unwrap();
    let (out, written) = compared(temp.path());
    let charts = out.join("charts");
    for name in ["percentiles-load_cached", "p99-load_cached", "throughput"] {
        for ext in ["svg", "png"] {
            assert!(
                written.contains(&charts.join(format!("{name}.{ext}"))),
                "{name}.{ext}"
            );
        }
        let svg = util::read(&charts, &format!("{name}.svg"));
        // Each run's colour: once for its line, once for its legend mark.
        assert_eq!(strokes(&svg, "#1F77B4"), 2, "{name}: A's line");
        assert_eq!(strokes(&svg, "#2CA02C"), 2, "{name}: B's line");
        let png = image::load_from_memory(&fs::read(charts.join(format!("{name}.png"))).unwrap())
            .unwrap()
            .to_rgb8();
        assert_eq!(png.dimensions(), (960, 420));
        assert!(
            png.pixels().any(|p| p.0 == [0x2C, 0xA0, 0x2C]),
            "{name}.png: no B line"
        );
    }
    let dist = util::read(&charts, "percentiles-load_cached.svg");
    assert!(has_text(&dist, "A: fast (1000 requests)"), "{dist}");
    assert!(has_text(&dist, "B: slow (1100 requests)"));
    let p99 = util::read(&charts, "p99-load_cached.svg");
    assert!(has_text(&p99, "A: fast p99") && has_text(&p99, "B: slow p99"));
    let throughput = util::read(&charts, "throughput.svg");
    assert!(has_text(&throughput, "A: fast requests/s"));
    assert!(has_text(&throughput, "B: slow requests/s"));
    assert_eq!(
        written.iter().rev().take(3).collect::<Vec<_>>(),
        [
            out.join("compare.html"),
            out.join("compare.md"),
            out.join("compare.json")
        ]
        .iter()
        .collect::<Vec<_>>()
    );
}

/// Within HdrHistogram's 3 significant digits.
fn close(got: &Value, expected: f64) -> bool {
    got.as_f64()
        .is_some_and(|g| (g - expected).abs() <= expected.abs() * 1e-3 + 1e-12)
}

#[test]
fn the_delta_table_follows_from_the_two_records() {
    let temp = tempfile::tempdir().unwrap();
    let (out, _) = compared(temp.path());
    let json: Value = serde_json::from_str(&util::read(&out, "compare.json")).unwrap();
    assert_eq!(json["a"]["label"], "fast");
    assert_eq!(json["b"]["label"], "slow");
    let rows = json["rows"].as_array().unwrap();
    let phases: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["journey"].as_str().unwrap(), r["phase"].as_str().unwrap()))
        .collect();
    // One phase each: no whole-run row repeating it.
    assert_eq!(phases, [("load_cached", "steady")]);
    for row in rows {
        let (a, b) = (&row["a"], &row["b"]);
        assert_eq!(a["requests"], 1000);
        assert_eq!(b["requests"], 1100);
        assert_eq!(b["errors"], 100);
        // A: every request 2 ms. B: 1000 of 1100 at 3 ms, 100 at 1 ms.
        for (metric, a_value, b_value) in [
            ("p50_s", 0.002, 0.003),
            ("p99_s", 0.002, 0.003),
            ("p999_s", 0.002, 0.003),
            ("max_s", 0.002, 0.003),
            ("rps", 100.0, 110.0),
            ("error_rate", 0.0, 100.0 / 1100.0),
        ] {
            assert!(close(&a[metric], a_value), "A {metric}: {}", a[metric]);
            assert!(close(&b[metric], b_value), "B {metric}: {}", b[metric]);
        }
        let deltas = row["deltas"].as_array().unwrap();
        let names: Vec<&str> = deltas
            .iter()
            .map(|d| d["metric"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["p50", "p99", "p99.9", "max", "rps", "error rate"]);
        assert!(close(&deltas[1]["absolute"], 0.001));
        assert!(close(&deltas[1]["relative"], 0.5));
        assert!(close(&deltas[4]["absolute"], 10.0));
        assert!(close(&deltas[4]["relative"], 0.1));
        // No base to be relative to.
        assert!(close(&deltas[5]["absolute"], 100.0 / 1100.0));
        assert!(deltas[5]["relative"].is_null());
    }

    // 3 ms is stored as 3.001 ms (the top of its HdrHistogram bucket).
    let md = util::read(&out, "compare.md");
    assert!(
        md.contains("| load\\_cached | steady | p50 | 2.000 ms | 3.001 ms | +1.001 ms | +50.1% |"),
        "{md}"
    );
    assert!(
        md.contains("|  |  | rps | 100/s | 110/s | +10/s | +10.0% |"),
        "{md}"
    );
    assert!(
        md.contains("|  |  | error rate | 0% | 9.091% | +9.091% | — |"),
        "{md}"
    );
    assert!(md.contains(
        "![p99 latency of load\\_cached over time, A and B](charts/p99-load_cached.png)"
    ));
}

#[test]
fn the_page_is_self_contained_and_shows_table_and_charts() {
    let temp = tempfile::tempdir().unwrap();
    let (out, _) = compared(temp.path());
    let html = util::read(&out, "compare.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(r#"<table class="deltas">"#));
    assert!(html.contains(
        r#"<td>p99</td><td class="num">2.000 ms</td><td class="num">3.001 ms</td><td class="num">+1.001 ms</td><td class="num">+50.1%</td>"#
    ), "{html}");
    assert_eq!(html.matches("<svg").count(), 3);
    for name in ["percentiles-load_cached", "p99-load_cached", "throughput"] {
        assert!(html.contains(&format!(r#"<figure id="chart-{name}">"#)));
    }
    let rest = html.replace("http://www.w3.org/", "");
    assert!(!rest.contains("http://") && !rest.contains("https://"));
    assert!(!html.contains("<script") && !rest.contains("src=") && !rest.contains("<link"));
}

#[test]
fn a_journey_only_one_run_has_gets_one_line_and_empty_cells() {
    let temp = tempfile::tempdir().unwrap();
    let (a, b, out) = (
        temp.path().join("a"),
        temp.path().join("b"),
        temp.path().join("cmp"),
    );
    write_run_dir(&a, &run(2_000, 0)).unwrap();
    write_run_dir(&b, &util::report()).unwrap();
    compare_dirs(&a, &b, &out).unwrap();
    let json: Value = serde_json::from_str(&util::read(&out, "compare.json")).unwrap();
    // util's run has load_cached in `steady` too, but starting at 2 s.
    assert_eq!(json["rows"].as_array().unwrap().len(), 1);
    let svg = util::read(&out.join("charts"), "throughput.svg");
    assert_eq!(strokes(&svg, "#2CA02C"), 2);

    // A run with no requests at all: rows for the other run alone.
    let empty = temp.path().join("empty");
    let mut report = run(2_000, 0);
    report.record.phases.clear();
    write_run_dir(&empty, &report).unwrap();
    compare_dirs(&a, &empty, &out).unwrap();
    let json: Value = serde_json::from_str(&util::read(&out, "compare.json")).unwrap();
    let row = &json["rows"][0];
    assert!(row["b"].is_null());
    assert!(row["deltas"][0]["absolute"].is_null());
    let md = util::read(&out, "compare.md");
    assert!(
        md.contains("| load\\_cached | steady | p50 | 2.000 ms | — | — | — |"),
        "{md}"
    );
    let dist = util::read(&out.join("charts"), "percentiles-load_cached.svg");
    assert_eq!(strokes(&dist, "#1F77B4"), 2);
    assert_eq!(strokes(&dist, "#2CA02C"), 0);
}

#[test]
fn a_journey_in_several_phases_gets_a_whole_run_row() {
    let temp = tempfile::tempdir().unwrap();
    let (a, b, out) = (
        temp.path().join("a"),
        temp.path().join("b"),
        temp.path().join("cmp"),
    );
    let mut two = run(2_000, 0);
    let mut warm = run(4_000, 0).record.phases.remove(0);
    warm.name = "warm".into();
    warm.start = Duration::ZERO;
    // Same log, so the tag still says `steady`: the row goes by the phase
    // the record ran it in.
    two.record.phases.insert(0, warm);
    write_run_dir(&a, &two).unwrap();
    write_run_dir(&b, &run(2_000, 0)).unwrap();
    compare_dirs(&a, &b, &out).unwrap();
    let json: Value = serde_json::from_str(&util::read(&out, "compare.json")).unwrap();
    let rows = json["rows"].as_array().unwrap();
    let phases: Vec<&str> = rows.iter().map(|r| r["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["warm", "steady", "all phases"]);
    let all = &rows[2];
    assert_eq!(all["a"]["requests"], 2000);
    // 1000 at 4 ms and 1000 at 2 ms over 20 s.
    assert!(close(&all["a"]["rps"], 100.0));
    assert!(close(&all["a"]["p99_s"], 0.004));
    assert!(close(&all["a"]["p50_s"], 0.002));
    assert!(rows[0]["b"].is_null());
    assert!(close(&rows[1]["deltas"][0]["absolute"], 0.0));
}

#[test]
fn directories_that_are_not_runs_fail_before_anything_is_written() {
    let temp = tempfile::tempdir().unwrap();
    let good = temp.path().join("good");
    write_run_dir(&good, &run(2_000, 0)).unwrap();
    let out = temp.path().join("cmp");

    let missing = temp.path().join("missing");
    let err = compare_dirs(&good, &missing, &out).unwrap_err();
    assert!(matches!(&err, CompareError::BadRun { dir, .. } if *dir == missing));
    assert!(
        err.to_string()
            .ends_with("not a run directory: it does not exist"),
        "{err}"
    );

    let empty = temp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let err = compare_dirs(&empty, &good, &out).unwrap_err();
    assert!(err.to_string().contains("record.json"), "{err}");

    let broken = temp.path().join("broken");
    fs::create_dir(&broken).unwrap();
    fs::write(broken.join("record.json"), "{\"manifest\": 1}").unwrap();
    let err = compare_dirs(&good, &broken, &out).unwrap_err();
    assert!(err.to_string().contains("not a run record"), "{err}");

    let file = temp.path().join("file");
    fs::write(&file, "").unwrap();
    let err = compare_dirs(&file, &good, &out).unwrap_err();
    assert!(err.to_string().ends_with("it is not a directory"), "{err}");

    assert!(!out.exists(), "nothing may be written for a bad input");
}

#[test]
fn comparing_twice_gives_the_same_bytes() {
    let temp = tempfile::tempdir().unwrap();
    let (out, written) = compared(temp.path());
    let first: Vec<Vec<u8>> = written.iter().map(|p| fs::read(p).unwrap()).collect();
    compare_dirs(&temp.path().join("fast"), &temp.path().join("slow"), &out).unwrap();
    for (path, bytes) in written.iter().zip(first) {
        assert!(
            fs::read(path).unwrap() == bytes,
            "{} differs",
            path.display()
        );
    }
}

#[test]
#[ignore = "writes a synthetic comparison to $CHART_DUMP for a look"]
fn dump() {
    let dir = PathBuf::from(std::env::var("CHART_DUMP").unwrap());
    let (a, b) = (dir.join("fast"), dir.join("breaker-drill"));
    write_run_dir(&a, &run(2_000, 0)).unwrap();
    write_run_dir(&b, &util::report()).unwrap();
    compare_dirs(&a, &b, &dir.join("compare")).unwrap();
}
