//! The `[capacity]` table: good plans parse, bad ones say where.

use std::path::Path;

use somon_scenarios::{FigureCheck, Scenario};

const PHASES: &str = r#"
name = "cap"
[[phases]]
name = "idle"
duration = "1s"
load = { model = "idle" }
[[phases]]
name = "step"
duration = "5s"
load = { model = "open", rate = 100, journeys = { load_cached = 1 } }
[[claims]]
id = "p99"
expect = "p99(load_cached) < 100ms"
phase = "step"
"#;

fn parse(capacity: &str) -> Result<Scenario, String> {
    Scenario::from_toml(Path::new("cap.toml"), &format!("{PHASES}{capacity}"))
        .map_err(|e| e.to_string())
}

/// Line of `needle` in the whole file (1-based).
fn line_of(capacity: &str, needle: &str) -> usize {
    let text = format!("{PHASES}{capacity}");
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn a_geometric_plan_with_figures_parses() {
    let s = parse(
        r#"
[capacity]
phase = "step"
start = 100
factor = 2
max = 800
hold = "10s"
[[capacity.figures]]
id = "rps"
source = "SomonScript Module System - Operational Runbook › Scaling Triggers"
knee_at_least = 1000
[[capacity.figures]]
id = "mem"
memory_estimate = { base_mib = 50, per_module_mib = 0.05, factor = 1.5 }
"#,
    )
    .unwrap();
    let spec = s.capacity.unwrap();
    assert_eq!(spec.steps, vec![100.0, 200.0, 400.0, 800.0]);
    assert_eq!(spec.figures[0].check, FigureCheck::KneeAtLeast(1000.0));
    assert!(matches!(
        spec.figures[1].check,
        FigureCheck::MemoryEstimate { factor, .. } if factor == 1.5
    ));
}

#[test]
fn problems_point_at_their_line_and_column() {
    let cases = [
        (
            "[capacity]\nphase = \"nope\"\nsteps = [1]\n",
            "phase = \"nope\"",
            "no phase is named \"nope\"",
        ),
        (
            "[capacity]\nphase = \"idle\"\nsteps = [1]\n",
            "phase = \"idle\"",
            "no rate or users to step",
        ),
        (
            "[capacity]\nsteps = [200, 100]\n",
            "steps = [200, 100]",
            "positive and ascending",
        ),
        (
            "[capacity]\nsteps = [1]\nstart = 5\n",
            "steps = [1]",
            "not both",
        ),
        (
            "[capacity]\nstart = 5\nfactor = 1\nmax = 10\n",
            "factor = 1",
            "greater than 1",
        ),
        (
            "[capacity]\nsteps = [1]\nhold = \"soon\"\n",
            "hold = \"soon\"",
            "not a duration",
        ),
        (
            "[capacity]\nsteps = [1]\n[[capacity.figures]]\nid = \"p99\"\nknee_at_least = 1\n",
            "id = \"p99\"\nknee",
            "used twice",
        ),
        (
            "[capacity]\nsteps = [1]\n[[capacity.figures]]\nid = \"x\"\n",
            "[[capacity.figures]]",
            "exactly one of",
        ),
    ];
    for (capacity, at, message) in cases {
        let error = parse(capacity).expect_err(capacity);
        let needle = at.lines().next().unwrap();
        // The claim id `p99` also appears above: look after the table.
        let line = if needle.starts_with("id = \"p99\"") {
            line_of(capacity, "[[capacity.figures]]") + 1
        } else {
            line_of(capacity, needle)
        };
        assert!(
            error.starts_with(&format!("cap.toml:{line}:")),
            "{capacity}: {error} (wanted line {line})"
        );
        assert!(error.contains(message), "{capacity}: {error}");
    }
}

#[test]
fn unknown_keys_are_refused() {
    let error = parse("[capacity]\nsteps = [1]\nknee = 3\n").unwrap_err();
    assert!(error.contains("unknown field `knee`"), "{error}");
}
