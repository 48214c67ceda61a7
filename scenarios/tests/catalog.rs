//! The shipped catalog: every scenario checks, every claim cites its source,
//! and the alert claims agree with the Prometheus rules shipped beside the
//! reference system (one set of thresholds, two encodings).

use std::path::{Path, PathBuf};
use std::time::Duration;

use somon_scenarios::{parse_duration, Cmp, Scenario, Threshold};

/// The source documents' titles: a claim's `source` starts with one, then
/// ` › ` and the section.
const DOCUMENTS: [&str; 5] = [
    "SomonScript Module System - Operational Runbook",
    "Operational Runbooks - Unjucks Enterprise Platform",
    "SomonScript Module System - 100% Production Ready",
    "SomonScript Production Deployment Guide",
    "Godel v2.0 Operational Runbooks",
];

fn catalog() -> Vec<(PathBuf, Scenario)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let scenario = Scenario::from_toml(&path, &text).unwrap_or_else(|e| panic!("{e}"));
            (path, scenario)
        })
        .collect()
}

#[test]
fn every_catalog_scenario_checks_and_cites_its_source() {
    let all = catalog();
    assert!(all.len() >= 13, "{} scenarios", all.len());
    for (path, scenario) in &all {
        assert!(
            !scenario.claims.is_empty() || !scenario.alerts.is_empty(),
            "{path:?}"
        );
        for claim in scenario.claims.iter().chain(&scenario.alerts) {
            assert!(
                DOCUMENTS
                    .iter()
                    .any(|d| claim.source.starts_with(&format!("{d} › "))),
                "{path:?} {}: cite the source document by its title and section",
                claim.id
            );
        }
    }
}

/// The `.toml` files of `dir`, sorted.
fn tomls(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_scenario_and_plan_checks() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenarios: Vec<PathBuf> = [crate_dir.join("catalog/profiles"), crate_dir.join("../ci")]
        .iter()
        .flat_map(|d| tomls(d))
        .collect();
    assert!(scenarios.len() >= 4, "{scenarios:?}");
    for path in scenarios {
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(e) = Scenario::from_toml(&path, &text) {
            panic!("{e}");
        }
    }
    let plans = tomls(&crate_dir.join("catalog/gamedays"));
    assert!(plans.len() >= 3, "{plans:?}");
    for path in plans {
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(e) = somon_scenarios::gameday::Plan::from_toml(&path, &text) {
            panic!("{e}");
        }
    }
}

/// `(comparison, threshold, for)` of a rule in the Prometheus rules file.
fn rule(rules: &str, name: &str) -> (String, f64, Duration) {
    let at = rules
        .find(&format!("- alert: {name}\n"))
        .unwrap_or_else(|| panic!("no rule {name} in alerts.yml"));
    let block = &rules[at..];
    let expr = block
        .lines()
        .find_map(|l| l.trim().strip_prefix("expr: "))
        .unwrap();
    let mut words = expr.rsplit(' ');
    let threshold: f64 = words.next().unwrap().parse().unwrap();
    let cmp = words.next().unwrap().to_owned();
    let window = block
        .lines()
        .take_while(|l| !l.trim_start().starts_with("- alert:") || l.contains(name))
        .find_map(|l| l.trim().strip_prefix("for: "))
        .map_or(Duration::ZERO, |d| parse_duration(d).unwrap());
    (cmp, threshold, window)
}

#[test]
fn alert_claims_agree_with_the_prometheus_rules() {
    let rules_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../system/deploy/prometheus/alerts.yml");
    let rules = std::fs::read_to_string(rules_path).unwrap();
    let (_, alerts) = catalog()
        .into_iter()
        .find(|(p, _)| p.ends_with("alerts.toml"))
        .unwrap();
    assert_eq!(alerts.alerts.len(), 8);
    for alert in &alerts.alerts {
        let (cmp, threshold, window) = rule(&rules, &alert.id);
        let e = &alert.expect;
        let symbol = match e.cmp {
            Cmp::Gt => ">",
            Cmp::Lt => "<",
            Cmp::Ge => ">=",
            Cmp::Le => "<=",
        };
        assert_eq!(symbol, cmp, "{}", alert.id);
        // Prometheus exports memory and CPU in percent, latency in seconds.
        let expected = match (
            e.threshold,
            alert.id.contains("Memory") || alert.id.contains("Cpu"),
        ) {
            (Threshold::Ratio(r), true) => r * 100.0,
            (t, _) => t.value(),
        };
        assert!(
            (expected - threshold).abs() < 1e-9,
            "{}: {expected} vs {threshold}",
            alert.id
        );
        assert_eq!(e.window, Some(window), "{}", alert.id);
    }
}

/// The twin map names only scenarios and claims the catalog has, and only
/// known defects.
#[test]
fn the_twin_map_points_at_catalog_claims() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("twins.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let map = somon_scenarios::TwinMap::from_toml(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    let all = catalog();
    assert!(!map.entries.is_empty());
    for entry in &map.entries {
        let (_, scenario) = all
            .iter()
            .find(|(_, s)| s.name == entry.scenario)
            .unwrap_or_else(|| panic!("no scenario {}", entry.scenario));
        assert!(
            scenario
                .claims
                .iter()
                .chain(&scenario.alerts)
                .any(|c| c.id == entry.claim),
            "{} has no claim {}",
            entry.scenario,
            entry.claim
        );
        assert!(!entry.defects.is_empty(), "{}: no defect", entry.claim);
    }
}

/// SPEC §8 acceptance, as far as the map goes: every catalog claim and alert
/// is either mapped to a twin or listed as `[[uncovered]]` with a reason
/// (never both, never neither), and every SPEC §8 defect is named by at
/// least one mapped claim. `slow-cached` is the regression gate's twin
/// (caught in `tests/regression_gate.rs`), not a claim's.
#[test]
fn every_claim_is_mapped_or_listed_uncovered_and_every_defect_is_mapped() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("twins.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let map = somon_scenarios::TwinMap::from_toml(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    for (_, scenario) in catalog() {
        for claim in scenario.claims.iter().chain(&scenario.alerts) {
            let mapped = map
                .entries
                .iter()
                .any(|e| e.scenario == scenario.name && e.claim == claim.id);
            let listed = map
                .uncovered
                .iter()
                .any(|u| u.scenario == scenario.name && u.claim == claim.id);
            assert!(
                mapped != listed,
                "{}/{}: mapped to a twin = {mapped}, listed uncovered = {listed}; exactly one must hold",
                scenario.name,
                claim.id
            );
        }
    }
    for defect in somon_system::Defect::ALL {
        if defect == somon_system::Defect::SlowCached {
            continue;
        }
        assert!(
            map.entries
                .iter()
                .any(|e| e.defects.iter().any(|d| d == defect.name())),
            "no catalog claim is mapped to the {defect} twin"
        );
    }
}
