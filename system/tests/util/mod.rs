//! Helpers shared by the integration tests: a module tree in a temporary
//! directory and a loader over it.

#![allow(dead_code, unreachable_pub, clippy::new_without_default)]

use std::path::{Path, PathBuf};
use std::process::Command;

use somon_system::{CacheLimits, Loader, ModuleCache, Resolver, ResolverConfig, Validation};

/// A temporary module root, removed on drop.
pub struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    /// An empty root.
    pub fn new() -> Tree {
        Tree {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    /// A root holding `files` (path, contents).
    pub fn with(files: &[(&str, &str)]) -> Tree {
        let tree = Tree::new();
        for (path, contents) in files {
            tree.write(path, contents);
        }
        tree
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes (or overwrites) one file, creating its directories.
    pub fn write(&self, path: &str, contents: &str) -> PathBuf {
        let full = self.dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, contents).unwrap();
        full
    }

    /// A loader with default limits and stat validation.
    pub fn loader(&self) -> Loader {
        self.loader_with(ResolverConfig::default(), CacheLimits::default())
    }

    /// A loader with the given settings.
    pub fn loader_with(&self, config: ResolverConfig, limits: CacheLimits) -> Loader {
        let resolver = Resolver::new(self.root(), config).expect("resolver");
        let cache = ModuleCache::new(resolver.root().to_path_buf(), limits, Validation::Stat);
        Loader::new(resolver, cache)
    }
}

/// A closed-looking breaker status with zero counts, for report tests.
pub fn breaker(name: &str, state: somon_system::BreakerState) -> somon_system::BreakerStatus {
    somon_system::BreakerStatus {
        name: name.to_owned(),
        state,
        failures: 0,
        successes: 0,
        half_open_in_flight: 0,
        trips: 0,
        since_transition_ms: 0,
        next_attempt_in_ms: None,
        current_wait_ms: 5000,
    }
}

/// Says that the running test skips (all or part of what it checks) and
/// why, as a line `SKIPPED: <test>: <reason>` at column 0: `.ci/run` counts
/// these lines as skipped tests rather than passed ones. It writes through
/// the stderr handle in one piece, as the harness captures `eprintln!` of a
/// passing test; the leading newline ends the harness's `test NAME ... `
/// (one test at a time). Once per test, however often it is called.
pub fn skip(reason: &str) {
    use std::io::Write as _;
    thread_local!(static SAID: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if SAID.with(|said| said.replace(true)) {
        return;
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let line = format!("\nSKIPPED: {test}: {reason}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Why `node` could not be run (`e`, from starting it), and so what was not
/// done (`not_done`, say "the bundle was not executed"): the reason given
/// to [`skip`].
pub fn node_unavailable(e: &std::io::Error, not_done: &str) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        format!(
            "`node` is not installed (Debian package `nodejs`; .ci/run installs it): {not_done}"
        )
    } else {
        format!("cannot run `node` ({e}): {not_done}")
    }
}

/// Runs `script` in Node and returns its standard output, or `None` (after
/// saying the test skips, see [`skip`]) when `node` cannot be run.
pub fn node(script: &str) -> Option<String> {
    let output = match Command::new("node").arg("-e").arg(script).output() {
        Ok(output) => output,
        Err(e) => {
            skip(&node_unavailable(&e, "the bundle was not executed"));
            return None;
        }
    };
    assert!(
        output.status.success(),
        "node failed:\n{}\n--- script ---\n{script}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).unwrap())
}

/// Server-side helpers: an [`AppState`] over a tree, in-process requests
/// through the router, and a real listener on 127.0.0.1:0.
pub mod server {
    use std::net::SocketAddr;
    use std::path::Path;
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{HeaderMap, Method, Request, StatusCode};
    use serde_json::Value;
    use somon_system::server::{bind, router, serve, AppState, ServeOptions};
    use somon_system::{Config, Startup};
    use tower::ServiceExt;

    /// Start-up settings for a root, with an optional admin token.
    pub fn startup(root: &Path, config: Config, token: Option<&str>) -> Startup {
        Startup {
            host: "127.0.0.1".parse().unwrap(),
            port: 0,
            module_root: root.to_path_buf(),
            admin_token: token.map(str::to_owned),
            config,
        }
    }

    /// A ready state over `root`.
    pub fn state(root: &Path, config: Config, token: Option<&str>) -> AppState {
        let state = AppState::new(&startup(root, config, token), None).expect("state");
        state.set_warmed();
        state
    }

    /// One response: status, headers, body as JSON (or a JSON string holding
    /// the text when the body is not JSON).
    pub struct Reply {
        pub status: StatusCode,
        pub headers: HeaderMap,
        pub body: Value,
        pub text: String,
    }

    /// Sends one request through the router, in process.
    pub async fn call(
        state: &AppState,
        method: Method,
        uri: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_vec()));
        let response = router(state.clone())
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::String(text.clone()));
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// `GET uri`.
    pub async fn get(state: &AppState, uri: &str) -> Reply {
        call(state, Method::GET, uri, None, &[]).await
    }

    /// `POST uri` with a body.
    pub async fn post(state: &AppState, uri: &str, body: &str) -> Reply {
        call(state, Method::POST, uri, Some(body.as_bytes()), &[]).await
    }

    /// A server on a real loopback socket; stops when dropped.
    pub struct Running {
        pub addr: SocketAddr,
        pub state: AppState,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
    }

    impl Running {
        /// Starts serving `state` on 127.0.0.1 with an ephemeral port.
        pub async fn start(state: AppState) -> Running {
            let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = listener.local_addr().unwrap();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let options = ServeOptions {
                drain_delay: Duration::ZERO,
                ..ServeOptions::default()
            };
            tokio::spawn(serve(state.clone(), listener, options, async move {
                let _ = stopped.await;
            }));
            Running {
                addr,
                state,
                stop: Some(stop),
            }
        }

        /// `http://127.0.0.1:PORT`
        pub fn base(&self) -> String {
            format!("http://{}", self.addr)
        }
    }

    impl Drop for Running {
        fn drop(&mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
        }
    }
}
