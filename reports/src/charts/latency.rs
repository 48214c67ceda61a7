//! `latency-<journey>`: p50, p99 and p99.9 per second over the run, fault
//! windows shaded, the claimed thresholds drawn across.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::data::{FaultWindow, JourneyLatency, Threshold};
use super::style::{self, SERIES, THRESHOLD};

/// The quantiles drawn, with their legend names.
const QUANTILES: [(f64, &str); 3] = [(0.5, "p50"), (0.99, "p99"), (0.999, "p99.9")];

/// Everything one latency chart shows.
pub(super) struct Latency<'a> {
    pub(super) journey: &'a str,
    pub(super) data: &'a JourneyLatency,
    pub(super) thresholds: Vec<Threshold>,
    pub(super) faults: &'a [FaultWindow],
    pub(super) end: f64,
}

impl Latency<'_> {
    /// Draws the chart onto `root`.
    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        // (seconds, ms) per quantile; the point sits at the interval's start.
        let lines: Vec<Vec<(f64, f64)>> = QUANTILES
            .iter()
            .map(|(q, _)| {
                self.data
                    .intervals
                    .iter()
                    .map(|(at, h)| (at.as_secs_f64(), h.value_at_quantile(*q) as f64 / 1e3))
                    .collect()
            })
            .collect();
        let highest = lines
            .iter()
            .flatten()
            .map(|p| p.1)
            .chain(self.thresholds.iter().map(|t| t.millis))
            .fold(0.0, f64::max);
        let y_high = (highest * 1.15).max(1.0);
        let x_high = self.end.max(1.0);

        let mut chart = style::time_chart(
            root,
            &format!("Latency of {}", self.journey),
            "latency (ms)",
            (x_high, y_high),
            self.faults,
        )?;

        for (i, ((_, name), points)) in QUANTILES.iter().zip(lines).enumerate() {
            let colour = SERIES[i % SERIES.len()];
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2))
                });
        }
        for threshold in &self.thresholds {
            let y = threshold.millis;
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, y), (x_high, y)],
                    8,
                    4,
                    THRESHOLD.stroke_width(2),
                ))?
                .label(threshold.label.as_str())
                .legend(|(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], THRESHOLD.stroke_width(2))
                });
            chart.draw_series([Text::new(
                threshold.label.clone(),
                (0.0, y),
                // Above the line, so the dashes do not strike it through.
                style::label()
                    .color(&THRESHOLD)
                    .pos(Pos::new(HPos::Left, VPos::Bottom)),
            )])?;
        }
        style::legend(&mut chart)?;
        root.present()
    }
}
