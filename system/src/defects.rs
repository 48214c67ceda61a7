//! Defect twins: switches that make one claim false on purpose,
//! each modelled on a real bug of module systems like this one. A gate that
//! cannot fail is worthless; these prove each check can.
//!
//! Every switch is off by default; each is one small, clearly marked code
//! path in the component it breaks (search for `Defect::`). A target with
//! any switch on says so in its start-up log and in `/health/details`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// One deliberate bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Defect {
    /// The entry limit evicts by insertion order, not by use (a FIFO cache
    /// called LRU).
    FifoEviction,
    /// Cached modules are never re-validated: edits are not seen.
    StaleCache,
    /// The reported hit rate is always 0.
    HitRateZero,
    /// Circuit breakers never open.
    BreakerNeverTrips,
    /// An open circuit breaker never lets a trial call through.
    BreakerStuckOpen,
    /// 1 % of cache hits take 150 ms longer, stalling the worker thread
    /// that serves them (as a synchronous step on an event loop would).
    SlowHits,
    /// Every load holds one global lock: loads do not scale.
    GlobalLock,
    /// `POST /config` applies each valid-looking field before validating the
    /// whole patch, so a rejected patch is half applied.
    ConfigApplyBeforeValidate,
    /// Each load leaks 64 KiB (its read buffer is never freed).
    Leak,
    /// SIGTERM exits at once, dropping requests in flight.
    DropInflightOnShutdown,
    /// Concurrent misses of one module each compile it.
    NoSingleFlight,
    /// Every cache hit takes 20 ms longer (a slower build: the regression
    /// gate's twin, not a claim's).
    SlowCached,
    /// Applying a config reloads the loaders: for 500 ms after a change,
    /// loads are refused with 503 (config applied by restarting workers —
    /// what "zero-downtime configuration updates" rules out).
    ReloadOnConfig,
    /// Every health, metrics and status request builds a new snapshot of
    /// the whole host instead of reusing the 500 ms process sample.
    HeavyHealth,
    /// Loads, compiles and bundles reject every import cycle, whatever
    /// `circularDependencyStrategy` says (the documented default `warn`
    /// ignored): legal CommonJS cycles become errors, and so does every
    /// module whose imports reach one.
    RejectCycles,
    /// Background revalidation pollers run with a zero interval: they spin
    /// on every core while the server idles (requests are still served).
    BusyPoll,
    /// Module files are read one byte per system call (`File::bytes()`
    /// without a `BufReader`): every compile, so every cold start, pays a
    /// syscall per byte of source.
    UnbufferedRead,
    /// The source map finds each generated line by counting newlines from
    /// the top of the bundle, once per line (a line index rebuilt per
    /// lookup): bundling with a source map grows with the square of the
    /// bundle's size.
    QuadraticSourceMap,
    /// `/health` answers `healthy` whatever its checks say (a liveness stub
    /// standing in for the health check): an open breaker, an error burst
    /// or memory pressure never shows.
    StaticHealth,
    /// `POST /circuit-breakers/NAME/reset` acknowledges the reset and does
    /// not do it: the breaker stays open until its retry delay runs out.
    ResetIgnored,
    /// `POST /cache/clear` reports the entries as cleared and keeps them.
    ClearIgnored,
    /// A `maxCacheSize` patch is accepted and shown in `/config` but only
    /// takes effect at the next start: the running cache keeps its size.
    ShrinkOnRestart,
}

impl Defect {
    /// Every defect, in a stable order.
    pub const ALL: [Defect; 22] = [
        Defect::FifoEviction,
        Defect::StaleCache,
        Defect::HitRateZero,
        Defect::BreakerNeverTrips,
        Defect::BreakerStuckOpen,
        Defect::SlowHits,
        Defect::GlobalLock,
        Defect::ConfigApplyBeforeValidate,
        Defect::Leak,
        Defect::DropInflightOnShutdown,
        Defect::NoSingleFlight,
        Defect::SlowCached,
        Defect::ReloadOnConfig,
        Defect::HeavyHealth,
        Defect::RejectCycles,
        Defect::BusyPoll,
        Defect::UnbufferedRead,
        Defect::QuadraticSourceMap,
        Defect::StaticHealth,
        Defect::ResetIgnored,
        Defect::ClearIgnored,
        Defect::ShrinkOnRestart,
    ];

    /// Its name on the command line and in `SOMON_DEFECTS`.
    pub fn name(self) -> &'static str {
        match self {
            Defect::FifoEviction => "fifo-eviction",
            Defect::StaleCache => "stale-cache",
            Defect::HitRateZero => "hit-rate-zero",
            Defect::BreakerNeverTrips => "breaker-never-trips",
            Defect::BreakerStuckOpen => "breaker-stuck-open",
            Defect::SlowHits => "slow-hits",
            Defect::GlobalLock => "global-lock",
            Defect::ConfigApplyBeforeValidate => "config-apply-before-validate",
            Defect::Leak => "leak",
            Defect::DropInflightOnShutdown => "drop-inflight-on-shutdown",
            Defect::NoSingleFlight => "no-single-flight",
            Defect::SlowCached => "slow-cached",
            Defect::ReloadOnConfig => "reload-on-config",
            Defect::HeavyHealth => "heavy-health",
            Defect::RejectCycles => "reject-cycles",
            Defect::BusyPoll => "busy-poll",
            Defect::UnbufferedRead => "unbuffered-read",
            Defect::QuadraticSourceMap => "quadratic-source-map",
            Defect::StaticHealth => "static-health",
            Defect::ResetIgnored => "reset-ignored",
            Defect::ClearIgnored => "clear-ignored",
            Defect::ShrinkOnRestart => "shrink-on-restart",
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Defect {
    type Err = String;

    fn from_str(name: &str) -> Result<Defect, String> {
        Defect::ALL
            .into_iter()
            .find(|d| d.name() == name.trim())
            .ok_or_else(|| {
                let known: Vec<&str> = Defect::ALL.iter().map(|d| d.name()).collect();
                format!("unknown defect \"{name}\" (known: {})", known.join(", "))
            })
    }
}

/// A set of defects; empty (sound) by default.
///
/// ```
/// use somon_system::{Defect, Defects};
/// let defects: Defects = "fifo-eviction, slow-hits".parse().unwrap();
/// assert!(defects.has(Defect::SlowHits));
/// assert!(!defects.has(Defect::Leak));
/// assert!(Defects::default().is_sound());
/// assert!("no-such-bug".parse::<Defects>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Defects(u32);

impl Defects {
    /// No defect.
    pub const NONE: Defects = Defects(0);

    /// This set plus `defect`.
    pub fn with(self, defect: Defect) -> Defects {
        Defects(self.0 | defect.bit())
    }

    /// Whether `defect` is switched on.
    pub fn has(self, defect: Defect) -> bool {
        self.0 & defect.bit() != 0
    }

    /// Whether no defect is on.
    pub fn is_sound(self) -> bool {
        self.0 == 0
    }

    /// The defects switched on.
    pub fn list(self) -> Vec<Defect> {
        Defect::ALL.into_iter().filter(|d| self.has(*d)).collect()
    }
}

impl FromIterator<Defect> for Defects {
    fn from_iter<I: IntoIterator<Item = Defect>>(iter: I) -> Defects {
        iter.into_iter().fold(Defects::NONE, Defects::with)
    }
}

impl FromStr for Defects {
    type Err = String;

    /// A comma-separated list (`SOMON_DEFECTS=a,b`); blanks are ignored.
    fn from_str(list: &str) -> Result<Defects, String> {
        list.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(str::parse)
            .collect()
    }
}

impl Serialize for Defects {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.list())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_defect_round_trips_its_name() {
        for defect in Defect::ALL {
            assert_eq!(defect.name().parse::<Defect>(), Ok(defect));
            assert!(Defects::NONE.with(defect).has(defect));
        }
        let all: Defects = Defect::ALL.into_iter().collect();
        assert_eq!(all.list(), Defect::ALL);
        assert_eq!("".parse::<Defects>(), Ok(Defects::NONE));
    }
}
