//! `market-feed-load`: see `market-feed-load --help` and docs/performance.md.

use std::process::ExitCode;

use clap::Parser;
use market_feed_load::cli::{Options, run};

fn main() -> ExitCode {
    let options = Options::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = options.threads {
        builder.worker_threads(n.max(1));
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(options)) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
