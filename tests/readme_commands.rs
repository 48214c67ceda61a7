//! Every command in a shell block (```sh, ```bash, ```shell, ```console)
//! of `README.md` and of every `*/README.md` is run or validated here, so a
//! documented command cannot go stale.
//!
//! Each README's blocks run top to bottom, as a new user would follow them,
//! in a fresh copy of the repository (no `target/`, no `.git`, no
//! `reports/out/`) used as the working directory, so relative paths such as
//! `scenarios/catalog/…` and `ci/quick.toml` work and whatever a command
//! writes stays in the copy. Two conventions keep the READMEs readable:
//!
//! - a path under `/tmp/` is mapped into the copy (`/tmp/corpus` becomes
//!   `COPY/tmp/corpus`), also inside quoted arguments;
//! - `RUN`, `RUN-A`, `RUN-B`, … as the last part of a path a command reads
//!   (`reports/out/RUN-A`) stand for the run directory of an earlier run:
//!   the test makes one with a short real run and copies it there.
//!
//! `cargo run [--release] -- ARGS` and `somon-verify ARGS` are the binary
//! under test. Each command is classified; one that fits no class fails the
//! test, so a new block cannot slip through unchecked:
//!
//! - **run**: the cheap subcommands (`corpus`, `bundle`, `check`,
//!   `scenarios`, `report`, `compare`, `merge`, `baseline save`, `--help`)
//!   run fully and their exit code is checked against the block's trailing
//!   comment (`# … exit 1`; 0 when it names none), and the files they write
//!   (`--out`, `-o`, `corpus DIR`) must exist afterwards. `serve … --port 0`
//!   is started, must log its address, and is stopped. `node` and
//!   `chromium` commands run through `sh` when the tool is installed.
//! - **validated**: commands that run load for minutes (`run`, `gate`,
//!   `mutants`, `capacity`, `gameday`, `bench-compare`), aim at an external
//!   service (`--target URL`), serve on a fixed port, or read what such a
//!   command writes, are not run. Their whole argument list goes to the
//!   binary with `--help` appended: clap parses every flag and value before
//!   it reaches `--help`, so an unknown flag, a bad value or an extra
//!   argument exits 2. Then the test checks what clap cannot: each scenario
//!   file exists and `check` accepts it, each input file or directory
//!   exists (or an earlier command of the README writes it), each
//!   `--defect` names a defect twin, each `--target` is an http URL, each
//!   `mutants --scenario` is in the catalog, and each output lies inside the
//!   copy. `cargo test|bench|run -p …` must name a workspace package and an
//!   existing `--test`, `--bench` or `--example`; `cargo run -p
//!   somon-system -- ARGS` (the same server arguments as `serve`) is parsed
//!   as `serve ARGS`. `curl`/`jq` (they need a running service) and
//!   package installs (`apt-get install`) are validated only.
//!
//! A tool that is not installed prints `SKIPPED: <reason>` and the command
//! is validated instead.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The binary under test.
fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_somon-verify")
}

/// The repository (the root crate's directory).
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Fence languages whose lines are shell commands.
const SHELL: [&str; 4] = ["sh", "bash", "shell", "console"];

/// Subcommands cheap enough to run fully.
const RUN_FULLY: [&str; 8] = [
    "corpus",
    "bundle",
    "check",
    "scenarios",
    "report",
    "compare",
    "merge",
    "baseline",
];

/// Subcommands that run load for minutes: validated, never run here.
const LONG: [&str; 6] = [
    "run",
    "gate",
    "mutants",
    "capacity",
    "gameday",
    "bench-compare",
];

/// How long a command the test runs may take.
const TIMEOUT: Duration = Duration::from_secs(180);

/// One command line of a shell block.
#[derive(Debug, Clone)]
struct Line {
    /// `README.md:42`.
    at: String,
    /// The command as written, continuations joined, comment removed.
    text: String,
    /// Its shell words, quotes removed.
    words: Vec<String>,
    /// The trailing comment, if any.
    comment: String,
    /// Uses shell syntax beyond words (`|`, `>`, `$(…)`, `;`, `&`).
    shell_syntax: bool,
}

impl Line {
    /// The exit code its comment names (`… exit 1`), else 0.
    fn expected_exit(&self) -> i32 {
        let words: Vec<&str> = self
            .comment
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        words
            .windows(2)
            .find(|w| w[0] == "exit")
            .and_then(|w| w[1].parse().ok())
            .unwrap_or(0)
    }
}

/// A fenced block: its language and its lines with their numbers.
struct Block {
    lang: String,
    lines: Vec<(usize, String)>,
}

/// The fenced blocks of a Markdown text; a fence without a language is a
/// problem (a shell block must say so to be checked).
fn blocks(text: &str, file: &str, problems: &mut Vec<String>) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(String, String, Block)> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim_start();
        let fence: String = trimmed
            .chars()
            .take_while(|&c| c == '`' || c == '~')
            .collect();
        match &mut open {
            Some((marker, _, block)) => {
                if fence.len() >= marker.len()
                    && fence.starts_with(&marker[..1])
                    && trimmed[fence.len()..].trim().is_empty()
                {
                    let (_, _, block) = open.take().unwrap();
                    out.push(block);
                } else {
                    block.lines.push((number, line.to_owned()));
                }
            }
            None if fence.len() >= 3 => {
                let lang = trimmed[fence.len()..]
                    .split([' ', ',', '{'])
                    .next()
                    .unwrap_or("")
                    .to_owned();
                if lang.is_empty() {
                    problems.push(format!(
                        "{file}:{number}: a fenced block without a language: say ```sh for \
                         commands (they are then run or validated here) or ```text for output"
                    ));
                }
                open = Some((
                    fence,
                    file.to_owned(),
                    Block {
                        lang,
                        lines: Vec::new(),
                    },
                ));
            }
            None => {}
        }
    }
    if let Some((_, file, block)) = open {
        problems.push(format!("{file}: an unterminated ```{} block", block.lang));
    }
    out
}

/// The command lines of a shell block: `\` continuations joined, comments
/// removed, blank and comment-only lines dropped; in a `console` block only
/// the lines after a `$ ` prompt.
fn commands(file: &str, block: &Block) -> Result<Vec<Line>, String> {
    let console = block.lang == "console";
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (number, raw) in &block.lines {
        let piece = match &pending {
            Some(_) => raw.trim(),
            None if console => match raw.trim_start().strip_prefix("$ ") {
                Some(command) => command.trim(),
                None => continue,
            },
            None => raw.trim(),
        };
        let (start, mut joined) = pending.take().unwrap_or((*number, String::new()));
        if !joined.is_empty() {
            joined.push(' ');
        }
        let (_, comment_at, _) = words(piece).map_err(|e| format!("{file}:{number}: {e}"))?;
        let code = piece[..comment_at.unwrap_or(piece.len())].trim_end();
        // A continuation: the line, without its comment, ends in `\`.
        if let Some(before) = code.strip_suffix('\\') {
            joined.push_str(before.trim_end());
            pending = Some((start, joined));
            continue;
        }
        joined.push_str(piece);
        let (words, comment_at, shell_syntax) =
            words(&joined).map_err(|e| format!("{file}:{start}: {e}"))?;
        if words.is_empty() {
            continue;
        }
        let (text, comment) = match comment_at {
            Some(at) => (&joined[..at], &joined[at + 1..]),
            None => (joined.as_str(), ""),
        };
        out.push(Line {
            at: format!("{file}:{start}"),
            text: text.trim().to_owned(),
            words,
            comment: comment.to_owned(),
            shell_syntax,
        });
    }
    if let Some((start, _)) = pending {
        return Err(format!(
            "{file}:{start}: a `\\` continuation at the end of a block"
        ));
    }
    Ok(out)
}

/// Splits a shell line into words (quotes and backslashes removed), where
/// its comment starts (the `#` that starts a word) and whether it uses
/// shell syntax beyond plain words.
fn words(line: &str) -> Result<(Vec<String>, Option<usize>, bool), String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut syntax = false;
    let mut chars = line.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '#' if !in_word => return Ok((out, Some(at), syntax)),
            ' ' | '\t' => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, c)) => word.push(c),
                        None => return Err(format!("unterminated ' in `{line}`")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, c)) if "\"\\$`".contains(c) => word.push(c),
                            Some((_, c)) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(format!("unterminated \" in `{line}`")),
                        },
                        Some((_, c)) => {
                            syntax |= c == '$' || c == '`';
                            word.push(c);
                        }
                        None => return Err(format!("unterminated \" in `{line}`")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some((_, c)) = chars.next() {
                    word.push(c);
                }
            }
            '|' | '&' | ';' | '<' | '>' | '$' | '`' | '(' | ')' => {
                syntax = true;
                in_word = true;
                word.push(c);
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        out.push(word);
    }
    Ok((out, None, syntax))
}

/// What became of one command.
enum Outcome {
    Ran,
    Validated(String),
}

/// A README's working copy and what its commands wrote so far.
struct Sandbox {
    _dir: tempfile::TempDir,
    /// The copy of the repository, the commands' working directory.
    work: PathBuf,
    /// Paths earlier commands write: `true` when that command ran.
    produced: BTreeMap<PathBuf, bool>,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("repo");
        copy_tree(repo(), &work, &|rel| {
            let top = rel.components().next();
            rel == Path::new("target")
                || rel == Path::new("reports/out")
                || rel.file_name().is_some_and(|n| n == ".git")
                || top.is_some_and(|c| c.as_os_str() == "target")
        });
        std::fs::create_dir_all(work.join("tmp")).unwrap();
        Sandbox {
            _dir: dir,
            work,
            produced: BTreeMap::new(),
        }
    }

    /// `/tmp/…` mapped into the copy.
    fn map(&self, text: &str) -> String {
        text.replace("/tmp/", &format!("{}/tmp/", self.work.display()))
    }

    /// A (mapped) path as the commands see it, lexically normalised.
    fn resolve(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        let joined = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.work.join(path)
        };
        let mut out = PathBuf::new();
        for part in joined.components() {
            match part {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                other => out.push(other),
            }
        }
        out
    }

    /// Whether an input is on disk (it exists, an earlier command that ran
    /// wrote it, or it is a `RUN…` placeholder, now prepared); `false` when
    /// an earlier command that was not run writes it; else an error.
    fn input(&mut self, path: &str, fixture: &mut Fixture) -> Result<bool, String> {
        let full = self.resolve(path);
        if let Some((_, &ran)) = self.produced.iter().find(|(p, _)| full.starts_with(p)) {
            return Ok(ran);
        }
        if full.exists() {
            return Ok(true);
        }
        if let Some(run) = full.ancestors().find(|p| is_placeholder(p)) {
            fixture.copy_to(run)?;
            self.produced.insert(run.to_path_buf(), true);
            if full.exists() {
                return Ok(true);
            }
        }
        Err(format!(
            "`{path}` does not exist, and no earlier command of this README writes it"
        ))
    }

    /// An output must stay inside the copy.
    fn output(&mut self, path: &str) -> Result<PathBuf, String> {
        let full = self.resolve(path);
        if !full.starts_with(&self.work) {
            return Err(format!(
                "`{path}` is written outside the working directory (use a relative path or /tmp/)"
            ));
        }
        Ok(full)
    }
}

/// `RUN`, `RUN-A`, `RUN-2`: a run directory from an earlier run.
fn is_placeholder(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name == "RUN"
        || name.strip_prefix("RUN-").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
}

/// Copies `from` into `to`, leaving out what `skip` says (by relative path).
fn copy_tree(from: &Path, to: &Path, skip: &dyn Fn(&Path) -> bool) {
    fn walk(root: &Path, dir: &Path, to: &Path, skip: &dyn Fn(&Path) -> bool) {
        std::fs::create_dir_all(to.join(dir.strip_prefix(root).unwrap())).unwrap();
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap();
            if skip(rel) {
                continue;
            }
            let kind = std::fs::metadata(&path);
            match kind {
                Ok(meta) if meta.is_dir() => walk(root, &path, to, skip),
                Ok(_) => {
                    std::fs::copy(&path, to.join(rel)).unwrap();
                }
                Err(_) => {} // a dangling link
            }
        }
    }
    walk(from, from, to, skip);
}

/// One short real run's directory, made on first use and copied to every
/// `RUN…` placeholder.
struct Fixture {
    made: Option<(tempfile::TempDir, PathBuf)>,
}

/// The fixture's scenario: 2 s of cached loads against an in-process
/// target.
const FIXTURE: &str = r#"
name = "readme-fixture"
description = "A short run whose directory stands for RUN in the READMEs"
seed = 1
[corpus]
modules = 20
[[phases]]
name = "steady"
duration = "2s"
load = { model = "open", rate = 20, journeys = { load_cached = 1 } }
[[claims]]
id = "no-errors"
expect = "error_rate <= 0%"
phase = "steady"
"#;

impl Fixture {
    fn copy_to(&mut self, to: &Path) -> Result<(), String> {
        if self.made.is_none() {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("fixture.toml");
            std::fs::write(&file, FIXTURE).unwrap();
            let run = dir.path().join("RUN");
            let output = Command::new(bin())
                .arg("run")
                .arg(&file)
                .arg("--embedded")
                .arg("--out")
                .arg(&run)
                .output()
                .unwrap();
            if !run.join("record.json").is_file() {
                return Err(format!(
                    "the fixture run wrote no record.json:\n{}",
                    text(&output)
                ));
            }
            self.made = Some((dir, run));
        }
        let (_, run) = self.made.as_ref().unwrap();
        copy_tree(run, to, &|_| false);
        Ok(())
    }
}

/// A process's exit code and output, for messages.
fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `command` to the end, killing it after [`TIMEOUT`].
fn run_bounded(mut command: Command) -> Result<Output, String> {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(TIMEOUT) {
        Ok(output) => output.map_err(|e| e.to_string()),
        Err(_) => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            Err(format!("still running after {TIMEOUT:?}; killed"))
        }
    }
}

/// Whether `tool` is on the PATH.
fn installed(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let file = dir.join(tool);
            file.is_file()
                && std::fs::metadata(&file)
                    .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0)
                    .unwrap_or(false)
        })
    })
}

fn skipped(reason: &str) {
    let _ = writeln!(std::io::stderr(), "\nSKIPPED: {reason}");
}

/// The help text of `somon-verify ARGS… --help`: clap parses every argument
/// before it reaches `--help`.
fn parse_check(args: &[String]) -> Result<String, String> {
    let output = Command::new(bin())
        .args(args)
        .arg("--help")
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.code() != Some(0) || !stdout.contains("Usage: somon-verify") {
        return Err(format!(
            "the arguments do not parse: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(stdout)
}

/// The flags that take a value, from a help text (`--out <DIR>`).
fn value_flags(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in help.lines() {
        let line = line.trim_start();
        if !line.starts_with('-') {
            continue;
        }
        let spec = line.split("  ").next().unwrap_or("");
        if !spec.contains('<') {
            continue;
        }
        for name in spec.split([',', ' ']) {
            if name.starts_with('-') {
                out.push(name.to_owned());
            }
        }
    }
    out
}

/// A `somon-verify` command line, split by what each argument is.
struct Parsed {
    /// `baseline save` counts as one subcommand.
    sub: String,
    flags: Vec<(String, String)>,
    positionals: Vec<String>,
}

fn split_args(args: &[String], help: &str) -> Parsed {
    let takes_value = value_flags(help);
    let nested = args.first().is_some_and(|a| a == "baseline");
    let (sub, rest) = if nested && args.len() > 1 {
        (format!("{} {}", args[0], args[1]), &args[2..])
    } else {
        (args[0].clone(), &args[1..])
    };
    let mut flags = Vec::new();
    let mut positionals = Vec::new();
    let mut iter = rest.iter();
    while let Some(arg) = iter.next() {
        if let Some((flag, value)) = arg.split_once('=').filter(|(f, _)| f.starts_with("--")) {
            flags.push((flag.to_owned(), value.to_owned()));
        } else if arg.starts_with('-') && arg.len() > 1 {
            let value = if takes_value.contains(arg) {
                iter.next().cloned().unwrap_or_default()
            } else {
                String::new()
            };
            flags.push((arg.clone(), value));
        } else {
            positionals.push(arg.clone());
        }
    }
    Parsed {
        sub,
        flags,
        positionals,
    }
}

/// Runs or validates every command of one README.
struct Checker<'a> {
    sandbox: Sandbox,
    fixture: &'a mut Fixture,
    /// One line per command: where, what became of it, the command.
    log: Vec<String>,
    problems: Vec<String>,
}

impl Checker<'_> {
    fn command(&mut self, line: &Line) {
        match self.classify_and_do(line) {
            Ok(Outcome::Ran) => self
                .log
                .push(format!("{:<28} ran        {}", line.at, line.text)),
            Ok(Outcome::Validated(why)) => self.log.push(format!(
                "{:<28} validated  {}   ({why})",
                line.at, line.text
            )),
            Err(problem) => {
                self.log
                    .push(format!("{:<28} PROBLEM    {}", line.at, line.text));
                self.problems
                    .push(format!("{}: `{}`: {problem}", line.at, line.text));
            }
        }
    }

    fn classify_and_do(&mut self, line: &Line) -> Result<Outcome, String> {
        let mut words: Vec<String> = line.words.iter().map(|w| self.sandbox.map(w)).collect();
        // Leading `NAME=value` assignments.
        let mut env = Vec::new();
        while let Some((name, value)) = words.first().and_then(|w| w.split_once('=')) {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                break;
            }
            env.push((name.to_owned(), value.to_owned()));
            words.remove(0);
        }
        let Some(program) = words.first().cloned() else {
            return Err("no command".into());
        };
        match program.as_str() {
            "somon-verify" => {
                self.plain(line)?;
                self.somon(line, &words[1..], &env)
            }
            "cargo" => {
                self.plain(line)?;
                self.cargo(line, &words[1..], &env)
            }
            "node" | "chromium" => self.tool(line, &program),
            "curl" | "jq" => {
                self.mentioned_paths(line)?;
                Ok(Outcome::Validated(format!(
                    "`{program}` needs a running service"
                )))
            }
            "apt-get" | "apt" => {
                if words.get(1).map(String::as_str) != Some("install") || words.len() < 3 {
                    return Err("expected `apt-get install PACKAGE…`".into());
                }
                Ok(Outcome::Validated(
                    "installs a system package; never run by a test".into(),
                ))
            }
            other => Err(format!(
                "unclassified command `{other}`: teach tests/readme_commands.rs to run or \
                 validate it"
            )),
        }
    }

    /// Commands the test runs without a shell must be plain words.
    fn plain(&self, line: &Line) -> Result<(), String> {
        if line.shell_syntax {
            return Err(
                "shell syntax (`|`, `>`, `$`, `;`, `&`, …) in a command run without a shell".into(),
            );
        }
        Ok(())
    }

    /// `node`, `chromium`: run through `sh` in the copy when installed.
    fn tool(&mut self, line: &Line, tool: &str) -> Result<Outcome, String> {
        self.mentioned_paths(line)?;
        if !installed(tool) {
            skipped(&format!("{}: `{tool}` is not installed", line.at));
            return Ok(Outcome::Validated(format!("`{tool}` is not installed")));
        }
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(self.sandbox.map(&line.text))
            .current_dir(&self.sandbox.work)
            .env("PWD", &self.sandbox.work)
            .env("TMPDIR", self.sandbox.work.join("tmp"));
        let output = run_bounded(command)?;
        let expected = line.expected_exit();
        if output.status.code() != Some(expected) {
            return Err(format!("expected exit {expected}, got {}", text(&output)));
        }
        Ok(Outcome::Ran)
    }

    /// The files a tool's command mentions — paths under `/tmp/` and
    /// `RUN…` run directories, also inside quoted arguments and `file://`
    /// URLs — must exist or be written by an earlier command.
    fn mentioned_paths(&mut self, line: &Line) -> Result<(), String> {
        for word in &line.words {
            let word = word.replace("file://$PWD/", "");
            for part in word.split(['"', '\'', '(', ')', '=', ' ']) {
                let path = Path::new(part);
                let run = path.ancestors().any(is_placeholder);
                if part.starts_with("/tmp/") || run {
                    let mapped = self.sandbox.map(part);
                    self.sandbox.input(&mapped, self.fixture)?;
                }
            }
        }
        Ok(())
    }

    fn cargo(
        &mut self,
        line: &Line,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<Outcome, String> {
        let (ours, rest) = match args.iter().position(|a| a == "--") {
            Some(at) => (&args[..at], &args[at + 1..]),
            None => (args, &args[args.len()..]),
        };
        let Some(sub) = ours.first() else {
            return Err("`cargo` without a subcommand".into());
        };
        let mut package = None;
        let mut targets = Vec::new();
        let mut iter = ours[1..].iter();
        while let Some(arg) = iter.next() {
            match arg.as_str() {
                "--release" | "--workspace" | "-q" | "--quiet" | "--all-targets" => {}
                "-p" | "--package" => package = iter.next().cloned(),
                "--test" | "--bench" | "--example" | "--bin" => {
                    targets.push((arg.clone(), iter.next().cloned().unwrap_or_default()))
                }
                other => return Err(format!("unclassified cargo argument `{other}`")),
            }
        }
        let dir = match &package {
            Some(name) => Some(package_dir(name)?),
            None => None,
        };
        for (kind, name) in &targets {
            target_exists(dir.as_deref().unwrap_or(repo()), kind, name)?;
        }
        match (sub.as_str(), package.as_deref(), targets.is_empty()) {
            ("run", None | Some("somon-verify"), true) => self.somon(line, rest, env),
            ("run", Some("somon-system"), true) => {
                if !repo().join("system/src/main.rs").is_file() {
                    return Err("somon-system has no binary (system/src/main.rs)".into());
                }
                let mut serve = vec!["serve".to_owned()];
                serve.extend(rest.iter().cloned());
                let (parsed, _) = self.check_somon_args(&serve)?;
                self.record_outputs(&parsed, false)?;
                Ok(Outcome::Validated(
                    "somon-system's own binary, parsed as `serve` (the same arguments)".into(),
                ))
            }
            ("run", _, false) => Ok(Outcome::Validated(
                "a cargo example or binary of another package: the target exists".into(),
            )),
            ("test", _, _) => Ok(Outcome::Validated(
                "the test suite itself: the package and test targets exist".into(),
            )),
            ("bench", _, _) => Ok(Outcome::Validated(
                "benchmarks take minutes: the package and bench targets exist".into(),
            )),
            (other, _, _) => Err(format!("unclassified cargo command `cargo {other}`")),
        }
    }

    /// Checks the arguments of a `somon-verify` command line as far as
    /// possible without running it; returns the parsed form and whether
    /// some input comes from a command that was not run.
    fn check_somon_args(&mut self, args: &[String]) -> Result<(Parsed, bool), String> {
        let help = parse_check(args)?;
        let parsed = split_args(args, &help);
        let mut unrun_input = false;
        let mut scenarios = Vec::new();
        let mut inputs = Vec::new();
        for (flag, value) in &parsed.flags {
            match flag.as_str() {
                "--target" => {
                    let rest = value
                        .strip_prefix("http://")
                        .or_else(|| value.strip_prefix("https://"))
                        .ok_or_else(|| format!("--target `{value}` is not an http URL"))?;
                    if rest.is_empty() || rest.starts_with('/') {
                        return Err(format!("--target `{value}` names no host"));
                    }
                }
                "--defect" => {
                    for name in value.split(',') {
                        name.parse::<somon_system::Defect>()
                            .map_err(|e| format!("--defect {name}: {e}"))?;
                    }
                }
                "--suite" => scenarios.push(value.clone()),
                "--scenario" if parsed.sub == "mutants" => {
                    let named: Vec<&str> = parsed
                        .flags
                        .iter()
                        .filter(|(f, _)| f == "--catalog")
                        .map(|(_, v)| v.as_str())
                        .collect();
                    let catalogs = if named.is_empty() {
                        vec!["scenarios/catalog", "ci"]
                    } else {
                        named
                    };
                    let files: Vec<String> = catalogs
                        .iter()
                        .map(|c| format!("{c}/{value}.toml"))
                        .collect();
                    if !files.iter().any(|f| self.sandbox.resolve(f).is_file()) {
                        return Err(format!("--scenario {value}: none of {}", files.join(", ")));
                    }
                }
                "--scenario" => scenarios.push(value.clone()),
                "--baseline" => inputs.push(format!("{value}/baseline.json")),
                "--root" | "--config" | "--twins" | "--catalog" | "--dir" => {
                    inputs.push(value.clone())
                }
                _ => {}
            }
        }
        let positional = |i: usize| parsed.positionals.get(i).cloned();
        match parsed.sub.as_str() {
            "check" | "run" | "gameday" => scenarios.extend(positional(0)),
            "capacity" => scenarios
                .push(positional(0).unwrap_or_else(|| "scenarios/catalog/capacity.toml".into())),
            "gate" if !parsed.flags.iter().any(|(f, _)| f == "--suite") => {
                scenarios.push("ci/quick.toml".into())
            }
            "report" | "compare" | "merge" | "baseline save" => {
                inputs.extend(parsed.positionals.iter().cloned())
            }
            "bundle" => {
                let root = parsed
                    .flags
                    .iter()
                    .find(|(f, _)| f == "--root")
                    .map_or(".".to_owned(), |(_, v)| v.clone());
                if let Some(entry) = positional(0) {
                    let root_path = self.sandbox.resolve(&root);
                    if root_path.is_dir() && !root_path.join(&entry).is_file() {
                        return Err(format!(
                            "the entry `{entry}` is not a module under `{root}`"
                        ));
                    }
                }
            }
            _ => {}
        }
        let wants_scenario = ["check", "run", "gameday"].contains(&parsed.sub.as_str());
        if wants_scenario && parsed.positionals.is_empty() {
            return Err(format!("`{}` needs a scenario file", parsed.sub));
        }
        if ["report", "baseline save"].contains(&parsed.sub.as_str())
            && parsed.positionals.is_empty()
        {
            return Err(format!("`{}` needs a run directory", parsed.sub));
        }
        if parsed.sub == "compare" && parsed.positionals.len() != 2 {
            return Err("`compare` needs two run directories".into());
        }
        for input in inputs.iter().chain(&scenarios) {
            if !self.sandbox.input(input, self.fixture)? {
                unrun_input = true;
            }
        }
        for scenario in &scenarios {
            let path = self.sandbox.resolve(scenario);
            if !path.is_file() {
                continue; // written by an earlier command that was not run
            }
            let check = Command::new(bin())
                .arg("check")
                .arg(&path)
                .current_dir(&self.sandbox.work)
                .output()
                .map_err(|e| e.to_string())?;
            if check.status.code() != Some(0) {
                return Err(format!("`check {scenario}` refuses it: {}", text(&check)));
            }
            let plan = String::from_utf8_lossy(&check.stdout).contains("game-day plan");
            if (parsed.sub == "gameday") != plan {
                return Err(format!(
                    "`{scenario}` is {}a game-day plan",
                    if plan { "" } else { "not " }
                ));
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if parsed.sub == "capacity" && !text.lines().any(|l| l.trim() == "[capacity]") {
                return Err(format!("`{scenario}` has no [capacity] plan"));
            }
        }
        Ok((parsed, unrun_input))
    }

    /// The files a command writes (`--out`, `-o`, `--source-map`, `corpus
    /// DIR`); `ran` says whether the command ran (they then must exist).
    fn record_outputs(&mut self, parsed: &Parsed, ran: bool) -> Result<(), String> {
        let mut outputs: Vec<String> = parsed
            .flags
            .iter()
            .filter(|(f, _)| ["--out", "-o", "--source-map"].contains(&f.as_str()))
            .map(|(_, v)| v.clone())
            .collect();
        if parsed.sub == "corpus" {
            outputs.extend(parsed.positionals.first().cloned());
        }
        for output in outputs {
            let path = self.sandbox.output(&output)?;
            if ran && !path.exists() {
                return Err(format!("the command wrote no `{output}`"));
            }
            self.sandbox.produced.insert(path, ran);
        }
        Ok(())
    }

    fn somon(
        &mut self,
        line: &Line,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<Outcome, String> {
        let Some(sub) = args.first() else {
            return Err("`somon-verify` without a subcommand".into());
        };
        if ["--help", "-h", "--version", "-V", "help"].contains(&sub.as_str()) {
            return self.run_somon(line, args, env);
        }
        let (parsed, unrun_input) = self.check_somon_args(args)?;
        let first = parsed.sub.split(' ').next().unwrap_or_default();
        if parsed.flags.iter().any(|(f, _)| f == "--target") {
            self.record_outputs(&parsed, false)?;
            return Ok(Outcome::Validated("aims at an external service".into()));
        }
        if LONG.contains(&first) {
            self.record_outputs(&parsed, false)?;
            return Ok(Outcome::Validated(format!(
                "`{first}` runs load for minutes"
            )));
        }
        if unrun_input {
            self.record_outputs(&parsed, false)?;
            return Ok(Outcome::Validated(
                "reads what an earlier command that is not run writes".into(),
            ));
        }
        if first == "serve" {
            let port0 = parsed.flags.iter().any(|(f, v)| f == "--port" && v == "0");
            if !port0 {
                return Ok(Outcome::Validated(
                    "a server on a fixed port, running until stopped".into(),
                ));
            }
            return self.start_server(args, env);
        }
        if !RUN_FULLY.contains(&first) {
            return Err(format!(
                "unclassified subcommand `{first}`: add it to RUN_FULLY or LONG in \
                 tests/readme_commands.rs"
            ));
        }
        self.run_somon(line, args, env)?;
        self.record_outputs(&parsed, true)?;
        Ok(Outcome::Ran)
    }

    fn run_somon(
        &mut self,
        line: &Line,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<Outcome, String> {
        let mut command = Command::new(bin());
        command
            .args(args)
            .current_dir(&self.sandbox.work)
            .envs(env.iter().map(|(k, v)| (k, v)));
        let output = run_bounded(command)?;
        let expected = line.expected_exit();
        if output.status.code() != Some(expected) {
            return Err(format!("expected exit {expected}, got {}", text(&output)));
        }
        Ok(Outcome::Ran)
    }

    /// `serve … --port 0`: started, its logged address awaited, stopped.
    fn start_server(
        &mut self,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<Outcome, String> {
        let mut child = Command::new(bin())
            .args(args)
            .current_dir(&self.sandbox.work)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if let Some(address) = entry["address"].as_str() {
                    let _ = tx.send(address.to_owned());
                }
            }
        });
        let address = rx.recv_timeout(TIMEOUT);
        let _ = child.kill();
        let _ = child.wait();
        match address {
            Ok(address) if address.starts_with("127.0.0.1:") => Ok(Outcome::Ran),
            Ok(address) => Err(format!("listening on {address}, expected loopback")),
            Err(_) => Err("the server logged no address".into()),
        }
    }
}

/// Where a workspace package lives, from the workspace's manifests.
fn package_dir(name: &str) -> Result<PathBuf, String> {
    let root = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let members = root
        .split("members = [")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .unwrap_or("");
    for member in members.split(',') {
        let member = member.trim().trim_matches('"');
        if member.is_empty() {
            continue;
        }
        let dir = repo().join(member);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        if manifest
            .lines()
            .any(|l| l.trim() == format!("name = \"{name}\""))
        {
            return Ok(dir);
        }
    }
    Err(format!("`{name}` is not a package of the workspace"))
}

/// `--test`, `--bench`, `--example`, `--bin NAME` of the package in `dir`.
fn target_exists(dir: &Path, kind: &str, name: &str) -> Result<(), String> {
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
    let declared = manifest.contains(&format!("name = \"{name}\""));
    let file = match kind {
        "--test" => dir.join("tests").join(format!("{name}.rs")),
        "--bench" => dir.join("benches").join(format!("{name}.rs")),
        "--example" => dir.join("examples").join(format!("{name}.rs")),
        _ => dir.join("src/bin").join(format!("{name}.rs")),
    };
    if file.is_file() || declared || (kind == "--bin" && dir.join("src/main.rs").is_file()) {
        Ok(())
    } else {
        Err(format!("no {kind} target `{name}` in {}", dir.display()))
    }
}

/// `README.md` and every `*/README.md`, relative to the repository.
fn readmes() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(repo()).unwrap();
            let name = path.file_name().unwrap().to_string_lossy();
            if path.is_dir() {
                let skip = name.starts_with('.')
                    || name == "target"
                    || name == "node_modules"
                    || rel == Path::new("reports/out");
                if !skip {
                    walk(&path, out);
                }
            } else if name == "README.md" {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(repo(), &mut out);
    out.sort();
    out
}

#[test]
fn every_readme_shell_command_runs_or_is_validated() {
    let files = readmes();
    for expected in [
        "README.md",
        "loadgen/README.md",
        "reports/README.md",
        "scenarios/README.md",
    ] {
        assert!(files.iter().any(|f| f == expected), "{expected} not found");
    }
    let mut fixture = Fixture { made: None };
    let mut problems = Vec::new();
    let mut log = Vec::new();
    let mut counted = 0;
    for file in &files {
        let text = std::fs::read_to_string(repo().join(file)).unwrap();
        let mut lines = Vec::new();
        for block in blocks(&text, file, &mut problems) {
            if !SHELL.contains(&block.lang.as_str()) {
                continue;
            }
            match commands(file, &block) {
                Ok(found) if found.is_empty() => problems.push(format!(
                    "{file}:{}: a shell block without a command",
                    block.lines.first().map_or(0, |l| l.0)
                )),
                Ok(found) => lines.extend(found),
                Err(problem) => problems.push(problem),
            }
        }
        if lines.is_empty() {
            continue;
        }
        let mut checker = Checker {
            sandbox: Sandbox::new(),
            fixture: &mut fixture,
            log: Vec::new(),
            problems: Vec::new(),
        };
        for line in &lines {
            checker.command(line);
            counted += 1;
        }
        log.append(&mut checker.log);
        problems.append(&mut checker.problems);
    }
    println!("{}", log.join("\n"));
    assert!(counted >= 10, "only {counted} commands found");
    assert!(
        problems.is_empty(),
        "{} README command problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn shell_lines_split_into_words_comments_and_continuations() {
    let block = Block {
        lang: "sh".into(),
        lines: vec![
            (1, "# a comment line".into()),
            (
                2,
                "cargo run --release -- gate --defect slow-hits   # FAILS, exit 1".into(),
            ),
            (3, "chromium --headless \\".into()),
            (
                4,
                "  --screenshot=report.png \"file://$PWD/x#y\"  # a shot".into(),
            ),
            (5, "node -e 'console.log(1) # not a comment'".into()),
        ],
    };
    let lines = commands("X.md", &block).unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0].at, "X.md:2");
    assert_eq!(
        lines[0].words,
        [
            "cargo",
            "run",
            "--release",
            "--",
            "gate",
            "--defect",
            "slow-hits"
        ]
    );
    assert_eq!(lines[0].expected_exit(), 1);
    assert_eq!(
        lines[0].text,
        "cargo run --release -- gate --defect slow-hits"
    );
    assert_eq!(lines[1].at, "X.md:3");
    assert_eq!(
        lines[1].words,
        [
            "chromium",
            "--headless",
            "--screenshot=report.png",
            "file://$PWD/x#y"
        ]
    );
    assert!(lines[1].shell_syntax);
    assert_eq!(lines[1].comment, " a shot");
    assert_eq!(
        lines[2].words,
        ["node", "-e", "console.log(1) # not a comment"]
    );
    assert_eq!(lines[2].expected_exit(), 0);
    assert!(is_placeholder(Path::new("reports/out/RUN-A")));
    assert!(!is_placeholder(Path::new("reports/out/RUNS")));

    let mut problems = Vec::new();
    let found = blocks("```\nx\n```\n```sh\ny\n```\n", "Y.md", &mut problems);
    assert_eq!(found.len(), 2);
    assert_eq!(problems.len(), 1, "{problems:?}");
}
