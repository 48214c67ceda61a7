//! The defect-twin matrix as a table, and what it counted.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use somon_scenarios::{Exit, Outcome, TwinMap};

use super::profiles::{self, ProfileRow};

/// One claim's row: its verdict on the sound system and under each twin.
pub(super) struct Row {
    pub(super) scenario: String,
    pub(super) claim: String,
    pub(super) sound: Option<Cell>,
    pub(super) twins: BTreeMap<String, Cell>,
    /// The twins its scenario was planned to run against (all mapped ones,
    /// or those `--defect` named): a mapped twin outside it is `skipped`,
    /// not missed.
    pub(super) planned: Vec<String>,
}

/// One run's verdict on one claim, with what decided it: a cell that is not
/// what it should be is listed under the table with its evidence, so a CI
/// log says why a twin was missed without the run directories.
pub(super) struct Cell {
    pub(super) outcome: Outcome,
    pub(super) evidence: String,
}

impl Cell {
    /// Adds the line that says why this cell of `scenario / claim` under
    /// `run` is not what it should be: its outcome and evidence.
    pub(super) fn explain(&self, why: &mut String, scenario: &str, claim: &str, run: &str) {
        let _ = writeln!(
            why,
            "- {scenario} / {claim} × {run}: {}: {}",
            self.outcome.label(),
            self.evidence
        );
    }
}

/// What a matrix counted.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Tally {
    /// Mapped twins that made their claim FAIL.
    pub(super) caught: usize,
    /// Mapped twins that did not (or whose run is missing).
    pub(super) missed: usize,
    /// Claims the sound system failed.
    pub(super) false_alarms: usize,
    /// Claims the sound system neither passed nor failed (UNKNOWN, or no
    /// verdict): a check not shown to pass on a sound system proves nothing
    /// by failing on a twin, so these are no more "0 false alarms" than a
    /// FAIL is.
    pub(super) unproven: usize,
    /// Mapped twins left out by `--defect`.
    pub(super) skipped: usize,
}

impl Tally {
    /// 1 when a twin was missed or the sound system failed a claim; 3 when
    /// nothing failed but some run or sound verdict proved nothing; else 0.
    pub(super) fn exit_code(&self, inconclusive_runs: bool) -> Exit {
        if self.missed > 0 || self.false_alarms > 0 {
            Exit::Fail
        } else if inconclusive_runs || self.unproven > 0 {
            Exit::Inconclusive
        } else {
            Exit::Pass
        }
    }
}

/// The matrix as a Markdown table (readable in a terminal too), with its
/// counts.
pub(super) fn render(map: &TwinMap, rows: &[Row], profiles: &[ProfileRow]) -> (String, Tally) {
    // A column for every twin that ran or is mapped to a row's claim, so a
    // mapped pair left out by `--defect` shows as `skipped`, not `·`.
    let mut defects: Vec<&str> = rows
        .iter()
        .flat_map(|r| {
            let mapped = map
                .entries
                .iter()
                .filter(|e| e.scenario == r.scenario && e.claim == r.claim)
                .flat_map(|e| e.defects.iter().map(String::as_str));
            r.twins.keys().map(String::as_str).chain(mapped)
        })
        .collect();
    defects.sort_unstable();
    defects.dedup();
    let mut tally = Tally::default();
    // Cells that are not what they should be, with their evidence.
    let mut why = String::new();
    let mut explain = |row: &Row, run: &str, cell: &Cell| {
        cell.explain(&mut why, &row.scenario, &row.claim, run);
    };
    let mut text = String::from("| scenario / claim | sound |");
    for d in &defects {
        let _ = write!(text, " {d} |");
    }
    text.push_str("\n| --- | --- |");
    text.push_str(&" --- |".repeat(defects.len()));
    text.push('\n');
    for row in rows {
        let sound = match &row.sound {
            Some(cell) if cell.outcome == Outcome::Pass => "ok",
            Some(cell) => {
                explain(row, "sound", cell);
                if cell.outcome == Outcome::Fail {
                    tally.false_alarms += 1;
                    "FALSE ALARM"
                } else {
                    tally.unproven += 1;
                    "UNKNOWN"
                }
            }
            None => {
                tally.unproven += 1;
                "not run"
            }
        };
        let _ = write!(text, "| {} / {} | {sound} |", row.scenario, row.claim);
        for d in &defects {
            let expected = map.expects(&row.scenario, &row.claim, d);
            let outcome = row.twins.get(*d).map(|c| c.outcome);
            let cell = match (outcome, expected) {
                (Some(Outcome::Fail), true) => {
                    tally.caught += 1;
                    "caught"
                }
                (Some(_), true) => {
                    tally.missed += 1;
                    explain(row, d, &row.twins[*d]);
                    "MISSED"
                }
                (None, true) if !row.planned.iter().any(|p| p == d) => {
                    tally.skipped += 1;
                    "skipped"
                }
                (None, true) => {
                    tally.missed += 1;
                    "not run"
                }
                (Some(Outcome::Fail), false) => "(fails too)",
                (Some(_), false) | (None, false) => "·",
            };
            let _ = write!(text, " {cell} |");
        }
        text.push('\n');
    }
    if rows.is_empty() {
        text.clear();
    }
    if !profiles.is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&profiles::table(profiles, &mut tally, &mut why));
    }
    let _ = writeln!(
        text,
        "\n{} caught, {} missed, {} false alarm(s) on the sound system",
        tally.caught, tally.missed, tally.false_alarms
    );
    if tally.skipped > 0 {
        let _ = writeln!(
            text,
            "{} mapped pair(s) skipped: not among the twins named with --defect",
            tally.skipped
        );
    }
    if tally.unproven > 0 {
        let _ = writeln!(
            text,
            "{} claim(s) neither passed nor failed on the sound system: their catches prove nothing",
            tally.unproven
        );
    }
    if !why.is_empty() {
        let _ = writeln!(
            text,
            "\nWhy (each cell above that is not as it should be):\n\n{why}"
        );
    }
    if !map.uncovered.is_empty() {
        let _ = writeln!(
            text,
            "\nNot yet shown to fail ({} claim(s) without a twin, not run here):\n",
            map.uncovered.len()
        );
        for u in &map.uncovered {
            let _ = writeln!(text, "- {} / {}: {}", u.scenario, u.claim, u.reason);
        }
    }
    (text, tally)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const MAP: &str =
        "[[catch]]\nscenario = \"s\"\nclaim = \"c\"\ndefects = [\"slow-hits\", \"leak\"]\n";

    fn row(sound: Option<Outcome>, twins: &[(&str, Outcome)]) -> Row {
        let cell = |outcome: Outcome| Cell {
            outcome,
            evidence: "p50 = 20 ms".into(),
        };
        Row {
            scenario: "s".into(),
            claim: "c".into(),
            sound: sound.map(cell),
            twins: twins
                .iter()
                .map(|(d, o)| ((*d).to_owned(), cell(*o)))
                .collect(),
            planned: twins.iter().map(|(d, _)| (*d).to_owned()).collect(),
        }
    }

    fn tally(rows: &[Row]) -> (String, Tally) {
        let map = TwinMap::from_toml(Path::new("twins.toml"), MAP).unwrap();
        render(&map, rows, &[])
    }

    #[test]
    fn a_sound_pass_and_every_mapped_twin_failing_is_exit_0() {
        let rows = [row(
            Some(Outcome::Pass),
            &[("slow-hits", Outcome::Fail), ("leak", Outcome::Fail)],
        )];
        let (text, t) = tally(&rows);
        assert_eq!(
            t,
            Tally {
                caught: 2,
                ..Tally::default()
            }
        );
        assert_eq!(t.exit_code(false), Exit::Pass);
        assert_eq!(t.exit_code(true), Exit::Inconclusive);
        assert!(text.contains("| s / c | ok | caught | caught |"), "{text}");
        assert!(!text.contains("Why"), "nothing to explain: {text}");
    }

    #[test]
    fn a_twin_that_passes_or_proves_nothing_is_missed() {
        let rows = [row(
            Some(Outcome::Pass),
            &[("slow-hits", Outcome::Pass), ("leak", Outcome::Unknown)],
        )];
        let (text, t) = tally(&rows);
        assert_eq!(t.missed, 2);
        assert_eq!(t.exit_code(false), Exit::Fail);
        assert!(text.contains("MISSED | MISSED"), "{text}");
        assert!(
            text.contains("- s / c × slow-hits: PASS: p50 = 20 ms"),
            "{text}"
        );
        assert!(
            text.contains("- s / c × leak: UNKNOWN: p50 = 20 ms"),
            "{text}"
        );
    }

    #[test]
    fn a_mapped_twin_left_out_by_defect_is_skipped_not_missed() {
        // Only slow-hits ran: leak, mapped to the claim too, still gets its
        // column, marked skipped.
        let only_slow = row(Some(Outcome::Pass), &[("slow-hits", Outcome::Fail)]);
        let (text, t) = tally(&[only_slow]);
        assert_eq!((t.caught, t.missed, t.skipped), (1, 0, 1), "{text}");
        assert_eq!(t.exit_code(false), Exit::Pass);
        assert!(text.contains("| s / c | ok | skipped | caught |"), "{text}");
        assert!(text.contains("1 mapped pair(s) skipped"), "{text}");

        // Planned but without a verdict is missed.
        let mut unrun = row(Some(Outcome::Pass), &[("slow-hits", Outcome::Fail)]);
        unrun.planned.push("leak".into());
        let (text, t) = tally(&[unrun]);
        assert_eq!((t.missed, t.skipped), (1, 0), "{text}");
        assert!(text.contains("| s / c | ok | not run | caught |"), "{text}");
    }

    #[test]
    fn a_sound_failure_is_a_false_alarm_and_a_sound_unknown_proves_nothing() {
        let both = [("slow-hits", Outcome::Fail), ("leak", Outcome::Fail)];
        let (text, t) = tally(&[row(Some(Outcome::Fail), &both)]);
        assert_eq!(t.false_alarms, 1);
        assert_eq!(t.exit_code(false), Exit::Fail);
        assert!(text.contains("FALSE ALARM"), "{text}");
        assert!(
            text.contains("- s / c × sound: FAIL: p50 = 20 ms"),
            "{text}"
        );

        for sound in [Some(Outcome::Unknown), None] {
            let (text, t) = tally(&[row(sound, &both)]);
            assert_eq!((t.caught, t.false_alarms, t.unproven), (2, 0, 1), "{text}");
            assert_eq!(t.exit_code(false), Exit::Inconclusive, "{text}");
            assert!(text.contains("their catches prove nothing"), "{text}");
        }
    }
}
