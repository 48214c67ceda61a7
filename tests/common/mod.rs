//! What the CLI tests share: the binary under test, files they write, and a
//! `somon-verify serve` child on loopback.

// Each test binary uses its own subset.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The `somon-verify` binary Cargo built for these tests.
pub(crate) fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_somon-verify")
}

/// `somon-verify SUBCOMMAND FILE --out OUT`, for the caller to add to and
/// run.
pub(crate) fn somon(subcommand: &str, file: &Path, out: &Path) -> Command {
    let mut command = Command::new(bin());
    command.arg(subcommand).arg(file).arg("--out").arg(out);
    command
}

/// Writes `text` to `dir/name` and returns the path.
pub(crate) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A JSON file, parsed; panics naming the file.
pub(crate) fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A process's standard output and error, for assertion messages.
pub(crate) fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `somon-verify serve` over `root` on 127.0.0.1 and a free port; killed
/// when dropped.
pub(crate) struct Served {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the reference system over `root` and waits for the address it
/// logs.
pub(crate) fn serve(root: &Path) -> Served {
    let mut child = Command::new(bin())
        .args(["serve", "--host", "127.0.0.1", "--port", "0", "--root"])
        .arg(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("the server logs its address").unwrap();
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if let Some(address) = entry["address"].as_str() {
            break address.to_owned();
        }
    };
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    // Keep reading the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    Served {
        child,
        url: format!("http://{address}"),
    }
}

/// Says that the running test skips and why, as a line
/// `SKIPPED: <test>: <reason>` at column 0: `.ci/run` counts these lines as
/// skipped tests rather than passed ones. It writes through the stderr
/// handle in one piece, as the harness captures `println!` and `eprintln!`
/// of a passing test; the leading newline ends the harness's
/// `test NAME ... ` (one test at a time). Once per test.
pub(crate) fn skip(reason: &str) {
    use std::io::Write as _;
    thread_local!(static SAID: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if SAID.with(|said| said.replace(true)) {
        return;
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let line = format!("\nSKIPPED: {test}: {reason}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}
