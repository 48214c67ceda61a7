//! `somon-verify init --target URL`: a commented starter scenario for a
//! user's own service, which `check` accepts and `run` runs as written.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use somon_loadgen::BaseUrl;
use somon_scenarios::{parse_duration, Exit};

/// `init`'s arguments.
#[derive(clap::Args)]
pub(crate) struct InitArgs {
    /// The service: `http://host[:port][/prefix]`.
    #[arg(long, value_name = "URL")]
    target: String,
    /// The path the starter's request calls.
    #[arg(long, default_value = "/")]
    path: String,
    /// Requests a second in the measured phase.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// How long the measured phase lasts.
    #[arg(long, default_value = "60s")]
    duration: String,
    /// Write it here (never over an existing file) rather than to stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Writes the starter; exit 2 on bad arguments or an existing `--out`.
pub(crate) fn run_init(args: &InitArgs) -> Exit {
    crate::exit::from_input(init(args))
}

fn init(args: &InitArgs) -> anyhow::Result<()> {
    let text = starter(args)?;
    match &args.out {
        None => print!("{text}"),
        Some(file) => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(file)
                .with_context(|| {
                    format!(
                        "creating {} (an existing file is never overwritten)",
                        file.display()
                    )
                })?;
            f.write_all(text.as_bytes())
                .with_context(|| format!("writing {}", file.display()))?;
            eprintln!(
                "wrote {0}; check it with `somon-verify check {0}`, run it with `somon-verify run {0}`",
                file.display()
            );
        }
    }
    Ok(())
}

/// The starter scenario's text.
fn starter(args: &InitArgs) -> anyhow::Result<String> {
    let base = BaseUrl::parse(&args.target).map_err(anyhow::Error::msg)?;
    if !args.path.starts_with('/') || args.path.chars().any(|c| c.is_control() || c == ' ') {
        bail!(
            "--path `{}`: a path starts with `/` and has no spaces",
            args.path
        );
    }
    if !(args.rate > 0.0 && args.rate.is_finite()) {
        bail!(
            "--rate {}: requests a second must be more than 0",
            args.rate
        );
    }
    let steady = parse_duration(&args.duration)
        .filter(|d| *d >= Duration::from_secs(1))
        .with_context(|| {
            format!(
                "--duration `{}`: a time of at least 1s (60s, 5m)",
                args.duration
            )
        })?;
    let name: String = base
        .authority()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    // Quoted as TOML strings, whatever the URL holds: a JSON string's
    // escapes (\" \\ \n \uXXXX) are a TOML basic string's too.
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let warm_rate = (args.rate / 4.0).max(1.0);
    let warm = steady.min(Duration::from_secs(10)).as_secs().max(1);
    Ok(format!(
        r#"# A starter scenario for {url}, written by `somon-verify init`.
#   somon-verify check FILE     every problem with file:line:col
#   somon-verify run FILE       the verdicts, and a run directory with the report
# Replace the thresholds with the numbers your SLO document states, and each
# claim's `source` with where it states them. The format: scenarios/README.md
# ("Other services").
name = {name}
description = {description}
seed = 1
# Variables whose values no artefact may show (record.json, report.html, …);
# each must be used by a `${{NAME}}` below. Uncomment with the header.
# secrets = ["API_TOKEN"]

[target]
kind = "url"
url = {url_toml}

# A request is a journey of its own: phases send it, claims name it.
[[requests]]
name = "home"
method = "GET"
path = {path}
timeout = "5s"
# query = {{ page = 1 }}
# headers = {{ Authorization = "Bearer ${{API_TOKEN}}", Accept = "application/json" }}
# json = {{ name = "x" }}             # a body (not with GET); or body = '…', body_file = "…"

# Connections and caches warm up; no claim judges this phase.
[[phases]]
name = "warm-up"
duration = "{warm}s"
load = {{ model = "open", rate = {warm_rate}, journeys = {{ home = 1 }} }}

# The measured phase. The open model sends on schedule whatever the answers'
# speed, and times each request from when it was due: a slow service
# cannot slow the load down and hide its latency.
[[phases]]
name = "steady"
duration = {duration}
load = {{ model = "open", rate = {rate}, max_in_flight = 1000, journeys = {{ home = 1 }} }}

[[claims]]
id = "p95-under-500ms"
source = "replace: the document and section that states it"
expect = "p95(home) < 500ms"
phase = "steady"

[[claims]]
id = "errors-under-1pct"
source = "replace: the document and section that states it"
expect = "error_rate(home) < 1%"
phase = "steady"

[[claims]]
id = "server-errors-under-0.1pct"
source = "replace: the document and section that states it"
expect = "error_rate(home, 5xx) < 0.1%"
phase = "steady"

# An alert rule that must stay quiet on a healthy service: it FAILs the run
# when its condition holds for the whole window (make the phase longer than
# the window).
# [[alerts]]
# id = "HighErrorRate"
# expect = "error_rate(5xx) > 1% for 1m"
# phase = "steady"

# The service's own Prometheus series, as a value, a ratio or a rate:
# [[claims]]
# id = "pool-under-80pct"
# expect = "metric(db_connections_active / db_connections_max) <= 0.8"
# phase = "steady"
"#,
        url = base,
        name = quote(&format!("starter-{name}")),
        description = quote(&format!(
            "Latency and errors of {base}{} under a steady open-model load",
            args.path
        )),
        url_toml = quote(&args.target),
        path = quote(&args.path),
        duration = quote(&args.duration),
        rate = args.rate,
    ))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use somon_scenarios::{Load, Scenario};

    use super::*;

    fn args(target: &str) -> InitArgs {
        InitArgs {
            target: target.into(),
            path: "/api/items?x=\"1\"".into(),
            rate: 50.0,
            duration: "2m".into(),
            out: None,
        }
    }

    #[test]
    fn the_starter_checks_as_written() {
        let text = starter(&args("http://127.0.0.1:8080/v1")).unwrap();
        let s = Scenario::from_toml(Path::new("starter.toml"), &text).unwrap();
        assert_eq!(s.name, "starter-127-0-0-1-8080");
        assert_eq!(s.claims.len(), 3);
        assert_eq!(s.phases[1].duration, Duration::from_secs(120));
        let Load::Open {
            steps, journeys, ..
        } = &s.phases[1].load
        else {
            panic!("open")
        };
        assert_eq!(steps[0].0, 50.0);
        assert_eq!(journeys[0].0.name(), "home");
    }

    #[test]
    fn what_a_run_would_refuse_is_refused_here() {
        for (target, path, rate, duration, why) in [
            ("https://x", "/", 1.0, "1m", "https"),
            ("http://x", "items", 1.0, "1m", "starts with `/`"),
            ("http://x", "/", 0.0, "1m", "more than 0"),
            ("http://x", "/", 1.0, "soon", "at least 1s"),
        ] {
            let a = InitArgs {
                target: target.into(),
                path: path.into(),
                rate,
                duration: duration.into(),
                out: None,
            };
            let err = starter(&a).unwrap_err().to_string();
            assert!(
                err.contains(why),
                "{target} {path} {rate} {duration}: {err}"
            );
        }
    }
}
