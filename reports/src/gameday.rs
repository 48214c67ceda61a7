//! The game-day part of a run directory: `gameday.json` (written by
//! [`write_gameday`] before the other artefacts), and, when a directory has
//! one, a drills section in `summary.md` and `report.html` and a drills
//! table for the terminal ([`drill_table`]). Renders; computes nothing.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use minijinja::Environment;
use serde::Serialize;
use somon_record::gameday::{DrillResult, GameDay};

use crate::format::NONE;

const TEMPLATE: &str = include_str!("gameday.html.j2");

/// Where a run directory keeps its game day.
const FILE: &str = "gameday.json";

/// Writes `gameday.json` into `dir` (creating it), through a temporary file
/// renamed into place. Call it before [`write_run_dir`](crate::write_run_dir)
/// so the summary and the page carry the drills.
///
/// # Errors
/// Creating `dir` or writing the file.
pub fn write_gameday(dir: &Path, gameday: &GameDay) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let text = serde_json::to_string_pretty(gameday).map_err(io::Error::other)?;
    let path = dir.join(FILE);
    let tmp = dir.join(format!(".{FILE}.tmp"));
    fs::write(&tmp, text)?;
    fs::rename(&tmp, &path)?;
    Ok(path)
}

/// The game day of a run directory, if it has one.
///
/// # Errors
/// `gameday.json` exists but cannot be read or is not a game day.
pub(crate) fn load(dir: &Path) -> io::Result<Option<GameDay>> {
    let path = dir.join(FILE);
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a game day: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn window(d: &DrillResult) -> String {
    match (d.fault_start_s, d.fault_end_s) {
        (Some(s), Some(e)) => format!("{s:.2} s → {e:.2} s"),
        (Some(s), None) => format!("{s:.2} s → rollback"),
        _ => NONE.into(),
    }
}

fn with_delta(when: Option<f64>, delta: Option<f64>) -> String {
    match (when, delta) {
        (Some(w), Some(d)) => format!("{w:.2} s (+{d:.2} s)"),
        _ => NONE.into(),
    }
}

fn deadline(d: &DrillResult) -> String {
    let mut s = format!("recover ≤ {:.0} s", d.recover_within_s);
    if let Some(limit) = d.detect_within_s {
        let _ = write!(s, ", detect ≤ {limit:.0} s");
    }
    s
}

fn remedy(d: &DrillResult) -> String {
    match (&d.remedy, d.remedy_at_s) {
        (Some(r), Some(t)) => format!("{r} — taken at {t:.2} s"),
        (Some(r), None) => format!("{r} — not taken"),
        (None, _) => "none in this drill".into(),
    }
}

/// Markdown: escapes what would format.
fn text(raw: &str) -> String {
    raw.chars()
        .flat_map(|c| match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '|' | '~' => vec!['\\', c],
            '\n' | '\r' | '\t' => vec![' '],
            c => vec![c],
        })
        .collect()
}

/// The drills section of `summary.md`.
pub(crate) fn markdown(g: &GameDay) -> String {
    let mut out = format!("\n### Game day: {}\n\n", text(&g.plan));
    out += "| Result | Drill | Fault window | Detected (time to detect) | Remedy | Recovered (time to recover) | Deadline |\n";
    out += "| --- | --- | --- | --- | --- | --- | --- |\n";
    for d in &g.drills {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} by {} | {} | {} by {} | {} |",
            d.outcome.label(),
            text(&d.id),
            window(d),
            with_delta(d.detected_at_s, d.time_to_detect_s),
            text(&d.detect),
            text(&remedy(d)),
            with_delta(d.recovered_at_s, d.time_to_recover_s),
            text(&d.verify),
            deadline(d),
        );
    }
    out += "\n";
    for d in &g.drills {
        let _ = writeln!(
            out,
            "- **{}** ({}): {}",
            text(&d.id),
            text(&d.source),
            text(&d.evidence)
        );
    }
    out
}

#[derive(Serialize)]
struct Row {
    outcome: &'static str,
    id: String,
    source: String,
    fault: String,
    window: String,
    detect: String,
    detected: String,
    remedy: String,
    verify: String,
    recovered: String,
    deadline: String,
    evidence: String,
}

/// The drills section of `report.html` (escaped by the template).
pub(crate) fn html(g: &GameDay) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.add_template("gameday.html", TEMPLATE)?;
    let drills: Vec<Row> = g
        .drills
        .iter()
        .map(|d| Row {
            outcome: d.outcome.label(),
            id: d.id.clone(),
            source: d.source.clone(),
            fault: d.fault.clone(),
            window: window(d),
            detect: d.detect.clone(),
            detected: with_delta(d.detected_at_s, d.time_to_detect_s),
            remedy: remedy(d),
            verify: d.verify.clone(),
            recovered: with_delta(d.recovered_at_s, d.time_to_recover_s),
            deadline: deadline(d),
            evidence: d.evidence.clone(),
        })
        .collect();
    env.get_template("gameday.html")?
        .render(minijinja::context! {
            plan => g.plan,
            drills => drills,
            polls => g.observations.len(),
        })
}

/// `html` placed into a rendered page, before its charts.
pub(crate) fn into_page(page: String, g: &GameDay) -> Result<String, minijinja::Error> {
    let section = html(g)?;
    Ok(page.replacen("<!-- gameday -->", &section, 1))
}

/// The drills as printed at the end of `somon-verify gameday`.
pub fn drill_table(g: &GameDay) -> String {
    let mut out = format!("game day {}:\n", g.plan);
    for d in &g.drills {
        let _ = writeln!(
            out,
            "  {:<8} {}: fault {}; detected {}; remedy {}; recovered {} ({})",
            d.outcome.label(),
            d.id,
            window(d),
            with_delta(d.detected_at_s, d.time_to_detect_s),
            d.remedy_at_s.map_or(NONE.into(), |t| format!("{t:.2} s")),
            with_delta(d.recovered_at_s, d.time_to_recover_s),
            deadline(d),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use somon_record::Outcome;

    fn drill() -> DrillResult {
        DrillResult {
            id: "outage".into(),
            source: "SomonScript Module System - Operational Runbook <breaker>".into(),
            fault: "registry 503".into(),
            fault_start_s: Some(5.0),
            fault_end_s: Some(15.0),
            detect: "breaker_open(external:lodash)".into(),
            detected_at_s: Some(6.25),
            time_to_detect_s: Some(1.25),
            detect_within_s: Some(10.0),
            remedy: Some("POST /circuit-breakers/reset/lodash at fault_end + 1s".into()),
            remedy_at_s: Some(16.0),
            verify: "breaker_closed(external:lodash)".into(),
            recovered_at_s: Some(16.25),
            time_to_recover_s: Some(11.25),
            recover_within_s: 30.0,
            outcome: Outcome::Pass,
            evidence: "detected; recovered".into(),
        }
    }

    #[test]
    fn sections_show_window_detection_recovery_and_result() {
        let g = GameDay {
            plan: "registry-outage".into(),
            drills: vec![drill()],
            ..GameDay::default()
        };
        let md = markdown(&g);
        assert!(md.contains("| PASS | outage | 5.00 s → 15.00 s | 6.25 s (+1.25 s) by breaker\\_open(external:lodash) |"), "{md}");
        assert!(md.contains("16.25 s (+11.25 s)"), "{md}");
        let page = into_page("<h1>x</h1><!-- gameday --><h2 id=\"charts\">".into(), &g).unwrap();
        assert!(
            page.contains("<h2 id=\"gameday\">Game day: registry-outage</h2>"),
            "{page}"
        );
        assert!(page.contains("&lt;breaker&gt;"), "escaped: {page}");
        assert!(drill_table(&g)
            .contains("PASS     outage: fault 5.00 s → 15.00 s; detected 6.25 s (+1.25 s)"));
    }

    #[test]
    fn a_directory_without_a_game_day_has_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_none());
        let g = GameDay {
            plan: "p".into(),
            drills: vec![drill()],
            ..GameDay::default()
        };
        write_gameday(dir.path(), &g).unwrap();
        assert_eq!(load(dir.path()).unwrap(), Some(g));
        fs::write(dir.path().join(FILE), "{").unwrap();
        assert!(load(dir.path()).is_err());
    }
}
