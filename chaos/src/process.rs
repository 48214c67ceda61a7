//! Process faults on a spawned target: pause/resume, kill -9 and restart,
//! graceful terminate.

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

use crate::error::{Error, Result};

/// A process-level fault for a [`crate::Timeline`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ProcessFault {
    /// SIGSTOP while active, SIGCONT on removal.
    Pause,
    /// SIGKILL, then start again with the same arguments (instantaneous).
    Kill9Restart,
    /// SIGTERM and wait for the exit (instantaneous).
    Terminate,
}

/// Signals a target by pid without borrowing it; survives restarts (the
/// pid is updated). Cheap to clone.
#[derive(Clone, Debug)]
pub struct ProcessControl {
    pid: Arc<AtomicU32>,
    paused: Arc<AtomicBool>,
}

impl ProcessControl {
    /// Current process id.
    pub fn pid(&self) -> u32 {
        self.pid.load(Ordering::SeqCst)
    }

    /// True between [`pause`](Self::pause) and [`resume`](Self::resume).
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    fn signal(&self, signal: Signal, name: &'static str) -> Result<()> {
        let pid = self.pid();
        tracing::info!(process.pid = pid, signal = name, "signalling target");
        kill(Pid::from_raw(pid as i32), signal).map_err(|source| Error::Signal {
            pid,
            signal: name,
            source,
        })
    }

    /// SIGSTOP: the process stops scheduling; its sockets still accept
    /// (the kernel completes handshakes) but nothing answers.
    pub fn pause(&self) -> Result<()> {
        self.signal(Signal::SIGSTOP, "SIGSTOP")?;
        self.paused.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// SIGCONT.
    pub fn resume(&self) -> Result<()> {
        self.signal(Signal::SIGCONT, "SIGCONT")?;
        self.paused.store(false, Ordering::SeqCst);
        Ok(())
    }
}

#[derive(Default)]
struct Output {
    lines: Mutex<Vec<String>>,
    notify: Notify,
}

/// A child process kept with its command line for restarts; its stdout
/// lines are captured. Killed (SIGKILL) on drop.
///
/// ```no_run
/// # async fn demo() -> somon_chaos::Result<()> {
/// use std::time::Duration;
/// let mut target = somon_chaos::ChildTarget::spawn(
///     "target/debug/somon-system",
///     &["--root", "/tmp/mods", "--port", "0"],
/// )?;
/// let addr = target.wait_for_address(Duration::from_secs(10)).await?;
/// target.control().pause()?;
/// target.control().resume()?;
/// let new_addr = target.kill9_and_restart(Duration::from_secs(10)).await?;
/// # let _ = (addr, new_addr); Ok(()) }
/// ```
pub struct ChildTarget {
    program: String,
    args: Vec<String>,
    child: Child,
    output: Arc<Output>,
    control: ProcessControl,
}

impl std::fmt::Debug for ChildTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildTarget")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("pid", &self.control.pid())
            .finish()
    }
}

fn start(program: &str, args: &[String]) -> Result<(Child, Arc<Output>)> {
    let mut command = Command::new(program);
    #[cfg(target_os = "linux")]
    // SAFETY: the hook runs in the forked child before exec and only makes
    // one async-signal-safe system call (prctl).
    unsafe {
        // The child has its own process group (below), so it would outlive a
        // harness that is killed outright; the kernel kills it instead.
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
        });
    }
    let mut child = command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        // Its own process group: a terminal's Ctrl-C reaches the harness,
        // which decides when the target stops (after a partial report).
        .process_group(0)
        .spawn()
        .map_err(|source| Error::Spawn {
            program: program.to_owned(),
            source,
        })?;
    let output = Arc::new(Output::default());
    if let Some(stdout) = child.stdout.take() {
        let sink = output.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lines
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(line);
                sink.notify.notify_waiters();
            }
            sink.notify.notify_waiters();
        });
    }
    Ok((child, output))
}

/// The address in a `{"message":"listening","address":"…"}` JSON line.
pub fn listening_address(line: &str) -> Option<SocketAddr> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = value.get("fields").unwrap_or(&value);
    let message = fields.get("message").or_else(|| value.get("message"))?;
    if message != "listening" {
        return None;
    }
    fields
        .get("address")
        .or_else(|| value.get("address"))?
        .as_str()?
        .parse()
        .ok()
}

impl ChildTarget {
    /// Spawns `program` with `args` (kept for restarts).
    ///
    /// Fails with [`Error::Spawn`] when the program cannot be started.
    pub fn spawn(program: &str, args: &[&str]) -> Result<Self> {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let (child, output) = start(program, &args)?;
        let pid = child.id().unwrap_or(0);
        tracing::info!(
            process.pid = pid,
            process.program = program,
            "target spawned"
        );
        Ok(ChildTarget {
            program: program.to_owned(),
            args,
            child,
            output,
            control: ProcessControl {
                pid: Arc::new(AtomicU32::new(pid)),
                paused: Arc::new(AtomicBool::new(false)),
            },
        })
    }

    /// Pause/resume handle usable without borrowing the target.
    pub fn control(&self) -> ProcessControl {
        self.control.clone()
    }

    /// Stdout lines of the current incarnation so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.output
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until a stdout line satisfies `find`, returning its value.
    pub async fn wait_for_line<T>(
        &self,
        timeout: Duration,
        find: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let output = self.output.clone();
        tokio::time::timeout(timeout, async move {
            let mut seen = 0;
            loop {
                let notified = output.notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                {
                    let lines = output.lines.lock().unwrap_or_else(PoisonError::into_inner);
                    for line in &lines[seen..] {
                        if let Some(found) = find(line) {
                            return found;
                        }
                    }
                    seen = lines.len();
                }
                notified.await;
            }
        })
        .await
        .ok()
    }

    /// Waits for the `somon-system` start-up line and returns the address.
    ///
    /// Fails with [`Error::NoAddress`] after `timeout`.
    pub async fn wait_for_address(&self, timeout: Duration) -> Result<SocketAddr> {
        self.wait_for_line(timeout, listening_address)
            .await
            .ok_or(Error::NoAddress {
                pid: self.control.pid(),
                waited: timeout,
            })
    }

    /// SIGKILL, reap, and start again with the same arguments. Returns the
    /// new listening address (it changes when the target was started with
    /// `--port 0`).
    pub async fn kill9_and_restart(&mut self, timeout: Duration) -> Result<SocketAddr> {
        let old = self.control.pid();
        tracing::info!(process.pid = old, "kill -9 and restart");
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        let (child, output) = start(&self.program, &self.args)?;
        self.child = child;
        self.output = output;
        self.control
            .pid
            .store(self.child.id().unwrap_or(0), Ordering::SeqCst);
        self.control.paused.store(false, Ordering::SeqCst);
        self.wait_for_address(timeout).await
    }

    /// SIGTERM (and SIGCONT if paused), then wait up to `timeout` for the
    /// exit. On timeout the child is killed and [`Error::TerminateTimeout`]
    /// returned.
    pub async fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let pid = self.control.pid();
        if self
            .child
            .try_wait()
            .map_err(|source| Error::Wait { pid, source })?
            .is_some()
        {
            return Err(Error::Exited);
        }
        self.control.signal(Signal::SIGTERM, "SIGTERM")?;
        if self.control.is_paused() {
            self.control.resume()?;
        }
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status.map_err(|source| Error::Wait { pid, source }),
            Err(_) => {
                let _ = self.child.start_kill();
                let _ = self.child.wait().await;
                Err(Error::TerminateTimeout {
                    pid,
                    waited: timeout,
                })
            }
        }
    }

    /// The exit status if the child has exited.
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_listening_line() {
        let line = r#"{"timestamp":"t","level":"INFO","message":"listening","address":"127.0.0.1:4321","version":"0.1.0"}"#;
        assert_eq!(
            listening_address(line),
            Some("127.0.0.1:4321".parse().unwrap())
        );
        assert_eq!(
            listening_address(r#"{"message":"other","address":"127.0.0.1:1"}"#),
            None
        );
        assert_eq!(listening_address("not json"), None);
    }
}
