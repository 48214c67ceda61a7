//! What every chart shares: the embedded font, the palette, the size, and
//! the shaded fault windows.

use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle, RGBColor};

use super::data::FaultWindow;

/// The one font family the charts use. plotters' axis labels ask for
/// `sans-serif` too, so this is the only family that needs registering.
pub(crate) const FAMILY: &str = "sans-serif";

/// DejaVu Sans (Bitstream Vera license, see `assets/DejaVuSans-LICENSE.txt`),
/// built in so PNG text renders on machines without fontconfig or fonts.
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Width and height of every chart, in pixels.
pub(crate) const SIZE: (u32, u32) = (960, 420);

/// Fill of a fault window. Nothing else is drawn in this colour, so a
/// reader (or a test) can count the windows in an SVG by it.
pub(crate) const FAULT: RGBColor = RGBColor(0xF2, 0xA3, 0x3A);

/// Line colours, in legend order.
pub(crate) const SERIES: [RGBColor; 3] = [
    RGBColor(0x1F, 0x77, 0xB4),
    RGBColor(0x2C, 0xA0, 0x2C),
    RGBColor(0x94, 0x67, 0xBD),
];

/// Claim thresholds.
pub(crate) const THRESHOLD: RGBColor = RGBColor(0xD6, 0x27, 0x28);

/// Breaker states.
pub(crate) const CLOSED: RGBColor = RGBColor(0x6A, 0xBE, 0x6A);
pub(crate) const HALF_OPEN: RGBColor = RGBColor(0xE6, 0xC2, 0x29);
pub(crate) const OPEN: RGBColor = RGBColor(0xC8, 0x3C, 0x3C);

/// Registers the embedded font for every style the charts use, once per
/// process.
///
/// # Errors
/// When the embedded file is not a font, which a test would catch first.
pub(crate) fn ensure_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            for style in [FontStyle::Normal, FontStyle::Bold] {
                register_font(FAMILY, style, FONT)
                    .map_err(|_| "the embedded DejaVu Sans is not a valid font".to_string())?;
            }
            Ok(())
        })
        .clone()
}

/// Text style of captions.
pub(crate) fn caption_style() -> TextStyle<'static> {
    (FAMILY, 20).into_font().style(FontStyle::Bold).into()
}

/// Text style of axis labels and legends.
pub(crate) fn label() -> TextStyle<'static> {
    (FAMILY, 13).into()
}

/// A chart over run-clock seconds (x) and some value (y).
pub(crate) type TimeChart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A chart over the run clock (0 to `x_high` s) and values (0 to `y_high`,
/// described by `y_desc`), with its mesh drawn and the fault windows
/// shaded behind whatever is drawn next.
pub(crate) fn time_chart<'a, DB: DrawingBackend + 'a>(
    root: &'a DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    y_desc: &str,
    (x_high, y_high): (f64, f64),
    faults: &[FaultWindow],
) -> Result<TimeChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(root)
        .caption(caption, caption_style())
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x_high, 0.0..y_high)?;
    chart
        .configure_mesh()
        .x_desc("run clock (s)")
        .y_desc(y_desc)
        .label_style(label())
        .axis_desc_style(label())
        .draw()?;
    shade_faults(&mut chart, faults, (0.0, y_high))?;
    Ok(chart)
}

/// Shades each fault window across the whole height and names what it hit
/// at its top.
pub(crate) fn shade_faults<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    windows: &[FaultWindow],
    (y_low, y_high): (f64, f64),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart.draw_series(
        windows
            .iter()
            .map(|w| Rectangle::new([(w.from, y_low), (w.to, y_high)], FAULT.mix(0.25).filled())),
    )?;
    let ink = BLACK.mix(0.7);
    chart.draw_series(windows.iter().map(|w| {
        Text::new(
            format!("fault: {}", w.hits),
            (w.from, y_high),
            label().color(&ink),
        )
    }))?;
    Ok(())
}

/// The usual legend: top right, white box, black border.
pub(crate) fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut TimeChart<'a, DB>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(label())
        .draw()
}
