//! The overlaid charts of a comparison: per journey, the two runs' latency
//! distributions and p99 over time; then the two runs' throughput. A is
//! always the first colour and B the second, and the legend names them.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Run;
use crate::charts::data::{self, JourneyLatency};
use crate::charts::percentiles::Percentiles;
use crate::charts::style::{self, SERIES};
use crate::charts::{file_stem, ChartFile, Draw};

/// Lines over the run clock, one per run.
struct Overlay {
    caption: String,
    y_desc: &'static str,
    /// (legend name, (seconds, value) points) per line.
    lines: Vec<(String, Vec<(f64, f64)>)>,
    x_high: f64,
}

impl Draw for Overlay {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let highest = self
            .lines
            .iter()
            .flat_map(|(_, points)| points)
            .map(|p| p.1)
            .fold(0.0, f64::max);
        let y_high = (highest * 1.15).max(1.0);
        let mut chart = style::time_chart(
            root,
            &self.caption,
            self.y_desc,
            (self.x_high.max(1.0), y_high),
            &[],
        )?;
        for (i, (name, points)) in self.lines.iter().enumerate() {
            let colour = SERIES[i % SERIES.len()];
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2))
                });
        }
        style::legend(&mut chart)?;
        root.present()
    }
}

/// Which run a line belongs to, as the legend says it.
fn legend(which: &str, run: &Run, what: &str) -> String {
    if what.is_empty() {
        format!("{which}: {}", run.label)
    } else {
        format!("{which}: {} {what}", run.label)
    }
}

/// Draws every overlaid chart, in a fixed order: per journey (name
/// order) its distribution then its p99 over time, then throughput. A
/// journey only one run has gets that run's line alone.
///
/// # Errors
/// An interval log that does not parse, or a drawing failure.
pub(crate) fn render(a: &Run, b: &Run) -> Result<Vec<ChartFile>, String> {
    let la = data::latencies(&a.report)?;
    let lb = data::latencies(&b.report)?;
    let x_high = data::run_end(&a.report).max(data::run_end(&b.report));
    let mut journeys: Vec<&String> = la.keys().chain(lb.keys()).collect();
    journeys.sort_unstable();
    journeys.dedup();

    let mut out = Vec::new();
    for journey in journeys {
        let both = [("A", a, la.get(journey)), ("B", b, lb.get(journey))];
        let present = || {
            both.iter()
                .filter_map(|(w, run, l)| Some((*w, *run, (*l)?)))
        };
        let series = present()
            .map(|(w, run, l)| (legend(w, run, ""), &l.whole))
            .collect();
        out.push(ChartFile::draw(
            format!("percentiles-{}", file_stem(journey)),
            format!("Latency distribution of {journey}, A and B"),
            &Percentiles { journey, series },
        )?);
        out.push(ChartFile::draw(
            format!("p99-{}", file_stem(journey)),
            format!("p99 latency of {journey} over time, A and B"),
            &Overlay {
                caption: format!("p99 latency of {journey}"),
                y_desc: "latency (ms)",
                lines: present()
                    .map(|(w, run, l)| (legend(w, run, "p99"), p99_points(l)))
                    .collect(),
                x_high,
            },
        )?);
    }
    let throughput = |run: &Run| -> Vec<(f64, f64)> {
        data::throughput(&run.report)
            .into_iter()
            .map(|(t, rps, _)| (t, rps))
            .collect()
    };
    out.push(ChartFile::draw(
        "throughput".into(),
        "Throughput over time, A and B".into(),
        &Overlay {
            caption: "Throughput".into(),
            y_desc: "requests per second",
            lines: vec![
                (legend("A", a, "requests/s"), throughput(a)),
                (legend("B", b, "requests/s"), throughput(b)),
            ],
            x_high,
        },
    )?);
    Ok(out)
}

/// (run-clock seconds, p99 ms) per interval.
fn p99_points(latency: &JourneyLatency) -> Vec<(f64, f64)> {
    latency
        .intervals
        .iter()
        .map(|(at, h)| (at.as_secs_f64(), h.value_at_quantile(0.99) as f64 / 1e3))
        .collect()
}
