//! `somon-verify standin`: the stand-in service the mutation matrix runs
//! the profiles against, started by hand, so a profile's cell can be
//! reproduced (`run PROFILE --target URL` against it) or a profile tried
//! before the real service is reachable.

use std::net::SocketAddr;

use somon_scenarios::Exit;
use somon_standin::{Knobs, StandIn};

/// Arguments of `somon-verify standin`.
#[derive(clap::Args)]
pub(crate) struct StandInArgs {
    /// Loopback address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// A knob (repeatable): `latency=600ms`, `errors=2%`, `fail=/health`,
    /// `metric:NAME=VALUE`.
    #[arg(long = "knob", value_name = "KNOB")]
    knobs: Vec<String>,
}

/// Serves until Ctrl-C; exit 2 on a bad knob or address.
pub(crate) fn run_standin(args: &StandInArgs) -> Exit {
    let knobs = match Knobs::parse(&args.knobs) {
        Ok(knobs) => knobs,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return Exit::Usage;
        }
    };
    runtime.block_on(async {
        let service = match StandIn::start_on(args.listen, knobs).await {
            Ok(service) => service,
            Err(e) => {
                eprintln!("error: {}: {e}", args.listen);
                return Exit::Usage;
            }
        };
        eprintln!(
            "stand-in on {} with {}; Ctrl-C stops it",
            service.base(),
            if args.knobs.is_empty() {
                "no knob turned".to_owned()
            } else {
                args.knobs.join(", ")
            }
        );
        let _ = tokio::signal::ctrl_c().await;
        service.stop().await;
        Exit::Pass
    })
}
