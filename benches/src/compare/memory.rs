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
    // The corpus is written by a thread that stays alive until the
    // measurement is over: glibc gives a live thread its own malloc arena,
    // so the memory the generator freed cannot be reused by the cache
    // below (which would hide part of the cache's growth from VmRSS).
    let (ids_tx, ids_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let root = dir.path().to_path_buf();
    let writer = std::thread::spawn(move || {
        let corpus = generate(
            &root,
            &CorpusSpec {
                modules: MODULES,
                seed: 8,
                ..CorpusSpec::default()
            },
        );
        let ids = corpus.map(|c| {
            c.modules
                .iter()
                .map(|m| m.id.to_string())
                .collect::<Vec<_>>()
        });
        let _ = ids_tx.send(ids);
        let _ = done_rx.recv();
    });
    let ids = ids_rx
        .recv()
        .map_err(|_| Error::Failed("the corpus writer died".into()))?
        .map_err(Error::System)?;
    let root = dir.path().to_path_buf();
    let measured = std::thread::spawn(move || fill(&root, &ids)).join();
    let _ = done_tx.send(());
    let _ = writer.join();
    measured.map_err(|_| Error::Failed("the measuring thread panicked".into()))?
}

/// Loads every module of `ids` into a new cache on this (fresh) thread
/// and divides the RSS growth by the modules' bytes.
fn fill(root: &std::path::Path, ids: &[String]) -> Result<Ratio, Error> {
    let resolver = Resolver::new(root, ResolverConfig::default()).map_err(Error::System)?;
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
    for id in ids {
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
            Raw::new("claim per module (deployment guide)", 50_000.0, "bytes"),
        ],
        format!(
            "{MODULES} modules (~2 KB each) loaded into an in-process cache on a fresh thread (own malloc arena); VmRSS before and after; the cache keeps compiled code, not source"
        ),
    ))
}
