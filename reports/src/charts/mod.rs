//! The run's charts, drawn with plotters into SVG (inlined in
//! `report.html`) and PNG (for places that show images only): latency per
//! journey over time, throughput, errors by kind, breaker states, and the
//! latency distribution per journey. [`Draw`] and [`ChartFile::draw`] are
//! shared with the comparison and capacity charts.
//!
//! Output is a pure function of the report: no timestamps, maps in key
//! order, so drawing the same record twice gives the same bytes.

use image::ImageEncoder as _;
use plotters::coord::Shift;
use plotters::prelude::*;
use somon_record::RunReport;

mod breakers;
pub(crate) mod capacity;
pub(crate) mod data;
mod errors;
mod latency;
pub(crate) mod percentiles;
pub(crate) mod style;
mod throughput;

use breakers::Breakers;
use errors::Errors;
use latency::Latency;
use percentiles::Percentiles;
use throughput::Throughput;

/// One chart, drawn both ways.
pub(crate) struct ChartFile {
    /// File stem: `latency-load_cached`, `throughput`, ….
    pub(crate) name: String,
    /// A caption for the HTML report.
    pub(crate) title: String,
    pub(crate) svg: String,
    pub(crate) png: Vec<u8>,
}

/// A chart that can draw itself on any plotters backend, so one
/// description gives both the SVG and the PNG.
pub(crate) trait Draw {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32) {
        style::SIZE
    }

    /// Draws the chart onto `root`.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>;
}

impl ChartFile {
    /// Draws `chart` both ways.
    ///
    /// # Errors
    /// A drawing failure, in words, naming the chart.
    pub(crate) fn draw(name: String, title: String, chart: &impl Draw) -> Result<Self, String> {
        style::ensure_font()?;
        Ok(ChartFile {
            svg: svg(chart).map_err(|e| format!("chart {name}: {e}"))?,
            png: png(chart).map_err(|e| format!("chart {name}: {e}"))?,
            name,
            title,
        })
    }
}

enum Chart<'a> {
    Latency(Latency<'a>),
    Throughput(Throughput<'a>),
    Errors(Errors<'a>),
    Breakers(Breakers<'a>),
    Percentiles(Percentiles<'a>),
}

impl Draw for Chart<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        match self {
            Chart::Latency(c) => c.draw(root),
            Chart::Throughput(c) => c.draw(root),
            Chart::Errors(c) => c.draw(root),
            Chart::Breakers(c) => c.draw(root),
            Chart::Percentiles(c) => c.draw(root),
        }
    }
}

/// Draws every chart the report has data for, in a fixed order: latency
/// per journey, throughput, errors by kind, breakers (when the target
/// reported any), then the distribution per journey.
///
/// # Errors
/// An interval log that does not parse, or a drawing failure, in words.
pub(crate) fn render(report: &RunReport) -> Result<Vec<ChartFile>, String> {
    style::ensure_font()?;
    let end = data::run_end(report);
    let faults = data::fault_windows(&report.record.faults, end);
    let latencies = data::latencies(report)?;
    let throughput = data::throughput(report);
    let errors = data::errors(report);
    let breakers = data::breaker_states(report);

    let mut charts: Vec<(String, String, Chart<'_>)> = Vec::new();
    for (journey, latency) in &latencies {
        charts.push((
            format!("latency-{}", file_stem(journey)),
            format!("Latency of {journey} over time"),
            Chart::Latency(Latency {
                journey,
                data: latency,
                thresholds: data::thresholds(report, journey),
                faults: &faults,
                end,
            }),
        ));
    }
    if !throughput.is_empty() {
        charts.push((
            "throughput".into(),
            "Throughput".into(),
            Chart::Throughput(Throughput {
                points: &throughput,
                faults: &faults,
                end,
            }),
        ));
    }
    if !errors.is_empty() {
        charts.push((
            "errors".into(),
            "Errors by kind".into(),
            Chart::Errors(Errors {
                points: &errors,
                faults: &faults,
                end,
            }),
        ));
    }
    if !breakers.is_empty() {
        charts.push((
            "breakers".into(),
            "Circuit breakers".into(),
            Chart::Breakers(Breakers {
                states: &breakers,
                faults: &faults,
                end,
            }),
        ));
    }
    for (journey, latency) in &latencies {
        charts.push((
            format!("percentiles-{}", file_stem(journey)),
            format!("Latency distribution of {journey}"),
            Chart::Percentiles(Percentiles {
                journey,
                series: vec![(journey.clone(), &latency.whole)],
            }),
        ));
    }
    charts
        .into_iter()
        .map(|(name, title, chart)| ChartFile::draw(name, title, &chart))
        .collect()
}

/// Journey names come from scenario files: keep them to characters that
/// are safe in a file name everywhere.
pub(crate) fn file_stem(journey: &str) -> String {
    journey
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn svg(chart: &impl Draw) -> Result<String, String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, chart.size()).into_drawing_area();
        chart.draw(&root).map_err(|e| e.to_string())?;
    }
    Ok(text)
}

fn png(chart: &impl Draw) -> Result<Vec<u8>, String> {
    let (width, height) = chart.size();
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        chart.draw(&root).map_err(|e| e.to_string())?;
    }
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&pixels, width, height, image::ColorType::Rgb8)
        .map_err(|e| e.to_string())?;
    Ok(out)
}
