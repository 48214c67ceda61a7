//! Writing a run's artefacts into its directory.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use somon_scenarios::RunReport;

use crate::{json, junit, markdown};

/// Writes the run's artefacts into `dir`, creating it if needed, and
/// returns their paths:
///
/// - `verdicts.json`: scenario, status, reason, validity, exit code, tally
///   and the verdicts, for machines;
/// - `record.json`: the whole [`RunReport`] (manifest, verdicts, the record
///   they were judged on, the fault history); it reads back with serde;
/// - `summary.md`: the result as a CI job summary or PR comment;
/// - `junit.xml`: one test case per claim × phase, for CI test views;
/// - `events.jsonl`: the fault history, one JSON event a line.
///
/// Each file is written to a temporary file beside it and renamed into
/// place, so a run interrupted mid-write leaves either the old file or the
/// new one, never half of one. Files already in `dir` under other names are
/// left alone.
///
/// # Errors
///
/// Any I/O error creating `dir` or writing a file; the files written
/// before it stay.
///
/// # Example
///
/// ```
/// use somon_scenarios::{Manifest, RunRecord, RunReport, RunStatus};
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
/// };
/// let dir = tempfile::tempdir().unwrap();
/// let written = somon_reports::write_run_dir(&dir.path().join("run"), &report).unwrap();
/// assert_eq!(written.len(), 5);
/// assert!(written.iter().all(|path| path.is_file()));
/// ```
pub fn write_run_dir(dir: &Path, report: &RunReport) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    let files = [
        ("verdicts.json", json::verdicts(report)?),
        ("record.json", json::record(report)?),
        ("summary.md", markdown::summary(report)),
        ("junit.xml", junit::junit(report)),
        ("events.jsonl", json::events(report)?),
    ];
    let mut written = Vec::with_capacity(files.len());
    for (name, contents) in files {
        let path = dir.join(name);
        write_atomically(&path, contents.as_bytes())?;
        written.push(path);
    }
    sync_dir(dir)?;
    Ok(written)
}

/// Writes `contents` to `path` through a temporary file in the same
/// directory: a rename within one file system replaces the file whole.
fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
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
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Windows cannot open a directory as a file; its renames are journaled.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::fixture;

    const NAMES: [&str; 5] = [
        "verdicts.json",
        "record.json",
        "summary.md",
        "junit.xml",
        "events.jsonl",
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
