//! The `market-feed-server` binary: parse options, start logging, serve until SIGINT/SIGTERM;
//! or, as `market-feed-server check [options]`, check the configuration and exit.
//!
//! Exit codes (`docs/protocol.md` §5): 0 after a clean shutdown, 2 for bad options or config values
//! (one line naming the option), 1 for a fatal runtime error (the message names the path or
//! URL).

use std::process::ExitCode;

use market_feed_server::{
    app::App,
    config::{Config, LogFormat, Parsed, parse_args},
    server::shutdown_signal,
};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let check = args.get(1).is_some_and(|a| a == "check");
    if check {
        args.remove(1);
    }
    let config = match parse_args(args) {
        Ok(Parsed::Run(config)) => config,
        Ok(Parsed::Exit(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    init_logging(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    if check {
        return runtime.block_on(run_check(&config));
    }
    runtime.block_on(async move {
        let app = match App::build(&config).await {
            Ok(app) => app,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(e.exit_code());
            }
        };
        let local = app
            .local_addr()
            .map_or_else(|_| config.listen.to_string(), |a| a.to_string());
        let status = config.clock.status();
        tracing::info!(
            phase = %status.phase,
            live = status.live,
            "market clock: {}; now {} ({}, trading day {})",
            market_feed_server::demo::clock_words(config.clock.time_source()),
            market_feed_server::demo::ist_stamp(config.clock.now()),
            status.phase,
            status.trading_day,
        );
        tracing::info!(address = %local, "listening on http://{local}/");
        app.run(shutdown_signal()).await;
        tracing::info!("stopped");
        ExitCode::SUCCESS
    })
}

/// `market-feed-server check`: one line per finding on stdout; 0 when all is well, 1 when
/// something is wrong, 2 for a bad option found while building.
async fn run_check(config: &Config) -> ExitCode {
    match market_feed_server::check::run(config).await {
        Ok(report) => {
            for line in report.lines() {
                println!("{line}");
            }
            ExitCode::from(report.exit_code())
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
