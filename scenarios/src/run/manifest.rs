//! The run's manifest: which scenario, which build, which machine.

use std::collections::BTreeMap;
use std::time::SystemTime;

use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

use crate::{Host, Manifest, Scenario};

/// The manifest of a run of `scenario` starting now.
pub(crate) fn build(
    scenario: &Scenario,
    file: Option<&std::path::Path>,
    target: String,
    defects: &[String],
    versions: &BTreeMap<String, String>,
) -> Manifest {
    let mut all = versions.clone();
    all.entry("somon-scenarios".into())
        .or_insert_with(|| env!("CARGO_PKG_VERSION").into());
    Manifest {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        file: file.map(|f| f.display().to_string()),
        seed: scenario.seed,
        git_sha: git_sha(),
        versions: all,
        host: host(),
        target,
        defects: defects.to_vec(),
        started_at: chrono::DateTime::<chrono::Utc>::from(SystemTime::now())
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        wall_time: std::time::Duration::ZERO,
        shard: None,
    }
}

/// The machine, as sysinfo reads it.
fn host() -> Host {
    let Ok(system) = System::new_with_specifics(
        RefreshKind::nothing()
            .with_memory(MemoryRefreshKind::nothing().with_ram())
            .with_cpu(CpuRefreshKind::nothing()),
    ) else {
        // sysinfo cannot read this system: say what std knows.
        return Host {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            os: std::env::consts::OS.into(),
            ..Host::default()
        };
    };
    Host {
        cores: std::thread::available_parallelism().map_or(system.cpus().len(), |n| n.get()),
        memory_bytes: system.total_memory(),
        os: System::long_os_version().unwrap_or_else(|_| std::env::consts::OS.into()),
        cpu: system
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_owned())
            .unwrap_or_default(),
    }
}

/// `git rev-parse HEAD` in the working directory, when git and a
/// repository are there (a release tarball has neither).
fn git_sha() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let sha = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && sha.len() == 40).then_some(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_has_cores_and_memory() {
        let host = host();
        assert!(host.cores >= 1);
        assert!(host.memory_bytes > 0);
    }
}
