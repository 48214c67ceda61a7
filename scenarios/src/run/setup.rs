//! What a run prepares before the target starts: the generated module tree,
//! the fake registry behind its fault proxy, and the journeys' workload.

use std::path::Path;
use std::sync::Arc;

use somon_chaos::{FakeRegistry, FaultProxy, Package, RegistryConfig};
use somon_loadgen::{Journey, Workload};
use somon_system::{generate, Corpus, CorpusSpec};

use super::RunError;
use crate::CorpusShape;

/// The module tree of a run, as the journeys see it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Modules {
    /// Every module id, most popular first (Zipf rank order).
    pub(crate) all: Vec<String>,
    /// Entry modules (compile, bundle).
    pub(crate) entries: Vec<String>,
    /// Modules importing an external.
    pub(crate) with_externals: Vec<String>,
    /// Externals some module imports.
    pub(crate) externals: Vec<String>,
}

/// Writes the corpus of `shape` under `dir`.
pub(crate) fn corpus(dir: &Path, shape: &CorpusShape, seed: u64) -> Result<Modules, RunError> {
    let spec = CorpusSpec {
        modules: shape.modules,
        seed,
        max_depth: shape.depth,
        mean_module_bytes: shape.mean_bytes,
        externals: shape.externals.clone(),
        external_fraction: shape.external_fraction,
        entries: shape.entries,
        cycles: shape.cycles,
    };
    let corpus: Corpus = generate(dir, &spec)
        .map_err(|e| RunError::Setup(format!("generating the corpus in {}: {e}", dir.display())))?;
    Ok(Modules {
        all: corpus.modules.iter().map(|m| m.id.to_string()).collect(),
        entries: corpus.entries.iter().map(ToString::to_string).collect(),
        with_externals: corpus
            .modules
            .iter()
            .filter(|m| !m.externals.is_empty())
            .map(|m| m.id.to_string())
            .collect(),
        externals: corpus.externals,
    })
}

/// The fake registry serving `externals`, and the proxy the target
/// reaches it through (connection faults act there).
pub(crate) struct Registry {
    pub(crate) registry: FakeRegistry,
    pub(crate) proxy: FaultProxy,
}

impl Registry {
    /// Starts both on loopback.
    pub(crate) async fn start(externals: &[String], seed: u64) -> Result<Registry, RunError> {
        let names: Vec<&str> = externals.iter().map(String::as_str).collect();
        let registry = FakeRegistry::start(RegistryConfig::new(Package::named(&names), seed))
            .await
            .map_err(|e| RunError::Setup(format!("fake registry: {e}")))?;
        let proxy = FaultProxy::start(registry.addr())
            .await
            .map_err(|e| RunError::Setup(format!("fault proxy: {e}")))?;
        Ok(Registry { registry, proxy })
    }

    /// The registry URL the target is configured with.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.proxy.addr())
    }
}

/// The workload of one phase: its journeys over the run's modules.
pub(crate) fn workload(
    modules: &Modules,
    journeys: &[(Journey, u32)],
    zipf: f64,
    seed: u64,
) -> Result<Arc<Workload>, RunError> {
    Workload::new(
        modules.all.clone(),
        modules.entries.clone(),
        modules.with_externals.clone(),
        seed,
    )
    .with_zipf_exponent(zipf)
    .with_mix(journeys.to_vec())
    .map(Arc::new)
    .map_err(|e| RunError::Setup(format!("journeys: {e}")))
}
