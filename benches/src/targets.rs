//! Loopback targets started in this process, each on its own one-worker
//! Tokio runtime (its own OS thread), so a generator on another runtime or
//! process competes with it like a separate server would.

use std::net::SocketAddr;
use std::path::Path;

use axum::routing::get;
use axum::Router;
use somon_system::server::{router, AppState};
use somon_system::{Config, Startup};

/// A server running on its own runtime; dropping it stops the server.
pub struct Served {
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
    state: Option<AppState>,
}

impl Served {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address (always on 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The reference system's state, for servers started with
    /// [`system`] (`None` for [`hello`]).
    pub fn state(&self) -> Option<&AppState> {
        self.state.as_ref()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // Dropping a runtime blocks; this may run inside another runtime's
        // task, where blocking is refused, so stop it in the background.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn serve_on_own_runtime(app: Router) -> std::io::Result<(SocketAddr, tokio::runtime::Runtime)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-target")
        .enable_all()
        .build()?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let listener = {
        let _entered = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    runtime.spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("bench target on {addr} stopped: {error}");
        }
    });
    Ok((addr, runtime))
}

/// The trivial reference endpoint: `GET /hello` answers `hello`.
///
/// # Errors
/// When the runtime cannot start or 127.0.0.1 cannot be bound.
pub fn hello() -> std::io::Result<Served> {
    let app = Router::new().route("/hello", get(|| async { "hello" }));
    let (addr, runtime) = serve_on_own_runtime(app)?;
    Ok(Served {
        addr,
        runtime: Some(runtime),
        state: None,
    })
}

/// The reference module system over `module_root` with `config`, ready
/// (warm-up skipped: callers fill the cache themselves).
///
/// # Errors
/// When the state cannot be built (bad root or config) or the server
/// cannot start.
pub fn system(module_root: &Path, config: Config) -> Result<Served, crate::compare::Error> {
    let startup = Startup {
        host: [127, 0, 0, 1].into(),
        port: 0,
        module_root: module_root.to_path_buf(),
        admin_token: None,
        config,
    };
    let state = AppState::new(&startup, None).map_err(crate::compare::Error::System)?;
    state.set_warmed();
    let (addr, runtime) = serve_on_own_runtime(router(state.clone()))?;
    Ok(Served {
        addr,
        runtime: Some(runtime),
        state: Some(state),
    })
}
