//! Writing a run's artefacts into its directory.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use somon_record::{RunReport, Secrets};

use crate::{charts, gameday, html, json, junit, markdown, regression};

/// Writes the run's artefacts into `dir`, creating it if needed, and
/// returns their paths:
///
/// - `verdicts.json`: scenario, status, reason, validity, exit code, tally
///   and the verdicts, for machines;
/// - `record.json`: the whole [`RunReport`] (manifest, verdicts, the record
///   they were judged on, the fault history); it reads back with serde;
/// - `summary.md`: the result as a CI job summary or PR comment;
/// - `junit.xml`: one test case per claim × phase, for CI test views;
/// - `events.jsonl`: the fault history, one JSON event a line;
/// - `regression.json` and `regression.md`, for a run compared with a
///   baseline (its record's `regression`): the comparisons, and their
///   table (also at the end of `summary.md` and in `report.html`);
/// - `charts/NAME.svg` and `charts/NAME.png` for each chart the record has
///   data for: `latency-JOURNEY`, `throughput`, `errors`, `breakers`,
///   `percentiles-JOURNEY`;
/// - `report.html`: all of it on one self-contained page.
///
/// The text artefacts are written first, so a record whose charts cannot
/// be drawn still leaves its verdicts behind.
///
/// Each file is written to a temporary file beside it and renamed into
/// place, so a run interrupted mid-write leaves either the old file or the
/// new one, never half of one. Files already in `dir` under other names are
/// left alone.
///
/// # Errors
///
/// Any I/O error creating `dir` or writing a file; the files written
/// before it stay. An interval log in the record that does not parse
/// fails the charts with [`io::ErrorKind::InvalidData`].
///
/// # Example
///
/// ```
/// use somon_record::{Manifest, RunRecord, RunReport, RunStatus};
///
/// let report = RunReport {
///     manifest: Manifest { scenario: "smoke".into(), ..Manifest::default() },
///     status: RunStatus::Completed,
///     reason: None,
///     validity: vec![],
///     steady_state: vec![],
///     verdicts: vec![],
///     record: RunRecord::default(),
///     history: vec![],
///     regression: None,
/// };
/// let dir = tempfile::tempdir().unwrap();
/// let written = somon_reports::write_run_dir(&dir.path().join("run"), &report).unwrap();
/// // No phase ran, so there is nothing to chart: five files and the page.
/// assert_eq!(written.len(), 6);
/// assert!(written.iter().all(|path| path.is_file()));
/// ```
pub fn write_run_dir(dir: &Path, report: &RunReport) -> io::Result<Vec<PathBuf>> {
    write_run_dir_redacted(dir, report, &Secrets::default())
}

/// [`write_run_dir`] with every secret of `secrets` replaced by
/// `[redacted]` in every file before it is written (the charts' SVG and
/// the page included): the run of a scenario that sends a token writes
/// its run directory with this.
///
/// ```
/// use somon_record::{Manifest, RunRecord, RunReport, RunStatus, Secrets};
///
/// let report = RunReport {
///     manifest: Manifest {
///         scenario: "api".into(),
///         description: "calls /me as Bearer t0k3n".into(),
///         ..Manifest::default()
///     },
///     status: RunStatus::Completed,
///     reason: None,
///     validity: vec![],
///     steady_state: vec![],
///     verdicts: vec![],
///     record: RunRecord::default(),
///     history: vec![],
///     regression: None,
/// };
/// let dir = tempfile::tempdir().unwrap();
/// let secrets = Secrets::new(["t0k3n"]);
/// for file in somon_reports::write_run_dir_redacted(dir.path(), &report, &secrets).unwrap() {
///     assert!(!std::fs::read_to_string(file).unwrap().contains("t0k3n"));
/// }
/// let record = std::fs::read_to_string(dir.path().join("record.json")).unwrap();
/// assert!(record.contains("calls /me as Bearer [redacted]"));
/// ```
///
/// # Errors
///
/// As [`write_run_dir`].
pub fn write_run_dir_redacted(
    dir: &Path,
    report: &RunReport,
    secrets: &Secrets,
) -> io::Result<Vec<PathBuf>> {
    // Everything is rendered from a report with the secrets taken out (the
    // PNG charts cannot be redacted once drawn), and each text is redacted
    // again as it is written, for what a page takes from elsewhere.
    let clean;
    let report = if secrets.is_empty() {
        report
    } else {
        clean = redacted(report, secrets)?;
        &clean
    };
    fs::create_dir_all(dir)?;
    let drills = gameday::load(dir)?;
    let mut files = vec![
        ("verdicts.json", json::verdicts(report)?),
        ("record.json", json::record(report)?),
        (
            "summary.md",
            markdown::summary(report) + &drills.as_ref().map(gameday::markdown).unwrap_or_default(),
        ),
        ("junit.xml", junit::junit(report)),
        ("events.jsonl", json::events(report)?),
    ];
    if let Some(r) = &report.regression {
        files.push((
            "regression.json",
            regression::json(r).map_err(io::Error::other)?,
        ));
        files.push(("regression.md", regression::regression_markdown(r)));
    }
    let mut written = Vec::with_capacity(files.len());
    for (name, contents) in files {
        let path = dir.join(name);
        write_atomically(&path, secrets.redact(&contents).as_bytes())?;
        written.push(path);
    }
    let charts =
        charts::render(report).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    if !charts.is_empty() {
        let chart_dir = dir.join("charts");
        fs::create_dir_all(&chart_dir)?;
        for chart in &charts {
            let svg = secrets.redact(&chart.svg);
            for (ext, bytes) in [("svg", svg.as_bytes()), ("png", &chart.png[..])] {
                let path = chart_dir.join(format!("{}.{ext}", chart.name));
                write_atomically(&path, bytes)?;
                written.push(path);
            }
        }
        sync_dir(&chart_dir)?;
    }
    let mut page = html::report(report, &charts).map_err(io::Error::other)?;
    if let Some(g) = &drills {
        page = gameday::into_page(page, g).map_err(io::Error::other)?;
    }
    let path = dir.join("report.html");
    write_atomically(&path, secrets.redact(&page).as_bytes())?;
    written.push(path);
    sync_dir(dir)?;
    Ok(written)
}

/// `report` with every secret replaced, through its JSON form (which
/// every field is in).
fn redacted(report: &RunReport, secrets: &Secrets) -> io::Result<RunReport> {
    let json = serde_json::to_string(report).map_err(io::Error::other)?;
    serde_json::from_str(&secrets.redact(&json)).map_err(io::Error::other)
}

/// Re-renders a run directory from its `record.json`: every artefact
/// [`write_run_dir`] writes is written again (charts and `report.html`
/// included), so a report made by an older build, or one whose charts
/// failed, can be brought up to date without re-running the load.
/// Returns the paths written.
///
/// # Errors
/// `record.json` missing or unreadable ([`io::ErrorKind::NotFound`] and
/// friends), not a run report ([`io::ErrorKind::InvalidData`]), or any
/// error of [`write_run_dir`].
///
/// # Example
///
/// ```
/// use somon_record::{Manifest, RunRecord, RunReport, RunStatus};
///
/// let report = RunReport {
///     manifest: Manifest { scenario: "smoke".into(), ..Manifest::default() },
///     status: RunStatus::Completed,
///     reason: None,
///     validity: vec![],
///     steady_state: vec![],
///     verdicts: vec![],
///     record: RunRecord::default(),
///     history: vec![],
///     regression: None,
/// };
/// let dir = tempfile::tempdir().unwrap();
/// somon_reports::write_run_dir(dir.path(), &report).unwrap();
/// std::fs::remove_file(dir.path().join("report.html")).unwrap();
/// somon_reports::render_dir(dir.path()).unwrap();
/// assert!(dir.path().join("report.html").is_file());
/// ```
pub fn render_dir(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let text = fs::read_to_string(dir.join("record.json"))?;
    let report: RunReport = serde_json::from_str(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: not a run record: {e}",
                dir.join("record.json").display()
            ),
        )
    })?;
    write_run_dir(dir, &report)
}

/// Writes `contents` to `path` through a temporary file in the same
/// directory: a rename within one file system replaces the file whole.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    // Unique per process and call, so two writers never share a temp file.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = path.with_file_name(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(contents)?;
        // Without this a crash after the rename can leave an empty file.
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Makes the renames themselves durable.
#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Windows cannot open a directory as a file; its renames are journaled.
#[cfg(not(unix))]
pub(crate) fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::fixture;

    const NAMES: [&str; 6] = [
        "verdicts.json",
        "record.json",
        "summary.md",
        "junit.xml",
        "events.jsonl",
        "report.html",
    ];

    #[test]
    fn writes_every_artefact_and_nothing_else() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("out").join("2025-01-01-cache-smoke");
        let report = fixture::interrupted();
        let written = write_run_dir(&dir, &report).unwrap();
        let expected: Vec<PathBuf> = NAMES.iter().map(|n| dir.join(n)).collect();
        assert_eq!(written, expected);

        let mut present: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        present.sort();
        let mut names = NAMES.map(String::from).to_vec();
        names.sort();
        assert_eq!(present, names, "no temporary file may be left behind");

        let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap();
        let verdicts: Value = serde_json::from_str(&read("verdicts.json")).unwrap();
        assert_eq!(verdicts["status"], "interrupted");
        let back: RunReport = serde_json::from_str(&read("record.json")).unwrap();
        assert_eq!(back.manifest, report.manifest);
        assert_eq!(read("summary.md"), markdown::summary(&report));
        assert_eq!(read("junit.xml"), junit::junit(&report));
        assert_eq!(read("events.jsonl"), "");
    }

    #[test]
    fn no_secret_reaches_any_file() {
        use somon_chaos::{Event, EventKind, ProcessFault, Step};
        // Where a run could carry a token: the description (a `${…}` in
        // it), a verdict's evidence, an event's message, the reason.
        const TOKEN: &str = "s3cr\"et<T0k3n>";
        let mut report = fixture::report();
        report.manifest.description = format!("calls /me as Bearer {TOKEN}");
        report.reason = Some(format!("stopped: 401 for Bearer {TOKEN}"));
        report.verdicts[0].evidence = format!("answer echoed {TOKEN}");
        report.history = vec![Event {
            at: std::time::Duration::from_secs(1),
            kind: EventKind::Applied,
            entry: Some(0),
            step: "process Pause".into(),
            detail: Step::Process(ProcessFault::Pause),
            message: Some(format!("upstream rejected {TOKEN}")),
        }];
        let secrets = Secrets::new([TOKEN]);
        let temp = tempfile::tempdir().unwrap();
        let forms = [
            TOKEN.to_owned(),
            TOKEN.replace('"', "\\\""),
            TOKEN
                .replace('"', "&quot;")
                .replace('<', "&lt;")
                .replace('>', "&gt;"),
            "T0k3n".to_owned(),
        ];
        let leaks = |dir: &Path| -> Vec<String> {
            let mut leaks = Vec::new();
            for file in walk(dir) {
                let text = String::from_utf8_lossy(&fs::read(&file).unwrap()).into_owned();
                if forms.iter().any(|f| text.contains(f.as_str())) {
                    leaks.push(file.file_name().unwrap().to_string_lossy().into_owned());
                }
            }
            leaks.sort();
            leaks
        };
        // Written plainly, the token is in every text file a person reads.
        let plain = temp.path().join("plain");
        write_run_dir(&plain, &report).unwrap();
        let found = leaks(&plain);
        for name in [
            "events.jsonl",
            "record.json",
            "report.html",
            "summary.md",
            "verdicts.json",
        ] {
            assert!(found.iter().any(|f| f == name), "{name} not in {found:?}");
        }
        let clean = temp.path().join("clean");
        write_run_dir_redacted(&clean, &report, &secrets).unwrap();
        assert_eq!(leaks(&clean), Vec::<String>::new());
        let record = fs::read_to_string(clean.join("record.json")).unwrap();
        assert!(
            record.contains("calls /me as Bearer [redacted]"),
            "{record}"
        );
        let back: RunReport = serde_json::from_str(&record).unwrap();
        assert_eq!(
            back.verdicts.len(),
            report.verdicts.len(),
            "still reads back"
        );
    }

    /// Every file under `dir`.
    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
    }

    #[test]
    fn a_regression_section_is_written_with_the_run_and_again_by_render_dir() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        let written = write_run_dir(dir, &fixture::compared()).unwrap();
        assert!(written.contains(&dir.join("regression.json")));
        assert!(written.contains(&dir.join("regression.md")));
        let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap();
        let first: Vec<String> = [
            "summary.md",
            "regression.md",
            "regression.json",
            "report.html",
        ]
        .map(read)
        .to_vec();
        assert!(first[0].contains("### Regression against the baseline"));
        assert!(first[0].contains("**REGRESSED**"));
        assert!(first[3].contains("Regression against the baseline"));
        assert!(first[3].contains("ci&#x2f;baselines&#x2f;quick"));

        // `somon-verify report DIR`: everything again from record.json
        // alone, the regression section included.
        for name in [
            "summary.md",
            "regression.md",
            "regression.json",
            "report.html",
        ] {
            fs::remove_file(dir.join(name)).unwrap();
        }
        render_dir(dir).unwrap();
        let again: Vec<String> = [
            "summary.md",
            "regression.md",
            "regression.json",
            "report.html",
        ]
        .map(read)
        .to_vec();
        assert_eq!(again, first);
        let back: RunReport = serde_json::from_str(&read("record.json")).unwrap();
        assert_eq!(back.regression, fixture::compared().regression);
    }

    #[test]
    fn rewriting_replaces_the_files() {
        let temp = tempfile::tempdir().unwrap();
        write_run_dir(temp.path(), &fixture::interrupted()).unwrap();
        let report = fixture::report();
        write_run_dir(temp.path(), &report).unwrap();
        let verdicts: Value =
            serde_json::from_str(&fs::read_to_string(temp.path().join("verdicts.json")).unwrap())
                .unwrap();
        assert_eq!(verdicts["status"], "completed");
    }

    #[test]
    fn fails_when_the_directory_cannot_be_made() {
        let temp = tempfile::tempdir().unwrap();
        let file = temp.path().join("a-file");
        fs::write(&file, "").unwrap();
        assert!(write_run_dir(&file.join("run"), &fixture::report()).is_err());
    }
}
