//! `somon-verify`: the command line. Parses arguments, calls one `run_*`
//! per subcommand, maps the exit code it returns. The work lives in the
//! library crates and in one module per command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use somon_system::server::ServeArgs;

mod baseline;
mod bench_compare;
mod bundle;
mod capacity;
mod catalog;
mod check;
mod compare;
mod corpus;
mod exit;
mod gameday;
mod init;
mod merge;
mod mutants;
mod report;
mod run;
mod serve;
mod session;
mod standin;

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
    Corpus(corpus::CorpusArgs),
    /// Bundle an entry module and its dependencies into one CommonJS file.
    Bundle(bundle::BundleArgs),
    /// Run the reference module system's HTTP server (default 127.0.0.1:8080).
    Serve(ServeArgs),
    /// Run the stand-in service (default 127.0.0.1:3000): a profile's
    /// target with one knob per threshold, as the mutation matrix runs it.
    Standin(standin::StandInArgs),
    /// List the scenarios of a catalog with their claims.
    Scenarios {
        /// The catalog directory.
        #[arg(long, default_value = "scenarios/catalog")]
        dir: PathBuf,
    },
    /// Write a commented starter scenario for your own service (a URL
    /// target): a request, a warm-up and a measured phase, claims to edit.
    Init(init::InitArgs),
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
    /// its defect twins. Exit 0 all caught, 1 a twin missed or a
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

fn main() -> ExitCode {
    let exit = match Cli::parse().command {
        Command::Corpus(args) => corpus::run_corpus(args),
        Command::Bundle(args) => bundle::run_bundle(args),
        Command::Serve(args) => serve::run_serve(args),
        Command::Standin(args) => standin::run_standin(&args),
        Command::Scenarios { dir } => catalog::run_scenarios(&dir),
        Command::Init(args) => init::run_init(&args),
        Command::Check { file } => check::run_check(&file),
        Command::Run { scenario, flags } => run::run_scenario(&scenario, &flags),
        Command::Mutants(args) => mutants::run_mutants(&args),
        Command::Report { dir } => report::run_report(&dir),
        Command::Capacity(args) => capacity::run_capacity(&args),
        Command::Merge(args) => merge::run_merge(&args),
        Command::Compare(args) => compare::run_compare(&args),
        Command::Gameday { plan, flags } => gameday::run_gameday(&plan, &flags),
        Command::Gate {
            suite,
            baseline,
            flags,
        } => run::run_gate(&suite, baseline.as_deref(), &flags),
        Command::Baseline(BaselineCommand::Save { dir, out }) => {
            baseline::run_save(&dir, out.as_deref())
        }
        Command::BenchCompare(args) => bench_compare::run_bench_compare(&args),
    };
    ExitCode::from(exit)
}
