//! `percentiles-<journey>`: the whole run's latency distribution on the
//! usual HdrHistogram scale, where x is log10(1 / (1 − q)) so the tail
//! (99 %, 99.9 %, 99.99 %) gets as much room as the body. One line per
//! histogram: a run report draws one, a comparison two (A and B).

use std::ops::Range;

use hdrhistogram::Histogram;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;

use super::style::{self, SERIES};

/// Tick positions on the x axis and their labels.
const TICKS: [(f64, &str); 6] = [
    (0.0, "0%"),
    (std::f64::consts::LOG10_2, "50%"),
    (1.0, "90%"),
    (2.0, "99%"),
    (3.0, "99.9%"),
    (4.0, "99.99%"),
];

/// Points per decade of the x axis.
const STEPS_PER_DECADE: u32 = 40;

/// Everything the distribution chart shows.
pub(crate) struct Percentiles<'a> {
    pub(crate) journey: &'a str,
    /// (legend name, histogram) per line, in legend order.
    pub(crate) series: Vec<(String, &'a Histogram<u64>)>,
}

/// How far out the scale goes: to the quantile the sample count can
/// resolve (1 − 1/n), at least 90 % and at most 99.999 %.
fn x_high(count: u64) -> f64 {
    (count.max(10) as f64).log10().min(5.0)
}

/// (x, ms) points of the distribution.
fn points(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    let high = x_high(h.len());
    let steps = (high * f64::from(STEPS_PER_DECADE)).ceil() as u32;
    (0..=steps)
        .map(|i| {
            let x = (f64::from(i) / f64::from(STEPS_PER_DECADE)).min(high);
            let q = 1.0 - 10f64.powf(-x);
            (x, h.value_at_quantile(q) as f64 / 1e3)
        })
        .collect()
}

/// The x axis, 0 to `high` decades, with its ticks at [`TICKS`] rather
/// than at round numbers (plotters' key-point combinator drops the custom
/// label formatter, so the axis is written out).
struct PercentileAxis {
    high: f64,
}

impl Ranged for PercentileAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let share = if self.high > 0.0 {
            value / self.high
        } else {
            0.0
        };
        limit.0 + (share * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        TICKS
            .iter()
            .map(|t| t.0)
            .filter(|x| *x <= self.high + 1e-9)
            .collect()
    }

    fn range(&self) -> Range<f64> {
        0.0..self.high
    }
}

fn tick_label(x: &f64) -> String {
    TICKS
        .iter()
        .find(|(at, _)| (at - x).abs() < 1e-9)
        .map_or_else(String::new, |(_, label)| (*label).to_string())
}

impl super::Draw for Percentiles<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let lines: Vec<Vec<(f64, f64)>> = self.series.iter().map(|(_, h)| points(h)).collect();
        let highest = lines.iter().flatten().map(|p| p.1).fold(0.0, f64::max);
        let y_high = (highest * 1.15).max(1.0);
        let most = self.series.iter().map(|(_, h)| h.len()).max().unwrap_or(0);
        let x_high = x_high(most);
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("Latency distribution of {} (whole run)", self.journey),
                style::caption_style(),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(PercentileAxis { high: x_high }, 0.0..y_high)?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("latency (ms)")
            .label_style(style::label())
            .axis_desc_style(style::label())
            .x_label_formatter(&tick_label)
            .draw()?;
        for (i, ((name, h), points)) in self.series.iter().zip(lines).enumerate() {
            let colour = SERIES[i % SERIES.len()];
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
                .label(format!("{name} ({} requests)", h.len()))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(style::label())
            .draw()?;
        root.present()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_reaches_as_far_as_the_samples_resolve() {
        assert_eq!(x_high(5), 1.0);
        assert_eq!(x_high(1000), 3.0);
        assert_eq!(x_high(10_000_000), 5.0);
        assert_eq!(tick_label(&2.0), "99%");
        assert_eq!(tick_label(&2.5), "");
    }
}
