//! `somon-verify corpus DIR`: a generated SomonScript module tree (seeded,
//! reproducible) written to a directory, and its summary printed as JSON.

use std::path::PathBuf;

use anyhow::Context as _;
use somon_scenarios::Exit;
use somon_system::CorpusSpec;

/// Arguments of `corpus`.
#[derive(clap::Args)]
pub(crate) struct CorpusArgs {
    /// Directory to write the modules into (created if missing).
    dir: PathBuf,
    /// Number of modules.
    #[arg(long, default_value_t = CorpusSpec::default().modules)]
    modules: usize,
    /// Seed: the same seed writes byte-identical trees.
    #[arg(long, default_value_t = CorpusSpec::default().seed)]
    seed: u64,
    /// Deepest directory nesting.
    #[arg(long, default_value_t = CorpusSpec::default().max_depth)]
    depth: usize,
    /// Mean module size in bytes.
    #[arg(long, default_value_t = CorpusSpec::default().mean_module_bytes)]
    mean_bytes: usize,
    /// External package names modules may import (comma-separated).
    #[arg(long, value_delimiter = ',')]
    externals: Vec<String>,
    /// Share of modules that import an external.
    #[arg(long, default_value_t = 0.1)]
    external_fraction: f64,
    /// Number of entry modules.
    #[arg(long, default_value_t = CorpusSpec::default().entries)]
    entries: usize,
    /// Number of deliberate two-module import cycles.
    #[arg(long, default_value_t = 0)]
    cycles: usize,
}

/// Writes the corpus and prints its summary; exit 2 when it cannot be
/// written.
pub(crate) fn run_corpus(args: CorpusArgs) -> Exit {
    crate::exit::from_input(corpus(args))
}

fn corpus(args: CorpusArgs) -> anyhow::Result<()> {
    let spec = CorpusSpec {
        modules: args.modules,
        seed: args.seed,
        max_depth: args.depth,
        mean_module_bytes: args.mean_bytes,
        externals: args.externals,
        external_fraction: args.external_fraction,
        entries: args.entries,
        cycles: args.cycles,
    };
    let corpus = somon_system::generate(&args.dir, &spec)
        .with_context(|| format!("writing a corpus to {}", args.dir.display()))?;
    let summary = serde_json::json!({
        "root": corpus.root,
        "modules": corpus.modules.len(),
        "entries": corpus.entries,
        "externals": corpus.externals,
        "totalBytes": corpus.total_bytes,
    });
    println!("{summary:#}");
    Ok(())
}
