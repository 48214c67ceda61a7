//! From [`RawScenario`] to [`Scenario`]: every problem found, each with the
//! line and column it starts at.

mod decidable;
mod declared;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::raw::{RawClaim, RawFault, RawLoad, RawScenario, RawTarget};
use super::{Claim, CorpusShape, Fault, FaultStep, Journey, Load, Phase, Scenario, Target};
use crate::{parse_duration, Expectation, Metric};

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// Where in the document (`claims[2].expect`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// A scenario file that cannot be used: every problem found, with its
/// position. Displays as `file:line:col: path: message`, one per line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The file, as given.
    pub file: PathBuf,
    /// The problems, in document order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let file = self.file.display();
            if p.path.is_empty() {
                write!(f, "{file}:{}:{}: {}", p.line, p.column, p.message)?;
            } else {
                write!(
                    f,
                    "{file}:{}:{}: {}: {}",
                    p.line, p.column, p.path, p.message
                )?;
            }
        }
        Ok(())
    }
}

/// Line and column (1-based, characters) of byte `offset` in `text`.
pub(crate) fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Collects problems against the source text (other file formats built on
/// scenarios, such as game-day plans, use it too).
pub(crate) struct Validator<'a> {
    text: &'a str,
    pub(crate) problems: Vec<Problem>,
}

/// A TOML syntax or shape error of `file`, at its position.
pub(crate) fn syntax_error(file: &Path, text: &str, error: &toml::de::Error) -> ScenarioError {
    let (line, column) = position(text, error.span().map_or(0, |s| s.start));
    ScenarioError {
        file: file.to_path_buf(),
        problems: vec![Problem {
            line,
            column,
            path: String::new(),
            message: error.message().trim().to_owned(),
        }],
    }
}

impl<'a> Validator<'a> {
    /// No problems yet, in `text`.
    pub(crate) fn new(text: &'a str) -> Validator<'a> {
        Validator {
            text,
            problems: Vec::new(),
        }
    }

    pub(crate) fn at(
        &mut self,
        span: Range<usize>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        let (line, column) = position(self.text, span.start);
        self.problems.push(Problem {
            line,
            column,
            path: path.into(),
            message: message.into(),
        });
    }

    pub(crate) fn duration(&mut self, value: &Spanned<String>, path: &str) -> Option<Duration> {
        let parsed = parse_duration(value.get_ref());
        if parsed.is_none() {
            self.at(
                value.span(),
                path,
                format!(
                    "\"{}\" is not a duration (e.g. 250ms, 10s, 2m)",
                    value.get_ref()
                ),
            );
        }
        parsed
    }

    /// A claim-language text; errors point inside the string.
    fn expectation(&mut self, value: &Spanned<String>, path: &str) -> Option<Expectation> {
        match value.get_ref().parse::<Expectation>() {
            Ok(e) => Some(e),
            Err(e) => {
                // +1 for the opening quote of a basic string.
                let start = value.span().start + 1 + char_offset(value.get_ref(), e.column);
                self.at(start..start, path, e.message);
                None
            }
        }
    }
}

/// Byte offset of 1-based character column `column` in `text`.
fn char_offset(text: &str, column: usize) -> usize {
    text.char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i)
}

impl Scenario {
    /// Parses and checks a scenario file's text. `file` is only used in
    /// messages.
    ///
    /// # Errors
    /// Every problem found — TOML syntax, unknown keys, wrong types,
    /// invalid durations and claims, references to phases that do not
    /// exist — each with `file:line:col`.
    pub fn from_toml(file: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        let raw: RawScenario = toml::from_str(text).map_err(|e| syntax_error(file, text, &e))?;
        let mut validator = Validator::new(text);
        let scenario = validate(&mut validator, raw);
        if validator.problems.is_empty() {
            Ok(scenario)
        } else {
            validator.problems.sort_by_key(|p| (p.line, p.column));
            Err(ScenarioError {
                file: file.to_path_buf(),
                problems: validator.problems,
            })
        }
    }
}

fn validate(c: &mut Validator<'_>, raw: RawScenario) -> Scenario {
    if raw.name.get_ref().trim().is_empty() {
        c.at(raw.name.span(), "name", "must not be empty");
    }
    let target = raw.target.map_or(
        Target::Spawn {
            config: Default::default(),
        },
        |t| target(c, t),
    );
    let corpus = corpus(c, &raw.corpus);
    let requests = declared::requests(c, &raw.requests);
    let checks = declared::checks(c, &raw.checks);
    let regression = declared::regression(c, raw.regression.as_ref());
    let mut names = BTreeSet::new();
    let mut phases = Vec::new();
    for (i, phase) in raw.phases.iter().enumerate() {
        let path = format!("phases[{i}]");
        let span = phase.span();
        let phase = phase.get_ref();
        if !names.insert(phase.name.clone()) {
            c.at(
                span.clone(),
                format!("{path}.name"),
                format!("phase \"{}\" appears twice", phase.name),
            );
        }
        let duration = c.duration(&phase.duration, &format!("{path}.duration"));
        let load = load(c, &phase.load, &format!("{path}.load"), &requests);
        if let (Some(duration), Some(load)) = (duration, load) {
            phases.push(Phase {
                name: phase.name.clone(),
                duration,
                load,
            });
        }
    }
    if raw.phases.is_empty() {
        c.at(
            0..0,
            "phases",
            "a scenario needs at least one [[phases]] entry",
        );
    }
    let total: Duration = phases.iter().map(|p| p.duration).sum();
    let faults: Vec<FaultStep> = raw
        .faults
        .iter()
        .enumerate()
        .filter_map(|(i, f)| fault(c, f, &format!("faults[{i}]"), total, &target))
        .collect();
    let steady_state = raw
        .steady_state
        .probes
        .iter()
        .enumerate()
        .filter_map(|(i, p)| c.expectation(p, &format!("steady_state.probes[{i}]")))
        .collect();
    let abort = raw
        .abort
        .when
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let path = format!("abort.when[{i}]");
            let e = c.expectation(p, &path)?;
            // Abort conditions are watched live, on the one-second
            // intervals the generator reports while it runs.
            if e.metric != (Metric::ErrorRate { journey: None }) {
                c.at(
                    p.span(),
                    path,
                    "an abort condition watches the overall error_rate (e.g. `error_rate > 50% for 10s`)",
                );
                return None;
            }
            Some(e)
        })
        .collect();
    let mut ids = BTreeSet::new();
    let claims = claims(c, &raw.claims, "claims", &names, &mut ids, false);
    let alerts = claims_alerts(c, &raw.alerts, &names, &mut ids);
    for (section, raw, judged) in [
        ("claims", &raw.claims, &claims),
        ("alerts", &raw.alerts, &alerts),
    ] {
        for (i, claim) in raw.iter().enumerate() {
            let named = judged
                .iter()
                .find(|j| j.id == *claim.get_ref().id.get_ref());
            if let Some(Metric::Check { name }) = named.map(|j| &j.expect.metric) {
                if !checks.iter().any(|k| k.name == *name) {
                    c.at(
                        claim.get_ref().expect.span(),
                        format!("{section}[{i}].expect"),
                        format!("no [[checks]] entry named \"{name}\""),
                    );
                }
            }
        }
    }
    if faults.len() == raw.faults.len() && phases.len() == raw.phases.len() {
        decidable::time_to_state(c, &raw.claims, &faults, total, &corpus.externals);
    }
    let capacity = raw
        .capacity
        .as_ref()
        .and_then(|cap| super::capacity::capacity(c, cap, &phases, &mut ids));
    Scenario {
        name: raw.name.into_inner(),
        description: raw.description,
        seed: raw.seed,
        target,
        corpus,
        phases,
        faults,
        steady_state,
        abort,
        claims,
        alerts,
        capacity,
        checks,
        regression,
    }
}

fn claims_alerts(
    c: &mut Validator<'_>,
    raw: &[Spanned<RawClaim>],
    phases: &BTreeSet<String>,
    ids: &mut BTreeSet<String>,
) -> Vec<Claim> {
    claims(c, raw, "alerts", phases, ids, true)
}

fn claims(
    c: &mut Validator<'_>,
    raw: &[Spanned<RawClaim>],
    section: &str,
    phases: &BTreeSet<String>,
    ids: &mut BTreeSet<String>,
    windowed: bool,
) -> Vec<Claim> {
    let mut out = Vec::new();
    for (i, claim) in raw.iter().enumerate() {
        let path = format!("{section}[{i}]");
        let claim = claim.get_ref();
        let id = claim.id.get_ref();
        if id.trim().is_empty() || !ids.insert(id.clone()) {
            c.at(
                claim.id.span(),
                format!("{path}.id"),
                format!("id \"{id}\" is empty or not unique"),
            );
        }
        if let Some(phase) = &claim.phase {
            if !phases.contains(phase.get_ref()) {
                let known: Vec<&str> = phases.iter().map(String::as_str).collect();
                c.at(
                    phase.span(),
                    format!("{path}.phase"),
                    format!(
                        "no phase \"{}\" (phases: {})",
                        phase.get_ref(),
                        known.join(", ")
                    ),
                );
            }
        }
        let Some(expect) = c.expectation(&claim.expect, &format!("{path}.expect")) else {
            continue;
        };
        if windowed && expect.window.is_none() {
            c.at(
                claim.expect.span(),
                format!("{path}.expect"),
                "an alert needs a window (… for 2m)",
            );
        }
        out.push(Claim {
            id: id.clone(),
            source: claim.source.clone(),
            expect,
            phase: claim.phase.as_ref().map(|p| p.get_ref().clone()),
        });
    }
    out
}

fn target(c: &mut Validator<'_>, raw: Spanned<RawTarget>) -> Target {
    let span = raw.span();
    let raw = raw.into_inner();
    let config = raw
        .config
        .into_iter()
        .filter_map(|(k, v)| serde_json::to_value(v).ok().map(|v| (k, v)))
        .collect();
    match (raw.kind.get_ref().as_str(), raw.url) {
        ("embedded", None) => Target::Embedded { config },
        ("spawn", None) => Target::Spawn { config },
        ("url", Some(url)) => {
            let text = url.get_ref();
            if !(text.starts_with("http://") || text.starts_with("https://")) {
                c.at(
                    url.span(),
                    "target.url",
                    "expected an http:// or https:// URL",
                );
            }
            Target::Url(url.into_inner())
        }
        ("url", None) => {
            c.at(span, "target.url", "a url target needs `url`");
            Target::Url(String::new())
        }
        ("embedded" | "spawn", Some(url)) => {
            c.at(url.span(), "target.url", "only a `url` target takes a url");
            Target::Spawn { config }
        }
        (other, _) => {
            c.at(
                raw.kind.span(),
                "target.kind",
                format!("unknown target \"{other}\": expected embedded, spawn or url"),
            );
            Target::Spawn { config }
        }
    }
}

fn corpus(c: &mut Validator<'_>, raw: &super::raw::RawCorpus) -> CorpusShape {
    let default = CorpusShape::default();
    let shape = CorpusShape {
        modules: raw.modules.unwrap_or(default.modules),
        mean_bytes: raw.mean_bytes.unwrap_or(default.mean_bytes),
        depth: raw.depth.unwrap_or(default.depth),
        entries: raw.entries.unwrap_or(default.entries),
        externals: raw.externals.clone(),
        external_fraction: raw
            .external_fraction
            .unwrap_or(if raw.externals.is_empty() { 0.0 } else { 0.1 }),
        zipf: raw.zipf.unwrap_or(default.zipf),
        cycles: raw.cycles.unwrap_or(default.cycles),
    };
    if shape.modules == 0 || shape.entries == 0 || shape.entries > shape.modules {
        c.at(0..0, "corpus", "needs modules ≥ entries ≥ 1");
    }
    if !(0.0..=1.0).contains(&shape.external_fraction) {
        c.at(0..0, "corpus.external_fraction", "must lie between 0 and 1");
    }
    if !(shape.zipf > 0.0 && shape.zipf.is_finite()) {
        c.at(0..0, "corpus.zipf", "must be a positive exponent");
    }
    shape
}

fn journeys(
    c: &mut Validator<'_>,
    raw: &Spanned<RawLoad>,
    path: &str,
    requests: &BTreeMap<String, Journey>,
) -> Vec<(Journey, u32)> {
    let load = raw.get_ref();
    if load.journeys.is_empty() {
        return vec![(Journey::LoadCached, 1)];
    }
    let mut out = Vec::new();
    for (name, weight) in &load.journeys {
        match Journey::named(name).or_else(|| requests.get(name).cloned()) {
            Some(j) if *weight > 0 => out.push((j, *weight)),
            Some(_) => c.at(
                raw.span(),
                format!("{path}.journeys.{name}"),
                "weight must be at least 1",
            ),
            None => {
                let known: Vec<&str> = Journey::ALL
                    .iter()
                    .map(|j| j.name())
                    .chain(requests.keys().map(String::as_str))
                    .collect();
                c.at(
                    raw.span(),
                    format!("{path}.journeys"),
                    format!("unknown journey \"{name}\" (known: {})", known.join(", ")),
                );
            }
        }
    }
    out
}

fn load(
    c: &mut Validator<'_>,
    raw: &Spanned<RawLoad>,
    path: &str,
    requests: &BTreeMap<String, Journey>,
) -> Option<Load> {
    let load = raw.get_ref();
    let opt = |c: &mut Validator<'_>, v: &Option<Spanned<String>>, field: &str| {
        v.as_ref().map_or(Some(Duration::ZERO), |v| {
            c.duration(v, &format!("{path}.{field}"))
        })
    };
    match load.model.get_ref().as_str() {
        "closed" => {
            let users = load.users.filter(|u| *u > 0);
            if users.is_none() {
                c.at(
                    raw.span(),
                    format!("{path}.users"),
                    "a closed model needs users ≥ 1",
                );
            }
            let ramp = opt(c, &load.ramp, "ramp");
            let think = opt(c, &load.think, "think");
            let journeys = journeys(c, raw, path, requests);
            Some(Load::Closed {
                users: users?,
                ramp: ramp?,
                think: think?,
                journeys,
            })
        }
        "open" => {
            let mut steps = Vec::new();
            if let Some(rate) = load.rate {
                steps.push((rate, Duration::ZERO));
            }
            for (i, step) in load.steps.iter().enumerate() {
                let d = c.duration(&step.duration, &format!("{path}.steps[{i}].duration"))?;
                steps.push((step.rate, d));
            }
            if steps.is_empty() || steps.iter().any(|(r, _)| !(*r > 0.0 && r.is_finite())) {
                c.at(
                    raw.span(),
                    format!("{path}.rate"),
                    "an open model needs rate > 0 (or steps with rates > 0)",
                );
                return None;
            }
            let journeys = journeys(c, raw, path, requests);
            Some(Load::Open {
                steps,
                max_in_flight: load.max_in_flight.unwrap_or(1000),
                journeys,
            })
        }
        "burst" => {
            let count = load.count.filter(|n| *n > 0);
            if count.is_none() {
                c.at(
                    raw.span(),
                    format!("{path}.count"),
                    "a burst needs count ≥ 1",
                );
            }
            let journeys = journeys(c, raw, path, requests);
            Some(Load::Burst {
                count: count?,
                journey: journeys.first()?.0.clone(),
            })
        }
        "idle" => Some(Load::Idle),
        other => {
            c.at(
                load.model.span(),
                format!("{path}.model"),
                format!("unknown model \"{other}\": expected closed, open, burst or idle"),
            );
            None
        }
    }
}

fn fault(
    c: &mut Validator<'_>,
    raw: &Spanned<RawFault>,
    path: &str,
    total: Duration,
    target: &Target,
) -> Option<FaultStep> {
    let span = raw.span();
    let f = raw.get_ref();
    let at = c.duration(&f.at, &format!("{path}.at"));
    let duration = match &f.duration {
        Some(d) => Some(c.duration(d, &format!("{path}.duration"))?),
        None => None,
    };
    if let Some(at) = at {
        if at > total && !total.is_zero() {
            c.at(
                f.at.span(),
                format!("{path}.at"),
                "after the last phase ends",
            );
        }
    }
    let kind = f.kind.get_ref().as_str();
    let need = |c: &mut Validator<'_>, ok: bool, what: &str| {
        if !ok {
            c.at(span.clone(), path, format!("fault \"{kind}\" needs {what}"));
        }
        ok
    };
    let fault =
        match kind {
            "registry-latency" => {
                let latency = f
                    .latency
                    .as_ref()
                    .and_then(|l| c.duration(l, &format!("{path}.latency")));
                let jitter = match &f.jitter {
                    Some(j) => c.duration(j, &format!("{path}.jitter"))?,
                    None => Duration::ZERO,
                };
                need(c, latency.is_some(), "latency").then(|| Fault::RegistryLatency {
                    latency: latency.unwrap_or_default(),
                    jitter,
                })
            }
            "registry-status" => {
                let ok = f.status.is_some_and(|s| (100..600).contains(&s));
                let probability = f.probability.unwrap_or(1.0);
                let p_ok = (0.0..=1.0).contains(&probability);
                (need(c, ok, "status (100–599)") & need(c, p_ok, "probability in [0, 1]")).then(
                    || Fault::RegistryStatus {
                        status: f.status.unwrap_or(503),
                        probability,
                    },
                )
            }
            "registry-hang" => Some(Fault::RegistryHang),
            "registry-malformed" => Some(Fault::RegistryMalformed),
            "registry-wrong-hash" => Some(Fault::RegistryWrongHash),
            "proxy-reset" => Some(Fault::ProxyReset),
            "proxy-refused" => Some(Fault::ProxyRefused),
            "proxy-blackhole" => Some(Fault::ProxyBlackhole),
            "proxy-bandwidth" => need(c, f.bytes_per_sec.is_some_and(|b| b > 0), "bytes_per_sec")
                .then(|| Fault::ProxyBandwidth {
                    bytes_per_sec: f.bytes_per_sec.unwrap_or(1),
                }),
            "proxy-truncate" => {
                need(c, f.after_bytes.is_some(), "after_bytes").then(|| Fault::ProxyTruncate {
                    after_bytes: f.after_bytes.unwrap_or(0),
                })
            }
            "process-pause" | "process-kill" | "process-terminate" => {
                if matches!(target, Target::Url(_)) {
                    c.at(
                        f.kind.span(),
                        format!("{path}.kind"),
                        "process faults need a target this run starts (spawn)",
                    );
                    return None;
                }
                Some(match kind {
                    "process-pause" => Fault::ProcessPause,
                    "process-kill" => Fault::ProcessKill,
                    _ => Fault::ProcessTerminate,
                })
            }
            "config-patch" => need(c, f.patch.is_some(), "a patch table").then(|| {
                Fault::ConfigPatch(
                    serde_json::to_value(f.patch.clone().unwrap_or_default()).unwrap_or_default(),
                )
            }),
            "cache-clear" => Some(Fault::CacheClear),
            "module-edit" | "config-invalid-patch" | "hit-rate-audit"
                if matches!(target, Target::Url(_)) =>
            {
                c.at(
                f.kind.span(),
                format!("{path}.kind"),
                "probes edit the corpus or the target's config: they need a target this run starts",
            );
                None
            }
            "module-edit" => Some(Fault::ModuleEdit(f.module.clone())),
            "hit-rate-audit" => Some(Fault::HitRateAudit(f.count.unwrap_or(200).max(1))),
            "config-invalid-patch" => need(c, f.patch.is_some(), "a patch table").then(|| {
                Fault::ConfigInvalidPatch(
                    serde_json::to_value(f.patch.clone().unwrap_or_default()).unwrap_or_default(),
                )
            }),
            "breaker-reset" => Some(Fault::BreakerReset(f.name.clone())),
            "breaker-force-open" => need(c, f.name.is_some(), "the breaker's name")
                .then(|| Fault::BreakerForceOpen(f.name.clone().unwrap_or_default())),
            other => {
                c.at(
                    f.kind.span(),
                    format!("{path}.kind"),
                    format!("unknown fault \"{other}\""),
                );
                None
            }
        }?;
    Some(FaultStep {
        at: at?,
        duration,
        fault,
    })
}
