//! Numbers with units, parsed exactly from their decimal text.

use std::time::Duration;

/// `digits` (`"1.25"`) times `scale`, divided exactly where it divides, else
/// rounded; `None` when it is not a number or overflows.
pub(super) fn scaled(digits: &str, scale: u128) -> Option<u128> {
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || fraction.contains('.') || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let places = u32::try_from(fraction.len()).ok().filter(|p| *p <= 18)?;
    let mantissa: u128 = format!("{whole}{fraction}").parse().ok()?;
    let divisor = 10u128.pow(places);
    let product = mantissa.checked_mul(scale)?;
    Some((product + divisor / 2) / divisor)
}

/// `"99.9"` (percent) → the f64 nearest 0.999: parsed as one decimal
/// literal, because dividing the parsed percent by 100 is not exact.
pub(super) fn percent(digits: &str) -> Option<f64> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    format!("{digits}e-2").parse().ok()
}

/// A time unit's length in nanoseconds.
pub(super) fn time_unit(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// A byte unit's size (KB = 1000 bytes, as the runbook's "50KB … 50_000").
pub(super) fn byte_unit(unit: &str) -> Option<u128> {
    Some(match unit {
        "B" => 1,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    })
}

/// A duration from digits and a time unit.
pub(super) fn duration(digits: &str, unit: &str) -> Option<Duration> {
    let nanos = scaled(digits, time_unit(unit)?)?;
    let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// The shortest exact text of a duration: `2m`, `30s`, `100ms`, `250us`.
pub(super) fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    for (unit, size) in [
        ("h", 3_600_000_000_000u128),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ] {
        if nanos >= size && nanos.is_multiple_of(size) {
            return format!("{}{unit}", nanos / size);
        }
    }
    format!("{nanos}ns")
}

/// The shortest exact text of a byte count.
pub(super) fn format_bytes(bytes: u64) -> String {
    for (unit, size) in [("GB", 1_000_000_000u64), ("MB", 1_000_000), ("KB", 1_000)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_scale_exactly() {
        assert_eq!(scaled("1.5", 1_000), Some(1_500));
        assert_eq!(scaled("0.001", 1_000_000_000), Some(1_000_000));
        assert_eq!(scaled("10", 3), Some(30));
        assert_eq!(scaled("1.2.3", 1), None);
        assert_eq!(scaled(".5", 1), None);
        assert_eq!(duration("0.3", "ms"), Some(Duration::from_micros(300)));
        assert_eq!(duration("2", "m"), Some(Duration::from_secs(120)));
        assert_eq!(duration("2", "parsecs"), None);
    }

    #[test]
    fn formats_pick_the_largest_exact_unit() {
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_millis(100)), "100ms");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1500us");
        assert_eq!(format_duration(Duration::ZERO), "0ns");
        assert_eq!(format_bytes(50_000), "50KB");
        assert_eq!(format_bytes(1_024), "1024B");
    }
}
