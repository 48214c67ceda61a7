//! `report.html`: self-contained, verdicts first, charts inlined.

mod util;

use somon_reports::write_run_dir;

#[test]
fn the_page_has_the_verdicts_first_then_charts_faults_validity_manifest() {
    let temp = tempfile::tempdir().unwrap();
    write_run_dir(temp.path(), &util::report()).unwrap();
    let html = util::read(temp.path(), "report.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    let at = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("missing {needle:?}"))
    };
    let order = [
        at(r#"<table class="verdicts">"#),
        at(r#"<figure id="chart-latency-load_cached">"#),
        at(r#"<figure id="chart-throughput">"#),
        at(r#"<figure id="chart-errors">"#),
        at(r#"<figure id="chart-breakers">"#),
        at(r#"<figure id="chart-percentiles-load_cached">"#),
        at(r#"<table class="faults">"#),
        at(r#"<table class="validity">"#),
        at(r#"<table class="manifest">"#),
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "sections out of order: {order:?}"
    );
    // The verdict row: outcome with its colour class, claim, source,
    // phase, expected (escaped), measured, samples.
    assert!(html.contains(
        r#"<tr><td class="PASS">PASS</td><td>p99-cached<div class="evidence">4120 requests of load_cached: p99 = 91.2 ms</div></td><td>README.md §Performance</td><td>steady</td><td>p99(load_cached) &lt; 100ms</td><td class="num">91.200 ms</td><td class="num">4120</td></tr>"#
    ), "{html}");
    assert!(html.contains("<td>applied</td><td>registry lodash: error 503</td>"));
    assert!(html.contains("<th>seed</th><td>7</td>"));
    assert_eq!(html.matches("<svg").count(), 5);
    assert!(!html.contains("<script"));
}

#[test]
fn the_page_links_nothing_outside_itself() {
    let temp = tempfile::tempdir().unwrap();
    write_run_dir(temp.path(), &util::report()).unwrap();
    let html = util::read(temp.path(), "report.html");
    // XML namespace names inside the inline SVG are identifiers, not links.
    let rest = html.replace("http://www.w3.org/", "");
    assert!(!rest.contains("http://") && !rest.contains("https://"));
    assert!(!rest.contains("src=") && !rest.contains("<link"));
}

#[test]
fn values_from_the_record_are_escaped() {
    let mut report = util::report();
    report.verdicts[0].claim = "<b>&claim</b>".into();
    let temp = tempfile::tempdir().unwrap();
    write_run_dir(temp.path(), &report).unwrap();
    let html = util::read(temp.path(), "report.html");
    assert!(
        html.contains("&lt;b&gt;&amp;claim&lt;&#x2f;b&gt;")
            || html.contains("&lt;b&gt;&amp;claim&lt;/b&gt;"),
        "{html}"
    );
    assert!(!html.contains("<b>&claim"));
}
