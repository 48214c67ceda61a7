//! `summary.md`: the run as a CI job summary or pull-request comment reads
//! it, rendered GitHub-flavoured Markdown; a run compared with a baseline
//! ends with the regression table.

use std::fmt::Write;

use somon_record::{Outcome, RunReport, Verdict};

use crate::format::{
    bytes, cut_short, format_measured, invalid_phases, result_label, status_name, NONE,
};

/// The text of `summary.md`.
pub(crate) fn summary(report: &RunReport) -> String {
    let m = &report.manifest;
    let mut out = format!("## {}: {}", text(&m.scenario), result_label(report));
    if let Some(ended) = cut_short(report) {
        let _ = write!(out, " — {}", text(&ended));
    }
    out += "\n\n";
    if !m.description.is_empty() {
        let _ = writeln!(out, "{}\n", text(&m.description));
    }
    let (pass, fail, unknown) = report.tally();
    let _ = writeln!(
        out,
        "**{pass} PASS, {fail} FAIL, {unknown} UNKNOWN** · run {}, {}\n",
        if report.is_valid() {
            "VALID"
        } else {
            "INVALID"
        },
        status_name(report.status),
    );
    if report.verdicts.is_empty() {
        out += "No claim was judged.\n\n";
    } else {
        table(&mut out, "Claim", &report.verdicts);
    }
    if !report.steady_state.is_empty() {
        out += "### Steady state\n\n";
        table(&mut out, "Probe", &report.steady_state);
    }

    out += "### Validity\n\n";
    let invalid = invalid_phases(report);
    if report.validity.is_empty() {
        out += "No load phase ran.\n\n";
    } else if invalid.is_empty() {
        let _ = writeln!(
            out,
            "The load generator kept up in all {} phases.\n",
            report.validity.len()
        );
    } else {
        out += "The load generator did not keep up, so these phases prove nothing:\n\n";
        for phase in &invalid {
            let _ = writeln!(out, "- {}", text(phase));
        }
        out += "\n";
    }

    out += "### Run\n\n";
    let _ = writeln!(out, "- Seed: {}", m.seed);
    let git = m.git_sha.as_deref().map_or("unknown".to_string(), code);
    let _ = writeln!(out, "- Git: {git}");
    let mut host = format!(
        "{} cores, {} memory",
        m.host.cores,
        bytes(m.host.memory_bytes as f64)
    );
    if !m.host.os.is_empty() {
        let _ = write!(host, ", {}", text(&m.host.os));
    }
    let _ = writeln!(out, "- Host: {host}");
    let _ = writeln!(out, "- Target: {}", text(&m.target));
    let defects = if m.defects.is_empty() {
        "none".to_string()
    } else {
        m.defects
            .iter()
            .map(|d| code(d))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "- Defects: {defects}");
    if let Some(file) = &m.file {
        let _ = writeln!(out, "- Scenario file: {}", code(file));
    }
    let _ = writeln!(
        out,
        "- Started: {}, wall time {:.1} s",
        text(&m.started_at),
        m.wall_time.as_secs_f64()
    );
    if !m.versions.is_empty() {
        let versions: Vec<String> = m
            .versions
            .iter()
            .map(|(name, version)| text(&format!("{name} {version}")))
            .collect();
        let _ = writeln!(out, "- Versions: {}", versions.join(", "));
    }
    if let Some(regression) = &report.regression {
        out.push('\n');
        out += &crate::regression::regression_markdown(regression);
    }
    out
}

/// A verdict table, then the evidence of every verdict that did not pass.
fn table(out: &mut String, first: &str, verdicts: &[Verdict]) {
    let _ = writeln!(
        out,
        "| {first} | Phase | Expected | Measured | Samples | Verdict |"
    );
    out.push_str("|---|---|---|--:|--:|---|\n");
    for v in verdicts {
        let verdict = match v.outcome {
            Outcome::Pass => "PASS".to_string(),
            other => format!("**{}**", other.label()),
        };
        let _ = writeln!(
            out,
            "| {}<br><sub>{}</sub> | {} | {} | {} | {} | {verdict} |",
            code(&v.claim),
            text(&v.source),
            v.phase.as_deref().map_or(NONE.to_string(), text),
            code(&v.statement()),
            text(&format_measured(v)),
            v.samples,
        );
    }
    out.push('\n');
    let unresolved: Vec<&Verdict> = verdicts
        .iter()
        .filter(|v| v.outcome != Outcome::Pass)
        .collect();
    if unresolved.is_empty() {
        return;
    }
    for v in unresolved {
        let phase = v
            .phase
            .as_deref()
            .map_or(String::new(), |p| format!(" ({})", text(p)));
        let _ = writeln!(
            out,
            "- {} {}{phase}: {}",
            v.outcome.label(),
            code(&v.claim),
            text(&v.evidence)
        );
    }
    out.push('\n');
}

/// Plain text inside a table cell or list item: every character Markdown
/// could read as markup is backslash-escaped (CommonMark allows that for
/// any ASCII punctuation), and line breaks, which would end the row,
/// become spaces.
pub(crate) fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// An inline code span holding `raw` verbatim. The fence is one backtick
/// longer than any run inside, as CommonMark requires; `|` still needs its
/// backslash, because GFM splits table cells before it parses code spans.
pub(crate) fn code(raw: &str) -> String {
    let body: String = raw
        .chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(" ".to_string()),
            '|' => Some("\\|".to_string()),
            c if c.is_control() => None,
            c => Some(c.to_string()),
        })
        .collect();
    if body.trim().is_empty() {
        return NONE.to_string();
    }
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{self, assert_text_eq};

    #[test]
    fn completed_run_summary() {
        let expected = r#"## cache-smoke: FAIL

Cached loads stay fast

**2 PASS, 1 FAIL, 1 UNKNOWN** · run VALID, completed

| Claim | Phase | Expected | Measured | Samples | Verdict |
|---|---|---|--:|--:|---|
| `p99-cached`<br><sub>README.md §Performance</sub> | steady | `p99(load_cached) < 100ms` | 12.345 ms | 12000 | PASS |
| `error-rate`<br><sub>RUNBOOK.md §Alerts</sub> | fault | `error_rate < 1%` | 3.4% | 5000 | **FAIL** |
| `module-size`<br><sub>README.md §Memory</sub> | — | `bytes_per_cached_module < 50KB` | — | 12 | **UNKNOWN** |
| `alert<&">`<br><sub>RUNBOOK \| alerts</sub> | fault | `p99(load_cached) > 1000ms for 2m` | held 130 s | 300 | PASS |

- FAIL `error-rate` (fault): 170 failed of 5000 requests
- UNKNOWN `module-size`: only 12 modules entered the cache

### Steady state

| Probe | Phase | Expected | Measured | Samples | Verdict |
|---|---|---|--:|--:|---|
| `healthy`<br><sub>RUNBOOK.md §Health</sub> | before | `error_rate < 1%` | 0% | 50 | PASS |

### Validity

The load generator kept up in all 2 phases.

### Run

- Seed: 42
- Git: `abc1234`
- Host: 2 cores, 8 GB memory, Linux 6.1
- Target: spawn
- Defects: `slow-hits`
- Scenario file: `catalog/cache-smoke.toml`
- Started: 2025-01-01T00:00:00Z, wall time 65.5 s
- Versions: somon-verify 0.1.0
"#;
        assert_text_eq!(expected, summary(&fixture::report()));
    }

    #[test]
    fn interrupted_run_heads_with_its_status_and_lists_invalid_phases() {
        let md = summary(&fixture::interrupted());
        assert!(md.starts_with("## cache-smoke: INCONCLUSIVE — INTERRUPTED: Ctrl-C\n"));
        assert!(md.contains("run INVALID, interrupted"));
        assert!(md.contains(
            "these phases prove nothing:\n\n- fault: generator fell 2.1 s behind its schedule\n"
        ));
    }

    #[test]
    fn a_run_compared_with_a_baseline_ends_with_the_regression_table() {
        let report = fixture::compared();
        let md = summary(&report);
        let regression =
            crate::regression::regression_markdown(report.regression.as_ref().unwrap());
        let run = "- Versions: somon-verify 0.1.0\n";
        assert!(md.ends_with(&format!("{run}\n{regression}")), "{md}");
        assert!(
            md.contains("| **FAIL** |\n"),
            "the regression verdicts are in the table: {md}"
        );
        assert!(
            md.contains("- FAIL `regression:load_cached:p50` (steady): median 0.400ms → 20.400ms")
        );
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(text("a|b\nc"), r"a\|b c");
        assert_eq!(
            text("x<y> & *z* _w_ [l](u)"),
            r"x\<y\> \& \*z\* \_w\_ \[l\](u)"
        );
        assert_eq!(code("a|b"), r"`a\|b`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code(""), NONE);
    }
}
