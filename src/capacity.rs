//! `somon-verify capacity [SCENARIO]`: step a scenario's load until a claim
//! fails, and report the knee, the curve and the documents' scaling
//! figures. Each step's run directory is written as it finishes.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use somon_scenarios::capacity::{self, CapacityReport, StepOutcome, StepResult};
use somon_scenarios::{parse_duration, Exit, RunError, RunReport, Scenario, Secrets};

use crate::run::RunFlags;
use crate::session::Session;

/// Arguments of `capacity`.
#[derive(clap::Args)]
pub(crate) struct CapacityArgs {
    /// A scenario with a `[capacity]` table.
    #[arg(default_value = "scenarios/catalog/capacity.toml")]
    scenario: PathBuf,
    /// Loads to step through instead of the file's (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "LOADS")]
    steps: Vec<f64>,
    /// Least time each step holds instead of the file's (e.g. `20s`).
    #[arg(long, value_name = "DURATION")]
    hold: Option<String>,
    #[command(flatten)]
    flags: RunFlags,
}

/// Runs the search and returns the process exit code.
pub(crate) fn run_capacity(args: &CapacityArgs) -> Exit {
    let scenario = match read(args) {
        Ok(scenario) => scenario,
        Err(message) => {
            eprintln!("{message}");
            return Exit::Usage;
        }
    };
    Session::builder("capacity", format!("capacity-{}", scenario.name))
        .file(&args.scenario)
        .out(args.flags.out.clone())
        .target(args.flags.target.clone(), args.flags.embedded)
        .defects(args.flags.defects.clone())
        .run(async |session| search(&session, args, scenario).await)
}

/// The scenario with the command line's overrides, or why not.
fn read(args: &CapacityArgs) -> Result<Scenario, String> {
    let file = &args.scenario;
    let mut scenario = crate::run::read(file)?;
    if args.flags.shard.is_some() || args.flags.start_at.is_some() {
        return Err(
            "error: capacity runs each step whole; --shard and --start-at are for `run`".to_owned(),
        );
    }
    let Some(spec) = scenario.capacity.as_mut() else {
        return Err(format!(
            "error: {}: the scenario has no [capacity] table (which phase to step, and through which loads)",
            file.display()
        ));
    };
    if !args.steps.is_empty() {
        let ascending = args.steps.windows(2).all(|w| w[0] < w[1]);
        if !ascending || args.steps.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err("error: --steps: loads must be positive and ascending".to_owned());
        }
        spec.steps = args.steps.clone();
    }
    if let Some(hold) = &args.hold {
        spec.hold = parse_duration(hold)
            .ok_or_else(|| format!("error: --hold: \"{hold}\" is not a duration (e.g. 20s)"))?;
    }
    Ok(scenario)
}

async fn search(
    session: &Session,
    args: &CapacityArgs,
    scenario: Scenario,
) -> anyhow::Result<Exit> {
    let Some(spec) = scenario.capacity.clone() else {
        return Ok(Exit::Usage);
    };
    let out = session.out();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let unit = capacity::unit(&scenario, &spec);
    let plan = capacity::plan(&scenario, &spec);
    eprintln!(
        "capacity of {}: stepping phase \"{}\" through {} ({} steps, up to {:?})",
        scenario.name,
        spec.phase,
        plan.iter()
            .map(|s| format!("{}{}", s.load, unit.suffix()))
            .collect::<Vec<_>>()
            .join(", "),
        plan.len(),
        plan.iter().map(|s| s.hold).sum::<std::time::Duration>(),
    );
    let mut step_dirs = Vec::new();
    let mut write_error = None;
    let result = capacity::search(
        &scenario,
        &spec,
        |step| session.options(&format!("step-{}", step.load)),
        |step, report| {
            let dir = out.join(format!("step-{:02}-{}", step_dirs.len() + 1, step.load));
            if let Err(e) = write_step(&dir, report, &scenario.secrets) {
                write_error.get_or_insert(e);
            }
            eprintln!("{}", progress_line(step, unit.suffix()));
            step_dirs.push(dir);
        },
    )
    .await;
    if let Some(e) = write_error {
        return Err(e);
    }
    let report = match result {
        Ok(report) => report,
        Err(e @ RunError::Usage(_)) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage);
        }
        Err(e) => return Err(e.into()),
    };
    write_curve(out, &scenario, &report)?;
    let json = serde_json::to_string_pretty(&report).context("encoding capacity.json")?;
    let json = scenario.secrets.redact(&json).into_owned();
    std::fs::write(out.join("capacity.json"), json + "\n")
        .with_context(|| format!("writing {}", out.join("capacity.json").display()))?;
    if args.flags.json {
        println!("{}", std::fs::read_to_string(out.join("capacity.json"))?);
    } else {
        print!("{}", table(&report));
    }
    eprintln!("capacity directory: {}", out.display());
    Ok(report.exit_code())
}

/// The chart and pages of the curve (`charts/capacity.*`, `capacity.html`,
/// `capacity.md`), then the scaling figures' verdicts under the Markdown.
pub(crate) fn write_curve(
    out: &Path,
    scenario: &Scenario,
    report: &CapacityReport,
) -> anyhow::Result<()> {
    use somon_reports::capacity::{write_capacity_dir, CapacityCurve, CapacityStep};
    use somon_scenarios::Metric;
    let unit = match report.unit {
        capacity::LoadUnit::PerSecond => "/s",
        capacity::LoadUnit::Users => "users",
    };
    // The p99 claim on the stepped phase, if there is one, is the line
    // drawn across the latency panel.
    let threshold_s = scenario
        .claims
        .iter()
        .filter(|c| c.phase.as_deref() == Some(report.phase.as_str()))
        .find(|c| matches!(c.expect.metric, Metric::Latency { quantile, .. } if quantile == 0.99))
        .map(|c| c.expect.threshold.value());
    let curve = CapacityCurve {
        name: report.scenario.clone(),
        steps: report
            .steps
            .iter()
            .map(|s| CapacityStep {
                load: s.load,
                unit: unit.to_owned(),
                p99_s: s.p99_s,
                achieved_rps: s.achieved_rps,
                error_rate: s.error_rate,
                passed: s.outcome == StepOutcome::Pass,
            })
            .collect(),
        knee: report.knee,
        threshold_s,
    };
    if curve.steps.is_empty() {
        return Ok(());
    }
    write_capacity_dir(out, &curve)
        .with_context(|| format!("writing the capacity chart in {}", out.display()))?;
    if !report.figures.is_empty() {
        use std::fmt::Write as _;
        let md = out.join("capacity.md");
        let mut text = std::fs::read_to_string(&md).unwrap_or_default();
        let _ = writeln!(text, "\n## Scaling figures\n");
        let _ = writeln!(text, "| verdict | figure | source | expected | evidence |");
        let _ = writeln!(text, "| --- | --- | --- | --- | --- |");
        for v in &report.figures {
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {} |",
                format!("{:?}", v.outcome).to_uppercase(),
                v.claim,
                v.source.replace('|', "\\|"),
                v.expected,
                v.evidence.replace('|', "\\|")
            );
        }
        let text = scenario.secrets.redact(&text);
        std::fs::write(&md, text.as_bytes())
            .with_context(|| format!("writing {}", md.display()))?;
    }
    Ok(())
}

fn write_step(dir: &Path, report: &RunReport, secrets: &Secrets) -> anyhow::Result<()> {
    somon_reports::write_run_dir_redacted(dir, report, secrets)
        .with_context(|| format!("writing the step's run directory {}", dir.display()))?;
    Ok(())
}

/// One line per finished step, as it finishes.
fn progress_line(step: &StepResult, unit: &str) -> String {
    let p99 = step
        .p99_s
        .map_or("—".to_owned(), |p| format!("{:.1} ms", p * 1000.0));
    format!(
        "  step {}{unit}: {:?} — p99 {p99}, {:.0} req/s, errors {:.2} % — {}",
        step.load,
        step.outcome,
        step.achieved_rps,
        step.error_rate * 100.0,
        step.reason
    )
}

/// The curve, the knee and the figures as a plain table.
fn table(report: &CapacityReport) -> String {
    use std::fmt::Write as _;
    let u = report.unit.suffix();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>12}  {:<12}  {:>10}  {:>10}  {:>8}  {:>9}  {:>8}",
        "LOAD", "STEP", "P99", "ACHIEVED", "ERRORS", "PEAK RSS", "CPU"
    );
    for (i, s) in report.steps.iter().enumerate() {
        let mark = if Some(i) == report.knee {
            " <- knee"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:>12}  {:<12}  {:>10}  {:>8.0}/s  {:>7.2}%  {:>9}  {:>8}{mark}",
            format!("{}{u}", s.load),
            match s.outcome {
                StepOutcome::Pass => "PASS",
                StepOutcome::Fail => "FAIL",
                StepOutcome::Inconclusive => "INCONCLUSIVE",
            },
            s.p99_s
                .map_or("—".to_owned(), |p| format!("{:.1} ms", p * 1000.0)),
            s.achieved_rps,
            s.error_rate * 100.0,
            s.peak_rss_bytes
                .map_or("—".to_owned(), |b| format!("{:.0} MiB", b / 1048576.0)),
            s.cpu_millicores
                .map_or("—".to_owned(), |m| format!("{m:.0}m")),
        );
    }
    let _ = writeln!(
        out,
        "\nknee: {} (search ended: {:?})",
        report
            .knee_load()
            .map_or("none — no step passed".to_owned(), |k| format!("{k}{u}")),
        report.stop
    );
    for v in &report.figures {
        let _ = writeln!(
            out,
            "{:<8} {}: {} — {}",
            format!("{:?}", v.outcome).to_uppercase(),
            v.claim,
            v.expected,
            v.evidence
        );
    }
    out
}
