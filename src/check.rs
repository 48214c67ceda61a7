//! `somon-verify check FILE`: a scenario file or a game-day plan checked
//! without running it — one line of what it holds, or every problem with
//! `file:line:col` (exit 2).

use std::path::Path;

use anyhow::Context as _;
use somon_scenarios::gameday::Plan;
use somon_scenarios::{Exit, Scenario};

/// Checks `file`; exit 2 on any problem.
pub(crate) fn run_check(file: &Path) -> Exit {
    crate::exit::from_input(check(file))
}

fn check(file: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    // A plan is a scenario with drills.
    if text
        .lines()
        .any(|l| l.trim_start().starts_with("[[drills]]"))
    {
        let plan = Plan::from_toml(file, &text).map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "{}: ok — game-day plan, {} drill(s), {:?} planned",
            file.display(),
            plan.drills.len(),
            plan.scenario.duration()
        );
        return Ok(());
    }
    let scenario = Scenario::from_toml(file, &text).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{}: ok — {} phase(s), {:?} planned, {} fault step(s), {} claim(s), {} alert(s)",
        file.display(),
        scenario.phases.len(),
        scenario.duration(),
        scenario.faults.len(),
        scenario.claims.len(),
        scenario.alerts.len()
    );
    Ok(())
}
