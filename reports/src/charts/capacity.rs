//! `capacity`: the capacity curve of a stepped run. Top panel: p99 latency
//! per offered-load step, each step marked PASS or FAIL, the latency
//! threshold across; bottom panel: the throughput achieved at each step.
//! The knee (highest step with it and every step below passing) is a
//! vertical line through both panels with its load written beside it.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, CLOSED, OPEN, SERIES, THRESHOLD};
use super::Draw;
use crate::capacity::CapacityCurve;

/// Colour of the knee line and its label; nothing else uses it, so a
/// reader (or a test) can find the knee by it.
pub(crate) const KNEE: RGBColor = RGBColor(0x6A, 0x1B, 0x9A);

/// Size of the two-panel chart.
const SIZE: (u32, u32) = (960, 640);

/// The chart of one curve; [`CapacityCurve::check`] has been called.
pub(crate) struct Capacity<'a> {
    pub(crate) curve: &'a CapacityCurve,
}

impl Capacity<'_> {
    fn x_range(&self) -> (f64, f64) {
        let highest = self.curve.steps.iter().map(|s| s.load).fold(0.0, f64::max);
        (0.0, (highest * 1.08).max(1.0))
    }

    fn x_desc(&self) -> String {
        match self.curve.steps.first() {
            Some(step) if !step.unit.is_empty() => format!("offered load ({})", step.unit),
            _ => "offered load".into(),
        }
    }

    /// The knee's load and label, when the curve has one.
    fn knee(&self) -> Option<(f64, String)> {
        let step = self.curve.steps.get(self.curve.knee?)?;
        Some((step.load, format!("knee: {}", step.load_label())))
    }

    fn knee_line<DB: DrawingBackend>(
        &self,
        chart: &mut style::TimeChart<'_, DB>,
        y_high: f64,
        labelled: bool,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let Some((x, label)) = self.knee() else {
            return Ok(());
        };
        chart.draw_series(DashedLineSeries::new(
            [(x, 0.0), (x, y_high)],
            8,
            4,
            KNEE.stroke_width(2),
        ))?;
        if labelled {
            // Half-way up, clear of the legend in the upper right, and on
            // the side of the line with room for the text.
            let (x_low, x_high) = self.x_range();
            let (gap, side) = if x > (x_low + x_high) / 2.0 {
                (-6, HPos::Right)
            } else {
                (6, HPos::Left)
            };
            chart.draw_series([EmptyElement::at((x, y_high * 0.55))
                + Text::new(
                    label,
                    (gap, 0),
                    style::label()
                        .color(&KNEE)
                        .pos(Pos::new(side, VPos::Center)),
                )])?;
        }
        Ok(())
    }

    fn latency_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let steps = &self.curve.steps;
        let threshold_ms = self.curve.threshold_s.map(|t| t * 1e3);
        let highest = steps
            .iter()
            .filter_map(|s| s.p99_s)
            .map(|p| p * 1e3)
            .chain(threshold_ms)
            .fold(0.0, f64::max);
        let y_high = (highest * 1.2).max(1.0);
        let (x_low, x_high) = self.x_range();
        let title = if self.curve.name.is_empty() {
            "Capacity curve".to_string()
        } else {
            format!("Capacity curve of {}", self.curve.name)
        };
        let mut chart = ChartBuilder::on(area)
            .caption(title, style::caption_style())
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(x_low..x_high, 0.0..y_high)?;
        chart
            .configure_mesh()
            .x_desc(self.x_desc())
            .y_desc("p99 latency (ms)")
            .label_style(style::label())
            .axis_desc_style(style::label())
            .draw()?;
        let colour = SERIES[0];
        chart
            .draw_series(LineSeries::new(
                steps.iter().filter_map(|s| Some((s.load, s.p99_s? * 1e3))),
                colour.stroke_width(2),
            ))?
            .label("p99 latency")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2)));
        if let Some(y) = threshold_ms {
            chart
                .draw_series(DashedLineSeries::new(
                    [(x_low, y), (x_high, y)],
                    8,
                    4,
                    THRESHOLD.stroke_width(2),
                ))?
                .label(format!("threshold {}", crate::format::seconds(y / 1e3)))
                .legend(|(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], THRESHOLD.stroke_width(2))
                });
        }
        // Under the markers, so the knee step's word stays readable.
        self.knee_line(&mut chart, y_high, true)?;
        // Each step's verdict at its point; a step without a latency
        // (nothing completed) sits on the axis.
        for step in steps {
            let y = step.p99_s.map_or(0.0, |p| p * 1e3);
            let (colour, word) = if step.passed {
                (CLOSED, "PASS")
            } else {
                (OPEN, "FAIL")
            };
            // The word sits above the dot, clear of it and of the line.
            chart.draw_series([EmptyElement::at((step.load, y))
                + Circle::new((0, 0), 6, colour.filled())
                + Text::new(
                    word,
                    (0, -10),
                    style::label()
                        .color(&colour)
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                )])?;
        }
        style::legend(&mut chart)
    }

    fn throughput_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let steps = &self.curve.steps;
        let highest = steps.iter().map(|s| s.achieved_rps).fold(0.0, f64::max);
        let y_high = (highest * 1.2).max(1.0);
        let (x_low, x_high) = self.x_range();
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(x_low..x_high, 0.0..y_high)?;
        chart
            .configure_mesh()
            .x_desc(self.x_desc())
            .y_desc("achieved requests/s")
            .label_style(style::label())
            .axis_desc_style(style::label())
            .draw()?;
        let colour = SERIES[1];
        chart
            .draw_series(LineSeries::new(
                steps.iter().map(|s| (s.load, s.achieved_rps)),
                colour.stroke_width(2),
            ))?
            .label("achieved requests/s")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2)));
        chart.draw_series(
            steps
                .iter()
                .map(|s| Circle::new((s.load, s.achieved_rps), 4, colour.filled())),
        )?;
        self.knee_line(&mut chart, y_high, false)?;
        style::legend(&mut chart)
    }
}

impl Draw for Capacity<'_> {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let (top, bottom) = root.split_vertically(SIZE.1 * 3 / 5);
        self.latency_panel(&top)?;
        self.throughput_panel(&bottom)?;
        root.present()
    }
}
