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

/// `twins.toml`, parsed (a parse error fails the test with its place).
fn twin_map() -> somon_scenarios::TwinMap {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("twins.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    somon_scenarios::TwinMap::from_toml(&path, &text).unwrap_or_else(|e| panic!("{e}"))
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

/// The twin map names only shipped verdicts (catalog and CI gate suites'
/// claims, profiles' claims, game-day drills, capacity figures: what
/// `mutants` runs), each `[[catch]]` with a defect and each `[[knob]]` on a
/// profile, and only known defects and valid knobs (`TwinMap::from_toml`).
#[test]
fn the_twin_map_points_at_shipped_claims() {
    let map = twin_map();
    let sources = verdict_sources();
    let shipped =
        |scenario: &str, claim: &str| sources.iter().any(|(s, c)| s == scenario && c == claim);
    assert!(!map.entries.is_empty() && !map.knobs.is_empty());
    for entry in &map.entries {
        assert!(
            shipped(&entry.scenario, &entry.claim),
            "[[catch]] {}/{}: no such shipped verdict",
            entry.scenario,
            entry.claim
        );
        assert!(!entry.defects.is_empty(), "{}: no defect", entry.claim);
    }
    let profiles: Vec<String> =
        tomls(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog/profiles"))
            .iter()
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
    for knob in &map.knobs {
        assert!(
            shipped(&knob.scenario, &knob.claim),
            "[[knob]] {}/{}: no such shipped verdict",
            knob.scenario,
            knob.claim
        );
        assert!(
            profiles.contains(&knob.scenario),
            "[[knob]] {}/{}: knobs are for profiles (catalog/profiles/), which have no twin",
            knob.scenario,
            knob.claim
        );
    }
}

/// Every verdict the shipped files can produce, as `(scenario, claim)`: the
/// catalog's claims and alerts, the CI gate suites' (`ci/*.toml`), the
/// profiles', each game-day drill (`drill ID`, as its verdict is named) and
/// each capacity figure.
fn verdict_sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for scenario in &shipped_scenarios() {
        for claim in scenario.claims.iter().chain(&scenario.alerts) {
            out.push((scenario.name.clone(), claim.id.clone()));
        }
        for figure in scenario.capacity.iter().flat_map(|c| &c.figures) {
            out.push((scenario.name.clone(), figure.id.clone()));
        }
    }
    for path in tomls(&root.join("catalog/gamedays")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let plan = somon_scenarios::gameday::Plan::from_toml(&path, &text)
            .unwrap_or_else(|e| panic!("{e}"));
        for claim in &plan.scenario.claims {
            out.push((plan.scenario.name.clone(), claim.id.clone()));
        }
        for drill in &plan.drills {
            out.push((plan.scenario.name.clone(), format!("drill {}", drill.id)));
        }
    }
    out
}

/// The catalog's scenarios, the CI gate suites (`ci/*.toml`) and the
/// profiles for other services.
fn shipped_scenarios() -> Vec<Scenario> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut scenarios: Vec<Scenario> = catalog().into_iter().map(|(_, s)| s).collect();
    for dir in [root.join("../ci"), root.join("catalog/profiles")] {
        scenarios.extend(tomls(&dir).into_iter().map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            Scenario::from_toml(&path, &text).unwrap_or_else(|e| panic!("{e}"))
        }));
    }
    scenarios
}

/// A verdict no twin can break is worth nothing, and "0 missed" must not
/// hide one that was left out: every verdict the shipped files can produce
/// (catalog, CI gate suites, profiles, drills, capacity figures) is either
/// mapped to a twin or listed as `[[uncovered]]` with a reason (never
/// both, never neither); every `[[uncovered]]` names a real one; and every
/// defect twin is named by at least one mapped claim. `slow-cached` is the
/// regression gate's twin (caught in `tests/regression_gate.rs`), not a
/// claim's.
#[test]
fn every_verdict_is_mapped_or_listed_uncovered_and_every_defect_is_mapped() {
    let map = twin_map();
    let sources = verdict_sources();
    for (scenario, claim) in &sources {
        let mapped = map.covers(scenario, claim);
        let listed = map
            .uncovered
            .iter()
            .any(|u| u.scenario == *scenario && u.claim == *claim);
        assert!(
            mapped != listed,
            "{scenario}/{claim}: mapped to a twin = {mapped}, listed uncovered = {listed}; exactly one must hold",
        );
    }
    for u in &map.uncovered {
        assert!(
            sources
                .iter()
                .any(|(s, c)| *s == u.scenario && *c == u.claim),
            "[[uncovered]] {}/{} names no shipped verdict",
            u.scenario,
            u.claim
        );
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

/// A twin that falsifies a figure is caught by construction by a claim that
/// reads that very figure (`hit-rate-zero` zeroes the reported hit rate: a
/// `cache_hit_rate > 0.8` claim fails whatever the cache does). Such a
/// catch proves nothing about the check, so the map may not count it: the
/// twin belongs to the check that audits the figure.
#[test]
fn no_twin_is_caught_by_construction() {
    let map = twin_map();
    let all = shipped_scenarios();
    assert!(!map.falsifies.is_empty());
    for entry in &map.entries {
        let Some(claim) = all
            .iter()
            .filter(|s| s.name == entry.scenario)
            .flat_map(|s| s.claims.iter().chain(&s.alerts))
            .find(|c| c.id == entry.claim)
        else {
            continue;
        };
        for rule in &map.falsifies {
            let reads = claim.expect.metric.to_string() == rule.metric;
            assert!(
                !(reads && entry.defects.contains(&rule.defect)),
                "{}/{}: {} falsifies {}, which this claim reads: caught by construction",
                entry.scenario,
                entry.claim,
                rule.defect,
                rule.metric
            );
        }
    }
}
