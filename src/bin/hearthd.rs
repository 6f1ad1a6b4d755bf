//! `hearthd`: the Hearth hub without a window.

/// glibc's malloc spent about a sixth of the hub's CPU under load in lock contention and
/// kept freed memory; mimalloc does neither.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use hearth::config::{Args, Config};
use hearth::hub::Hub;

fn main() -> ExitCode {
    let cfg = match Config::from_args(Args::parse()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hearthd: {e}");
            return ExitCode::from(2);
        }
    };
    hearth::init_logging(&cfg.log);
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hearthd: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(run(cfg))
}

async fn run(cfg: Config) -> ExitCode {
    let data_dir = cfg.data_dir.clone();
    let hub = match Hub::start(cfg).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("hearthd: {e}");
            return ExitCode::from(1);
        }
    };
    // Ready means recording: with the embedded broker, wait for the hub's own subscription
    // so nothing published after the listener lines appear can go unrecorded.
    if !hub.listeners().is_empty() && !hub.wait_connected(Duration::from_secs(10)).await {
        tracing::warn!("the hub's client has not subscribed yet; recording starts when it does");
    }
    {
        let mut out = std::io::stdout().lock();
        for l in hub.listeners() {
            let _ = writeln!(out, "{} listening on {}", l.name, l.addr);
        }
        let _ = writeln!(out, "data folder {}", data_dir.display());
        let _ = out.flush();
    }
    wait_for_signal().await;
    tracing::info!("shutting down");
    hub.shutdown().await;
    // Not println!: with stdout closed (a supervisor gone, a pipe read once) it would panic.
    let _ = writeln!(std::io::stdout(), "hearthd stopped");
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
