//! Claims on a time to a state the run could never decide.
//!
//! `time_to_open(external:NAME) < 10s` is judged from the run's first
//! registry or proxy fault applied, `recovery_time(external:NAME) < 30s`
//! from the first one removed, on the breaker states sampled until the run
//! ends. A breaker never seen in the wanted state can only FAIL such a claim
//! once the samples reach past event + threshold; a run that ends sooner
//! leaves it UNKNOWN whatever the target does, so the file is refused.

use std::time::Duration;

use toml::Spanned;

use super::super::raw::RawClaim;
use super::super::{Fault, FaultStep};
use super::Validator;
use crate::{Dependency, Expectation, Metric};

/// Faults the run records as hitting every external of the corpus (a
/// match without a catch-all, so a new fault must be placed here).
fn hits_externals(fault: &Fault) -> bool {
    match fault {
        Fault::RegistryLatency { .. }
        | Fault::RegistryStatus { .. }
        | Fault::RegistryHang
        | Fault::RegistryMalformed
        | Fault::RegistryWrongHash
        | Fault::ProxyReset
        | Fault::ProxyRefused
        | Fault::ProxyBlackhole
        | Fault::ProxyBandwidth { .. }
        | Fault::ProxyTruncate { .. } => true,
        Fault::ProcessPause
        | Fault::ProcessKill
        | Fault::ProcessTerminate
        | Fault::ConfigPatch(_)
        | Fault::CacheClear
        | Fault::BreakerReset(_)
        | Fault::BreakerForceOpen(_)
        | Fault::ModuleEdit(_)
        | Fault::ConfigInvalidPatch(_)
        | Fault::HitRateAudit(_) => false,
    }
}

/// Refuses each `[[claims]]` time to a state whose event the run never has,
/// or whose run ends before event + threshold. `total` is the planned run
/// length, `externals` the corpus's.
pub(super) fn time_to_state(
    c: &mut Validator<'_>,
    raw: &[Spanned<RawClaim>],
    faults: &[FaultStep],
    total: Duration,
    externals: &[String],
) {
    for (i, claim) in raw.iter().enumerate() {
        let expect = &claim.get_ref().expect;
        let Ok(e) = expect.get_ref().parse::<Expectation>() else {
            continue;
        };
        let (dependency, opening) = match &e.metric {
            Metric::TimeToOpen { dependency } => (dependency, true),
            Metric::RecoveryTime { dependency } => (dependency, false),
            _ => continue,
        };
        if e.window.is_some() {
            continue;
        }
        let Dependency::External(name) = dependency;
        let path = format!("claims[{i}].expect");
        if !externals.contains(name) {
            let imports = if externals.is_empty() {
                "no external".to_owned()
            } else {
                externals.join(", ")
            };
            c.at(
                expect.span(),
                path,
                format!("no fault reaches external:{name}: the corpus imports {imports}, so this claim could never be decided"),
            );
            continue;
        }
        let external = faults.iter().filter(|f| hits_externals(&f.fault));
        let (event, what) = if opening {
            (external.map(|f| f.at).min(), "starts")
        } else {
            (
                external.filter_map(|f| Some(f.at + f.duration?)).min(),
                "ends",
            )
        };
        let Some(event) = event.filter(|at| *at <= total) else {
            let needed = if opening {
                "no registry or proxy fault is applied during the run"
            } else {
                "no registry or proxy fault ends during the run (give one a duration)"
            };
            c.at(
                expect.span(),
                path,
                format!("{needed}, so this claim could never be decided"),
            );
            continue;
        };
        let limit = Duration::from_secs_f64(e.threshold.value());
        if total < event + limit {
            let wanted = if opening { "open" } else { "closed" };
            c.at(
                expect.span(),
                path,
                format!(
                    "the run ends at {total:?}, before the first registry or proxy fault {what} \
                     ({event:?}) + {limit:?}: a breaker never seen {wanted} could not be told \
                     from a slow one, so this claim could never be decided; let the phases run \
                     at least until {:?}",
                    event + limit
                ),
            );
        }
    }
}
