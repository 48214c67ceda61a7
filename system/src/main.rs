//! `somon-system`: the reference module system as an HTTP server.

use std::process::ExitCode;

use clap::Parser;
use somon_system::server::{run_serve, ServeArgs};

/// The SomonScript module system over HTTP.
#[derive(Parser)]
#[command(name = "somon-system", version)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
}

fn main() -> ExitCode {
    match run_serve(Cli::parse().serve) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
