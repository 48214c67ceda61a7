//! Starting the system under test: the reference system in-process
//! (`embedded`), as a child process (`spawn`), or any running service
//! (`url`), and waiting until it answers.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use somon_chaos::{ChildTarget, ProcessControl};
use somon_system::server::{bind, serve, AppState, ServeOptions};
use somon_system::{load_startup, Defect, Defects, StartupFlags};
use tokio::sync::oneshot;

use super::RunError;

/// How to start a `spawn` target: a program and the arguments that come
/// before the serve flags (`somon-verify serve …` or `somon-system …`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpawnCommand {
    /// The executable.
    pub program: PathBuf,
    /// Leading arguments (e.g. `["serve"]`).
    pub args: Vec<String>,
}

/// What a target this run starts is given.
pub(crate) struct TargetSetup<'a> {
    pub(crate) root: &'a Path,
    pub(crate) config: &'a BTreeMap<String, Value>,
    pub(crate) externals: &'a [String],
    pub(crate) registry: Option<String>,
    pub(crate) defects: &'a [String],
    pub(crate) work_dir: &'a Path,
}

impl TargetSetup<'_> {
    /// The start-up config: the scenario's fields, then the corpus's
    /// externals and the fake registry, which the run owns.
    fn patch(&self) -> Map<String, Value> {
        let mut patch: Map<String, Value> = self
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !self.externals.is_empty() {
            patch.insert("externals".into(), Value::from(self.externals.to_vec()));
        }
        if let Some(url) = &self.registry {
            patch.insert("externalRegistry".into(), Value::from(url.clone()));
        }
        patch
    }
}

/// A target that answers HTTP.
pub(crate) struct RunningTarget {
    /// `http://127.0.0.1:PORT` (or the URL given).
    pub(crate) base: String,
    /// The child process of a `spawn` target.
    pub(crate) child: Option<(Arc<tokio::sync::Mutex<ChildTarget>>, ProcessControl)>,
    embedded: Option<(oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
}

impl RunningTarget {
    /// Any running service: nothing to start.
    pub(crate) fn url(base: &str) -> RunningTarget {
        RunningTarget {
            base: base.trim_end_matches('/').to_owned(),
            child: None,
            embedded: None,
        }
    }

    /// The reference system in this process, on a free loopback port.
    pub(crate) fn embedded(setup: &TargetSetup<'_>) -> Result<RunningTarget, RunError> {
        let flags = StartupFlags {
            host: Some(Ipv4Addr::LOCALHOST.into()),
            port: Some(0),
            module_root: Some(setup.root.to_path_buf()),
            config_file: None,
            patch: setup.patch(),
        };
        let startup = load_startup(&flags, &BTreeMap::new())
            .map_err(|e| RunError::Target(format!("target config: {e}")))?;
        let mut defects = Defects::NONE;
        for name in setup.defects {
            let defect: Defect = name
                .parse()
                .map_err(|e| RunError::Target(format!("--defect: {e}")))?;
            defects = defects.with(defect);
        }
        let state = AppState::with_defects(&startup, None, defects)
            .map_err(|e| RunError::Target(format!("module root: {e}")))?;
        let listener = bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .map_err(|e| RunError::Target(format!("cannot listen: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| RunError::Target(format!("cannot read the address: {e}")))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let options = ServeOptions {
            warm: Vec::new(),
            drain_delay: Duration::ZERO,
            drain_timeout: Duration::from_secs(5),
        };
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(e) = serve(state, listener, options, shutdown).await {
                tracing::error!(error = %e, "embedded target failed");
            }
        });
        Ok(RunningTarget {
            base: format!("http://{addr}"),
            child: None,
            embedded: Some((stop, task)),
        })
    }

    /// The reference system as a child process on a fixed free port (so a
    /// kill -9 and restart comes back on the same address).
    pub(crate) async fn spawn(
        command: &SpawnCommand,
        setup: &TargetSetup<'_>,
    ) -> Result<RunningTarget, RunError> {
        let port = free_port()?;
        let config_file = setup.work_dir.join("target-config.toml");
        let text = toml::to_string(&setup.patch())
            .map_err(|e| RunError::Target(format!("writing the target config: {e}")))?;
        std::fs::write(&config_file, text)
            .map_err(|e| RunError::Target(format!("writing {}: {e}", config_file.display())))?;
        let mut args: Vec<String> = command.args.clone();
        args.extend([
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--root".into(),
            setup.root.display().to_string(),
            "--config".into(),
            config_file.display().to_string(),
        ]);
        for defect in setup.defects {
            args.extend(["--defect".into(), defect.clone()]);
        }
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let program = command.program.display().to_string();
        let child = ChildTarget::spawn(&program, &arg_refs)
            .map_err(|e| RunError::Target(format!("starting {program}: {e}")))?;
        let addr = child
            .wait_for_address(Duration::from_secs(30))
            .await
            .map_err(|e| RunError::Target(format!("{program} did not start: {e}")))?;
        let control = child.control();
        Ok(RunningTarget {
            base: format!("http://{addr}"),
            child: Some((Arc::new(tokio::sync::Mutex::new(child)), control)),
            embedded: None,
        })
    }

    /// Waits until the target answers: `/ready` 200 for the reference
    /// system, any HTTP answer at all for a service given by URL.
    pub(crate) async fn wait_until_ready(&self, timeout: Duration) -> Result<(), RunError> {
        // A slow answer is still an answer: a service whose every answer
        // takes 2 s (a profile's critical latency) is ready, not down.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10).min(timeout))
            .build()
            .map_err(|e| RunError::Target(format!("http client: {e}")))?;
        let ours = self.embedded.is_some() || self.child.is_some();
        let url = if ours {
            format!("{}/ready", self.base)
        } else {
            format!("{}/", self.base.trim_end_matches('/'))
        };
        let began = Instant::now();
        let mut last = String::from("no answer");
        while began.elapsed() < timeout {
            match client.get(&url).send().await {
                Ok(r) if !ours || r.status().is_success() => return Ok(()),
                Ok(r) => last = format!("{url} answered {}", r.status()),
                Err(e) => last = format!("{url}: {e}"),
            }
            // Polling the target's readiness: nothing to be woken by.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(RunError::Target(format!(
            "the target was not ready within {timeout:?} ({last})"
        )))
    }

    /// Stops what this run started: the embedded server, or the child
    /// (SIGCONT first if paused, then SIGTERM, SIGKILL after 10 s).
    pub(crate) async fn stop(self) {
        if let Some((stop, task)) = self.embedded {
            let _ = stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        if let Some((child, _)) = self.child {
            let mut child = child.lock().await;
            if child.try_exit_status().is_none() {
                let _ = child.terminate(Duration::from_secs(10)).await;
            }
        }
    }
}

/// A loopback port nothing listens on right now.
fn free_port() -> Result<u16, RunError> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| RunError::Target(format!("finding a free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| RunError::Target(format!("finding a free port: {e}")))
}
