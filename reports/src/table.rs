//! The verdict table printed at the end of a run.

use somon_record::{Outcome, RunReport, Verdict};

use crate::format::{cut_short, format_measured, invalid_phases, status_name, NONE};

const HEADER: [&str; 6] = [
    "VERDICT", "CLAIM", "PHASE", "EXPECTED", "MEASURED", "SAMPLES",
];

/// The verdicts as an aligned plain-text table for a terminal.
///
/// One row per claim, then per steady-state probe; then, indented, the
/// evidence of each verdict that did not pass and the reasons of each
/// invalid phase; then a closing line with the tally and how the run ended:
///
/// ```text
/// VERDICT  CLAIM       PHASE   EXPECTED                   MEASURED  SAMPLES
/// PASS     p99-cached  steady  p99(load_cached) < 100ms  12.345 ms    12000
/// FAIL     error-rate  fault   error_rate < 1%                3.4%     5000
///
///   FAIL error-rate [fault]: 170 failed of 5000 requests
///
/// 1 PASS, 1 FAIL, 0 UNKNOWN — run VALID, completed
/// ```
///
/// With `color`, PASS is green, FAIL red and UNKNOWN yellow (ANSI escapes;
/// the caller decides, e.g. when stdout is a terminal). Control characters
/// in the verdicts' text are replaced, so a target's error message cannot
/// move the cursor or recolour the terminal.
pub fn verdict_table(report: &RunReport, color: bool) -> String {
    let verdicts: Vec<&Verdict> = report.verdicts.iter().chain(&report.steady_state).collect();
    let rows: Vec<[String; 6]> = verdicts
        .iter()
        .map(|v| {
            [
                v.outcome.label().to_string(),
                clean(&v.claim),
                v.phase.as_deref().map_or(NONE.to_string(), clean),
                clean(&v.statement()),
                format_measured(v),
                v.samples.to_string(),
            ]
        })
        .collect();
    let mut widths = HEADER.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }

    let mut out = String::new();
    let header = HEADER.map(String::from);
    line(&mut out, &header, &widths, None);
    for (row, v) in rows.iter().zip(&verdicts) {
        line(&mut out, row, &widths, color.then_some(v.outcome));
    }

    let mut notes: Vec<String> = verdicts
        .iter()
        .filter(|v| v.outcome != Outcome::Pass)
        .map(|v| {
            let phase = v
                .phase
                .as_deref()
                .map_or(String::new(), |p| format!(" [{}]", clean(p)));
            let label = paint(v.outcome.label(), color.then_some(v.outcome));
            format!("{label} {}{phase}: {}", clean(&v.claim), clean(&v.evidence))
        })
        .collect();
    notes.extend(
        invalid_phases(report)
            .iter()
            .map(|p| format!("INVALID phase {}", clean(p))),
    );
    if !notes.is_empty() {
        out.push('\n');
        for note in notes {
            out += "  ";
            out += &note;
            out.push('\n');
        }
    }

    let (pass, fail, unknown) = report.tally();
    let tint = |n: usize, outcome: Outcome| {
        let text = format!("{n} {}", outcome.label());
        paint(&text, (color && n > 0).then_some(outcome))
    };
    let ended = match cut_short(report) {
        Some(ended) => clean(&ended),
        None => {
            let validity = if report.is_valid() {
                "VALID"
            } else {
                "INVALID"
            };
            format!("{validity}, {}", status_name(report.status))
        }
    };
    out += &format!(
        "\n{}, {}, {} — run {ended}\n",
        tint(pass, Outcome::Pass),
        tint(fail, Outcome::Fail),
        tint(unknown, Outcome::Unknown),
    );
    out
}

/// One row: text columns left-aligned, numbers right-aligned, the verdict
/// painted after padding so escapes do not count towards the width.
fn line(out: &mut String, row: &[String; 6], widths: &[usize; 6], outcome: Option<Outcome>) {
    let mut cells = Vec::with_capacity(row.len());
    for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
        let pad = " ".repeat(width - cell.chars().count());
        cells.push(match i {
            0 => format!("{}{pad}", paint(cell, outcome)),
            4 | 5 => format!("{pad}{cell}"),
            _ => format!("{cell}{pad}"),
        });
    }
    out.push_str(cells.join("  ").trim_end());
    out.push('\n');
}

fn paint(text: &str, outcome: Option<Outcome>) -> String {
    let code = match outcome {
        None => return text.to_string(),
        Some(Outcome::Pass) => "32",
        Some(Outcome::Fail) => "31",
        Some(Outcome::Unknown) => "33",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Control characters (escape sequences, line breaks) become spaces.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{self, assert_text_eq};

    #[test]
    fn completed_run_table() {
        let expected = r#"VERDICT  CLAIM        PHASE   EXPECTED                            MEASURED  SAMPLES
PASS     p99-cached   steady  p99(load_cached) < 100ms           12.345 ms    12000
FAIL     error-rate   fault   error_rate < 1%                         3.4%     5000
UNKNOWN  module-size  —       bytes_per_cached_module < 50KB             —       12
PASS     alert<&">    fault   p99(load_cached) > 1000ms for 2m  held 130 s      300
PASS     healthy      before  error_rate < 1%                           0%       50

  FAIL error-rate [fault]: 170 failed of 5000 requests
  UNKNOWN module-size: only 12 modules entered the cache

2 PASS, 1 FAIL, 1 UNKNOWN — run VALID, completed
"#;
        assert_text_eq!(expected, verdict_table(&fixture::report(), false));
    }

    #[test]
    fn interrupted_run_ends_with_its_status() {
        let table = verdict_table(&fixture::interrupted(), false);
        assert!(
            table.contains("\n  INVALID phase fault: generator fell 2.1 s behind its schedule\n")
        );
        assert!(table.ends_with("\n2 PASS, 1 FAIL, 1 UNKNOWN — run INTERRUPTED: Ctrl-C\n"));
    }

    #[test]
    fn color_paints_verdicts_without_breaking_alignment() {
        let report = fixture::report();
        let plain = verdict_table(&report, false);
        let painted = verdict_table(&report, true);
        assert!(painted.contains("\x1b[32mPASS\x1b[0m     p99-cached"));
        assert!(painted.contains("\x1b[31mFAIL\x1b[0m     error-rate"));
        assert!(painted.contains("\x1b[33mUNKNOWN\x1b[0m  module-size"));
        assert!(painted.contains("\x1b[31m1 FAIL\x1b[0m"));
        let stripped = painted
            .replace("\x1b[32m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[33m", "")
            .replace("\x1b[0m", "");
        assert_text_eq!(plain, stripped);
    }

    #[test]
    fn control_characters_in_claims_cannot_reach_the_terminal() {
        let mut report = fixture::report();
        report.verdicts[1].evidence = "boom\x1b[2J\nnext".into();
        let table = verdict_table(&report, false);
        assert!(!table.contains('\x1b'));
        assert!(table.contains("boom [2J next"));
    }
}
