use std::process::ExitCode;

use clap::Parser;
use np2audit::cli::Cli;
use np2audit::run::run_command;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.quiet, cli.verbose);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = runtime.block_on(run_command(cli));
    // Everything the run writes (report, cache) is done once `run` returns. What may still be
    // under way is abandoned work, such as a DNS lookup for a connection no request waits on
    // any more: dropping the runtime would wait for it (up to the resolver's 5 s timeout).
    runtime.shutdown_background();
    match outcome {
        Ok(status) => ExitCode::from(status as u8),
        Err(failure) => {
            eprintln!("error: {:#}", failure.error);
            ExitCode::from(failure.status as u8)
        }
    }
}

/// Logs go to stderr; `-v` and `-vv` raise the level, `-q` keeps only errors.
fn init_logging(quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        // np2audit says itself what a cache problem means for the run; sqlx's own logs (slow
        // statements, reconnect attempts) are noise on top of that. Likewise rustls' error for
        // a certificate that does not verify: the package's evidence names it.
        (true, _) => "error,sqlx=off,rustls=off",
        (false, 0) => "warn,sqlx=off,rustls=off",
        (false, 1) => "np2audit=info",
        (false, _) => "np2audit=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("NP2AUDIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
