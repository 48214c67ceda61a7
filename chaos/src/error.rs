//! The one error type of `somon-chaos`.

use std::net::SocketAddr;
use std::time::Duration;

/// Everything that can go wrong while injecting faults.
///
/// Faults themselves are not errors: a registry that answers 503 or a proxy
/// that resets a connection is the fault working. These variants are the
/// harness failing to do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A local socket could not be created, bound or put into listening
    /// state. Usually the machine is out of ports or file descriptors;
    /// raise `RLIMIT_NOFILE` or free ports.
    #[error("cannot bind {what} on {addr}: {source}")]
    Bind {
        /// Which socket (`"registry"`, `"proxy"`, …).
        what: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The target program could not be started. Check the path and that
    /// it is executable.
    #[error("cannot spawn {program}: {source}")]
    Spawn {
        /// The program path.
        program: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The child never printed its `"listening"` start-up line. It may have
    /// failed to start (read its output) or needs longer.
    #[error("child {pid} printed no listening address within {waited:?}")]
    NoAddress {
        /// Process id of the child.
        pid: u32,
        /// How long we waited.
        waited: Duration,
    },
    /// Sending a signal to the child failed (it has probably exited).
    #[error("cannot send {signal} to process {pid}: {source}")]
    Signal {
        /// Process id.
        pid: u32,
        /// Signal name, e.g. `SIGSTOP`.
        signal: &'static str,
        /// The errno.
        #[source]
        source: nix::errno::Errno,
    },
    /// The child did not exit within the allowed time after SIGTERM (it
    /// has then been killed with SIGKILL).
    #[error("process {pid} did not exit within {waited:?} after SIGTERM")]
    TerminateTimeout {
        /// Process id.
        pid: u32,
        /// How long we waited.
        waited: Duration,
    },
    /// Waiting for the child failed.
    #[error("cannot wait for process {pid}: {source}")]
    Wait {
        /// Process id.
        pid: u32,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The child has already exited, so there is nothing to signal.
    #[error("process has exited")]
    Exited,
    /// An operator action could not be delivered (connection refused,
    /// timeout): the management API is down or the URL is wrong.
    #[error("operator action {action} could not be sent: {source}")]
    ActionTransport {
        /// The action, human-readable.
        action: String,
        /// The client's reason.
        #[source]
        source: reqwest::Error,
    },
    /// The management API answered with a non-2xx status, e.g. 400 for an
    /// invalid config patch or 401 without the bearer token.
    #[error("operator action {action} answered {status}: {body}")]
    ActionRejected {
        /// The action, human-readable.
        action: String,
        /// HTTP status.
        status: u16,
        /// Response body as text.
        body: String,
    },
    /// A timeline step needs a target (registry, proxy, process or
    /// operator) that was not given to the runner.
    #[error("timeline step {step} needs a {target} target, none configured")]
    MissingTarget {
        /// The step, human-readable.
        step: String,
        /// Which target kind is missing.
        target: &'static str,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
