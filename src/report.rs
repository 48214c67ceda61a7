//! `somon-verify report DIR`: every artefact of a run directory written
//! again from its `record.json` (`somon_reports::render_dir`), without
//! running anything.

use std::path::Path;

use anyhow::Context as _;
use somon_scenarios::Exit;

/// Re-renders `dir`; exit 2 when it holds no readable run record.
pub(crate) fn run_report(dir: &Path) -> Exit {
    crate::exit::from_input(render(dir))
}

fn render(dir: &Path) -> anyhow::Result<()> {
    let written = somon_reports::render_dir(dir)
        .with_context(|| format!("re-rendering the run directory {}", dir.display()))?;
    eprintln!(
        "wrote {} files; open {}",
        written.len(),
        dir.join("report.html").display()
    );
    Ok(())
}
