use std::process::ExitCode;

use clap::Parser;
use np2audit::cli::Cli;
use np2audit::run::run_command;

fn main() -> ExitCode {
    tune_allocator();
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

/// glibc's allocator, as configured by default, keeps what a run frees: up to eight arenas a
/// core, each holding its freed memory, and a threshold for mapping large blocks that rises to
/// the largest block freed so far (up to 32 MiB), after which every range-read body of a few MiB
/// comes from, and stays in, an arena. Two arenas and a fixed 128 KiB threshold (large blocks
/// mapped, and unmapped when freed), and the free pages inside the arenas handed back every
/// 50 ms by a thread of its own, keep the peak near what is in use: on the 66 pins of
/// `markers-extras-groups`, cold, 177 → 70–79 MiB peak resident, same time (docs/performance.md).
/// `MALLOC_ARENA_MAX` and `MALLOC_MMAP_THRESHOLD_` in the environment still win.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    const ARENAS: i32 = 2;
    const MMAP_THRESHOLD: i32 = 128 * 1024;
    const TRIM_EVERY: std::time::Duration = std::time::Duration::from_millis(50);
    // SAFETY: mallopt only changes allocator settings, before any other thread exists.
    unsafe {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        }
    }
    // Freed memory between blocks still in use stays resident until trimmed; a run's peak is
    // reached while bodies come and go, so trimming only at the end would not lower it.
    let _ = std::thread::Builder::new()
        .name("malloc-trim".to_string())
        .spawn(|| {
            loop {
                std::thread::sleep(TRIM_EVERY);
                // SAFETY: malloc_trim is thread-safe; it only returns free pages to the system.
                unsafe {
                    libc::malloc_trim(0);
                }
            }
        });
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

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
