//! P6: what one cached module costs in resident memory, against the bytes
//! it is made of (source + compiled code).

use std::time::Instant;

use somon_system::{
    generate, CacheLimits, CorpusSpec, Loader, ModuleCache, Resolver, ResolverConfig, Validation,
};

use super::{Error, Goal, Options, Ratio, Raw};

pub(super) const ID: &str = "P6";
pub(super) const TITLE: &str =
    "RSS growth per cached module ÷ its source + compiled bytes (10 000 modules)";
pub(super) const GOAL: Goal = Goal::AtMost(1.3);

const MODULES: usize = 10_000;

/// This process's resident set, from `/proc/self/status` (`VmRSS`).
fn rss_bytes() -> Result<u64, Error> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| Error::Failed("no VmRSS in /proc/self/status (Linux only)".into()))
}

pub(super) fn measure(_options: &Options) -> Result<Ratio, Error> {
    let dir = tempfile::tempdir()?;
    let corpus = generate(
        dir.path(),
        &CorpusSpec {
            modules: MODULES,
            seed: 8,
            ..CorpusSpec::default()
        },
    )
    .map_err(Error::System)?;
    let ids: Vec<String> = corpus.modules.iter().map(|m| m.id.to_string()).collect();
    drop(corpus);
    let resolver = Resolver::new(dir.path(), ResolverConfig::default()).map_err(Error::System)?;
    let cache = ModuleCache::new(
        resolver.root().to_path_buf(),
        CacheLimits {
            max_entries: MODULES * 2,
            max_bytes: u64::MAX,
        },
        Validation::Stat,
    );
    let loader = Loader::new(resolver, cache);
    let before = rss_bytes()?;
    let (mut source, mut compiled) = (0u64, 0u64);
    for id in &ids {
        let loaded = loader.load(id, Instant::now()).map_err(Error::System)?;
        source += loaded.module.source_bytes;
        compiled += loaded.module.code.len() as u64;
    }
    let after = rss_bytes()?;
    let cached = loader.cache().len();
    if cached != ids.len() {
        return Err(Error::Failed(format!(
            "{cached} of {} modules stayed in the cache",
            ids.len()
        )));
    }
    let growth = after.saturating_sub(before) as f64;
    let made_of = (source + compiled) as f64;
    let n = cached as f64;
    Ok(Ratio::measured(
        ID,
        TITLE,
        GOAL,
        vec![growth / made_of],
        vec![
            Raw::new("RSS growth per module", growth / n, "bytes"),
            Raw::new("source per module", source as f64 / n, "bytes"),
            Raw::new("compiled per module", compiled as f64 / n, "bytes"),
            Raw::new(
                "cache's own accounting per module",
                loader.cache().memory_bytes() as f64 / n,
                "bytes",
            ),
            Raw::new("claim per module (seeds/003)", 50_000.0, "bytes"),
        ],
        format!(
            "{MODULES} modules (~2 KB each) loaded into an in-process cache; VmRSS before and after; measured first, on a fresh heap"
        ),
    ))
}
