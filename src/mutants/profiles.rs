//! Profiles on the stand-in service. A profile's claims are about another
//! service, so no defect twin of the reference system applies: each claim's
//! knob is turned past its threshold (the claim must FAIL) and just inside
//! it (it must PASS), on a stand-in of its own, and all the profiles' runs
//! go at once (each is a few dozen requests a second, and a profile's
//! alert windows make a run minutes long).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use somon_scenarios::{execute, KnobEntry, Outcome, RunReport, Scenario};
use somon_standin::{Knobs, StandIn};

use super::render::{Cell, Tally};
use crate::session::Session;

/// A profile to run: on its base setting, then once per knob setting.
pub(super) struct Profile {
    pub(super) path: PathBuf,
    pub(super) scenario: Scenario,
    pub(super) base: Vec<String>,
    pub(super) knobs: Vec<KnobEntry>,
}

/// One claim's row: its verdict on the base setting, just inside its
/// threshold and past it.
pub(super) struct ProfileRow {
    scenario: String,
    claim: String,
    sound: Option<Cell>,
    /// The inside knob (`None`: the base setting is the inside run) and the
    /// verdict under it.
    inside: (Option<String>, Option<Cell>),
    over: (String, Option<Cell>),
}

/// A profile whose runs are under way.
pub(super) struct Started<'a> {
    profile: &'a Profile,
    /// Each run's knob (`None`: the base setting), by run index.
    labels: Vec<Option<&'a str>>,
    runs: tokio::task::JoinSet<(usize, Result<RunReport, somon_scenarios::RunError>)>,
}

/// Starts every setting of `profile` at once, each on a stand-in of its
/// own; [`finish`] waits for them. Several profiles may be started before
/// the first is finished, so they all run together.
pub(super) async fn start<'a>(
    session: &Session,
    profile: &'a Profile,
) -> anyhow::Result<Started<'a>> {
    let name = &profile.scenario.name;
    let mut labels: Vec<Option<&str>> = vec![None];
    for knob in &profile.knobs {
        for label in std::iter::once(&knob.over).chain(&knob.inside) {
            if !labels.contains(&Some(label.as_str())) {
                labels.push(Some(label.as_str()));
            }
        }
    }
    eprintln!(
        "mutants: {name} × {} stand-in settings at once",
        labels.len()
    );
    let mut runs = tokio::task::JoinSet::new();
    for (i, label) in labels.iter().enumerate() {
        let mut setting = profile.base.clone();
        setting.extend(label.map(str::to_owned));
        let knobs = Knobs::parse(&setting).map_err(anyhow::Error::msg)?;
        let standin = StandIn::start(knobs)
            .await
            .context("starting the stand-in")?;
        let mut options = session.options(&format!("{name}-standin-{i}"));
        options.file = Some(profile.path.clone());
        options.target_url = Some(standin.base());
        let scenario = profile.scenario.clone();
        runs.spawn(async move {
            let report = execute(&scenario, &options).await;
            standin.stop().await;
            let _ = std::fs::remove_dir_all(&options.work_dir);
            (i, report)
        });
    }
    Ok(Started {
        profile,
        labels,
        runs,
    })
}

/// Waits for a started profile's runs, writes their run directories and
/// returns its rows and the runs that proved nothing.
pub(super) async fn finish(
    started: Started<'_>,
    out: &Path,
) -> anyhow::Result<(Vec<ProfileRow>, Vec<String>)> {
    let Started {
        profile,
        labels,
        mut runs,
    } = started;
    let name = &profile.scenario.name;
    let mut reports: Vec<Option<RunReport>> = labels.iter().map(|_| None).collect();
    let mut inconclusive = Vec::new();
    while let Some(done) = runs.join_next().await {
        let (i, report) = done.context("a stand-in run panicked")?;
        // One setting that could not run leaves its cells empty (not run,
        // so nothing proved) and the others still count.
        match report {
            Ok(report) => reports[i] = Some(report),
            Err(e) => inconclusive.push(format!("{name} × {}: {e}", labels[i].unwrap_or("sound"))),
        }
    }
    for (label, report) in labels.iter().zip(&reports) {
        let Some(report) = report else { continue };
        let label = label.unwrap_or("sound");
        let dir = out.join(name).join(dir_name(label));
        somon_reports::write_run_dir(&dir, report)
            .with_context(|| format!("writing {}", dir.display()))?;
        if !report.status.is_complete() || !report.is_valid() {
            inconclusive.push(format!(
                "{name} × {label}: {}",
                report
                    .reason
                    .clone()
                    .unwrap_or_else(|| "run INVALID".into())
            ));
        }
    }
    let cell = |label: Option<&str>, claim: &str| {
        let i = labels.iter().position(|l| *l == label)?;
        let verdict = reports[i]
            .as_ref()?
            .verdicts
            .iter()
            .find(|v| v.claim == claim)?;
        Some(Cell {
            outcome: verdict.outcome,
            evidence: verdict.evidence.clone(),
        })
    };
    let rows = profile
        .knobs
        .iter()
        .map(|k| ProfileRow {
            scenario: name.clone(),
            claim: k.claim.clone(),
            sound: cell(None, &k.claim),
            inside: (k.inside.clone(), cell(k.inside.as_deref(), &k.claim)),
            over: (k.over.clone(), cell(Some(&k.over), &k.claim)),
        })
        .collect();
    Ok((rows, inconclusive))
}

/// `metric:godel_queue_depth=1001` as a directory name.
fn dir_name(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The profiles' table, counted into `tally`; cells that are not what they
/// should be go to `why` with their evidence.
pub(super) fn table(rows: &[ProfileRow], tally: &mut Tally, why: &mut String) -> String {
    let mut text = String::from(
        "| profile / claim (stand-in) | sound | just inside | crossed |\n| --- | --- | --- | --- |\n",
    );
    for row in rows {
        let mut explain =
            |run: &str, cell: &Cell| cell.explain(why, &row.scenario, &row.claim, run);
        // The base setting and the inside knob must PASS the claim.
        let mut must_pass = |run: &str, cell: &Option<Cell>| match cell {
            Some(c) if c.outcome == Outcome::Pass => "ok".to_owned(),
            Some(c) if c.outcome == Outcome::Fail => {
                explain(run, c);
                tally.false_alarms += 1;
                "FALSE ALARM".to_owned()
            }
            Some(c) => {
                explain(run, c);
                tally.unproven += 1;
                "UNKNOWN".to_owned()
            }
            None => {
                tally.unproven += 1;
                "not run".to_owned()
            }
        };
        let sound = must_pass("sound", &row.sound);
        let inside = match &row.inside {
            (None, _) => "(sound)".to_owned(),
            (Some(knob), cell) => format!("{} `{knob}`", must_pass(knob, cell)),
        };
        let (knob, cell) = &row.over;
        let over = match cell {
            Some(c) if c.outcome == Outcome::Fail => {
                tally.caught += 1;
                "caught"
            }
            Some(c) => {
                explain(knob, c);
                tally.missed += 1;
                "MISSED"
            }
            None => {
                tally.missed += 1;
                "not run"
            }
        };
        let _ = writeln!(
            text,
            "| {} / {} | {sound} | {inside} | {over} `{knob}` |",
            row.scenario, row.claim
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(outcome: Outcome) -> Option<Cell> {
        Some(Cell {
            outcome,
            evidence: "errors 0.5 %".into(),
        })
    }

    fn row(sound: Outcome, inside: Outcome, over: Outcome) -> ProfileRow {
        ProfileRow {
            scenario: "p".into(),
            claim: "c".into(),
            sound: cell(sound),
            inside: (Some("errors=0.5%".into()), cell(inside)),
            over: ("errors=2%".into(), cell(over)),
        }
    }

    #[test]
    fn a_claim_must_pass_inside_and_fail_past_its_threshold() {
        let (mut tally, mut why) = (Tally::default(), String::new());
        let text = table(
            &[row(Outcome::Pass, Outcome::Pass, Outcome::Fail)],
            &mut tally,
            &mut why,
        );
        assert!(
            text.contains("| p / c | ok | ok `errors=0.5%` | caught `errors=2%` |"),
            "{text}"
        );
        assert_eq!((tally.caught, tally.missed, tally.false_alarms), (1, 0, 0));
        assert!(why.is_empty());

        let (mut tally, mut why) = (Tally::default(), String::new());
        let text = table(
            &[row(Outcome::Pass, Outcome::Fail, Outcome::Pass)],
            &mut tally,
            &mut why,
        );
        assert!(
            text.contains("| FALSE ALARM `errors=0.5%` | MISSED `errors=2%` |"),
            "{text}"
        );
        assert_eq!((tally.caught, tally.missed, tally.false_alarms), (0, 1, 1));
        assert!(
            why.contains("p / c × errors=0.5%: FAIL: errors 0.5 %"),
            "{why}"
        );
        assert!(why.contains("p / c × errors=2%: PASS"), "{why}");

        let (mut tally, mut why) = (Tally::default(), String::new());
        table(
            &[row(Outcome::Unknown, Outcome::Pass, Outcome::Unknown)],
            &mut tally,
            &mut why,
        );
        assert_eq!(
            (tally.missed, tally.unproven),
            (1, 1),
            "an UNKNOWN is neither a catch nor a pass"
        );
    }

    #[test]
    fn knob_labels_make_directory_names() {
        assert_eq!(
            dir_name("metric:godel_queue_depth=1001"),
            "metric-godel_queue_depth-1001"
        );
        assert_eq!(dir_name("fail=/health/details"), "fail--health-details");
    }
}
