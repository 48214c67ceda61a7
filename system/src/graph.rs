//! The dependency graph of one entry module: deterministic topological
//! order, cycles reported as paths, handled by a [`CycleStrategy`].

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::{display_cycle, CachedModule, Error, Loader, ModuleId, Resolved};

/// What to do when the graph has a cycle. Cycles are legal CommonJS (a module
/// sees the partial exports of one still executing), so the default only
/// warns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CycleStrategy {
    /// Refuse the graph with [`Error::CircularDependency`].
    Error,
    /// Accept it and report each cycle as a warning.
    #[default]
    Warn,
    /// Accept it silently (cycles are still listed in [`ModuleGraph::cycles`]).
    Ignore,
}

impl FromStr for CycleStrategy {
    type Err = String;

    fn from_str(s: &str) -> Result<CycleStrategy, String> {
        match s {
            "error" => Ok(CycleStrategy::Error),
            "warn" => Ok(CycleStrategy::Warn),
            "ignore" => Ok(CycleStrategy::Ignore),
            other => Err(format!(
                "unknown cycle strategy \"{other}\": expected error, warn or ignore"
            )),
        }
    }
}

impl fmt::Display for CycleStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CycleStrategy::Error => "error",
            CycleStrategy::Warn => "warn",
            CycleStrategy::Ignore => "ignore",
        })
    }
}

/// How to build a graph.
#[derive(Clone, Debug, Default)]
pub struct GraphOptions {
    /// What to do with cycles.
    pub cycles: CycleStrategy,
    /// Bare package names to leave to the host's `require` even where they
    /// resolve to a `node_modules` package (the bundle API's `externals`).
    pub externals: Vec<String>,
}

/// Cycles past this many are counted but not listed: a dense graph can have
/// exponentially many, and one path is enough to act on.
const MAX_REPORTED_CYCLES: usize = 100;

/// Every module reachable from an entry.
#[derive(Clone, Debug)]
pub struct ModuleGraph {
    /// The entry module.
    pub entry: ModuleId,
    /// Modules in topological order (a module after everything it imports,
    /// except across cycles), the entry last. The order only depends on the
    /// sources: imports are followed in the order they are written.
    pub modules: Vec<Arc<CachedModule>>,
    /// Each cycle found, as a path whose first module is repeated at the end.
    pub cycles: Vec<Vec<ModuleId>>,
    /// External package names the graph uses (left to the host's `require`).
    pub externals: BTreeSet<String>,
    /// Human-readable warnings (cycles under [`CycleStrategy::Warn`]).
    pub warnings: Vec<String>,
}

impl ModuleGraph {
    /// Builds the graph of `entry` (a root-relative request), loading through
    /// the cache without counting hits or misses.
    ///
    /// # Errors
    /// Any error loading a reachable module, or [`Error::CircularDependency`]
    /// under [`CycleStrategy::Error`].
    pub fn build(
        loader: &Loader,
        entry: &str,
        options: &GraphOptions,
        now: Instant,
    ) -> Result<ModuleGraph, Error> {
        let entry_id = loader.resolve_request(entry)?;
        Self::walk(entry_id, options, |id| loader.ensure(id, now))
    }

    /// Like [`ModuleGraph::build`], but compiles every module afresh from its
    /// file and leaves the cache alone: what `POST /modules/compile`
    /// measures.
    pub fn compile(
        loader: &Loader,
        entry: &str,
        options: &GraphOptions,
    ) -> Result<ModuleGraph, Error> {
        let entry_id = loader.resolve_request(entry)?;
        Self::walk(entry_id, options, |id| loader.compile_uncached(id))
    }

    fn walk(
        entry_id: ModuleId,
        options: &GraphOptions,
        fetch: impl FnMut(&ModuleId) -> Result<Arc<CachedModule>, Error>,
    ) -> Result<ModuleGraph, Error> {
        let mut walk = Walk {
            fetch,
            options,
            state: HashMap::new(),
            path: Vec::new(),
            graph: ModuleGraph {
                entry: entry_id.clone(),
                modules: Vec::new(),
                cycles: Vec::new(),
                externals: BTreeSet::new(),
                warnings: Vec::new(),
            },
        };
        walk.run(entry_id)?;
        let mut graph = walk.graph;
        match options.cycles {
            CycleStrategy::Error if !graph.cycles.is_empty() => {
                return Err(Error::CircularDependency {
                    cycle: graph.cycles.swap_remove(0),
                })
            }
            CycleStrategy::Warn => {
                graph.warnings = graph
                    .cycles
                    .iter()
                    .map(|c| format!("circular dependency: {}", display_cycle(c)))
                    .collect();
            }
            _ => {}
        }
        Ok(graph)
    }

    /// Total bytes of compiled code in the graph.
    pub fn code_bytes(&self) -> usize {
        self.modules.iter().map(|m| m.code.len()).sum()
    }
}

/// Whether a dependency is bundled (true) or left to the host's `require`
/// (false): externals and the names in [`GraphOptions::externals`] are not.
pub(crate) fn is_bundled(dep: &crate::Dependency, extra_externals: &[String]) -> bool {
    match &dep.target {
        Resolved::External(_) => false,
        Resolved::Module(_) => !is_listed_external(&dep.specifier, extra_externals),
    }
}

/// `lodash/fp` belongs to the package `lodash`; `@scope/pkg/x` to `@scope/pkg`.
pub(crate) fn package_name(specifier: &str) -> Option<&str> {
    if specifier.starts_with('.') || specifier.starts_with('/') {
        return None;
    }
    let mut parts = specifier.splitn(3, '/');
    let first = parts.next()?;
    if first.starts_with('@') {
        let second = parts.next()?;
        Some(&specifier[..first.len() + 1 + second.len()])
    } else {
        Some(first)
    }
}

fn is_listed_external(specifier: &str, externals: &[String]) -> bool {
    package_name(specifier).is_some_and(|name| externals.iter().any(|e| e == name))
}

enum Visit {
    /// On the current DFS path, at this index.
    OnPath(usize),
    Done,
}

struct Walk<'a, F> {
    fetch: F,
    options: &'a GraphOptions,
    state: HashMap<ModuleId, Visit>,
    /// The DFS path: each module with the index of its next dependency.
    path: Vec<(Arc<CachedModule>, usize)>,
    graph: ModuleGraph,
}

impl<F> Walk<'_, F>
where
    F: FnMut(&ModuleId) -> Result<Arc<CachedModule>, Error>,
{
    /// Iterative depth-first search, so a deep chain cannot overflow the stack.
    fn run(&mut self, entry: ModuleId) -> Result<(), Error> {
        self.enter(&entry)?;
        while let Some((module, next)) = self.path.last_mut() {
            let module = Arc::clone(module);
            let Some(dep) = module.deps.get(*next) else {
                self.path.pop();
                self.state.insert(module.id.clone(), Visit::Done);
                self.graph.modules.push(module);
                continue;
            };
            *next += 1;
            if !is_bundled(dep, &self.options.externals) {
                let name = match &dep.target {
                    Resolved::External(name) => name.clone(),
                    Resolved::Module(_) => package_name(&dep.specifier)
                        .unwrap_or(&dep.specifier)
                        .to_owned(),
                };
                self.graph.externals.insert(name);
                continue;
            }
            let Resolved::Module(target) = &dep.target else {
                continue;
            };
            match self.state.get(target) {
                Some(Visit::Done) => {}
                Some(Visit::OnPath(at)) => {
                    if self.graph.cycles.len() < MAX_REPORTED_CYCLES {
                        let mut cycle: Vec<ModuleId> =
                            self.path[*at..].iter().map(|(m, _)| m.id.clone()).collect();
                        cycle.push(target.clone());
                        self.graph.cycles.push(cycle);
                    }
                }
                None => self.enter(target)?,
            }
        }
        Ok(())
    }

    fn enter(&mut self, id: &ModuleId) -> Result<(), Error> {
        let module = (self.fetch)(id)?;
        self.state
            .insert(id.clone(), Visit::OnPath(self.path.len()));
        self.path.push((module, 0));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names() {
        assert_eq!(package_name("lodash"), Some("lodash"));
        assert_eq!(package_name("lodash/fp"), Some("lodash"));
        assert_eq!(package_name("@scope/pkg/x"), Some("@scope/pkg"));
        assert_eq!(package_name("@scope"), None);
        assert_eq!(package_name("./x"), None);
        assert_eq!(package_name("/x"), None);
    }

    #[test]
    fn strategies_parse_and_print() {
        for s in ["error", "warn", "ignore"] {
            assert_eq!(s.parse::<CycleStrategy>().unwrap().to_string(), s);
        }
        assert!("loud".parse::<CycleStrategy>().is_err());
    }
}
