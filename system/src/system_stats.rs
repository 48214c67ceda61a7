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
    /// The memory the process may use: the smallest of its cgroup limit
    /// (when it has one), the machine's total memory and the configured
    /// `memoryLimit` (when set).
    pub memory_limit_bytes: u64,
    /// CPU used by this process as a percentage of the cores available to
    /// it, 0..100.
    pub cpu_usage: f64,
}

/// The limit `memoryUsage` is measured against: the smallest of the limits
/// that exist. `cgroup` is the container's limit, `total` the machine's
/// memory, `budget` the configured `memoryLimit`; 0 (or `None`) stands for
/// a limit that is not known or not set, and 0 is returned when none is.
///
/// An operator's budget below the hardware limits is what the process is
/// judged against (as `GOMEMLIMIT` is for a Go service); one above them
/// cannot be used, so the hardware limit stays in force.
///
/// ```
/// use somon_system::effective_memory_limit;
/// assert_eq!(effective_memory_limit(None, 16 << 30, 0), 16 << 30);
/// assert_eq!(effective_memory_limit(Some(4 << 30), 16 << 30, 0), 4 << 30);
/// assert_eq!(effective_memory_limit(Some(4 << 30), 16 << 30, 256 << 20), 256 << 20);
/// assert_eq!(effective_memory_limit(None, 16 << 30, 64 << 30), 16 << 30);
/// ```
pub fn effective_memory_limit(cgroup: Option<u64>, total: u64, budget: u64) -> u64 {
    [cgroup.unwrap_or(0), total, budget]
        .into_iter()
        .filter(|&limit| limit > 0)
        .min()
        .unwrap_or(0)
}

/// How long a sample is reused. CPU usage is a difference between two
/// refreshes, so refreshing much more often would measure noise, and each
/// refresh reads several `/proc` files.
const REFRESH_EVERY: Duration = Duration::from_millis(500);

/// Samples [`SystemMetrics`] with sysinfo, at most every 500 ms.
///
/// Many concurrent `/metrics` and `/health` calls share the cached reading.
/// The memory budget is applied on every call, not cached, so a changed
/// `memoryLimit` shows at once. The first sample reports 0 % CPU: sysinfo
/// needs two refreshes apart in time to measure it. When sysinfo cannot
/// read the system (an unsupported platform) every figure is 0.
///
/// ```
/// use std::time::Instant;
/// let sampler = somon_system::SystemSampler::new();
/// let sample = sampler.sample(Instant::now(), 0);
/// assert!(sample.memory_limit_bytes == 0 || sample.memory_usage <= 100.0);
/// let budgeted = sampler.sample(Instant::now(), 1 << 20);
/// assert!(budgeted.memory_limit_bytes <= 1 << 20);
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
    last: Option<(Instant, Reading)>,
}

/// What one refresh measured, before a budget is applied.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Reading {
    rss: u64,
    cgroup: Option<u64>,
    total: u64,
    /// Percent of all available cores, 0..100.
    cpu: f64,
}

impl Reading {
    /// The figures against `budget` bytes (0 = no budget).
    fn metrics(&self, budget: u64) -> SystemMetrics {
        let limit = effective_memory_limit(self.cgroup, self.total, budget);
        SystemMetrics {
            memory_usage: if limit == 0 {
                0.0
            } else {
                self.rss as f64 / limit as f64 * 100.0
            },
            rss_bytes: self.rss,
            memory_limit_bytes: limit,
            cpu_usage: self.cpu,
        }
    }
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

    /// Defect twin `heavy-health` (a deliberate bug): a sampler that builds a
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

    /// The latest sample against the memory `budget` in bytes (the
    /// configured `memoryLimit`; 0 = none). The measurement is refreshed
    /// when the cached one is 500 ms older than `now` (or `now` is earlier
    /// than it, as with a reset clock); the budget is applied every call.
    pub fn sample(&self, now: Instant, budget: u64) -> SystemMetrics {
        self.reading(now).metrics(budget)
    }

    fn reading(&self, now: Instant) -> Reading {
        if self.rebuild_each_call {
            return match (System::new_all(), self.pid) {
                (Ok(mut system), Some(pid)) => self.refresh(&mut system, pid),
                _ => Reading::default(),
            };
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, reading)) = state.last {
            let age = now.checked_duration_since(at);
            if age.is_some_and(|age| age < REFRESH_EVERY) {
                return reading;
            }
        }
        let reading = match (&mut state.system, self.pid) {
            (Some(system), Some(pid)) => self.refresh(system, pid),
            _ => Reading::default(),
        };
        state.last = Some((now, reading));
        reading
    }

    fn refresh(&self, system: &mut System, pid: Pid) -> Reading {
        system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            true,
            ProcessRefreshKind::nothing().with_memory().with_cpu(),
        );
        let process = system.process(pid);
        // A cgroup limit of "max" is reported as the host's memory or more,
        // which the minimum with the total absorbs.
        let cgroup = process
            .and_then(|process| process.cgroup_limits())
            .or_else(|| system.cgroup_limits())
            .map(|limits| limits.total_memory);
        // sysinfo reports percent of one core; normalise to all cores.
        let cpu = process.map_or(0.0, |process| f64::from(process.cpu_usage()));
        Reading {
            rss: process.map_or(0, |process| process.memory()),
            cgroup,
            total: system.total_memory(),
            cpu: (cpu / self.cores).clamp(0.0, 100.0),
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
        let first = sampler.sample(start, 0);
        if cfg!(target_os = "linux") {
            assert!(first.rss_bytes > 0);
            assert!(first.memory_limit_bytes >= first.rss_bytes);
            assert!(first.memory_usage > 0.0 && first.memory_usage <= 100.0);
        }
        // Within 500 ms the cached sample is served unchanged.
        let _ballast = vec![1u8; 8 << 20];
        assert_eq!(sampler.sample(start + Duration::from_millis(499), 0), first);
        let later = sampler.sample(start + Duration::from_secs(1), 0);
        assert!((0.0..=100.0).contains(&later.cpu_usage));
    }

    #[test]
    fn a_changed_budget_shows_on_the_cached_reading() {
        let sampler = SystemSampler::new();
        let start = Instant::now();
        let first = sampler.sample(start, 0);
        if first.rss_bytes == 0 {
            return; // sysinfo cannot read this platform
        }
        // Half the resident memory: the same cached RSS, judged at 200 %.
        let budget = (first.rss_bytes / 2).max(1);
        let cached = sampler.sample(start + Duration::from_millis(1), budget);
        assert_eq!(cached.rss_bytes, first.rss_bytes);
        assert_eq!(cached.memory_limit_bytes, budget);
        let expected = first.rss_bytes as f64 / budget as f64 * 100.0;
        assert!((cached.memory_usage - expected).abs() < 1e-9);
        assert!(cached.memory_usage > 100.0);
        // Back to no budget: the hardware limit again.
        assert_eq!(sampler.sample(start + Duration::from_millis(2), 0), first);
    }

    #[test]
    fn the_smallest_known_limit_wins() {
        const GIB: u64 = 1 << 30;
        let cases = [
            // (cgroup, total, budget) → limit
            ((None, 16 * GIB, 0), 16 * GIB),
            ((Some(4 * GIB), 16 * GIB, 0), 4 * GIB),
            // A cgroup of "max" reads as more than the machine has.
            ((Some(u64::MAX), 16 * GIB, 0), 16 * GIB),
            ((None, 16 * GIB, GIB), GIB),
            ((Some(4 * GIB), 16 * GIB, GIB), GIB),
            // A budget above the hardware cannot be used.
            ((Some(4 * GIB), 16 * GIB, 8 * GIB), 4 * GIB),
            ((None, 16 * GIB, 32 * GIB), 16 * GIB),
            // Unknown figures (0) are skipped, not taken as the minimum.
            ((Some(0), 16 * GIB, 0), 16 * GIB),
            ((Some(4 * GIB), 0, 0), 4 * GIB),
            ((None, 0, GIB), GIB),
            ((None, 0, 0), 0),
        ];
        for ((cgroup, total, budget), limit) in cases {
            assert_eq!(
                effective_memory_limit(cgroup, total, budget),
                limit,
                "{cgroup:?} {total} {budget}"
            );
        }
    }

    #[test]
    fn usage_is_rss_over_the_effective_limit() {
        let reading = Reading {
            rss: 200 << 20,
            cgroup: None,
            total: 16 << 30,
            cpu: 5.0,
        };
        let free = reading.metrics(0);
        assert_eq!(free.memory_limit_bytes, 16 << 30);
        assert!((free.memory_usage - 200.0 / 16384.0 * 100.0).abs() < 1e-9);
        let budgeted = reading.metrics(256 << 20);
        assert_eq!(budgeted.memory_limit_bytes, 256 << 20);
        assert!((budgeted.memory_usage - 78.125).abs() < 1e-9);
        assert_eq!((budgeted.rss_bytes, budgeted.cpu_usage), (200 << 20, 5.0));
        assert_eq!(Reading::default().metrics(0).memory_usage, 0.0);
    }

    proptest::proptest! {
        #[test]
        fn the_limit_is_one_given_and_no_larger_than_any(
            cgroup in proptest::option::of(0u64..=u64::MAX),
            total in 0u64..=u64::MAX,
            budget in proptest::prop_oneof![proptest::strategy::Just(0u64), 0u64..=u64::MAX],
        ) {
            let limit = effective_memory_limit(cgroup, total, budget);
            let given: Vec<u64> = [cgroup.unwrap_or(0), total, budget]
                .into_iter()
                .filter(|&l| l > 0)
                .collect();
            if given.is_empty() {
                proptest::prop_assert_eq!(limit, 0);
            } else {
                proptest::prop_assert!(given.contains(&limit));
                proptest::prop_assert!(given.iter().all(|&l| limit <= l));
            }
        }
    }
}
