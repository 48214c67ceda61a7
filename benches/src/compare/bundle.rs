//! P5: bundle throughput against the documents' "~10 ms per 100 KB of
//! source code" (SomonScript Production Deployment Guide › Performance
//! Characteristics: Bundle Generation).

use std::time::{Duration, Instant};

use somon_system::{
    bundle, generate, BundleOptions, CacheLimits, CorpusSpec, GraphOptions, Loader, ModuleCache,
    ModuleGraph, Resolver, ResolverConfig, Validation,
};

use super::{median, Error, Goal, Options, Ratio, Raw};

pub(super) const ID: &str = "P5";
pub(super) const TITLE: &str =
    "claimed bundle time per 100 KB (10 ms) ÷ measured: graph + bundle over cached modules";
pub(super) const GOAL: Goal = Goal::AtLeast(10.0);
pub(super) const SOURCE_ID: &str = "P5s";
pub(super) const SOURCE_TITLE: &str =
    "the same from source: every module read and compiled first (a cold bundle)";

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

/// What one set of bundles measured, per 100 KB of source, in ms.
struct Bundles {
    warm: Vec<f64>,
    cold: Vec<f64>,
    source_bytes: Vec<f64>,
    count: usize,
}

fn bundles(options: &Options) -> Result<Bundles, Error> {
    // The bundle-speed scenario's corpus: 2 KB modules, entries of ~100 KB
    // and more.
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
    let per_100kb =
        |took: Duration, bytes: u64| took.as_secs_f64() * 1e3 * HUNDRED_KB / bytes.max(1) as f64;
    let mut out = Bundles {
        warm: Vec::new(),
        cold: Vec::new(),
        source_bytes: Vec::new(),
        count: 0,
    };
    for _ in 0..rounds {
        for entry in &corpus.entries {
            // Cold: a new loader, so every module is read and compiled.
            let loader = fresh_loader(dir.path())?;
            let (took, bytes) = one_bundle(&loader, entry.as_str())?;
            out.cold.push(per_100kb(took, bytes));
            out.source_bytes.push(bytes as f64);
            // Warm: the same loader again, every module a cache hit.
            let (took, bytes) = one_bundle(&loader, entry.as_str())?;
            out.warm.push(per_100kb(took, bytes));
            out.count += 1;
        }
    }
    Ok(out)
}

fn ratio_of(
    id: &'static str,
    title: &'static str,
    times: &[f64],
    other: (&str, &[f64]),
    b: &Bundles,
) -> Ratio {
    let claim_ms = CLAIM_PER_100KB.as_secs_f64() * 1e3;
    Ratio::measured(
        id,
        title,
        GOAL,
        vec![claim_ms / median(times).unwrap_or(f64::INFINITY)],
        vec![
            Raw::new("measured per 100 KB", median(times).unwrap_or(0.0), "ms"),
            Raw::new(other.0, median(other.1).unwrap_or(0.0), "ms"),
            Raw::new("source per bundle", median(&b.source_bytes).unwrap_or(0.0), "bytes"),
            Raw::new("claim per 100 KB (deployment guide)", claim_ms, "ms"),
        ],
        format!(
            "{} bundles of 5 entries over 250 modules of ~2 KB, in process, ratio of the median time; 100 KB = 100 000 bytes of source",
            b.count
        ),
    )
}

pub(super) fn measure(options: &Options) -> Result<Ratio, Error> {
    let b = bundles(options)?;
    Ok(ratio_of(
        ID,
        TITLE,
        &b.warm,
        ("from source per 100 KB", &b.cold),
        &b,
    ))
}

pub(super) fn measure_from_source(options: &Options) -> Result<Ratio, Error> {
    let b = bundles(options)?;
    Ok(ratio_of(
        SOURCE_ID,
        SOURCE_TITLE,
        &b.cold,
        ("modules cached, per 100 KB", &b.warm),
        &b,
    ))
}
