//! `somon-verify bench-compare`: measures the performance ratios P1–P7 on
//! this box, prints the table and writes JSON. The measuring lives in
//! `somon_benches::compare`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use somon_benches::compare::{self, Options};
use somon_scenarios::Exit;

/// Flags of `bench-compare`.
#[derive(clap::Args)]
pub(crate) struct BenchCompareArgs {
    /// Write the comparison as JSON here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Repetitions of each throughput and recovery measurement (median
    /// reported).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=20))]
    repeats: u64,
    /// Seconds of each throughput run.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
    seconds: u64,
    /// Connections (wrk -c) and the open model's in-flight cap.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1000))]
    connections: u32,
    /// Measure only these ratios (P1, P2, P3, P5, P6, P7; repeatable).
    #[arg(long = "only", value_name = "ID", value_parser = clap::builder::PossibleValuesParser::new(compare::IDS))]
    only: Vec<String>,
}

/// Runs the comparison; exit 0 when every goal is met, 1 when one is
/// missed, 3 when one could not be measured (and none missed) or the JSON
/// could not be written.
pub(crate) fn run_bench_compare(args: &BenchCompareArgs) -> Exit {
    match bench_compare(args) {
        Ok(exit) => exit,
        Err(error) => {
            eprintln!("error: {error:#}");
            Exit::Inconclusive
        }
    }
}

fn bench_compare(args: &BenchCompareArgs) -> anyhow::Result<Exit> {
    let options = Options {
        repeats: args.repeats as usize,
        run_time: Duration::from_secs(args.seconds),
        connections: args.connections,
        only: args.only.clone(),
    };
    let comparison = compare::run(&options, |id| eprintln!("measuring {id} …"));
    print!("{}", comparison.table());
    if let Some(out) = &args.out {
        let json = serde_json::to_string_pretty(&comparison)?;
        std::fs::write(out, json + "\n").with_context(|| format!("writing {}", out.display()))?;
        println!("\nJSON written to {}", out.display());
    }
    Ok(if comparison.any_missed() {
        Exit::Fail
    } else if comparison.all_met() {
        Exit::Pass
    } else {
        Exit::Inconclusive
    })
}
