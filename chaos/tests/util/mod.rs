//! Shared helpers for the integration tests.
#![allow(dead_code)] // each test file uses a different subset

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// A client that opens a fresh connection for every request (so a fault
/// set on the proxy applies to the next request) with the given timeout.
pub(crate) fn fresh_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(timeout)
        .build()
        .expect("client")
}

/// The `q`-quantile (nearest rank) of sorted samples.
pub(crate) fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Every `std::error::Error` in the chain, rendered.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![format!("{error:?}")];
    let mut next = error.source();
    while let Some(e) = next {
        out.push(format!("{e:?}"));
        next = e.source();
    }
    out
}

/// The first `std::io::Error` in the chain, if any.
pub(crate) fn io_kind(error: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        next = e.source();
    }
    None
}

/// Path of the `somon-system` binary next to the test's deps directory,
/// built with `$CARGO build` when missing.
pub(crate) fn somon_system() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().expect("current exe");
        let dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target dir");
        let bin = dir.join("somon-system");
        if !bin.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args(["build", "-p", "somon-system", "--bin", "somon-system"])
                .status()
                .expect("run cargo build");
            assert!(status.success(), "building somon-system failed");
        }
        assert!(bin.exists(), "{} missing after build", bin.display());
        bin
    })
    .clone()
}
