//! `somon-verify`: the command line. Parses arguments, calls one `run_*`
//! per subcommand, maps the outcome to an exit code. The work lives in the
//! library crates.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use somon_system::server::{run_serve, ServeArgs};
use somon_system::{
    bundle, BundleOptions, CacheLimits, CorpusSpec, CycleStrategy, Error, GraphOptions, Loader,
    ModuleCache, ModuleGraph, Resolver, ResolverConfig, Validation,
};

mod baseline;
mod bench_compare;
mod capacity;
mod compare;
mod gameday;
mod merge;
mod mutants;
mod run;
mod session;

/// Exit code for bad input: usage, unreadable scenario, failing module.
const EXIT_INPUT: u8 = 2;

#[derive(Parser)]
#[command(
    name = "somon-verify",
    version,
    about = "Turns the numbers in operations documents into measured verdicts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a generated SomonScript module tree (seeded, reproducible).
    Corpus(CorpusArgs),
    /// Bundle an entry module and its dependencies into one CommonJS file.
    Bundle(BundleArgs),
    /// Run the reference module system's HTTP server (default 127.0.0.1:8080).
    Serve(ServeArgs),
    /// List the scenarios of a catalog with their claims.
    Scenarios {
        /// The catalog directory.
        #[arg(long, default_value = "scenarios/catalog")]
        dir: PathBuf,
    },
    /// Check a scenario file: every problem with file:line:col (exit 2).
    Check {
        /// The scenario file.
        file: PathBuf,
    },
    /// Run a scenario: verdicts on stdout, files in the run directory.
    /// Exit 0 all PASS, 1 a claim FAILED, 2 bad scenario, 3 run invalid,
    /// cut short or a verdict UNKNOWN.
    Run {
        /// The scenario file.
        scenario: PathBuf,
        #[command(flatten)]
        flags: run::RunFlags,
    },
    /// The mutation matrix: each mapped claim against the sound system and
    /// its defect twins (SPEC §8). Exit 0 all caught, 1 a twin missed or a
    /// false alarm, 3 a run proved nothing.
    Mutants(mutants::MutantsArgs),
    /// Re-render a run directory from its record.json: charts, report.html
    /// and the other artefacts, without running anything.
    Report {
        /// The run directory (holds record.json).
        dir: PathBuf,
    },
    /// Capacity search: step a scenario's load (its `[capacity]` table)
    /// until a claim fails; report the knee, the curve and the documents'
    /// scaling figures. Exit 0 knee found and figures hold, 1 a figure or
    /// the lowest step failed, 3 nothing decided.
    Capacity(capacity::CapacityArgs),
    /// Merge the run directories of `run --shard I/N` shards into one run
    /// at the whole load: histograms added exactly, counters summed, time
    /// series aligned; verdicts judged again and the report written (exit
    /// codes as `run`; 2 when the directories are not one run's shards).
    Merge(merge::MergeArgs),
    /// Compare two run directories: overlaid latency distributions, p99
    /// and throughput over time, and a B − A delta table, written to
    /// --out (exit 2 when a directory is not a run directory).
    Compare(compare::CompareArgs),
    /// Run a game-day plan: a scenario plus drills (fault → detection →
    /// runbook remedy → verified recovery), each measured; exit codes as
    /// `run`.
    Gameday {
        /// The plan file (e.g. scenarios/catalog/gamedays/registry-outage.toml).
        plan: PathBuf,
        #[command(flatten)]
        flags: gameday::GameDayFlags,
    },
    /// The CI gate: run the quick suite (exit codes as `run`).
    Gate {
        /// The gate suite.
        #[arg(long, default_value = "ci/quick.toml")]
        suite: PathBuf,
        /// Compare with this saved baseline (`baseline save`); a
        /// significant regression beyond the suite's `[regression]`
        /// tolerance fails the gate (exit 1).
        #[arg(long, value_name = "DIR")]
        baseline: Option<PathBuf>,
        #[command(flatten)]
        flags: run::RunFlags,
    },
    /// Regression baselines: `baseline save RUN_DIR`.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Performance ratios P1–P7 measured on this box against references
    /// (trivial endpoint, wrk, documented figures); table + JSON. Exit 0
    /// all goals met, 1 one missed, 3 one unmeasured.
    BenchCompare(bench_compare::BenchCompareArgs),
}

/// `baseline …`
#[derive(Subcommand)]
enum BaselineCommand {
    /// Condense a finished run directory into a baseline for
    /// `gate --baseline` (default `ci/baselines/<scenario>/baseline.json`).
    Save {
        /// The run directory (holds record.json).
        dir: PathBuf,
        /// Where to write it (a directory).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct CorpusArgs {
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

#[derive(clap::Args)]
struct BundleArgs {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Corpus(args) => run_corpus(args),
        Command::Bundle(args) => run_bundle(args),
        Command::Check { file } => run_check(&file),
        Command::Scenarios { dir } => run_scenarios(&dir),
        Command::Report { dir } => run_report(&dir),
        Command::Compare(args) => compare::run_compare(&args),
        Command::Run { scenario, flags } => {
            return ExitCode::from(run::run_scenario(&scenario, &flags));
        }
        Command::Gate {
            suite,
            baseline: Some(dir),
            flags,
        } => return ExitCode::from(baseline::gate(&suite, &flags, &dir)),
        Command::Gate { suite, flags, .. } => {
            return ExitCode::from(run::run_scenario(&suite, &flags))
        }
        Command::Baseline(BaselineCommand::Save { dir, out }) => {
            baseline::save(&dir, out.as_deref())
                .map(|file| println!("baseline written: {}", file.display()))
        }
        Command::Capacity(args) => return ExitCode::from(capacity::run_capacity(&args)),
        Command::Gameday { plan, flags } => {
            return ExitCode::from(gameday::run_gameday(&plan, &flags))
        }
        Command::Mutants(args) => return ExitCode::from(mutants::run_mutants(&args)),
        Command::Merge(args) => return ExitCode::from(merge::run_merge(&args)),
        Command::BenchCompare(args) => {
            return match bench_compare::bench_compare(&args) {
                Ok(code) => ExitCode::from(code),
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::from(3)
                }
            };
        }
        Command::Serve(args) => {
            return match run_serve(args) {
                Ok(true) => ExitCode::SUCCESS,
                // The drain timed out: some accepted requests were cut.
                Ok(false) => ExitCode::from(1),
                Err(message) => {
                    eprintln!("error: {message}");
                    ExitCode::from(EXIT_INPUT)
                }
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_INPUT)
        }
    }
}

fn run_corpus(args: CorpusArgs) -> anyhow::Result<()> {
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

fn run_check(file: &std::path::Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    if text
        .lines()
        .any(|l| l.trim_start().starts_with("[[drills]]"))
    {
        let plan = somon_scenarios::gameday::Plan::from_toml(file, &text)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "{}: ok — game-day plan, {} drill(s), {:?} planned",
            file.display(),
            plan.drills.len(),
            plan.scenario.duration()
        );
        return Ok(());
    }
    let scenario =
        somon_scenarios::Scenario::from_toml(file, &text).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{}: ok — {} phase(s), {:?} planned, {} fault step(s), {} claim(s), {} alert(s)",
        file.display(),
        scenario.phases.len(),
        scenario.duration(),
        scenario.faults.len(),
        scenario.claims.len(),
        scenario.alerts.len()
    );
    Ok(())
}

fn run_report(dir: &std::path::Path) -> anyhow::Result<()> {
    let written = somon_reports::render_dir(dir)
        .with_context(|| format!("re-rendering the run directory {}", dir.display()))?;
    eprintln!(
        "wrote {} files; open {}",
        written.len(),
        dir.join("report.html").display()
    );
    Ok(())
}

fn run_scenarios(dir: &std::path::Path) -> anyhow::Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading the catalog {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut problems = 0;
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        match somon_scenarios::Scenario::from_toml(&file, &text) {
            Ok(scenario) => {
                println!(
                    "{}  ({:?})  {}",
                    file.display(),
                    scenario.duration(),
                    scenario.description
                );
                for claim in scenario.claims.iter().chain(&scenario.alerts) {
                    println!("    {:<32} {}", claim.id, claim.expect);
                }
            }
            Err(error) => {
                problems += 1;
                eprintln!("{error}");
            }
        }
    }
    if problems > 0 {
        anyhow::bail!("{problems} scenario file(s) have problems");
    }
    Ok(())
}

fn run_bundle(args: BundleArgs) -> anyhow::Result<()> {
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
fn located(root: &std::path::Path, error: Error) -> anyhow::Error {
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
