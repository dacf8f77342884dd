//! `hv`: run small OS images on the host's hardware virtualization.
//!
//! Exit status: 0 when the run ends normally (or `--until-text` matched), the debug-exit
//! status `(v << 1) | 1` when the guest wrote `v` to port 0xF4, 124 on `--timeout`,
//! 1 for an error, 2 for a usage error.

mod backend;
mod bench;
mod cli;
mod headless;
#[cfg(has_backend)]
mod image;
mod runner;
mod screen;
mod selftest;
mod signals;
mod window;

use clap::Parser;

/// Warnings from hv; the GPU stack's probing of backends it then skips (EGL without a
/// driver on a machine that renders through Vulkan) is not the user's business.
const DEFAULT_LOG_FILTER: &str = "warn,wgpu_hal=off,wgpu_core=error,naga=error";

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(DEFAULT_LOG_FILTER))
        .format_timestamp_millis()
        .init();
    let cli = cli::Cli::parse();
    let status = match cli.command {
        cli::Command::Run(args) => match if args.headless {
            headless::run(&args)
        } else {
            window::run(&args)
        } {
            Ok(status) => status,
            Err(e) => {
                eprintln!("hv: error: {e:#}");
                1
            }
        },
        cli::Command::Bench(args) => bench::run(&args).unwrap_or_else(|e| {
            eprintln!("hv: error: {e:#}");
            1
        }),
        cli::Command::Selftest => selftest::run().unwrap_or_else(|e| {
            eprintln!("hv: error: {e:#}");
            1
        }),
    };
    std::process::exit(status);
}
