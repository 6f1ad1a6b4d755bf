//! `hearthd`: the Hearth hub without a window.

/// glibc's malloc spent about a sixth of the hub's CPU under load in lock contention and
/// kept freed memory; mimalloc does neither (built without transparent huge pages, which
/// cost 16 MiB of idle RSS).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use hearth::{Args, Config, Hub, Store, StoreError, Subcommand};

fn main() -> ExitCode {
    let args = Args::parse();
    let command = args.command.clone();
    if let Some(Subcommand::Openapi) = command {
        let _ = writeln!(std::io::stdout(), "{}", hearth::openapi_document());
        return ExitCode::SUCCESS;
    }
    let cfg = match Config::from_args(args) {
        Ok(c) => c,
        Err(e) => {
            hearth::eprint_error(&format!("hearthd: {e}"));
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
    match command {
        None => rt.block_on(run(cfg)),
        Some(Subcommand::History {
            topic,
            field,
            last,
            points,
        }) => rt.block_on(history(cfg, &topic, &field, last, points)),
        Some(Subcommand::Openapi) => unreachable!("answered before the settings are read"),
    }
}

async fn history(cfg: Config, topic: &str, field: &str, last: Duration, points: usize) -> ExitCode {
    let path = cfg.db_path();
    if !path.exists() {
        eprintln!("hearthd: no database at {}", path.display());
        return ExitCode::from(1);
    }
    let store = match Store::open(&path).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hearthd: {e}");
            return ExitCode::from(1);
        }
    };
    let now = hearth::now_ms() / 1000 + 1;
    let from = now - last.as_secs().max(1) as i64;
    match store
        .history_of(topic, field, from, now, points, cfg.retention_days)
        .await
    {
        Ok(Some(h)) => {
            let out = serde_json::json!({ "topic": topic, "field": field, "from": from, "to": now, "history": h });
            let _ = writeln!(std::io::stdout(), "{out}");
            ExitCode::SUCCESS
        }
        Ok(None) => {
            let known = store.list_series().await.unwrap_or_default();
            eprintln!(
                "hearthd: no readings recorded for topic '{topic}' field '{field}'. Recorded series:"
            );
            for s in known {
                let field = if s.field.is_empty() {
                    String::new()
                } else {
                    format!("--field {}", s.field)
                };
                eprintln!("  {} {field}", s.topic);
            }
            ExitCode::from(1)
        }
        Err(e @ StoreError::BadRange(_)) => {
            eprintln!("hearthd: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("hearthd: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(cfg: Config) -> ExitCode {
    let data_dir = cfg.data_dir.clone();
    let hub = match Hub::start(cfg).await {
        Ok(h) => h,
        Err(e) => {
            hearth::eprint_error(&format!("hearthd: {e}"));
            return ExitCode::from(1);
        }
    };
    // Ready means recording: with the embedded broker, wait for the hub's own subscription
    // so nothing published after the listener lines appear can go unrecorded.
    if hub.broker_connections().is_some() && !hub.wait_connected(Duration::from_secs(10)).await {
        tracing::warn!("the hub's client has not subscribed yet; recording starts when it does");
    }
    // Handlers first: a supervisor (or a test) may signal the moment it reads "data folder",
    // and a signal before they exist would kill the hub without its shutdown.
    let signals = Signals::install();
    {
        let mut out = std::io::stdout().lock();
        for l in hub.listeners() {
            let _ = writeln!(out, "{} listening on {}", l.name, l.addr);
        }
        let _ = writeln!(out, "data folder {}", data_dir.display());
        let _ = out.flush();
    }
    // Under systemd (`Type=notify`) the unit is started only now, so units ordered after it
    // find the listeners open; elsewhere NOTIFY_SOCKET is unset and this does nothing.
    let status = hub
        .listeners()
        .iter()
        .map(|l| format!("{} {}", l.name, l.addr))
        .collect::<Vec<_>>()
        .join(", ");
    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(&format!("listening: {status}")),
    ]);
    signals.wait().await;
    tracing::info!("shutting down");
    notify(&[
        sd_notify::NotifyState::Stopping,
        sd_notify::NotifyState::Status("committing pending readings"),
    ]);
    hub.shutdown().await;
    // Not println!: with stdout closed (a supervisor gone, a pipe read once) it would panic.
    let _ = writeln!(std::io::stdout(), "hearthd stopped");
    ExitCode::SUCCESS
}

/// Tells the service manager, if any, how the hub is doing.
fn notify(state: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::warn!("cannot notify the service manager: {e}");
    }
}

/// SIGINT and SIGTERM, caught from the moment this is made.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        Signals {
            int: signal(SignalKind::interrupt()).expect("SIGINT handler"),
            term: signal(SignalKind::terminate()).expect("SIGTERM handler"),
        }
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}
