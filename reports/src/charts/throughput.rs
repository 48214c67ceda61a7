//! `throughput`: requests and errors per second over the run, fault
//! windows shaded.

use plotters::prelude::*;

use super::data::FaultWindow;
use super::style::{self, SERIES, THRESHOLD};

/// Everything the throughput chart shows.
pub(super) struct Throughput<'a> {
    /// (run-clock seconds, requests/s, errors/s).
    pub(super) points: &'a [(f64, f64, f64)],
    pub(super) faults: &'a [FaultWindow],
    pub(super) end: f64,
}

impl Throughput<'_> {
    /// Draws the chart onto `root`.
    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let highest = self.points.iter().map(|p| p.1.max(p.2)).fold(0.0, f64::max);
        let y_high = (highest * 1.15).max(1.0);
        let x_high = self.end.max(1.0);
        let mut chart = style::time_chart(
            root,
            "Throughput",
            "per second",
            (x_high, y_high),
            self.faults,
        )?;

        let requests = SERIES[0];
        chart
            .draw_series(LineSeries::new(
                self.points.iter().map(|p| (p.0, p.1)),
                requests.stroke_width(2),
            ))?
            .label("requests/s")
            .legend(move |(x, y)| {
                PathElement::new([(x, y), (x + 16, y)], requests.stroke_width(2))
            });
        chart
            .draw_series(LineSeries::new(
                self.points.iter().map(|p| (p.0, p.2)),
                THRESHOLD.stroke_width(2),
            ))?
            .label("errors/s")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], THRESHOLD.stroke_width(2)));
        style::legend(&mut chart)?;
        root.present()
    }
}
