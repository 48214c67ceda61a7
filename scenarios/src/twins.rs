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

/// The whole map, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TwinMap {
    /// Its entries.
    pub entries: Vec<TwinEntry>,
    /// Claims without a twin yet (`[[uncovered]]`).
    pub uncovered: Vec<Uncovered>,
    /// Twins that falsify a figure (`[[falsifies]]`).
    pub falsifies: Vec<Falsifies>,
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
        Ok(TwinMap {
            entries: raw.catch,
            uncovered: raw.uncovered,
            falsifies: raw.falsifies,
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
}
