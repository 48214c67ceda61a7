//! The capacity curve: p99 per offered-load step marked PASS or
//! FAIL, achieved throughput below, the knee as a labelled vertical line;
//! `capacity.html` and `capacity.md` beside it.

mod util;

use std::fs;
use std::path::Path;

use somon_reports::capacity::{write_capacity_dir, CapacityCurve, CapacityStep};

/// Colour of the knee line (`charts::capacity::KNEE`).
const KNEE: &str = "#6A1B9A";

fn step(load: f64, p99_ms: Option<f64>, rps: f64, error_rate: f64, passed: bool) -> CapacityStep {
    CapacityStep {
        load,
        unit: "users".into(),
        p99_s: p99_ms.map(|ms| ms / 1e3),
        achieved_rps: rps,
        error_rate,
        passed,
    }
}

/// Five steps: three pass, then latency and errors climb past the
/// threshold; the step at 1000 users completed nothing.
fn curve() -> CapacityCurve {
    let steps = vec![
        step(100.0, Some(12.0), 950.0, 0.0, true),
        step(250.0, Some(31.0), 2_380.0, 0.0, true),
        step(500.0, Some(78.0), 4_610.0, 0.001, true),
        step(750.0, Some(240.0), 5_020.0, 0.03, false),
        step(1000.0, None, 0.0, 1.0, false),
    ];
    CapacityCurve {
        name: "load-ceiling".into(),
        knee: CapacityCurve::knee_of(&steps),
        steps,
        threshold_s: Some(0.1),
    }
}

fn has_text(svg: &str, text: &str) -> bool {
    svg.contains(&format!("\n{text}\n</text>"))
}

#[test]
fn the_knee_is_the_last_step_of_the_passing_run_from_the_bottom() {
    let c = curve();
    assert_eq!(c.knee, Some(2));
    let mut steps = c.steps.clone();
    steps[0].passed = false;
    assert_eq!(CapacityCurve::knee_of(&steps), None);
    // A pass above a failure is not the knee: the curve already broke.
    steps[0].passed = true;
    steps[1].passed = false;
    steps[3].passed = true;
    assert_eq!(CapacityCurve::knee_of(&steps), Some(0));
    assert_eq!(CapacityCurve::knee_of(&[]), None);
}

proptest::proptest! {
    /// The knee passed, every step below it passed, the step above it
    /// (if any) failed; no knee exactly when the first step failed.
    #[test]
    fn the_knee_is_where_passing_stops(verdicts in proptest::collection::vec(proptest::bool::ANY, 0..12)) {
        let steps: Vec<CapacityStep> = verdicts
            .iter()
            .enumerate()
            .map(|(i, &passed)| step(i as f64 * 100.0 + 100.0, Some(0.01), 10.0, 0.0, passed))
            .collect();
        match CapacityCurve::knee_of(&steps) {
            None => proptest::prop_assert!(verdicts.first() != Some(&true)),
            Some(k) => {
                proptest::prop_assert!(verdicts[..=k].iter().all(|&p| p));
                proptest::prop_assert!(verdicts.get(k + 1) != Some(&true));
            }
        }
    }
}

#[test]
fn the_chart_marks_every_step_and_the_knee() {
    let temp = tempfile::tempdir().unwrap();
    let written = write_capacity_dir(temp.path(), &curve()).unwrap();
    let charts = temp.path().join("charts");
    assert_eq!(
        written,
        [
            charts.join("capacity.svg"),
            charts.join("capacity.png"),
            temp.path().join("capacity.md"),
            temp.path().join("capacity.html"),
        ]
    );
    let svg = util::read(&charts, "capacity.svg");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for text in [
        "Capacity curve of load-ceiling",
        "offered load (users)",
        "p99 latency (ms)",
        "achieved requests/s",
        "p99 latency",
        "threshold 100.000 ms",
        "knee: 500 users",
    ] {
        assert!(has_text(&svg, text), "missing {text:?}");
    }
    assert_eq!(svg.matches("\nPASS\n</text>").count(), 3);
    assert_eq!(svg.matches("\nFAIL\n</text>").count(), 2);
    // The knee: a dashed line through each panel, and its label once.
    assert!(
        svg.matches(&format!(r#"stroke="{KNEE}""#)).count() >= 2,
        "no knee line"
    );
    assert_eq!(
        svg.matches(&format!(r#"fill="{KNEE}""#)).count(),
        1,
        "one knee label"
    );

    let png = image::load_from_memory(&fs::read(charts.join("capacity.png")).unwrap())
        .unwrap()
        .to_rgb8();
    assert_eq!(png.dimensions(), (960, 640));
    assert!(
        png.pixels().any(|p| p.0 == [0x6A, 0x1B, 0x9A]),
        "knee not drawn in the PNG"
    );
    let first = png.get_pixel(0, 0);
    assert!(png.pixels().any(|p| p != first), "blank PNG");
}

#[test]
fn no_knee_means_no_knee_line_and_the_pages_say_so() {
    let mut c = curve();
    c.steps[0].passed = false;
    c.knee = CapacityCurve::knee_of(&c.steps);
    c.threshold_s = None;
    let temp = tempfile::tempdir().unwrap();
    write_capacity_dir(temp.path(), &c).unwrap();
    let svg = util::read(&temp.path().join("charts"), "capacity.svg");
    assert!(!svg.contains(KNEE));
    assert!(!svg.contains("threshold"));
    let md = util::read(temp.path(), "capacity.md");
    assert!(
        md.contains("Knee: **none** — the first step already failed."),
        "{md}"
    );
}

#[test]
fn the_pages_list_the_steps() {
    let temp = tempfile::tempdir().unwrap();
    write_capacity_dir(temp.path(), &curve()).unwrap();
    let md = util::read(temp.path(), "capacity.md");
    assert!(md.starts_with("## Capacity curve of load-ceiling\n"));
    assert!(md.contains("Knee: **500 users** (highest step with every step up to it passing); p99 threshold 100.000 ms."), "{md}");
    assert!(
        md.contains("| 500 users | 78.000 ms | 4610/s | 0.1% | PASS (knee) |"),
        "{md}"
    );
    assert!(
        md.contains("| 750 users | 240.000 ms | 5020/s | 3% | **FAIL** |"),
        "{md}"
    );
    assert!(
        md.contains("| 1000 users | — | 0/s | 100% | **FAIL** |"),
        "{md}"
    );

    let html = util::read(temp.path(), "capacity.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 1);
    assert!(
        html.contains(r#"<tr class="knee"><td>500 users</td><td>78.000 ms</td>"#),
        "{html}"
    );
    assert_eq!(html.matches(r#"<td class="FAIL">FAIL</td>"#).count(), 2);
    let rest = html.replace("http://www.w3.org/", "");
    assert!(!rest.contains("http://") && !rest.contains("https://") && !html.contains("<script"));
}

#[test]
fn a_curve_that_cannot_be_drawn_is_refused_and_nothing_written() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("cap");
    let cases: Vec<(CapacityCurve, &str)> = vec![
        (CapacityCurve::default(), "no steps"),
        (
            CapacityCurve {
                knee: Some(5),
                ..curve()
            },
            "knee 5 is past the last step (4)",
        ),
        (
            {
                let mut c = curve();
                c.steps[1].load = f64::NAN;
                c
            },
            "capacity step 1",
        ),
        (
            {
                let mut c = curve();
                c.steps[2].unit = "rps".into();
                c
            },
            "unit \"rps\" differs",
        ),
    ];
    for (c, message) in cases {
        let err = write_capacity_dir(&dir, &c).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(err.to_string().contains(message), "{err}");
    }
    assert!(!dir.exists());
}

#[test]
fn the_curve_reads_back_from_json() {
    let c = curve();
    let text = serde_json::to_string(&c).unwrap();
    let back: CapacityCurve = serde_json::from_str(&text).unwrap();
    assert_eq!(back, c);
    // `name` may be left out.
    let bare: CapacityCurve = serde_json::from_str(
        r#"{"steps":[{"load":10,"unit":"rps","p99_s":0.01,"achieved_rps":10,"error_rate":0,"passed":true}],"knee":0,"threshold_s":null}"#,
    )
    .unwrap();
    assert_eq!(bare.name, "");
}

#[test]
#[ignore = "writes the synthetic capacity curve to $CHART_DUMP for a look"]
fn dump() {
    let dir = std::env::var("CHART_DUMP").unwrap();
    write_capacity_dir(&Path::new(&dir).join("capacity"), &curve()).unwrap();
}
