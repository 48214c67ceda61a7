//! The defect-twin map: which twins (deliberate bugs of the reference
//! system) each shipped claim (catalog, CI gate
//! suites, profiles, drills, capacity figures) must catch. It lives as data
//! next to the catalog (`scenarios/twins.toml`, beside `catalog/`) so the
//! mutation matrix, the README and the tests read one list.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

/// One catalog claim and the twins its check must reject.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwinEntry {
    /// The scenario's `name`.
    pub scenario: String,
    /// The claim's `id` in that scenario.
    pub claim: String,
    /// Defect names (`--defect NAME`) that must make the claim FAIL.
    pub defects: Vec<String>,
}

/// A catalog claim no twin is shown to break yet, and why: the matrix
/// prints these so its "100 % caught" never hides a claim that was left out.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uncovered {
    /// The scenario's `name`.
    pub scenario: String,
    /// The claim's `id` in that scenario.
    pub claim: String,
    /// What was measured and what a twin for it would need.
    pub reason: String,
}

/// A twin that falsifies the very figure a metric reads (`hit-rate-zero`
/// zeroes the reported `cache_hit_rate`): a claim on that metric would
/// catch it by construction, so the map may not count such a catch.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Falsifies {
    /// The defect name.
    pub defect: String,
    /// The metric it falsifies, as the claim language writes it
    /// (`cache_hit_rate`).
    pub metric: String,
    /// Which check audits the figure instead.
    pub reason: String,
}

/// A profile (claims about another service, run with `--target URL`) that
/// the matrix runs against the stand-in service instead of a defect twin:
/// `base` is the stand-in's setting on which every claim of it PASSes.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandInProfile {
    /// The scenario's `name`.
    pub scenario: String,
    /// Knobs (`metric:NAME=VALUE`, …) the sound stand-in is set to.
    #[serde(default)]
    pub base: Vec<String>,
}

/// One profile claim's knob: turned to `over` (one knob past the claim's
/// threshold, on the profile's base setting) the claim must FAIL; turned to
/// `inside` (just inside it) it must PASS.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnobEntry {
    /// The scenario's `name`.
    pub scenario: String,
    /// The claim's (or alert's) `id` in that scenario.
    pub claim: String,
    /// The knob that crosses only this claim's threshold.
    pub over: String,
    /// The knob just inside it, when it differs from the base setting.
    #[serde(default)]
    pub inside: Option<String>,
}

/// The whole map, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TwinMap {
    /// Its entries.
    pub entries: Vec<TwinEntry>,
    /// Claims without a twin yet (`[[uncovered]]`).
    pub uncovered: Vec<Uncovered>,
    /// Twins that falsify a figure (`[[falsifies]]`).
    pub falsifies: Vec<Falsifies>,
    /// Profiles run against the stand-in service (`[[standin]]`).
    pub standins: Vec<StandInProfile>,
    /// Their claims' knobs (`[[knob]]`).
    pub knobs: Vec<KnobEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMap {
    #[serde(default)]
    catch: Vec<TwinEntry>,
    #[serde(default)]
    uncovered: Vec<Uncovered>,
    #[serde(default)]
    falsifies: Vec<Falsifies>,
    #[serde(default)]
    standin: Vec<StandInProfile>,
    #[serde(default)]
    knob: Vec<KnobEntry>,
}

impl TwinMap {
    /// Parses `twins.toml`; every defect name must be a known twin.
    ///
    /// # Errors
    /// A message starting with `file:line:col` for TOML problems, or naming
    /// the entry with an unknown defect.
    pub fn from_toml(file: &Path, text: &str) -> Result<TwinMap, String> {
        let raw: RawMap = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            format!("{}:{line}:{col}: {}", file.display(), e.message())
        })?;
        for entry in &raw.catch {
            for defect in &entry.defects {
                defect.parse::<somon_system::Defect>().map_err(|e| {
                    format!(
                        "{}: {}/{}: {e}",
                        file.display(),
                        entry.scenario,
                        entry.claim
                    )
                })?;
            }
        }
        let knob = |scenario: &str, text: &str| {
            text.parse::<somon_standin::Knob>()
                .map(drop)
                .map_err(|e| format!("{}: {scenario}: {e}", file.display()))
        };
        for profile in &raw.standin {
            for text in &profile.base {
                knob(&profile.scenario, text)?;
            }
        }
        for entry in &raw.knob {
            if !raw.standin.iter().any(|p| p.scenario == entry.scenario) {
                return Err(format!(
                    "{}: [[knob]] {}/{}: no [[standin]] for scenario {}",
                    file.display(),
                    entry.scenario,
                    entry.claim,
                    entry.scenario
                ));
            }
            knob(&entry.scenario, &entry.over)?;
            if let Some(inside) = &entry.inside {
                knob(&entry.scenario, inside)?;
            }
        }
        Ok(TwinMap {
            entries: raw.catch,
            uncovered: raw.uncovered,
            falsifies: raw.falsifies,
            standins: raw.standin,
            knobs: raw.knob,
        })
    }

    /// Scenario names in first-mentioned order.
    pub fn scenarios(&self) -> Vec<&str> {
        let mut seen = BTreeSet::new();
        self.entries
            .iter()
            .map(|e| e.scenario.as_str())
            .filter(|s| seen.insert(*s))
            .collect()
    }

    /// Every defect the entries of `scenario` name, sorted.
    pub fn defects_of(&self, scenario: &str) -> Vec<&str> {
        let set: BTreeSet<&str> = self
            .entries
            .iter()
            .filter(|e| e.scenario == scenario)
            .flat_map(|e| e.defects.iter().map(String::as_str))
            .collect();
        set.into_iter().collect()
    }

    /// Whether `claim` of `scenario` is shown able to fail: mapped to a
    /// defect twin or to a stand-in knob.
    pub fn covers(&self, scenario: &str, claim: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.scenario == scenario && e.claim == claim)
            || self
                .knobs
                .iter()
                .any(|k| k.scenario == scenario && k.claim == claim)
    }

    /// Whether `defect` is expected to fail `claim` of `scenario`.
    pub fn expects(&self, scenario: &str, claim: &str, defect: &str) -> bool {
        self.entries.iter().any(|e| {
            e.scenario == scenario && e.claim == claim && e.defects.iter().any(|d| d == defect)
        })
    }
}

/// 1-based line and column of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_defects_and_bad_toml_are_refused_with_a_place() {
        let ok = "[[catch]]\nscenario = \"s\"\nclaim = \"c\"\ndefects = [\"slow-hits\"]\n";
        let map = TwinMap::from_toml(Path::new("t.toml"), ok).unwrap();
        assert!(map.expects("s", "c", "slow-hits"));
        assert!(!map.expects("s", "c", "leak"));
        assert_eq!(map.scenarios(), vec!["s"]);
        let unknown = ok.replace("slow-hits", "slow-hitz");
        let e = TwinMap::from_toml(Path::new("t.toml"), &unknown).unwrap_err();
        assert!(e.contains("s/c"), "{e}");
        let e = TwinMap::from_toml(Path::new("t.toml"), "[[catch]]\nscenario = 3\n").unwrap_err();
        assert!(e.starts_with("t.toml:2:"), "{e}");
        let open = format!("{ok}[[uncovered]]\nscenario = \"s\"\nclaim = \"d\"\nreason = \"r\"\n");
        let map = TwinMap::from_toml(Path::new("t.toml"), &open).unwrap();
        assert_eq!(map.uncovered.len(), 1);
        assert_eq!(map.scenarios(), vec!["s"], "uncovered claims are not run");
    }

    #[test]
    fn knobs_need_their_profile_and_must_parse() {
        let profile = "[[standin]]\nscenario = \"p\"\nbase = [\"metric:q=1\"]\n";
        let knob = "[[knob]]\nscenario = \"p\"\nclaim = \"c\"\nover = \"errors=2%\"\ninside = \"errors=0.5%\"\n";
        let map = TwinMap::from_toml(Path::new("t.toml"), &format!("{profile}{knob}")).unwrap();
        assert!(map.covers("p", "c") && !map.covers("p", "d"));
        let e = TwinMap::from_toml(Path::new("t.toml"), knob).unwrap_err();
        assert!(e.contains("no [[standin]]"), "{e}");
        let bad = format!("{profile}{}", knob.replace("errors=2%", "errors=2"));
        let e = TwinMap::from_toml(Path::new("t.toml"), &bad).unwrap_err();
        assert!(e.contains("errors=2"), "{e}");
    }
}
