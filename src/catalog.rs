//! `somon-verify scenarios`: the catalog listed — each scenario file with
//! its planned length and description, then its claims and alerts; a file
//! that does not check is reported and makes the exit code 2.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use somon_scenarios::{Exit, Scenario};

/// Lists the catalog in `dir`.
pub(crate) fn run_scenarios(dir: &Path) -> Exit {
    crate::exit::from_input(list(dir))
}

fn list(dir: &Path) -> anyhow::Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading the catalog {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut problems = 0;
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        match Scenario::from_toml(&file, &text) {
            Ok(scenario) => {
                println!(
                    "{}  ({:?})  {}",
                    file.display(),
                    scenario.duration(),
                    scenario.description
                );
                for claim in scenario.claims.iter().chain(&scenario.alerts) {
                    println!("    {:<32} {}", claim.id, claim.expect);
                }
            }
            Err(error) => {
                problems += 1;
                eprintln!("{error}");
            }
        }
    }
    if problems > 0 {
        anyhow::bail!("{problems} scenario file(s) have problems");
    }
    Ok(())
}
