//! The `leak` defect twin grows memory with every
//! load. Alone in its own test binary, so no other test's allocations
//! blur the resident-memory figures.

mod util;

use somon_system::server::AppState;
use somon_system::{Config, Defect, Defects};
use util::server::{get, startup};
use util::Tree;

fn state(tree: &Tree, defect: Option<Defect>) -> AppState {
    let defects = defect.map_or(Defects::NONE, |d| Defects::NONE.with(d));
    let state = AppState::with_defects(
        &startup(tree.root(), Config::default(), None),
        None,
        defects,
    )
    .unwrap();
    state.set_warmed();
    state
}

async fn load(state: &AppState) {
    get(state, "/modules/load?path=m0.som").await;
}

/// Resident memory of this process, from /proc (Linux).
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[tokio::test]
async fn leak_grows_memory_with_every_load() {
    if rss_bytes().is_none() {
        util::skip("no /proc/self/statm on this platform");
        return;
    }
    for defect in [None, Some(Defect::Leak)] {
        let tree = Tree::with(&[("m0.som", "содир собит v = 0;\n")]);
        let state = state(&tree, defect);
        // Warm up allocator pools and metrics shards before measuring.
        for _ in 0..1_000 {
            load(&state).await;
        }
        let before = rss_bytes().unwrap();
        for _ in 0..6_000 {
            load(&state).await;
        }
        let grown = rss_bytes().unwrap().saturating_sub(before);
        // 6 000 × 4 KiB ≈ 23 MiB leaked; the sound server grows far less.
        eprintln!("{defect:?}: resident memory grew {grown} bytes over 6000 loads");
        if defect.is_some() {
            assert!(grown >= 18 << 20, "leak grew only {grown} bytes");
        } else {
            assert!(grown < 8 << 20, "sound server grew {grown} bytes");
        }
    }
}
