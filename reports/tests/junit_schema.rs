//! `junit.xml` against the JUnit schema CI servers read (the Ant/Jenkins
//! `junit-10.xsd`): there is no xmllint here, so its rules that matter are
//! checked with a real XML parser — element nesting and order, required
//! attributes, numeric attribute types, and counts that match the cases.

mod util;

use somon_record::{Outcome, RunStatus, Verdict};
use somon_reports::write_run_dir;

/// Checks one document; returns (tests, failures, skipped) of its suite.
fn check(xml: &str) -> (usize, usize, usize) {
    let doc = roxmltree::Document::parse(xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    assert!(!suites.is_empty());
    let mut totals = (0, 0, 0);
    for suite in suites {
        assert_eq!(suite.tag_name().name(), "testsuite");
        assert!(!suite.attribute("name").unwrap_or_default().is_empty());
        let number = |name: &str| -> usize {
            suite
                .attribute(name)
                .unwrap_or_else(|| panic!("testsuite needs {name}"))
                .parse()
                .unwrap_or_else(|_| panic!("testsuite {name} is not a count"))
        };
        let time: f64 = suite.attribute("time").unwrap().parse().unwrap();
        assert!(time >= 0.0);
        // xs:sequence: properties (optional, first), then test cases.
        let children: Vec<_> = suite.children().filter(|n| n.is_element()).collect();
        let mut cases = 0;
        let (mut failures, mut skipped) = (0, 0);
        for (i, child) in children.iter().enumerate() {
            match child.tag_name().name() {
                "properties" => {
                    assert_eq!(i, 0, "properties come first");
                    for p in child.children().filter(|n| n.is_element()) {
                        assert_eq!(p.tag_name().name(), "property");
                        assert!(p.attribute("name").is_some() && p.attribute("value").is_some());
                    }
                }
                "testcase" => {
                    cases += 1;
                    assert!(!child.attribute("name").unwrap_or_default().is_empty());
                    assert!(child.attribute("classname").is_some());
                    for result in child.children().filter(|n| n.is_element()) {
                        match result.tag_name().name() {
                            "failure" => {
                                failures += 1;
                                assert!(result.attribute("message").is_some());
                            }
                            "skipped" => skipped += 1,
                            other => panic!("unexpected <{other}> in a testcase"),
                        }
                    }
                }
                other => panic!("unexpected <{other}> in a testsuite"),
            }
        }
        assert_eq!(number("tests"), cases);
        assert_eq!(number("failures"), failures);
        assert_eq!(number("skipped"), skipped);
        assert_eq!(number("errors"), 0);
        totals = (totals.0 + cases, totals.1 + failures, totals.2 + skipped);
    }
    totals
}

#[test]
fn junit_follows_the_schema_for_pass_fail_unknown_and_cut_short_runs() {
    let mut report = util::report();
    let first = report.verdicts[0].clone();
    let verdict = |claim: &str, outcome: Outcome| Verdict {
        kind: Default::default(),
        claim: claim.into(),
        outcome,
        evidence: format!("{claim} <evidence> & \"quotes\""),
        ..first.clone()
    };
    report.verdicts.push(verdict("fails", Outcome::Fail));
    report.verdicts.push(verdict("unknown", Outcome::Unknown));
    let temp = tempfile::tempdir().unwrap();
    write_run_dir(temp.path(), &report).unwrap();
    assert_eq!(check(&util::read(temp.path(), "junit.xml")), (3, 1, 1));

    // A run cut short adds its properties and a failing run-validity case.
    report.status = RunStatus::Interrupted;
    report.reason = Some("interrupted (Ctrl-C) at 3.0 s".into());
    let temp = tempfile::tempdir().unwrap();
    write_run_dir(temp.path(), &report).unwrap();
    assert_eq!(check(&util::read(temp.path(), "junit.xml")), (4, 2, 1));
}
