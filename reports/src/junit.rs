//! `junit.xml`: one test case per claim × phase, so any CI that reads JUnit
//! shows the verdicts next to the unit tests.
//!
//! Written by hand: the format needed is a handful of elements, and the one
//! thing that must be right, escaping, is tested on its own.

use std::fmt::Write;

use somon_record::{Outcome, RunReport, Verdict};

use crate::format::{cut_short, format_measured, invalid_phases, status_name};

/// The text of `junit.xml`.
pub(crate) fn junit(report: &RunReport) -> String {
    let scenario = xml_escape(&report.manifest.scenario);
    // An incomplete or invalid run proves nothing either way; a failing
    // test case keeps CI from reading a suite of passes as a pass.
    let validity = run_validity(report);
    let all = || report.verdicts.iter().chain(&report.steady_state);
    let tests = all().count() + usize::from(validity.is_some());
    let failures =
        all().filter(|v| v.outcome == Outcome::Fail).count() + usize::from(validity.is_some());
    let skipped = all().filter(|v| v.outcome == Outcome::Unknown).count();
    let time = report.manifest.wall_time.as_secs_f64();

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let counts = format!(
        "tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time:.3}\""
    );
    let _ = writeln!(out, "<testsuites name=\"somon-verify\" {counts}>");
    let _ = writeln!(out, "  <testsuite name=\"{scenario}\" {counts}>");
    if let Some(message) = &validity {
        out += "    <properties>\n";
        let mut property = |name: &str, value: &str| {
            let _ = writeln!(
                out,
                "      <property name=\"{name}\" value=\"{}\"/>",
                xml_escape(value)
            );
        };
        property("status", status_name(report.status));
        property("reason", report.reason.as_deref().unwrap_or(""));
        property("valid", if report.is_valid() { "true" } else { "false" });
        out += "    </properties>\n";
        testcase(
            &mut out,
            &scenario,
            "run-validity",
            Some(("failure", message, "")),
        );
    }
    for verdict in &report.verdicts {
        let name = match &verdict.phase {
            Some(phase) => format!("{}[{phase}]", verdict.claim),
            None => verdict.claim.clone(),
        };
        verdict_case(&mut out, &scenario, &name, verdict);
    }
    for verdict in &report.steady_state {
        let name = match &verdict.phase {
            Some(phase) => format!("steady-state: {} ({phase})", verdict.expected),
            None => format!("steady-state: {}", verdict.expected),
        };
        verdict_case(&mut out, &scenario, &name, verdict);
    }
    out += "  </testsuite>\n</testsuites>\n";
    out
}

/// Why the run as a whole is inconclusive, if it is.
fn run_validity(report: &RunReport) -> Option<String> {
    let invalid = invalid_phases(report);
    let mut why: Vec<String> = cut_short(report).into_iter().collect();
    if !invalid.is_empty() {
        why.push(format!("run INVALID: {}", invalid.join(", ")));
    }
    (!why.is_empty()).then(|| why.join("; "))
}

fn verdict_case(out: &mut String, classname: &str, name: &str, verdict: &Verdict) {
    let message;
    let result = match verdict.outcome {
        Outcome::Pass => None,
        Outcome::Fail => {
            message = format!(
                "measured {}, expected {}",
                format_measured(verdict),
                verdict.statement()
            );
            Some(("failure", message.as_str(), verdict.evidence.as_str()))
        }
        Outcome::Unknown => Some(("skipped", verdict.evidence.as_str(), "")),
    };
    testcase(out, classname, name, result);
}

/// One `<testcase>`; `result` is the child element's tag, message and body
/// (`classname` is already escaped).
fn testcase(out: &mut String, classname: &str, name: &str, result: Option<(&str, &str, &str)>) {
    let open = format!(
        "    <testcase classname=\"{classname}\" name=\"{}\"",
        xml_escape(name)
    );
    match result {
        None => {
            let _ = writeln!(out, "{open}/>");
        }
        Some((tag, message, body)) => {
            let message = xml_escape(message);
            let child = if body.is_empty() {
                format!("<{tag} message=\"{message}\"/>")
            } else {
                format!("<{tag} message=\"{message}\">{}</{tag}>", xml_escape(body))
            };
            let _ = writeln!(out, "{open}>\n      {child}\n    </testcase>");
        }
    }
}

/// Text safe in both XML content and attribute values.
///
/// Markup characters become entities. Tab, newline and carriage return
/// become character references, because a parser folds them to spaces in
/// attributes; every other character XML 1.0 forbids (control characters,
/// U+FFFE, U+FFFF) is dropped, since no reference can express it.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out += "&amp;",
            '<' => out += "&lt;",
            '>' => out += "&gt;",
            '"' => out += "&quot;",
            '\'' => out += "&apos;",
            '\t' => out += "&#9;",
            '\n' => out += "&#10;",
            '\r' => out += "&#13;",
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::fixture::{self, assert_text_eq};

    #[test]
    fn completed_run_has_one_case_per_verdict() {
        let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="somon-verify" tests="5" failures="1" errors="0" skipped="1" time="65.500">
  <testsuite name="cache-smoke" tests="5" failures="1" errors="0" skipped="1" time="65.500">
    <testcase classname="cache-smoke" name="p99-cached[steady]"/>
    <testcase classname="cache-smoke" name="error-rate[fault]">
      <failure message="measured 3.4%, expected error_rate &lt; 1%">170 failed of 5000 requests</failure>
    </testcase>
    <testcase classname="cache-smoke" name="module-size">
      <skipped message="only 12 modules entered the cache"/>
    </testcase>
    <testcase classname="cache-smoke" name="alert&lt;&amp;&quot;&gt;[fault]"/>
    <testcase classname="cache-smoke" name="steady-state: error_rate &lt; 1% (before)"/>
  </testsuite>
</testsuites>
"#;
        assert_text_eq!(expected, junit(&fixture::report()));
    }

    #[test]
    fn interrupted_run_fails_a_run_validity_case() {
        let xml = junit(&fixture::interrupted());
        assert!(xml.contains(
            r#"<testsuite name="cache-smoke" tests="6" failures="2" errors="0" skipped="1""#
        ));
        let expected = r#"    <properties>
      <property name="status" value="interrupted"/>
      <property name="reason" value="Ctrl-C"/>
      <property name="valid" value="false"/>
    </properties>
    <testcase classname="cache-smoke" name="run-validity">
      <failure message="INTERRUPTED: Ctrl-C; run INVALID: fault: generator fell 2.1 s behind its schedule"/>
    </testcase>
"#;
        assert!(xml.contains(expected), "{xml}");
    }

    #[test]
    fn escapes_markup_and_drops_illegal_characters() {
        assert_eq!(xml_escape(r#"a<&">'b"#), "a&lt;&amp;&quot;&gt;&apos;b");
        assert_eq!(xml_escape("tab\tline\nret\r"), "tab&#9;line&#10;ret&#13;");
        assert_eq!(
            xml_escape("bell\u{7}esc\u{1b}nul\u{0}\u{fffe}"),
            "bellescnul"
        );
        assert_eq!(xml_escape("§ µs — 日本"), "§ µs — 日本");
    }

    /// Reverses `xml_escape`, to check nothing but the illegal characters
    /// is lost.
    fn unescape(text: &str) -> String {
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&#9;", "\t")
            .replace("&#10;", "\n")
            .replace("&#13;", "\r")
            .replace("&amp;", "&")
    }

    fn legal_xml_char(c: char) -> bool {
        matches!(c, '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
    }

    proptest! {
        #[test]
        fn escaped_text_is_always_well_formed(text in any::<String>()) {
            let escaped = xml_escape(&text);
            prop_assert!(!escaped.contains('<'));
            prop_assert!(!escaped.contains('>'));
            prop_assert!(escaped.chars().all(legal_xml_char), "{escaped:?}");
            for (at, _) in escaped.match_indices('&') {
                let rest = &escaped[at..];
                let entity = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#9;", "&#10;", "&#13;"]
                    .iter()
                    .any(|e| rest.starts_with(e));
                prop_assert!(entity, "bare & in {escaped:?}");
            }
            let legal: String = text
                .chars()
                .filter(|&c| legal_xml_char(c) || matches!(c, '\t' | '\n' | '\r'))
                .collect();
            prop_assert_eq!(unescape(&escaped), legal);
        }
    }
}
