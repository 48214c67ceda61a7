//! This process's memory and CPU figures, for `/metrics` and `/health`.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use sysinfo::{MemoryRefreshKind, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// Process memory and CPU at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SystemMetrics {
    /// Resident memory as a percentage of `memory_limit_bytes`.
    pub memory_usage: f64,
    /// Resident set size of this process, bytes.
    pub rss_bytes: u64,
    /// The memory the process may use: its cgroup limit when it has one,
    /// else the machine's total memory.
    pub memory_limit_bytes: u64,
    /// CPU used by this process as a percentage of the cores available to
    /// it, 0..100.
    pub cpu_usage: f64,
}

/// How long a sample is reused. CPU usage is a difference between two
/// refreshes, so refreshing much more often would measure noise, and each
/// refresh reads several `/proc` files.
const REFRESH_EVERY: Duration = Duration::from_millis(500);

/// Samples [`SystemMetrics`] with sysinfo, at most every 500 ms.
///
/// Many concurrent `/metrics` and `/health` calls share the cached sample.
/// The first sample reports 0 % CPU: sysinfo needs two refreshes apart in
/// time to measure it. When sysinfo cannot read the system (an unsupported
/// platform) every figure is 0.
///
/// ```
/// use std::time::Instant;
/// let sampler = somon_system::SystemSampler::new();
/// let sample = sampler.sample(Instant::now());
/// assert!(sample.memory_limit_bytes == 0 || sample.memory_usage <= 100.0);
/// ```
pub struct SystemSampler {
    state: Mutex<State>,
    pid: Option<Pid>,
    /// Cores this process may use (respects cgroup CPU quotas and affinity).
    cores: f64,
    /// Defect twin `heavy-health`: build a whole new snapshot per call.
    rebuild_each_call: bool,
}

struct State {
    system: Option<System>,
    last: Option<(Instant, SystemMetrics)>,
}

impl Default for SystemSampler {
    fn default() -> Self {
        SystemSampler::new()
    }
}

impl SystemSampler {
    /// A sampler for the current process.
    pub fn new() -> SystemSampler {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        SystemSampler {
            state: Mutex::new(State {
                system: System::new().ok(),
                last: None,
            }),
            pid: sysinfo::get_current_pid().ok(),
            cores: cores as f64,
            rebuild_each_call: false,
        }
    }

    /// Defect twin `heavy-health` (SPEC §8 style): a sampler that builds a
    /// new snapshot of the whole host (every process, all memory figures)
    /// on each call and reuses nothing — the pattern sysinfo's own docs
    /// warn against, and a classic cause of slow health checks. Its CPU
    /// figure is always 0 (one refresh cannot measure CPU).
    pub fn rebuilding_each_call() -> SystemSampler {
        SystemSampler {
            rebuild_each_call: true,
            ..SystemSampler::new()
        }
    }

    /// The latest sample, refreshed when the cached one is 500 ms older
    /// than `now` (or `now` is earlier than it, as with a reset clock).
    pub fn sample(&self, now: Instant) -> SystemMetrics {
        if self.rebuild_each_call {
            return match (System::new_all(), self.pid) {
                (Ok(mut system), Some(pid)) => self.refresh(&mut system, pid),
                _ => SystemMetrics::default(),
            };
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, sample)) = state.last {
            let age = now.checked_duration_since(at);
            if age.is_some_and(|age| age < REFRESH_EVERY) {
                return sample;
            }
        }
        let sample = match (&mut state.system, self.pid) {
            (Some(system), Some(pid)) => self.refresh(system, pid),
            _ => SystemMetrics::default(),
        };
        state.last = Some((now, sample));
        sample
    }

    fn refresh(&self, system: &mut System, pid: Pid) -> SystemMetrics {
        system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            true,
            ProcessRefreshKind::nothing().with_memory().with_cpu(),
        );
        let total = system.total_memory();
        let process = system.process(pid);
        // A cgroup limit of "max" is reported as the host's memory or more.
        let cgroup = process
            .and_then(|process| process.cgroup_limits())
            .or_else(|| system.cgroup_limits())
            .map(|limits| limits.total_memory)
            .filter(|&limit| limit > 0);
        let limit = match cgroup {
            Some(limit) if total > 0 => limit.min(total),
            Some(limit) => limit,
            None => total,
        };
        let rss = process.map_or(0, |process| process.memory());
        // sysinfo reports percent of one core; normalise to all cores.
        let cpu = process.map_or(0.0, |process| f64::from(process.cpu_usage()));
        SystemMetrics {
            memory_usage: if limit == 0 {
                0.0
            } else {
                rss as f64 / limit as f64 * 100.0
            },
            rss_bytes: rss,
            memory_limit_bytes: limit,
            cpu_usage: (cpu / self.cores).clamp(0.0, 100.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_plausible_and_cached() {
        let sampler = SystemSampler::new();
        let start = Instant::now();
        let first = sampler.sample(start);
        if cfg!(target_os = "linux") {
            assert!(first.rss_bytes > 0);
            assert!(first.memory_limit_bytes >= first.rss_bytes);
            assert!(first.memory_usage > 0.0 && first.memory_usage <= 100.0);
        }
        // Within 500 ms the cached sample is served unchanged.
        let _ballast = vec![1u8; 8 << 20];
        assert_eq!(sampler.sample(start + Duration::from_millis(499)), first);
        let later = sampler.sample(start + Duration::from_secs(1));
        assert!((0.0..=100.0).contains(&later.cpu_usage));
    }
}
