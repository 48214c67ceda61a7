//! `somon-verify serve`: the reference module system's HTTP server
//! (`somon_system::server`), its ending mapped to an exit code.

use somon_scenarios::Exit;
use somon_system::server::ServeArgs;

/// Serves until SIGTERM or Ctrl-C: exit 0 after a clean drain, 1 when the
/// drain timed out (some accepted requests were cut), 2 when the server
/// could not start (bad settings, port taken).
pub(crate) fn run_serve(args: ServeArgs) -> Exit {
    match somon_system::server::run_serve(args) {
        Ok(true) => Exit::Pass,
        Ok(false) => Exit::Fail,
        Err(message) => {
            eprintln!("error: {message}");
            Exit::Usage
        }
    }
}
