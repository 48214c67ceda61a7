//! The charts a run directory gets: SVG and PNG, fault windows
//! shaded, claim thresholds drawn, deterministic output.

mod util;

use std::fs;
use std::path::Path;
use std::time::Duration;

use somon_reports::{render_dir, write_run_dir};

const CHARTS: [&str; 5] = [
    "latency-load_cached",
    "throughput",
    "errors",
    "breakers",
    "percentiles-load_cached",
];

/// Minimal well-formedness: one root `<svg>` element, and every element
/// that opens with a separate closing tag closes.
fn assert_svg(name: &str, svg: &str) {
    assert!(
        svg.starts_with("<svg"),
        "{name}: {}",
        &svg[..40.min(svg.len())]
    );
    assert!(svg.trim_end().ends_with("</svg>"), "{name}");
    assert!(
        svg.contains(r#"xmlns="http://www.w3.org/2000/svg""#),
        "{name}"
    );
    for tag in ["svg", "text", "g"] {
        let opened =
            svg.matches(&format!("<{tag}>")).count() + svg.matches(&format!("<{tag} ")).count();
        let closed = svg.matches(&format!("</{tag}>")).count();
        assert_eq!(
            opened, closed,
            "{name}: <{tag}> opened {opened}, closed {closed}"
        );
    }
}

/// plotters writes each text on a line of its own.
fn has_text(svg: &str, text: &str) -> bool {
    svg.contains(&format!("\n{text}\n</text>"))
}

fn png_pixels(path: &Path) -> image::RgbImage {
    image::load_from_memory(&fs::read(path).unwrap())
        .unwrap()
        .to_rgb8()
}

#[test]
fn every_chart_is_written_as_svg_and_png() {
    let temp = tempfile::tempdir().unwrap();
    let written = write_run_dir(temp.path(), &util::report()).unwrap();
    let charts = temp.path().join("charts");
    for name in CHARTS {
        for ext in ["svg", "png"] {
            let path = charts.join(format!("{name}.{ext}"));
            assert!(
                written.contains(&path),
                "{} not reported written",
                path.display()
            );
        }
        assert_svg(name, &util::read(&charts, &format!("{name}.svg")));

        let image = png_pixels(&charts.join(format!("{name}.png")));
        assert_eq!(image.dimensions(), (960, 420), "{name}");
        let lum: Vec<f64> = image
            .pixels()
            .map(|p| p.0.iter().map(|&c| f64::from(c)).sum())
            .collect();
        let mean = lum.iter().sum::<f64>() / lum.len() as f64;
        let variance = lum.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / lum.len() as f64;
        assert!(variance > 0.0, "{name}.png is blank");
    }
}

#[test]
fn latency_chart_has_axes_legend_one_band_per_fault_window_and_the_threshold() {
    let temp = tempfile::tempdir().unwrap();
    write_run_dir(temp.path(), &util::report()).unwrap();
    let svg = util::read(&temp.path().join("charts"), "latency-load_cached.svg");
    for text in [
        "run clock (s)",
        "latency (ms)",
        "Latency of load_cached",
        "p50",
        "p99",
        "p99.9",
    ] {
        assert!(has_text(&svg, text), "missing {text:?}");
    }
    assert_eq!(svg.matches(util::FAULT_FILL).count(), 1, "one fault window");
    assert!(has_text(&svg, "fault: external:lodash"));
    // Once in the legend, once on the line itself.
    assert_eq!(
        svg.matches("\np99-cached: p99(load_cached) &lt; 100ms\n")
            .count(),
        2
    );
}

#[test]
fn throughput_and_breaker_charts_have_their_legends() {
    let temp = tempfile::tempdir().unwrap();
    write_run_dir(temp.path(), &util::report()).unwrap();
    let charts = temp.path().join("charts");
    let throughput = util::read(&charts, "throughput.svg");
    for text in [
        "Throughput",
        "run clock (s)",
        "per second",
        "requests/s",
        "errors/s",
    ] {
        assert!(has_text(&throughput, text), "throughput: missing {text:?}");
    }
    assert_eq!(throughput.matches(util::FAULT_FILL).count(), 1);

    let breakers = util::read(&charts, "breakers.svg");
    for text in ["closed", "half-open", "open", "lodash", "axios"] {
        assert!(has_text(&breakers, text), "breakers: missing {text:?}");
    }
    assert_eq!(breakers.matches(util::FAULT_FILL).count(), 1);

    let percentiles = util::read(&charts, "percentiles-load_cached.svg");
    for text in ["50%", "90%", "99%", "99.9%", "latency (ms)", "percentile"] {
        assert!(
            has_text(&percentiles, text),
            "percentiles: missing {text:?}"
        );
    }
}

#[test]
fn errors_chart_has_a_line_per_kind_that_occurred_and_the_fault_window() {
    let temp = tempfile::tempdir().unwrap();
    write_run_dir(temp.path(), &util::report()).unwrap();
    let svg = util::read(&temp.path().join("charts"), "errors.svg");
    for text in [
        "Errors by kind",
        "run clock (s)",
        "errors per second",
        "status_5xx",
    ] {
        assert!(has_text(&svg, text), "errors: missing {text:?}");
    }
    // Only 5xx occurred: no line for the other kinds.
    for text in [
        "status_4xx",
        "timeout",
        "connect",
        "reset",
        "other",
        "no errors",
    ] {
        assert!(!has_text(&svg, text), "errors: unexpected {text:?}");
    }
    assert_eq!(svg.matches(util::FAULT_FILL).count(), 1);
    assert!(has_text(&svg, "fault: external:lodash"));
    // 20 errors a second while the fault was on, at 7–12 s on the run
    // clock: the line's highest point is 20/s, above the 0/s baseline.
    let line = svg
        .lines()
        .find(|l| l.contains(r##"stroke="#D62728" stroke-width="2" points=""##))
        .expect("the 5xx line");
    let ys: Vec<i32> = line
        .split("points=\"")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .filter_map(|p| p.split(',').nth(1)?.trim_end_matches('"').parse().ok())
        .collect();
    assert_eq!(ys.len(), util::SECONDS as usize);
    let (low, high) = (ys.iter().min().unwrap(), ys.iter().max().unwrap());
    assert_eq!(
        ys.iter().filter(|y| *y == low).count(),
        6,
        "six seconds at 20/s"
    );
    assert!(high > low);

    // No error at all: one flat line that says so.
    let mut report = util::report();
    for phase in &mut report.record.phases {
        for point in &mut phase.output.series {
            point.errors = Default::default();
        }
    }
    write_run_dir(temp.path(), &report).unwrap();
    let svg = util::read(&temp.path().join("charts"), "errors.svg");
    assert!(has_text(&svg, "no errors") && !has_text(&svg, "status_5xx"));
}

#[test]
fn a_fault_never_removed_is_shaded_to_the_end_and_no_samples_means_no_breaker_chart() {
    let mut report = util::report();
    report.record.faults.pop();
    report.record.faults.push(somon_record::FaultEvent {
        at: Duration::from_secs(15),
        applied: true,
        hits: "target".into(),
    });
    for phase in &mut report.record.phases {
        phase.output.samples.clear();
    }
    let temp = tempfile::tempdir().unwrap();
    write_run_dir(temp.path(), &report).unwrap();
    let charts = temp.path().join("charts");
    let svg = util::read(&charts, "latency-load_cached.svg");
    assert_eq!(svg.matches(util::FAULT_FILL).count(), 2);
    assert!(has_text(&svg, "fault: target"));
    assert!(!charts.join("breakers.svg").exists());
}

#[test]
fn rendering_a_copied_directory_again_gives_the_same_bytes() {
    let temp = tempfile::tempdir().unwrap();
    let first = temp.path().join("first");
    write_run_dir(&first, &util::report()).unwrap();
    let mut copies = Vec::new();
    for name in ["a", "b"] {
        let copy = temp.path().join(name);
        fs::create_dir(&copy).unwrap();
        fs::copy(first.join("record.json"), copy.join("record.json")).unwrap();
        render_dir(&copy).unwrap();
        copies.push(copy);
    }
    for name in CHARTS {
        for ext in ["svg", "png"] {
            let file = format!("charts/{name}.{ext}");
            let original = fs::read(first.join(&file)).unwrap();
            for copy in &copies {
                assert!(
                    original == fs::read(copy.join(&file)).unwrap(),
                    "{file} differs"
                );
            }
        }
    }
    for file in [
        "report.html",
        "record.json",
        "verdicts.json",
        "summary.md",
        "junit.xml",
    ] {
        assert_eq!(
            util::read(&first, file),
            util::read(&copies[1], file),
            "{file}"
        );
    }
}

#[test]
fn render_dir_without_a_record_fails() {
    let temp = tempfile::tempdir().unwrap();
    let err = render_dir(temp.path()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    fs::write(temp.path().join("record.json"), "{}").unwrap();
    let err = render_dir(temp.path()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

#[test]
#[ignore = "writes the synthetic charts to $CHART_DUMP for a look"]
fn dump() {
    let dir = std::env::var("CHART_DUMP").unwrap();
    write_run_dir(Path::new(&dir), &util::report()).unwrap();
}
