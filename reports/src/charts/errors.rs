//! `errors`: failed requests per second by kind (4xx, 5xx, timeout,
//! connect, reset, other) over the run, fault windows shaded, so a reader
//! sees which failure a fault caused and when it stopped.

use plotters::prelude::*;

use super::data::{FaultWindow, ERROR_KINDS};
use super::style::{self, SERIES, THRESHOLD};

/// A colour per kind, in [`ERROR_KINDS`] order; 5xx takes the red that
/// means "failure" elsewhere in the report.
const COLOURS: [RGBColor; 6] = [
    SERIES[2],
    THRESHOLD,
    RGBColor(0xFF, 0x7F, 0x0E),
    SERIES[0],
    RGBColor(0x8C, 0x56, 0x4B),
    RGBColor(0x7F, 0x7F, 0x7F),
];

/// Everything the errors chart shows.
pub(super) struct Errors<'a> {
    /// (run-clock seconds, errors/s by kind in [`ERROR_KINDS`] order).
    pub(super) points: &'a [(f64, [f64; 6])],
    pub(super) faults: &'a [FaultWindow],
    pub(super) end: f64,
}

impl Errors<'_> {
    /// Draws the chart onto `root`: one line per kind that occurred at
    /// all, or a flat "no errors" line when none did, so the chart still
    /// says something rather than showing an empty frame.
    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let highest = self.points.iter().flat_map(|p| p.1).fold(0.0, f64::max);
        let y_high = (highest * 1.15).max(1.0);
        let x_high = self.end.max(1.0);
        let mut chart = style::time_chart(
            root,
            "Errors by kind",
            "errors per second",
            (x_high, y_high),
            self.faults,
        )?;
        let seen: Vec<usize> = (0..ERROR_KINDS.len())
            .filter(|&k| self.points.iter().any(|p| p.1[k] > 0.0))
            .collect();
        if seen.is_empty() {
            let colour = SERIES[1];
            chart
                .draw_series(LineSeries::new(
                    self.points.iter().map(|p| (p.0, 0.0)),
                    colour.stroke_width(2),
                ))?
                .label("no errors")
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2))
                });
        }
        for k in seen {
            let colour = COLOURS[k];
            chart
                .draw_series(LineSeries::new(
                    self.points.iter().map(|p| (p.0, p.1[k])),
                    colour.stroke_width(2),
                ))?
                .label(ERROR_KINDS[k])
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2))
                });
        }
        style::legend(&mut chart)?;
        root.present()
    }
}
