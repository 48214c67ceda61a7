//! `breakers`: each dependency's circuit-breaker state over the run, as
//! closed / half-open / open bands, fault windows shaded.

use std::collections::BTreeMap;

use plotters::prelude::*;

use super::data::FaultWindow;
use super::style::{self, CLOSED, HALF_OPEN, OPEN};

/// How long the last sample's state is drawn: the sampling period.
const LAST_SAMPLE: f64 = 0.25;

/// Everything the breaker chart shows.
pub(super) struct Breakers<'a> {
    /// Per dependency, (run-clock seconds, state) in time order.
    pub(super) states: &'a BTreeMap<String, Vec<(f64, String)>>,
    pub(super) faults: &'a [FaultWindow],
    pub(super) end: f64,
}

/// A state's colour; `None` for a state this chart does not know.
fn colour(state: &str) -> Option<RGBColor> {
    match state {
        "closed" => Some(CLOSED),
        "half-open" => Some(HALF_OPEN),
        "open" => Some(OPEN),
        _ => None,
    }
}

/// Runs of one state: (from, to, state), each sample's state lasting
/// until the next sample.
fn bands(states: &[(f64, String)]) -> Vec<(f64, f64, &str)> {
    let mut out: Vec<(f64, f64, &str)> = Vec::new();
    for (i, (at, state)) in states.iter().enumerate() {
        let to = states.get(i + 1).map_or(at + LAST_SAMPLE, |next| next.0);
        match out.last_mut() {
            Some(last) if last.2 == state => last.1 = to,
            _ => out.push((*at, to, state)),
        }
    }
    out
}

impl Breakers<'_> {
    /// Draws the chart onto `root`.
    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let names: Vec<&String> = self.states.keys().collect();
        let rows = names.len().max(1) as f64;
        let x_high = self.end.max(1.0);
        let mut chart = ChartBuilder::on(root)
            .caption("Circuit breakers", style::caption_style())
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(120)
            .build_cartesian_2d(0.0..x_high, 0.0..rows)?;
        // One label per row, at its middle.
        let row_label = |y: &f64| {
            let row = (y - 0.5).round();
            match names.get(row as usize) {
                Some(name) if (y - 0.5 - row).abs() < 1e-6 => (*name).clone(),
                _ => String::new(),
            }
        };
        chart
            .configure_mesh()
            .x_desc("run clock (s)")
            .label_style(style::label())
            .axis_desc_style(style::label())
            .y_labels(names.len() * 2 + 1)
            .y_label_formatter(&row_label)
            .disable_y_mesh()
            .draw()?;
        style::shade_faults(&mut chart, self.faults, (0.0, rows))?;

        for (row, states) in self.states.values().enumerate() {
            let y = row as f64;
            chart.draw_series(bands(states).into_iter().filter_map(|(from, to, state)| {
                let fill = colour(state)?;
                Some(Rectangle::new(
                    [(from, y + 0.2), (to, y + 0.8)],
                    fill.filled(),
                ))
            }))?;
        }
        // Legend entries only: empty series that carry a state's swatch.
        for (name, fill) in [("closed", CLOSED), ("half-open", HALF_OPEN), ("open", OPEN)] {
            chart
                .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
                .label(name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], fill.filled()));
        }
        style::legend(&mut chart)?;
        root.present()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_merge_runs_of_one_state() {
        let s = |at: f64, state: &str| (at, state.to_string());
        let states = [
            s(0.0, "closed"),
            s(0.25, "closed"),
            s(0.5, "open"),
            s(0.75, "closed"),
        ];
        assert_eq!(
            bands(&states),
            [
                (0.0, 0.5, "closed"),
                (0.5, 0.75, "open"),
                (0.75, 1.0, "closed")
            ]
        );
    }
}
