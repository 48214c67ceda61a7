//! The user journeys against the module system's HTTP API, and the
//! [`Workload`] that picks among them (weighted, seeded).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::json;

use crate::request::{Request, RequestSource};
use crate::Error;

/// One kind of user journey: the module system's own, or one
/// request to any HTTP service ([`Journey::http`]), for profiles of other
/// services run with `--target URL`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Journey {
    /// `GET /modules/load?path=P` with Zipf popularity over the modules.
    LoadCached,
    /// `GET /modules/load?path=P` cycling through modules not requested
    /// before (after a full cycle they are no longer cold).
    LoadCold,
    /// An application's first load: `POST /cache/clear` (recorded as
    /// `cache_clear`), then `GET /modules/load?path=E` (recorded as
    /// `cold_start`) cycling through the entries, so each measured load
    /// compiles an entry and its whole dependency closure from an empty
    /// cache. Cycling over a fixed few entries makes every run measure the
    /// same loads whatever the target's speed: over the whole corpus a slow
    /// target would be judged on its first modules and a fast one on most
    /// of them. Run it with a closed model of one user: concurrent users
    /// would clear each other's half-loaded closures.
    ColdStart,
    /// `POST /modules/compile {"entry"}` over the entries.
    Compile,
    /// `POST /modules/bundle {"entry", "sourceMaps": true}` over the entries:
    /// a bundle with its source map, as a production build asks for.
    Bundle,
    /// `GET /modules/load?path=P` over modules importing externals.
    External,
    /// An operator polling `GET /health` then `GET /metrics`.
    Ops,
    /// A probe calling `GET /health` alone (the "health check < 1 ms"
    /// claim).
    Health,
    /// One request declared by a scenario (any method, path, headers and
    /// body), recorded under its op name. Built with [`Journey::http`].
    Http(Arc<Request>),
}

impl Journey {
    /// Every journey.
    pub const ALL: [Journey; 8] = [
        Journey::LoadCached,
        Journey::LoadCold,
        Journey::ColdStart,
        Journey::Compile,
        Journey::Bundle,
        Journey::External,
        Journey::Ops,
        Journey::Health,
    ];

    /// A journey of one request, recorded under the request's op name.
    ///
    /// ```
    /// use somon_loadgen::{Journey, Request, Workload};
    ///
    /// let j = Journey::http(Request::get("templates", "/templates"));
    /// assert_eq!(j.name(), "templates");
    /// let w = Workload::new(vec![], vec![], vec![], 1).with_mix(vec![(j, 1)]).unwrap();
    /// assert_eq!(w.next_requests()[0].path, "/templates");
    /// ```
    pub fn http(request: Request) -> Journey {
        Journey::Http(Arc::new(request))
    }

    /// The op name its requests are recorded under (`load_cached`, …),
    /// also its name in scenario files and claims.
    pub fn name(&self) -> &str {
        match self {
            Journey::LoadCached => "load_cached",
            Journey::LoadCold => "load_cold",
            Journey::ColdStart => "cold_start",
            Journey::Compile => "compile",
            Journey::Bundle => "bundle",
            Journey::External => "external",
            Journey::Ops => "ops",
            Journey::Health => "health",
            Journey::Http(request) => &request.op,
        }
    }

    /// The built-in journey called `name`, if any.
    pub fn named(name: &str) -> Option<Journey> {
        Journey::ALL.into_iter().find(|j| j.name() == name)
    }
}

impl std::fmt::Display for Journey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which modules the journeys use, and how often each journey runs.
/// A single journey is a mix of one; `mixed` is several with weights.
///
/// ```
/// use somon_loadgen::{Journey, Workload};
///
/// let w = Workload::new(vec!["a.som".into(), "b.som".into()], vec!["a.som".into()], vec![], 7)
///     .with_mix(vec![(Journey::LoadCached, 9), (Journey::Ops, 1)])
///     .unwrap();
/// let first = w.next_requests();
/// assert!(first[0].path.starts_with("/modules/load?path=") || first[0].path == "/health");
/// ```
#[derive(Debug)]
pub struct Workload {
    modules: Vec<String>,
    entries: Vec<String>,
    external_modules: Vec<String>,
    /// Cumulative Zipf weights over `modules`, normalised to 1.
    zipf_cdf: Vec<f64>,
    mix: Vec<(Journey, u32)>,
    mix_total: u64,
    seed: u64,
    draws: AtomicU64,
    cold_cursor: AtomicU64,
    cursor: AtomicU64,
}

impl Workload {
    /// A workload over module ids (paths under the module root), entries,
    /// and modules importing externals; Zipf exponent 1, only
    /// [`Journey::LoadCached`] until [`with_mix`](Self::with_mix).
    pub fn new(
        modules: Vec<String>,
        entries: Vec<String>,
        external_modules: Vec<String>,
        seed: u64,
    ) -> Workload {
        let mut workload = Workload {
            modules,
            entries,
            external_modules,
            zipf_cdf: Vec::new(),
            mix: vec![(Journey::LoadCached, 1)],
            mix_total: 1,
            seed,
            draws: AtomicU64::new(0),
            cold_cursor: AtomicU64::new(0),
            cursor: AtomicU64::new(0),
        };
        workload.set_zipf_exponent(1.0);
        workload
    }

    /// Sets the Zipf exponent `s` of `load_cached` (module `i` is requested
    /// with weight `1 / (i + 1)^s`; `0` is uniform).
    pub fn with_zipf_exponent(mut self, s: f64) -> Workload {
        self.set_zipf_exponent(s);
        self
    }

    fn set_zipf_exponent(&mut self, s: f64) {
        let weights: Vec<f64> = (0..self.modules.len())
            .map(|i| 1.0 / ((i + 1) as f64).powf(s.max(0.0)))
            .collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        self.zipf_cdf = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
    }

    /// Sets the journeys and their weights.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when the mix is empty, all weights are zero,
    /// or a journey lacks what it needs (modules, entries, external modules).
    pub fn with_mix(mut self, mix: Vec<(Journey, u32)>) -> Result<Workload, Error> {
        let bad = |reason: String| {
            Err(Error::InvalidSetting {
                setting: "journeys",
                reason,
            })
        };
        let total: u64 = mix.iter().map(|(_, w)| u64::from(*w)).sum();
        if total == 0 {
            return bad("no journey with a positive weight".into());
        }
        for (journey, weight) in &mix {
            let empty = match journey {
                Journey::LoadCached | Journey::LoadCold => self.modules.is_empty(),
                Journey::Compile | Journey::Bundle | Journey::ColdStart => self.entries.is_empty(),
                Journey::External => self.external_modules.is_empty(),
                Journey::Ops | Journey::Health | Journey::Http(_) => false,
            };
            if *weight > 0 && empty {
                return bad(format!("`{}` has nothing to request", journey.name()));
            }
        }
        self.mix = mix;
        self.mix_total = total;
        Ok(self)
    }

    /// A uniform draw in `[0, 1)`: a seeded hash of a shared counter, so
    /// many users draw without a lock and a seed gives the same sequence.
    fn draw(&self) -> f64 {
        let n = self.draws.fetch_add(1, Ordering::Relaxed);
        let mut z = self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick_journey(&self) -> &Journey {
        let mut target = (self.draw() * self.mix_total as f64) as u64;
        for (journey, weight) in &self.mix {
            let weight = u64::from(*weight);
            if target < weight {
                return journey;
            }
            target -= weight;
        }
        &self.mix[0].0
    }

    fn zipf_module(&self) -> &str {
        let u = self.draw();
        let i = self.zipf_cdf.partition_point(|c| *c < u);
        &self.modules[i.min(self.modules.len() - 1)]
    }

    fn next_of<'a>(&self, list: &'a [String], cursor: &AtomicU64) -> &'a str {
        let n = cursor.fetch_add(1, Ordering::Relaxed);
        &list[(n % list.len() as u64) as usize]
    }

    /// The requests of one journey iteration (one, or two for `ops`).
    pub fn requests_of(&self, journey: &Journey) -> Vec<Request> {
        let op = journey.name();
        let load = |path: &str| Request::get(op, format!("/modules/load?path={}", encode(path)));
        match journey {
            Journey::LoadCached => vec![load(self.zipf_module())],
            Journey::LoadCold => vec![load(self.next_of(&self.modules, &self.cold_cursor))],
            Journey::ColdStart => vec![
                Request::post_json("cache_clear", "/cache/clear", &json!({})),
                load(self.next_of(&self.entries, &self.cold_cursor)),
            ],
            Journey::External => vec![load(self.next_of(&self.external_modules, &self.cursor))],
            Journey::Compile => {
                let entry = self.next_of(&self.entries, &self.cursor);
                let body = json!({ "entry": entry });
                vec![Request::post_json(op, "/modules/compile", &body)]
            }
            Journey::Bundle => {
                let entry = self.next_of(&self.entries, &self.cursor);
                let body = json!({ "entry": entry, "sourceMaps": true });
                vec![Request::post_json(op, "/modules/bundle", &body)]
            }
            Journey::Ops => vec![Request::get(op, "/health"), Request::get(op, "/metrics")],
            Journey::Health => vec![Request::get(op, "/health")],
            Journey::Http(request) => vec![Request::clone(request)],
        }
    }

    /// Picks a journey by weight and returns its requests.
    pub fn next_requests(&self) -> Vec<Request> {
        self.requests_of(self.pick_journey())
    }

    /// An open-model [`RequestSource`] over this workload: each arrival is
    /// one request (an `ops` journey's two requests use two arrivals).
    pub fn source(self: Arc<Self>) -> impl RequestSource {
        let mut pending: Vec<Request> = Vec::new();
        move || {
            if pending.is_empty() {
                pending = self.next_requests();
                pending.reverse();
            }
            pending
                .pop()
                .unwrap_or_else(|| Request::get("ops", "/health"))
        }
    }
}

/// What a closed-model user does on each iteration: the requests of one
/// journey, sent in order. [`Workload`] is the module system's; a single
/// [`Request`] repeats itself.
pub trait JourneySource: Send + Sync {
    /// The requests of the next iteration.
    fn next_requests(&self) -> Vec<Request>;
}

impl JourneySource for Workload {
    fn next_requests(&self) -> Vec<Request> {
        Workload::next_requests(self)
    }
}

impl JourneySource for Request {
    fn next_requests(&self) -> Vec<Request> {
        vec![self.clone()]
    }
}

/// Percent-encodes a query value (keeps unreserved characters and `/`).
fn encode(value: &str) -> String {
    crate::request::percent_encode(value, b"/")
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_journey_is_found_by_its_name() {
        for journey in Journey::ALL {
            assert_eq!(Journey::named(journey.name()), Some(journey.clone()));
            assert_eq!(journey.to_string(), journey.name());
        }
        assert_eq!(Journey::named("teleport"), None);
    }

    #[test]
    fn the_health_journey_calls_health_alone() {
        let w = Workload::new(vec![], vec![], vec![], 1)
            .with_mix(vec![(Journey::Health, 1)])
            .unwrap();
        let requests = w.next_requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].path, "/health");
    }

    use super::*;
    use crate::Method;
    use bytes::Bytes;

    #[test]
    fn a_cold_start_clears_the_cache_then_loads_the_next_entry() {
        assert!(
            Workload::new(modules(3), vec![], vec![], 1)
                .with_mix(vec![(Journey::ColdStart, 1)])
                .is_err(),
            "a cold start loads entries"
        );
        let w = Workload::new(vec!["lib/x.som".into()], modules(3), vec![], 1)
            .with_mix(vec![(Journey::ColdStart, 1)])
            .unwrap();
        let mut loaded = Vec::new();
        for _ in 0..4 {
            let requests = w.next_requests();
            assert_eq!(requests.len(), 2);
            assert_eq!(&*requests[0].op, "cache_clear");
            assert_eq!(requests[0].path, "/cache/clear");
            assert_eq!(&*requests[1].op, "cold_start");
            loaded.push(requests[1].path.clone());
        }
        assert_eq!(loaded[0], "/modules/load?path=m0.som");
        assert_eq!(loaded[1], "/modules/load?path=m1.som");
        assert_eq!(loaded[3], loaded[0], "cycles through the entries");
    }

    #[test]
    fn a_bundle_asks_for_its_source_map_and_compile_does_not() {
        let body = |journey: Journey| {
            let w = Workload::new(vec![], modules(2), vec![], 1)
                .with_mix(vec![(journey, 1)])
                .unwrap();
            let requests = w.next_requests();
            let body = requests[0].body.clone().unwrap();
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()
        };
        assert_eq!(
            body(Journey::Bundle),
            json!({ "entry": "m0.som", "sourceMaps": true })
        );
        assert_eq!(body(Journey::Compile), json!({ "entry": "m0.som" }));
    }

    fn modules(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("m{i}.som")).collect()
    }

    #[test]
    fn zipf_favours_the_first_modules() {
        let w = Workload::new(modules(100), vec![], vec![], 1);
        let mut first = 0;
        for _ in 0..10_000 {
            if w.next_requests()[0].path.ends_with("=m0.som") {
                first += 1;
            }
        }
        // 1 / H(100) ≈ 19 %.
        assert!((1500..2400).contains(&first), "{first}");
    }

    #[test]
    fn cold_cycles_without_repeats() {
        let w = Workload::new(modules(50), vec![], vec![], 1)
            .with_mix(vec![(Journey::LoadCold, 1)])
            .unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            assert!(seen.insert(w.next_requests()[0].path.clone()));
        }
    }

    #[test]
    fn mix_respects_weights_and_needs() {
        assert!(Workload::new(modules(3), vec![], vec![], 1)
            .with_mix(vec![(Journey::Compile, 1)])
            .is_err());
        let w = Workload::new(modules(3), vec!["e.som".into()], vec![], 1)
            .with_mix(vec![(Journey::Compile, 3), (Journey::Ops, 1)])
            .unwrap();
        let compiles = (0..4000)
            .filter(|_| w.next_requests()[0].op.as_ref() == "compile")
            .count();
        assert!((2800..3200).contains(&compiles), "{compiles}");
    }

    #[test]
    fn an_http_journey_sends_its_own_request() {
        let body = Bytes::from_static(b"{\"a\":1}");
        let render = Request {
            method: Method::PUT,
            headers: Arc::from([("Authorization".to_owned(), "Bearer t".to_owned())]),
            body: Some(body.clone()),
            ..Request::get("render", "/api/render")
        };
        let w = Workload::new(vec![], vec![], vec![], 3)
            .with_mix(vec![
                (Journey::http(render), 1),
                (Journey::http(Request::get("list", "/templates?x=1")), 1),
            ])
            .unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let r = w.next_requests().remove(0);
            match &*r.op {
                "render" => {
                    assert_eq!((&r.method, r.path.as_str()), (&Method::PUT, "/api/render"));
                    assert_eq!(r.body.as_ref(), Some(&body));
                    assert_eq!(r.header("authorization"), Some("Bearer t"));
                }
                "list" => assert_eq!(
                    (r.method, r.path.as_str(), r.body),
                    (Method::GET, "/templates?x=1", None)
                ),
                other => panic!("unexpected op {other}"),
            }
            seen.insert(r.op.to_string());
        }
        assert_eq!(seen.len(), 2);
        assert_eq!(
            Journey::named("render"),
            None,
            "declared journeys are not built in"
        );
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(encode("lib/a b&c.som"), "lib/a%20b%26c.som");
    }
}
