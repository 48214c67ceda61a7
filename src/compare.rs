//! `somon-verify compare A B`: two run directories side by side — overlaid
//! latency distributions, p99 and throughput over time, and a delta table
//! — written to an output directory by `somon_reports::compare`.

use std::path::PathBuf;

use somon_scenarios::Exit;

/// Arguments of `compare`.
#[derive(clap::Args)]
pub(crate) struct CompareArgs {
    /// The first run directory (holds record.json); deltas are B − A.
    a: PathBuf,
    /// The second run directory.
    b: PathBuf,
    /// Where to write compare.html, compare.md, compare.json and charts/
    /// (default `reports/out/compare-<utc>`).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs the comparison; an error (bad directory, unwritable output) is
/// exit 2.
pub(crate) fn run_compare(args: &CompareArgs) -> Exit {
    crate::exit::from_input(compare(args))
}

fn compare(args: &CompareArgs) -> anyhow::Result<()> {
    let out = crate::session::out_dir_with(args.out.clone(), |stamp| format!("compare-{stamp}"));
    let written = somon_reports::compare::compare_dirs(&args.a, &args.b, &out)?;
    eprintln!(
        "wrote {} files; open {}",
        written.len(),
        out.join("compare.html").display()
    );
    Ok(())
}
