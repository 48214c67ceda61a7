//! The generator checking itself: did it send what it meant to, on time,
//! without running out of CPU?

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};

use crate::Summary;

/// Thresholds beyond which a run is [`Validity::Invalid`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidityLimits {
    /// Lowest achieved ÷ intended rate, in `[0, 1]` (default 0.95).
    pub min_rate_ratio: f64,
    /// Highest p99 send lag (default 50 ms). The lag is inside every
    /// latency (each is timed from its intended send time), so a lagging
    /// generator can only make latencies look worse, never better; what
    /// this catches is a generator falling behind its schedule, whose lag
    /// grows without bound. Scheduling noise on a busy 2-core box shared
    /// with the target reaches 10–20 ms and must not void a run.
    pub max_send_lag_p99: Duration,
    /// Highest generator CPU as a fraction of all cores (default 0.9).
    pub max_cpu_fraction: f64,
    /// Whether any dropped request invalidates the run (default true).
    pub no_drops: bool,
}

impl Default for ValidityLimits {
    fn default() -> ValidityLimits {
        ValidityLimits {
            min_rate_ratio: 0.95,
            max_send_lag_p99: Duration::from_millis(50),
            max_cpu_fraction: 0.9,
            no_drops: true,
        }
    }
}

/// Whether a run measured the target rather than the generator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "validity", rename_all = "snake_case")]
pub enum Validity {
    /// Every self-check passed.
    Valid,
    /// At least one failed; each reason names the figure and its limit.
    Invalid {
        /// Why.
        reasons: Vec<String>,
    },
}

impl Validity {
    /// Whether the run is valid.
    pub fn is_valid(&self) -> bool {
        matches!(self, Validity::Valid)
    }
}

/// The figures behind a [`Validity`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SelfCheck {
    /// Requests the schedule meant to send before the stop (open model),
    /// or requests started (closed model).
    pub intended: u64,
    /// Requests actually sent.
    pub sent: u64,
    /// Requests dropped at the in-flight cap.
    pub dropped: u64,
    /// Intended rate over the send window.
    pub intended_per_sec: f64,
    /// Completed requests over the send window.
    pub achieved_per_sec: f64,
    /// `achieved_per_sec / intended_per_sec` (1 in the closed model).
    pub rate_ratio: f64,
    /// Actual − intended send time (open model; empty otherwise).
    pub send_lag: Summary,
    /// Process CPU over the run as a fraction of all cores, in `[0, 1]`.
    /// The process includes an in-process target, if any.
    pub cpu_fraction: f64,
    /// Cores the fraction is relative to.
    pub cores: usize,
}

impl SelfCheck {
    /// Judges the figures against `limits`.
    pub fn validity(&self, limits: &ValidityLimits, open_model: bool) -> Validity {
        let mut reasons = Vec::new();
        if open_model && self.rate_ratio < limits.min_rate_ratio {
            reasons.push(format!(
                "achieved rate {:.1}/s is {:.1} % of the intended {:.1}/s (minimum {:.0} %)",
                self.achieved_per_sec,
                self.rate_ratio * 100.0,
                self.intended_per_sec,
                limits.min_rate_ratio * 100.0
            ));
        }
        if open_model && self.send_lag.p99 > limits.max_send_lag_p99 {
            reasons.push(format!(
                "send lag p99 {:?} exceeds {:?}",
                self.send_lag.p99, limits.max_send_lag_p99
            ));
        }
        if limits.no_drops && self.dropped > 0 {
            reasons.push(format!(
                "{} requests dropped at the in-flight cap",
                self.dropped
            ));
        }
        if self.cpu_fraction > limits.max_cpu_fraction {
            reasons.push(format!(
                "generator CPU {:.0} % of {} cores exceeds {:.0} %",
                self.cpu_fraction * 100.0,
                self.cores,
                limits.max_cpu_fraction * 100.0
            ));
        }
        if reasons.is_empty() {
            Validity::Valid
        } else {
            Validity::Invalid { reasons }
        }
    }
}

/// Measures this process's CPU time between `start` and `fraction`.
pub(crate) struct CpuMeter {
    system: Option<System>,
    pid: Option<sysinfo::Pid>,
    cpu_ms: u64,
    at: Instant,
}

impl CpuMeter {
    pub(crate) fn start() -> CpuMeter {
        let mut meter = CpuMeter {
            system: System::new().ok(),
            pid: sysinfo::get_current_pid().ok(),
            cpu_ms: 0,
            at: Instant::now(),
        };
        meter.cpu_ms = meter.read();
        meter.at = Instant::now();
        meter
    }

    fn read(&mut self) -> u64 {
        let (Some(pid), Some(system)) = (self.pid, self.system.as_mut()) else {
            return 0;
        };
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            false,
            ProcessRefreshKind::nothing().with_cpu(),
        );
        system
            .process(pid)
            .map_or(0, sysinfo::Process::accumulated_cpu_time)
    }

    /// CPU used since `start` as a fraction of all cores, and the core count.
    pub(crate) fn fraction(&mut self) -> (f64, usize) {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let used = self.read().saturating_sub(self.cpu_ms) as f64 / 1000.0;
        let wall = self.at.elapsed().as_secs_f64();
        if wall <= 0.0 {
            return (0.0, cores);
        }
        ((used / wall / cores as f64).clamp(0.0, 1.0), cores)
    }
}
