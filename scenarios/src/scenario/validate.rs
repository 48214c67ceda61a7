//! From [`RawScenario`] to [`Scenario`]: every problem found, each with the
//! line and column it starts at.

mod decidable;
mod declared;
mod problem;
mod request;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::env::Expanded;
use super::raw::{RawClaim, RawFault, RawLoad, RawScenario, RawTarget};
use super::{Claim, CorpusShape, Fault, FaultStep, Journey, Load, Phase, Scenario, Target};
use crate::{Metric, Secrets};

use problem::{position, syntax_error_mapped};
pub(crate) use problem::{syntax_error, Validator};
pub use problem::{Problem, ScenarioError};

impl Scenario {
    /// Parses and checks a scenario file's text, with each `${NAME}` in it
    /// replaced by environment variable `NAME`. `file` is named in
    /// messages, and a `body_file` is read from its folder.
    ///
    /// # Errors
    /// Every problem found — an unset variable, TOML syntax, unknown keys,
    /// wrong types, invalid durations and claims, references to phases that
    /// do not exist — each with `file:line:col` in the text as written.
    pub fn from_toml(file: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::from_toml_with_env(file, text, |name| std::env::var(name).ok())
    }

    /// [`Scenario::from_toml`] with the variables from `env` rather than
    /// the process's environment.
    ///
    /// ```
    /// use std::path::Path;
    /// use somon_scenarios::Scenario;
    ///
    /// let text = r#"
    /// name = "api"
    /// secrets = ["TOKEN"]
    /// [target]
    /// kind = "url"
    /// url = "http://127.0.0.1:${PORT:-8080}"
    /// [[requests]]
    /// name = "me"
    /// path = "/me"
    /// headers = { Authorization = "Bearer ${TOKEN}" }
    /// [[phases]]
    /// name = "steady"
    /// duration = "5s"
    /// load = { model = "open", rate = 10, journeys = { me = 1 } }
    /// "#;
    /// let env = |name: &str| (name == "TOKEN").then(|| "t0k3n".to_owned());
    /// let s = Scenario::from_toml_with_env(Path::new("api.toml"), text, env).unwrap();
    /// assert_eq!(s.secrets.redact("Bearer t0k3n"), "[redacted]");
    /// let err = Scenario::from_toml_with_env(Path::new("api.toml"), text, |_| None).unwrap_err();
    /// assert!(err.to_string().starts_with("api.toml:10:37: environment variable TOKEN is not set"));
    /// ```
    ///
    /// # Errors
    /// As [`Scenario::from_toml`].
    pub fn from_toml_with_env(
        file: &Path,
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Scenario, ScenarioError> {
        let expanded = super::env::expand(text, env).map_err(|problems| ScenarioError {
            file: file.to_path_buf(),
            problems: problems
                .into_iter()
                .map(|p| {
                    let (line, column) = position(text, p.offset);
                    Problem {
                        line,
                        column,
                        path: String::new(),
                        message: p.message,
                    }
                })
                .collect(),
        })?;
        let raw: RawScenario = toml::from_str(&expanded.text)
            .map_err(|e| syntax_error_mapped(file, text, &e, |o| expanded.original(o)))?;
        let mut validator = Validator::expanded(text, &expanded);
        let dir = file.parent().unwrap_or(Path::new("."));
        let scenario = validate(&mut validator, raw, dir, &expanded);
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

fn validate(c: &mut Validator<'_>, raw: RawScenario, dir: &Path, env: &Expanded) -> Scenario {
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
    let requests = request::requests(c, &raw.requests, dir);
    let secrets = secrets(c, &raw.secrets, env, &requests);
    let other_service = matches!(target, Target::Url(_)) || !requests.is_empty();
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
        let load = load(
            c,
            &phase.load,
            &format!("{path}.load"),
            &requests,
            other_service,
        );
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
            if e.metric != (Metric::ErrorRate { journey: None, class: None }) {
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
        secrets,
    }
}

/// The values no artefact may show: those of the variables `secrets`
/// names, and of every credential header (`Authorization`, `Cookie`, …).
fn secrets(
    c: &mut Validator<'_>,
    names: &[Spanned<String>],
    env: &Expanded,
    requests: &BTreeMap<String, Journey>,
) -> Secrets {
    let mut secrets = Secrets::default();
    for (i, name) in names.iter().enumerate() {
        match env.value_of(name.get_ref()) {
            Some(value) => secrets.add(value),
            None => c.at(
                name.span(),
                format!("secrets[{i}]"),
                format!(
                    "no `${{{0}}}` in this file uses {0}: a secret names a variable the file uses",
                    name.get_ref()
                ),
            ),
        }
    }
    for journey in requests.values() {
        if let Journey::Http(request) = journey {
            for (name, value) in request.headers.iter() {
                if request::is_secret_header(name) {
                    secrets.add(value);
                }
            }
        }
    }
    secrets
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
            // As the load generator will read it, so `check` refuses what
            // a run would.
            if let Err(e) = somon_loadgen::BaseUrl::parse(url.get_ref()) {
                c.at(url.span(), "target.url", e);
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

/// A load's journeys; `other_service` when the scenario is about a
/// service other than the module system (a `url` target or its own
/// `[[requests]]`), where no built-in journey is sent unless named.
fn journeys(
    c: &mut Validator<'_>,
    raw: &Spanned<RawLoad>,
    path: &str,
    requests: &BTreeMap<String, Journey>,
    other_service: bool,
) -> Vec<(Journey, u32)> {
    let load = raw.get_ref();
    if load.journeys.is_empty() {
        // The module system's default would go to a service that is not
        // one: say so rather than send it `/modules/load`.
        if other_service {
            c.at(
                raw.span(),
                format!("{path}.journeys"),
                "name the journeys this phase sends (`journeys = { NAME = 1 }`): \
                 the default, load_cached, is the module system's",
            );
            return Vec::new();
        }
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
    other_service: bool,
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
            let journeys = journeys(c, raw, path, requests, other_service);
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
            let journeys = journeys(c, raw, path, requests, other_service);
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
            let journeys = journeys(c, raw, path, requests, other_service);
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
