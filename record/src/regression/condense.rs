//! From a run's record to a [`Baseline`]: the interval logs (what
//! `record.json` keeps) read back and reduced to per-second values per
//! journey × phase.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use somon_loadgen::interval_log;

use super::{Baseline, Series};
use crate::RunReport;

/// Condenses `report` into a baseline.
///
/// # Errors
/// An interval log that does not parse (with its phase's name).
pub fn condense(report: &RunReport) -> Result<Baseline, String> {
    let mut series = Vec::new();
    for phase in &report.record.phases {
        let intervals = interval_log::read(&phase.output.interval_log)
            .map_err(|e| format!("interval log of phase {}: {e}", phase.name))?;
        // journey → second → (latencies, seconds covered)
        let mut by_journey: BTreeMap<String, BTreeMap<u64, (Histogram<u64>, f64)>> =
            BTreeMap::new();
        for interval in intervals {
            let Some(op) = interval.tag.as_deref().and_then(|t| t.split('/').next()) else {
                continue;
            };
            let slot = by_journey
                .entry(op.to_owned())
                .or_default()
                .entry(interval.start.as_secs())
                .or_insert_with(|| (somon_loadgen::new_histogram(), 0.0));
            slot.0
                .add(&interval.histogram)
                .map_err(|e| format!("merging latencies of phase {}: {e:?}", phase.name))?;
            // Outcomes of one second share its length; keep the longest.
            slot.1 = slot.1.max(interval.duration.as_secs_f64());
        }
        for (journey, seconds) in by_journey {
            let mut s = Series {
                journey,
                phase: phase.name.clone(),
                ..Series::default()
            };
            for (h, length) in seconds.values() {
                // A last interval shorter than half a second says little
                // about a rate.
                if h.is_empty() || *length < 0.5 {
                    continue;
                }
                s.p50_ms.push(h.value_at_quantile(0.5) as f64 / 1e3);
                s.p99_ms.push(h.value_at_quantile(0.99) as f64 / 1e3);
                s.rps.push(h.len() as f64 / length);
            }
            series.push(s);
        }
    }
    Ok(Baseline {
        scenario: report.manifest.scenario.clone(),
        git_sha: report.manifest.git_sha.clone(),
        started_at: report.manifest.started_at.clone(),
        defects: report.manifest.defects.clone(),
        series,
    })
}
