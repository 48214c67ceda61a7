//! How a command that only reads and writes files ends: exit 0, or its
//! error printed and exit 2 (bad input). Commands that run load map their
//! results themselves (see `session`).

use somon_scenarios::Exit;

/// `Ok` is exit 0; an error is printed (`error: …` with its causes) and is
/// exit 2.
pub(crate) fn from_input(result: anyhow::Result<()>) -> Exit {
    match result {
        Ok(()) => Exit::Pass,
        Err(error) => {
            eprintln!("error: {error:#}");
            Exit::Usage
        }
    }
}
