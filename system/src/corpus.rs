//! A seeded generator of realistic SomonScript module trees, for tests,
//! benches and load scenarios.
//!
//! The same [`CorpusSpec`] always writes byte-identical files on every
//! machine: randomness comes from ChaCha8 seeded with [`CorpusSpec::seed`],
//! integer ranges are drawn as `u32` (never `usize`, whose width varies) and
//! the size distribution avoids the platform's `ln`/`exp`.
//!
//! Shape: entries (level 0) import layered modules, and level `k` only
//! imports from levels `> k`, so the graph is a DAG. Each deliberate cycle
//! adds a dedicated partner module imported by one layered module and
//! importing it back, so every cycle is exactly two modules long.

mod source;

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{Error, ModuleId};

/// What [`generate`] should write.
///
/// ```
/// use somon_system::CorpusSpec;
/// let spec = CorpusSpec { modules: 50, seed: 7, ..CorpusSpec::default() };
/// assert_eq!(spec.entries, 5);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CorpusSpec {
    /// Total number of modules, entries and cycle partners included.
    pub modules: usize,
    /// Seed of the generator: the same seed writes the same bytes.
    pub seed: u64,
    /// Deepest directory nesting (`0` puts every module at the root,
    /// `2` allows `lib/core/x.som`).
    pub max_depth: usize,
    /// Mean module size in bytes; sizes follow a log-normal-like spread
    /// around it. A module is never smaller than its imports and exports need.
    pub mean_module_bytes: usize,
    /// Bare names modules may import (`ворид * чун X аз "lodash";`); empty = none.
    pub externals: Vec<String>,
    /// Fraction of modules, in `[0, 1]`, that import externals.
    pub external_fraction: f64,
    /// Number of entry modules (the top of the DAG), at least 1.
    pub entries: usize,
    /// Number of deliberate two-module import cycles.
    pub cycles: usize,
}

impl Default for CorpusSpec {
    fn default() -> CorpusSpec {
        CorpusSpec {
            modules: 200,
            seed: 1,
            max_depth: 3,
            mean_module_bytes: 2048,
            externals: Vec::new(),
            external_fraction: 0.0,
            entries: 5,
            cycles: 0,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// The directory the tree was written under (the module root).
    pub root: PathBuf,
    /// Every module, in generation order (entries first).
    pub modules: Vec<CorpusModule>,
    /// The entry modules; each exports a `main` function returning a number.
    pub entries: Vec<ModuleId>,
    /// The externals that some module actually imports, in spec order:
    /// put these on the resolver's allowlist.
    pub externals: Vec<String>,
    /// Sum of all module sizes in bytes.
    pub total_bytes: u64,
}

/// One module of a [`Corpus`].
#[derive(Clone, Debug)]
pub struct CorpusModule {
    /// Its id under the root, e.g. `lib/core/parser.som`.
    pub id: ModuleId,
    /// File size in bytes.
    pub bytes: u64,
    /// The modules it imports or re-exports from, in source order, without
    /// duplicates.
    pub imports: Vec<ModuleId>,
    /// The bare names it imports.
    pub externals: Vec<String>,
    /// Directory nesting of the file (`app/main.som` is 1).
    pub depth: usize,
}

/// Writes a module tree for `spec` under `dir`, creating `dir` if missing and
/// overwriting files of the same names (other files are left alone).
///
/// Fails with [`Error::Io`] if a file cannot be written or the spec cannot be
/// met (no entries, more entries than modules, or too few modules for the
/// asked cycles: each cycle needs a partner and a layered module).
///
/// ```
/// use somon_system::{generate, CorpusSpec};
/// let dir = tempfile::tempdir().unwrap();
/// let corpus = generate(dir.path(), &CorpusSpec { modules: 20, ..CorpusSpec::default() }).unwrap();
/// assert_eq!(corpus.modules.len(), 20);
/// assert!(dir.path().join(corpus.entries[0].as_str()).is_file());
/// ```
pub fn generate(dir: &Path, spec: &CorpusSpec) -> Result<Corpus, Error> {
    validate(dir, spec)?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut plans = plan_graph(spec, &mut rng);
    lay_out(&mut plans, spec, &mut rng);
    pick_externals(&mut plans, spec, &mut rng);
    source::plan_exports(&mut plans, &mut rng);
    let skeletons: Vec<source::Skeleton> = (0..plans.len())
        .map(|i| source::render(&plans, i, spec, &mut rng))
        .collect();
    let lengths: Vec<usize> = skeletons.iter().map(source::Skeleton::len).collect();
    let targets = size_targets(&lengths, spec, &mut rng);

    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut modules = Vec::with_capacity(plans.len());
    let mut total_bytes = 0;
    for (i, skeleton) in skeletons.into_iter().enumerate() {
        let text = source::pad(skeleton, i, targets[i], &mut rng);
        let plan = &plans[i];
        let path = ModuleId::new(plan.id.as_str()).path_in(dir);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        fs::write(&path, &text).map_err(|e| Error::io(&path, e))?;
        total_bytes += text.len() as u64;
        modules.push(CorpusModule {
            id: ModuleId::new(plan.id.as_str()),
            bytes: text.len() as u64,
            imports: plan
                .deps
                .iter()
                .map(|&d| ModuleId::new(plans[d].id.as_str()))
                .collect(),
            externals: plan
                .externals
                .iter()
                .map(|&e| spec.externals[e].clone())
                .collect(),
            depth: plan.dir.len(),
        });
    }
    let used: BTreeSet<usize> = plans.iter().flat_map(|p| p.externals.clone()).collect();
    Ok(Corpus {
        root: dir.to_path_buf(),
        entries: modules[..spec.entries]
            .iter()
            .map(|m| m.id.clone())
            .collect(),
        modules,
        externals: used
            .into_iter()
            .map(|e| spec.externals[e].clone())
            .collect(),
        total_bytes,
    })
}

/// Where a module sits in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Top of the DAG, exports `main`.
    Entry,
    /// An ordinary module at this level (1 = imported by entries).
    Layer(usize),
    /// The second half of a deliberate cycle with this layered module.
    Partner(usize),
}

/// The shape of one export, which decides how importers use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExportKind {
    /// A function of one number returning a number.
    Function,
    /// A number.
    Const,
    /// A class whose instances, built from a number, have `қимат()`.
    Class,
}

/// A name a module exports, including names re-exported by name.
#[derive(Clone, Debug)]
struct Export {
    name: String,
    kind: ExportKind,
}

/// Everything decided about one module before its text is rendered.
#[derive(Clone, Debug)]
struct Plan {
    role: Role,
    dir: Vec<&'static str>,
    stem: String,
    /// `dir/index.som`, imported by its directory's path.
    is_index: bool,
    id: String,
    /// Imported modules, in source order.
    deps: Vec<usize>,
    /// Indexes into `CorpusSpec::externals`.
    externals: Vec<usize>,
    has_class: bool,
    has_default: bool,
    /// `ёрдам_i` and `ҲАД_i`, exported through `содир { … }`.
    has_list: bool,
    /// `содир { name } аз "dep"`.
    reexports: Vec<(usize, String)>,
    /// `содир * аз "dep"`.
    star: Option<usize>,
    /// What importers may rely on (default export excluded).
    exports: Vec<Export>,
}

fn invalid(dir: &Path, message: String) -> Error {
    Error::io(dir, io::Error::new(io::ErrorKind::InvalidInput, message))
}

fn validate(dir: &Path, spec: &CorpusSpec) -> Result<(), Error> {
    if spec.entries == 0 || spec.entries > spec.modules {
        return Err(invalid(
            dir,
            format!(
                "corpus needs 1..={} entries, got {}",
                spec.modules, spec.entries
            ),
        ));
    }
    if spec.cycles > 0 && spec.entries + 2 * spec.cycles > spec.modules {
        return Err(invalid(
            dir,
            format!(
                "{} cycles need at least {} modules besides {} entries",
                spec.cycles,
                2 * spec.cycles,
                spec.entries
            ),
        ));
    }
    if !(0.0..=1.0).contains(&spec.external_fraction) {
        return Err(invalid(
            dir,
            format!(
                "external_fraction must be in [0, 1], got {}",
                spec.external_fraction
            ),
        ));
    }
    Ok(())
}

/// A uniform index below `n` (`n > 0`), drawn as `u32` so that 32- and
/// 64-bit machines consume the generator identically.
fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    rng.random_range(0..n as u32) as usize
}

fn shuffle<T>(items: &mut [T], rng: &mut ChaCha8Rng) {
    for i in (1..items.len()).rev() {
        items.swap(i, below(rng, i + 1));
    }
}

/// Roles, levels and import edges.
fn plan_graph(spec: &CorpusSpec, rng: &mut ChaCha8Rng) -> Vec<Plan> {
    let layered = spec.modules - spec.entries - spec.cycles;
    let levels = if layered == 0 {
        0
    } else {
        // About log2(n) levels: deep enough for long chains, wide enough to share.
        (usize::BITS - layered.leading_zeros()).clamp(1, 10) as usize
    };
    let mut roles = vec![Role::Entry; spec.entries];
    for k in 0..layered {
        let level = if k < levels {
            k + 1
        } else {
            1 + below(rng, levels)
        };
        roles.push(Role::Layer(level));
    }
    let mut by_level: Vec<Vec<usize>> = vec![Vec::new(); levels + 1];
    for (i, role) in roles.iter().enumerate() {
        match role {
            Role::Entry => by_level[0].push(i),
            Role::Layer(level) => by_level[*level].push(i),
            Role::Partner(_) => {}
        }
    }
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); spec.modules];
    // Every layered module gets an importer one level up, so all are reachable.
    for level in 1..=levels {
        for &m in &by_level[level] {
            let importer = by_level[level - 1][below(rng, by_level[level - 1].len())];
            deps[importer].push(m);
        }
    }
    for level in 0..levels {
        for &m in &by_level[level] {
            let extra = below(rng, 4);
            for _ in 0..extra {
                // Favour the next level, as real code mostly calls one layer down.
                let target_level = if rng.random_bool(0.6) {
                    level + 1
                } else {
                    level + 1 + below(rng, levels - level)
                };
                let pool = &by_level[target_level];
                let target = pool[below(rng, pool.len())];
                if !deps[m].contains(&target) {
                    deps[m].push(target);
                }
            }
        }
    }
    let mut partners_of: Vec<usize> = (spec.entries..spec.entries + layered).collect();
    shuffle(&mut partners_of, rng);
    for (k, &a) in partners_of.iter().take(spec.cycles).enumerate() {
        let partner = spec.entries + layered + k;
        roles.push(Role::Partner(a));
        deps[a].push(partner);
        deps[partner].push(a);
    }
    for list in &mut deps {
        shuffle(list, rng);
    }
    roles
        .into_iter()
        .zip(deps)
        .map(|(role, deps)| Plan {
            role,
            dir: Vec::new(),
            stem: String::new(),
            is_index: false,
            id: String::new(),
            deps,
            externals: Vec::new(),
            has_class: false,
            has_default: false,
            has_list: false,
            reexports: Vec::new(),
            star: None,
            exports: Vec::new(),
        })
        .collect()
}

/// Top-level directory names. Disjoint from every file stem, so `./util`
/// can never mean both `util.som` and `util/index.som`.
const TOP_DIRS: [&str; 6] = ["app", "lib", "shared", "features", "services", "platform"];
const SUB_DIRS: [&str; 18] = [
    "core", "util", "data", "net", "ui", "auth", "store", "math", "text", "time", "io", "model",
    "config", "events", "cache", "api", "jobs", "i18n",
];
const FILE_STEMS: [&str; 40] = [
    "parser", "queue", "stack", "vector", "matrix", "router", "logger", "timer", "encoder",
    "decoder", "buffer", "stream", "hash", "graph", "tree", "list", "table", "score", "price",
    "order", "user", "session", "token", "record", "layout", "theme", "widget", "button", "form",
    "field", "rules", "limits", "metrics", "counter", "helpers", "schema", "mapper", "filter",
    "format", "clock",
];
const ENTRY_STEMS: [&str; 6] = ["main", "cli", "server", "worker", "admin", "batch"];

/// Directories, file names and ids.
fn lay_out(plans: &mut [Plan], spec: &CorpusSpec, rng: &mut ChaCha8Rng) {
    let mut dirs: BTreeSet<Vec<&'static str>> = BTreeSet::new();
    let entry_dir: Vec<&'static str> = if spec.max_depth == 0 {
        Vec::new()
    } else {
        vec!["app"]
    };
    if spec.max_depth == 0 {
        dirs.insert(Vec::new());
    } else {
        let wanted = (plans.len() / 8).clamp(2, 400);
        for _ in 0..wanted {
            let depth = 1 + below(rng, spec.max_depth);
            let mut dir = vec![TOP_DIRS[below(rng, TOP_DIRS.len())]];
            while dir.len() < depth {
                let sub = SUB_DIRS[below(rng, SUB_DIRS.len())];
                if !dir.contains(&sub) {
                    dir.push(sub);
                }
            }
            // Parents hold modules too, like `lib/x.som` beside `lib/core/`.
            for len in 1..=dir.len() {
                dirs.insert(dir[..len].to_vec());
            }
        }
    }
    let dirs: Vec<Vec<&'static str>> = dirs.into_iter().collect();
    let mut index_taken: BTreeSet<Vec<&'static str>> = BTreeSet::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut entry_count = 0;
    for plan in plans.iter_mut() {
        if plan.role == Role::Entry {
            plan.dir = entry_dir.clone();
            let word = ENTRY_STEMS[entry_count % ENTRY_STEMS.len()];
            plan.stem = unique_stem(&used, &plan.dir, word);
            entry_count += 1;
        } else {
            plan.dir = dirs[below(rng, dirs.len())].clone();
            if !plan.dir.is_empty() && !index_taken.contains(&plan.dir) && rng.random_bool(0.3) {
                index_taken.insert(plan.dir.clone());
                plan.stem = "index".to_owned();
                plan.is_index = true;
            } else {
                let word = FILE_STEMS[below(rng, FILE_STEMS.len())];
                plan.stem = unique_stem(&used, &plan.dir, word);
            }
        }
        plan.id = id_of(&plan.dir, &plan.stem);
        used.insert(plan.id.clone());
    }
}

fn id_of(dir: &[&str], stem: &str) -> String {
    let mut id = dir.join("/");
    if !id.is_empty() {
        id.push('/');
    }
    id.push_str(stem);
    id.push_str(".som");
    id
}

/// `word`, or `word2`, `word3`, … if the name is taken in `dir`.
fn unique_stem(used: &BTreeSet<String>, dir: &[&str], word: &str) -> String {
    let mut stem = word.to_owned();
    let mut n = 2;
    while used.contains(&id_of(dir, &stem)) {
        stem = format!("{word}{n}");
        n += 1;
    }
    stem
}

/// Exactly `round(fraction × modules)` modules import one or two externals.
fn pick_externals(plans: &mut [Plan], spec: &CorpusSpec, rng: &mut ChaCha8Rng) {
    if spec.externals.is_empty() {
        return;
    }
    let count = (spec.external_fraction * plans.len() as f64).round() as usize;
    let mut order: Vec<usize> = (0..plans.len()).collect();
    shuffle(&mut order, rng);
    for &m in order.iter().take(count) {
        let first = below(rng, spec.externals.len());
        plans[m].externals.push(first);
        if spec.externals.len() > 1 && rng.random_bool(0.25) {
            let second = below(rng, spec.externals.len());
            if second != first {
                plans[m].externals.push(second);
            }
        }
    }
}

/// The specifier `from` writes to import `to`: relative, without extension
/// (sometimes with `.som`), a directory path for index modules.
fn specifier(from: &Plan, to: &Plan, rng: &mut ChaCha8Rng) -> String {
    let mut target: Vec<&str> = to.dir.clone();
    if !to.is_index {
        target.push(&to.stem);
    }
    let common = from
        .dir
        .iter()
        .zip(&target)
        .take_while(|(a, b)| a == b)
        .count();
    let ups = from.dir.len() - common;
    let mut rest: Vec<&str> = target[common..].to_vec();
    if rest.is_empty() {
        // The importer sits in (or below) the index's directory: `.` and `..`
        // are legal but unusual, so name the file.
        rest.push("index");
    }
    let mut spec = if ups == 0 {
        "./".to_owned()
    } else {
        "../".repeat(ups)
    };
    spec.push_str(&rest.join("/"));
    if !to.is_index && rng.random_bool(0.1) {
        spec.push_str(".som");
    }
    spec
}

/// `exp(x)` from basic arithmetic only, so that every platform computes the
/// same bits (libm's `exp` may differ in the last place between systems).
fn portable_exp(x: f64) -> f64 {
    const HALVINGS: i32 = 12;
    let y = x / 4096.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..=8 {
        term *= y / f64::from(k);
        sum += term;
    }
    for _ in 0..HALVINGS {
        sum *= sum;
    }
    sum
}

/// Per-module byte targets: log-normal factors (σ = 0.6, mean 1) scaled so
/// that the mean of `max(skeleton, target)` matches the asked mean.
fn size_targets(skeletons: &[usize], spec: &CorpusSpec, rng: &mut ChaCha8Rng) -> Vec<usize> {
    const SIGMA: f64 = 0.6;
    let factors: Vec<f64> = skeletons
        .iter()
        .map(|_| {
            // Irwin–Hall: a portable standard normal from 12 uniforms.
            let z: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
            portable_exp(SIGMA * z - SIGMA * SIGMA / 2.0).clamp(0.1, 6.0)
        })
        .collect();
    let mean = spec.mean_module_bytes as f64;
    let sizes = |scale: f64| -> Vec<usize> {
        skeletons
            .iter()
            .zip(&factors)
            .map(|(&s, f)| ((scale * f * mean) as usize).max(s))
            .collect()
    };
    let average = |sizes: &[usize]| sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64;
    // Skeletons above their sample push the mean up, and a small sample may
    // fall short of it: rescale the samples until the mean is met.
    let (mut low, mut high) = (0.0, 4.0);
    for _ in 0..40 {
        let mid = (low + high) / 2.0;
        if average(&sizes(mid)) < mean {
            low = mid;
        } else {
            high = mid;
        }
    }
    sizes(high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_exp_is_close_to_exp() {
        for x in [-3.0, -1.0, -0.18, 0.0, 0.5, 1.0, 2.5] {
            let (ours, std) = (portable_exp(x), f64::exp(x));
            assert!((ours - std).abs() / std < 1e-9, "{x}: {ours} vs {std}");
        }
    }

    #[test]
    fn specifiers_are_relative() {
        let plan = |dir: Vec<&'static str>, stem: &str, is_index| Plan {
            role: Role::Layer(1),
            dir,
            stem: stem.to_owned(),
            is_index,
            id: String::new(),
            deps: vec![],
            externals: vec![],
            has_class: false,
            has_default: false,
            has_list: false,
            reexports: vec![],
            star: None,
            exports: vec![],
        };
        // The optional `.som` is random; strip it so any seed will do.
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut spec = |from: &Plan, to: &Plan| {
            let s = specifier(from, to, &mut rng);
            s.strip_suffix(".som").map(str::to_owned).unwrap_or(s)
        };
        let main = plan(vec!["app"], "main", false);
        let util = plan(vec!["lib", "util"], "index", true);
        let parser = plan(vec!["lib", "util", "text"], "parser", false);
        let sibling = plan(vec!["app"], "router", false);
        assert_eq!(spec(&main, &util), "../lib/util");
        assert_eq!(spec(&main, &sibling), "./router");
        assert_eq!(spec(&parser, &util), "../index");
        assert_eq!(spec(&util, &parser), "./text/parser");
        assert_eq!(spec(&util, &util), "./index");
    }
}
