//! P5: bundle throughput against the documents' "~10 ms per 100 KB of
//! source code" (seeds/003 "Performance Characteristics").

use std::time::{Duration, Instant};

use somon_system::{
    bundle, generate, BundleOptions, CacheLimits, CorpusSpec, GraphOptions, Loader, ModuleCache,
    ModuleGraph, Resolver, ResolverConfig, Validation,
};

use super::{median, Error, Goal, Options, Ratio, Raw};

pub(super) const ID: &str = "P5";
pub(super) const TITLE: &str =
    "claimed bundle time per 100 KB (10 ms) ÷ measured, from source (compiles included)";
pub(super) const GOAL: Goal = Goal::AtLeast(10.0);

const CLAIM_PER_100KB: Duration = Duration::from_millis(10);
const HUNDRED_KB: f64 = 100_000.0;

fn fresh_loader(root: &std::path::Path) -> Result<Loader, Error> {
    let resolver = Resolver::new(root, ResolverConfig::default()).map_err(Error::System)?;
    let cache = ModuleCache::new(
        resolver.root().to_path_buf(),
        CacheLimits::default(),
        Validation::Stat,
    );
    Ok(Loader::new(resolver, cache))
}

/// One bundle of `entry` with `loader`: (time, source bytes bundled).
fn one_bundle(loader: &Loader, entry: &str) -> Result<(Duration, u64), Error> {
    let began = Instant::now();
    let graph = ModuleGraph::build(loader, entry, &GraphOptions::default(), Instant::now())
        .map_err(Error::System)?;
    let program = bundle(&graph, &BundleOptions::default());
    let took = began.elapsed();
    std::hint::black_box(program.bytes);
    Ok((took, graph.modules.iter().map(|m| m.source_bytes).sum()))
}

pub(super) fn measure(options: &Options) -> Result<Ratio, Error> {
    // The bundle-speed scenario's corpus: 2 KB modules, entries of ~100 KB.
    let dir = tempfile::tempdir()?;
    let corpus = generate(
        dir.path(),
        &CorpusSpec {
            modules: 250,
            seed: 9,
            mean_module_bytes: 2048,
            entries: 5,
            ..CorpusSpec::default()
        },
    )
    .map_err(Error::System)?;
    let rounds = 4 * options.repeats.max(1);
    let (mut cold, mut warm, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut bundled = Vec::new();
    for _ in 0..rounds {
        for entry in &corpus.entries {
            // Cold: a new loader, so every module is read and compiled.
            let loader = fresh_loader(dir.path())?;
            let (took, bytes) = one_bundle(&loader, entry.as_str())?;
            let per_100kb = took.as_secs_f64() * HUNDRED_KB / bytes.max(1) as f64;
            cold.push(per_100kb * 1e3);
            ratios.push(CLAIM_PER_100KB.as_secs_f64() / per_100kb);
            bundled.push(bytes as f64);
            // Warm: the same loader again, every module a cache hit.
            let (took, bytes) = one_bundle(&loader, entry.as_str())?;
            warm.push(took.as_secs_f64() * HUNDRED_KB / bytes.max(1) as f64 * 1e3);
        }
    }
    Ok(Ratio::measured(
        ID,
        TITLE,
        GOAL,
        ratios,
        vec![
            Raw::new("from source, per 100 KB", median(&cold).unwrap_or(0.0), "ms"),
            Raw::new("warm cache, per 100 KB", median(&warm).unwrap_or(0.0), "ms"),
            Raw::new("source per bundle", median(&bundled).unwrap_or(0.0), "bytes"),
            Raw::new("claim per 100 KB", 10.0, "ms"),
        ],
        format!(
            "{} bundles of 5 entries over 250 modules of ~2 KB, in process (graph + compile + bundle), median; 100 KB = 100 000 bytes",
            rounds * corpus.entries.len()
        ),
    ))
}
