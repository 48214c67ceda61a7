//! `report.html`: one self-contained page — the verdicts first (and the
//! comparison with a baseline, when the run had one), then the charts
//! inlined as SVG, the fault timeline, the validity checks and the
//! manifest. Inline CSS, no script, nothing fetched from elsewhere, so it
//! reads the same from a CI artefact store as from disk.

use minijinja::Environment;
use serde::Serialize;
use somon_record::{RunReport, Verdict};

use crate::charts::ChartFile;
use crate::format::{cut_short, format_measured, result_label, status_name, NONE};

/// The template; its `.html` name turns on HTML auto-escaping, so every
/// value from the record is escaped and only the SVG (our own output) is
/// marked safe.
const TEMPLATE: &str = include_str!("report.html.j2");

#[derive(Serialize)]
struct Tally {
    pass: usize,
    fail: usize,
    unknown: usize,
}

#[derive(Serialize)]
struct Row {
    outcome: &'static str,
    claim: String,
    source: String,
    phase: String,
    expected: String,
    measured: String,
    samples: u64,
    evidence: String,
}

#[derive(Serialize)]
struct Chart<'a> {
    name: &'a str,
    title: &'a str,
    svg: &'a str,
}

#[derive(Serialize)]
struct EventRow {
    at: String,
    kind: String,
    step: String,
    message: String,
}

#[derive(Serialize)]
struct ValidityRow {
    phase: String,
    valid: bool,
    reasons: Vec<String>,
}

fn row(v: &Verdict) -> Row {
    Row {
        outcome: v.outcome.label(),
        claim: v.claim.clone(),
        source: v.source.clone(),
        phase: v.phase.clone().unwrap_or_else(|| "whole run".into()),
        expected: v.statement(),
        measured: format_measured(v),
        samples: v.samples,
        evidence: v.evidence.clone(),
    }
}

/// The manifest as (field, value) rows, in a fixed order.
fn manifest(report: &RunReport) -> Vec<(String, String)> {
    let m = &report.manifest;
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| NONE.into());
    let mut rows = vec![
        ("scenario".into(), m.scenario.clone()),
        ("file".into(), or_none(&m.file)),
        ("seed".into(), m.seed.to_string()),
        ("git sha".into(), or_none(&m.git_sha)),
        ("target".into(), m.target.clone()),
        (
            "defects".into(),
            if m.defects.is_empty() {
                NONE.into()
            } else {
                m.defects.join(", ")
            },
        ),
        ("started at".into(), m.started_at.clone()),
        (
            "wall time".into(),
            format!("{:.1} s", m.wall_time.as_secs_f64()),
        ),
        ("host cores".into(), m.host.cores.to_string()),
        (
            "host memory".into(),
            crate::format::bytes(m.host.memory_bytes as f64),
        ),
        ("host os".into(), m.host.os.clone()),
        ("host cpu".into(), m.host.cpu.clone()),
    ];
    rows.extend(
        m.versions
            .iter()
            .map(|(k, v)| (format!("version of {k}"), v.clone())),
    );
    rows
}

/// The text of `report.html`, with `charts` inlined in their order.
///
/// # Errors
/// A template error, which only a broken template causes.
pub(crate) fn report(report: &RunReport, charts: &[ChartFile]) -> Result<String, String> {
    let mut env = Environment::new();
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| e.to_string())?;
    let (pass, fail, unknown) = report.tally();
    let result = result_label(report);
    let events: Vec<EventRow> = report
        .history
        .iter()
        .map(|e| EventRow {
            at: format!("{:.3} s", e.at.as_secs_f64()),
            // The kind's serde name (`applied`, `removed`, …), as in events.jsonl.
            kind: serde_json::to_value(e.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            step: e.step.clone(),
            message: e.message.clone().unwrap_or_default(),
        })
        .collect();
    let context = minijinja::context! {
        scenario => &report.manifest.scenario,
        description => &report.manifest.description,
        result => result,
        result_class => match result { "PASS" => "PASS", "FAIL" => "FAIL", _ => "UNKNOWN" },
        cut_short => cut_short(report),
        tally => Tally { pass, fail, unknown },
        valid => report.is_valid(),
        status => status_name(report.status),
        verdicts => report.verdicts.iter().map(row).collect::<Vec<_>>(),
        steady_state => report.steady_state.iter().map(row).collect::<Vec<_>>(),
        charts => charts.iter().map(|c| Chart { name: &c.name, title: &c.title, svg: &c.svg }).collect::<Vec<_>>(),
        events => events,
        validity => report.validity.iter().map(|v| ValidityRow {
            phase: v.phase.clone(),
            valid: v.valid,
            reasons: v.reasons.clone(),
        }).collect::<Vec<_>>(),
        manifest => manifest(report),
        regression => report.regression.as_ref().map(crate::regression::section),
    };
    env.get_template("report.html")
        .and_then(|t| t.render(context))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn a_run_compared_with_a_baseline_has_its_regression_table_after_the_verdicts() {
        let page = report(&fixture::compared(), &[]).unwrap();
        let at = |text: &str| page.find(text).unwrap_or_else(|| panic!("{text}: {page}"));
        assert!(at(r#"id="verdicts""#) < at(r#"id="regression""#));
        assert!(at(r#"id="regression""#) < at(r#"id="charts""#));
        // minijinja's HTML escaping writes `/` as `&#x2f;`.
        assert!(
            page.contains(
                "<code>ci&#x2f;baselines&#x2f;quick</code> (scenario cache-smoke, git def5678"
            ),
            "{page}"
        );
        assert!(
            page.contains("<strong>1 of 2 statistics regressed.</strong>"),
            "{page}"
        );
        assert!(
            page.contains(r#"<td class="num">[+19.950, +20.050] ms (95%)</td>"#),
            "{page}"
        );
        assert!(
            page.contains(r#"<td class="FAIL">REGRESSED</td>"#),
            "{page}"
        );
        assert!(
            page.contains(r#"<td class="UNKNOWN">UNKNOWN</td>"#),
            "{page}"
        );

        let plain = report(&fixture::report(), &[]).unwrap();
        assert!(!plain.contains(r#"id="regression""#));
    }
}
