//! The comparison's text artefacts: `compare.json`, `compare.md` and the
//! self-contained `compare.html`.

use std::fmt::Write as _;

use minijinja::Environment;
use serde::Serialize;

use super::stats::{Delta, Row, Unit};
use super::Run;
use crate::charts::ChartFile;
use crate::format::{decimals, result_label, seconds, NONE};
use crate::markdown::text;

/// The template; its `.html` name turns on auto-escaping, so only the
/// SVG (our own output) is inserted as is.
const TEMPLATE: &str = include_str!("compare.html.j2");

/// Who a run is, for all three artefacts.
#[derive(Serialize)]
struct RunInfo<'a> {
    which: &'a str,
    label: &'a str,
    dir: String,
    scenario: &'a str,
    started_at: &'a str,
    git_sha: Option<&'a str>,
    result: &'static str,
}

fn info(run: &Run) -> RunInfo<'_> {
    let m = &run.report.manifest;
    RunInfo {
        which: run.which,
        label: &run.label,
        dir: run.dir.display().to_string(),
        scenario: &m.scenario,
        started_at: &m.started_at,
        git_sha: m.git_sha.as_deref(),
        result: result_label(&run.report),
    }
}

/// `compare.json`: both runs and the table in base units (seconds, per
/// second, ratios); `null` where a run lacks the journey × phase or the
/// relative delta has no base.
pub(crate) fn json(a: &Run, b: &Run, rows: &[Row]) -> String {
    let value = serde_json::json!({
        "a": info(a),
        "b": info(b),
        "rows": rows,
    });
    // A value of plain maps and numbers always serialises.
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// A value in its unit.
fn value(unit: Unit, v: Option<f64>) -> String {
    match v {
        None => NONE.to_string(),
        Some(v) => match unit {
            Unit::Seconds => seconds(v),
            Unit::PerSecond => format!("{}/s", decimals(v)),
            Unit::Ratio => format!("{}%", decimals(v * 100.0)),
        },
    }
}

/// A difference with its sign (a minus sign, as in the header's B − A);
/// none on a difference that shows as zero.
fn signed(unit: Unit, v: Option<f64>) -> String {
    let Some(v) = v else {
        return NONE.to_string();
    };
    with_sign(v, value(unit, Some(v.abs())))
}

fn relative(v: Option<f64>) -> String {
    v.map_or_else(
        || NONE.to_string(),
        |r| with_sign(r, format!("{:.1}%", (r * 100.0).abs())),
    )
}

fn with_sign(v: f64, magnitude: String) -> String {
    // Every digit zero (`0%`, `0.0%`, `0.000 ms`): no sign to give.
    if magnitude
        .chars()
        .filter(char::is_ascii_digit)
        .all(|c| c == '0')
    {
        magnitude
    } else if v < 0.0 {
        format!("−{magnitude}")
    } else {
        format!("+{magnitude}")
    }
}

/// One line of the table as both pages show it.
#[derive(Serialize)]
struct Line {
    /// The journey and phase on the first metric of a row, else empty.
    journey: String,
    phase: String,
    metric: &'static str,
    a: String,
    b: String,
    absolute: String,
    relative: String,
    /// The first line of a journey × phase, which draws a rule above it.
    first: bool,
}

fn lines(rows: &[Row]) -> Vec<Line> {
    let mut out = Vec::new();
    for row in rows {
        for (i, d) in row.deltas.iter().enumerate() {
            let Delta {
                metric,
                unit,
                a,
                b,
                absolute,
                relative: rel,
            } = d;
            out.push(Line {
                journey: if i == 0 {
                    row.journey.clone()
                } else {
                    String::new()
                },
                phase: if i == 0 {
                    row.phase.clone()
                } else {
                    String::new()
                },
                metric,
                a: value(*unit, *a),
                b: value(*unit, *b),
                absolute: signed(*unit, *absolute),
                relative: relative(*rel),
                first: i == 0,
            });
        }
    }
    out
}

fn requests(f: Option<&super::stats::Figures>) -> String {
    f.map_or_else(|| NONE.to_string(), |f| f.requests.to_string())
}

/// `compare.md`.
pub(crate) fn markdown(a: &Run, b: &Run, rows: &[Row], charts: &[ChartFile]) -> String {
    let mut out = String::from("## Comparison\n\n");
    for run in [a, b] {
        let i = info(run);
        let _ = writeln!(
            out,
            "- **{}**: {} — {}, started {}, {}",
            i.which,
            text(i.label),
            text(i.scenario),
            text(i.started_at),
            i.result
        );
    }
    out += "\nΔ is B − A; Δ % is relative to A.\n\n";
    if rows.is_empty() {
        out += "Neither run recorded any request.\n";
    } else {
        out += "| Journey | Phase | Metric | A | B | Δ | Δ % |\n|---|---|---|--:|--:|--:|--:|\n";
        for line in lines(rows) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                text(&line.journey),
                text(&line.phase),
                line.metric,
                line.a,
                line.b,
                line.absolute,
                line.relative
            );
        }
        out += "\nRequests per journey × phase: ";
        let counts: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{} / {}: A {}, B {}",
                    text(&r.journey),
                    text(&r.phase),
                    requests(r.a.as_ref()),
                    requests(r.b.as_ref())
                )
            })
            .collect();
        out += &counts.join("; ");
        out += ".\n";
    }
    out += "\n";
    for chart in charts {
        let _ = writeln!(out, "![{}](charts/{}.png)", text(&chart.title), chart.name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_carry_a_sign_unless_they_show_as_zero() {
        assert_eq!(signed(Unit::Seconds, Some(0.001)), "+1.000 ms");
        assert_eq!(signed(Unit::Seconds, Some(-0.002)), "−2.000 ms");
        assert_eq!(signed(Unit::Ratio, Some(0.0)), "0%");
        assert_eq!(signed(Unit::PerSecond, Some(-0.0001)), "0/s");
        assert_eq!(signed(Unit::PerSecond, Some(-10.0)), "−10/s");
        assert_eq!(signed(Unit::Seconds, None), NONE);
        assert_eq!(relative(Some(0.5)), "+50.0%");
        assert_eq!(relative(Some(-0.047)), "−4.7%");
        assert_eq!(relative(Some(-0.0001)), "0.0%");
        assert_eq!(relative(None), NONE);
    }
}

#[derive(Serialize)]
struct Chart<'a> {
    name: &'a str,
    title: &'a str,
    svg: &'a str,
}

/// `compare.html`.
///
/// # Errors
/// A template error, which only a broken template causes.
pub(crate) fn html(a: &Run, b: &Run, rows: &[Row], charts: &[ChartFile]) -> Result<String, String> {
    let mut env = Environment::new();
    env.add_template("compare.html", TEMPLATE)
        .map_err(|e| e.to_string())?;
    let context = minijinja::context! {
        a => info(a),
        b => info(b),
        lines => lines(rows),
        counts => rows.iter().map(|r| (r.journey.clone(), r.phase.clone(), requests(r.a.as_ref()), requests(r.b.as_ref()))).collect::<Vec<_>>(),
        charts => charts.iter().map(|c| Chart { name: &c.name, title: &c.title, svg: &c.svg }).collect::<Vec<_>>(),
    };
    env.get_template("compare.html")
        .and_then(|t| t.render(context))
        .map_err(|e| e.to_string())
}
