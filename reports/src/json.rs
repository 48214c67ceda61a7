//! The machine-readable artefacts: `verdicts.json` (what CI acts on),
//! `record.json` (everything, to re-render or compare later) and
//! `events.jsonl` (the fault history, one event a line).

use serde::Serialize;
use somon_record::{PhaseValidity, RunReport, RunStatus, Verdict};

/// `verdicts.json`: the verdicts with just enough context to act on them,
/// small enough to read without the record.
#[derive(Serialize)]
struct Verdicts<'a> {
    scenario: &'a str,
    status: RunStatus,
    reason: Option<&'a str>,
    valid: bool,
    exit_code: u8,
    tally: Tally,
    verdicts: &'a [Verdict],
    steady_state: &'a [Verdict],
    validity: &'a [PhaseValidity],
}

#[derive(Serialize)]
struct Tally {
    pass: usize,
    fail: usize,
    unknown: usize,
}

/// The text of `verdicts.json`.
pub(crate) fn verdicts(report: &RunReport) -> serde_json::Result<String> {
    let (pass, fail, unknown) = report.tally();
    let file = Verdicts {
        scenario: &report.manifest.scenario,
        status: report.status,
        reason: report.reason.as_deref(),
        valid: report.is_valid(),
        exit_code: report.exit_code().code(),
        tally: Tally {
            pass,
            fail,
            unknown,
        },
        verdicts: &report.verdicts,
        steady_state: &report.steady_state,
        validity: &report.validity,
    };
    pretty(&file)
}

/// The text of `record.json`: the whole report as serde writes it, so it
/// reads back into a [`RunReport`] for `report DIR` and `compare A B`.
pub(crate) fn record(report: &RunReport) -> serde_json::Result<String> {
    pretty(report)
}

/// The text of `events.jsonl`.
pub(crate) fn events(report: &RunReport) -> serde_json::Result<String> {
    let mut out = String::new();
    for event in &report.history {
        out += &serde_json::to_string(event)?;
        out.push('\n');
    }
    Ok(out)
}

fn pretty<T: Serialize>(value: &T) -> serde_json::Result<String> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{json, Value};
    use somon_chaos::{Event, EventKind, ProcessFault, Step};

    use super::*;
    use crate::fixture;

    #[test]
    fn verdicts_json_carries_status_tally_and_verdicts() {
        let report = fixture::report();
        let file: Value = serde_json::from_str(&verdicts(&report).unwrap()).unwrap();
        assert_eq!(file["scenario"], "cache-smoke");
        assert_eq!(file["status"], "completed");
        assert_eq!(file["reason"], Value::Null);
        assert_eq!(file["valid"], true);
        assert_eq!(file["exit_code"], 1);
        assert_eq!(file["tally"], json!({"pass": 2, "fail": 1, "unknown": 1}));
        let back: Vec<Verdict> = serde_json::from_value(file["verdicts"].clone()).unwrap();
        assert_eq!(back, report.verdicts);
        let back: Vec<Verdict> = serde_json::from_value(file["steady_state"].clone()).unwrap();
        assert_eq!(back, report.steady_state);
        let back: Vec<PhaseValidity> = serde_json::from_value(file["validity"].clone()).unwrap();
        assert_eq!(back, report.validity);
        assert_eq!(file["verdicts"][1]["outcome"], "FAIL");
    }

    #[test]
    fn interrupted_run_says_so_in_verdicts_json() {
        let file: Value =
            serde_json::from_str(&verdicts(&fixture::interrupted()).unwrap()).unwrap();
        assert_eq!(file["status"], "interrupted");
        assert_eq!(file["reason"], "Ctrl-C");
        assert_eq!(file["valid"], false);
        assert_eq!(file["exit_code"], 3);
    }

    #[test]
    fn record_json_reads_back_as_the_report() {
        let report = fixture::interrupted();
        let text = record(&report).unwrap();
        let file: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(file["manifest"]["scenario"], "cache-smoke");
        assert_eq!(file["manifest"]["seed"], 42);
        assert_eq!(file["manifest"]["git_sha"], "abc1234");
        assert_eq!(file["manifest"]["host"]["cores"], 2);
        assert_eq!(file["status"], "interrupted");
        let back: RunReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back.manifest, report.manifest);
        assert_eq!(back.status, report.status);
        assert_eq!(back.reason, report.reason);
        assert_eq!(back.verdicts, report.verdicts);
        assert_eq!(back.steady_state, report.steady_state);
        assert_eq!(back.validity, report.validity);
    }

    #[test]
    fn events_jsonl_has_one_line_per_event() {
        let mut report = fixture::report();
        assert_eq!(events(&report).unwrap(), "");
        let event = |at: u64, kind: EventKind| Event {
            at: Duration::from_secs(at),
            kind,
            entry: Some(0),
            step: "process Pause".into(),
            detail: Step::Process(ProcessFault::Pause),
            message: None,
        };
        report.history = vec![event(5, EventKind::Applied), event(9, EventKind::Removed)];
        let text = events(&report).unwrap();
        assert!(text.ends_with('\n'));
        let back: Vec<Event> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(back, report.history);
    }
}
