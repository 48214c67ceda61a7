//! `somon-verify bundle ENTRY`: an entry module and its dependencies
//! bundled into one CommonJS file (and a source map), with bad input
//! reported as `file:line:col`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use somon_scenarios::Exit;
use somon_system::{
    bundle, BundleOptions, CacheLimits, CycleStrategy, Error, GraphOptions, Loader, ModuleCache,
    ModuleGraph, Resolver, ResolverConfig, Validation,
};

/// Arguments of `bundle`.
#[derive(clap::Args)]
pub(crate) struct BundleArgs {
    /// Entry module, relative to the root (e.g. `app/main.som`).
    entry: String,
    /// Module root directory.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// What to do with import cycles.
    #[arg(long, default_value_t = CycleStrategy::Warn)]
    cycles: CycleStrategy,
    /// Bare names resolved as externals (left to the host's `require`).
    #[arg(long = "external", value_name = "NAME")]
    externals: Vec<String>,
    /// Write the bundle here instead of standard output.
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Also write a source map (v3) to this file.
    #[arg(long, value_name = "FILE")]
    source_map: Option<PathBuf>,
}

/// Bundles the entry; exit 2 on a module that does not resolve or parse,
/// or a file that cannot be written.
pub(crate) fn run_bundle(args: BundleArgs) -> Exit {
    crate::exit::from_input(write_bundle(args))
}

fn write_bundle(args: BundleArgs) -> anyhow::Result<()> {
    let config = ResolverConfig {
        externals: args.externals.clone(),
        ..ResolverConfig::default()
    };
    let resolver = Resolver::new(&args.root, config).map_err(|e| located(&args.root, e))?;
    let cache = ModuleCache::new(
        resolver.root().to_path_buf(),
        CacheLimits::default(),
        Validation::Stat,
    );
    let loader = Loader::new(resolver, cache);
    let options = GraphOptions {
        cycles: args.cycles,
        externals: args.externals.clone(),
    };
    let graph = ModuleGraph::build(&loader, &args.entry, &options, Instant::now())
        .map_err(|e| located(&args.root, e))?;
    let out = bundle(
        &graph,
        &BundleOptions {
            source_map: args.source_map.is_some(),
            externals: args.externals,
            ..BundleOptions::default()
        },
    );
    for warning in &out.warnings {
        eprintln!("warning: {warning}");
    }
    match &args.out {
        Some(path) => std::fs::write(path, &out.code)
            .with_context(|| format!("writing {}", path.display()))?,
        None => print!("{}", out.code),
    }
    if let (Some(path), Some(map)) = (&args.source_map, &out.map) {
        std::fs::write(path, map).with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!("bundled {} modules, {} bytes", out.modules, out.bytes);
    Ok(())
}

/// Puts `file:line:col` first, as compilers do, so editors can jump to it.
fn located(root: &Path, error: Error) -> anyhow::Error {
    let place = match &error {
        Error::Parse { module, error: e } => Some((module.path_in(root), e.at)),
        Error::ModuleNotFound {
            importer: Some(importer),
            ..
        }
        | Error::PathEscapesRoot {
            importer: Some(importer),
            ..
        } => Some((importer.module.path_in(root), importer.at)),
        _ => None,
    };
    let code = error.code();
    match (place, &error) {
        (Some((path, at)), Error::Parse { error: e, .. }) => {
            anyhow::anyhow!("{}:{at}: {} ({code})", path.display(), e.message)
        }
        (Some((path, at)), _) => anyhow::anyhow!("{}:{at}: {error} ({code})", path.display()),
        (None, _) => anyhow::anyhow!("{error} ({code})"),
    }
}
