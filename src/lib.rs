//! Hearth: a smart-home hub. The parts, each owning one thing, with dependencies pointing one
//! way (front ends → `hub` → `http` → `api` → core parts → `store`; `tests/layers.rs` checks
//! it):
//!
//! - `store`: the SQLite database (sqlx): every SQL statement of the hub.
//! - `devices`: every topic seen, the devices recognised in them by conventions, what a
//!   payload says, and how lights take commands.
//! - `commands`: light commands and their fate (a pure state machine and the tracker that
//!   runs it), and the command log.
//! - `recorder`: numeric readings batched into SQLite transactions.
//! - `access`: credentials and their rules, phones and pairing, access settings, slow-down.
//! - `acl`: topic rules and how they decide.
//! - `events`: the live events bus.
//! - `broker`: the embedded MQTT broker (rmqtt) with its listeners and access hook.
//! - `ingest`: the hub's own MQTT client, handing what it hears to a sink.
//! - `tls`, `mdns`: the hub's certificates, and its DNS-SD advertising.
//! - `api`: the core API, one façade both front ends use.
//! - `http`: the HTTP + WebSocket API over it (axum), with its OpenAPI document.
//! - `config`: flags, config file and defaults.
//! - `hub`: all of the above started and stopped as one, and the reading path between them.
//! - `sim`: a simulated home of sensors and lights speaking real devices' conventions, for
//!   demos and tests.
//!
//! Modules are private: what the binaries, the desktop shell, the tests and the benchmarks
//! use is re-exported below. The binaries `hearthd` and `hearth-sim` are thin adapters.

mod access;
mod acl;
mod api;
mod broker;
mod commands;
mod config;
mod devices;
mod events;
mod http;
mod hub;
mod ingest;
mod mdns;
mod recorder;
mod sim;
mod store;
mod tls;

pub use access::{AclTest, CreatedCredential, Credential, NewCredential, Phone, Settings};
pub use acl::Rule;
pub use api::{
    AccessInfo, AclQuestion, Api, ApiError, BrokerStatus, Device, DisplaySettings, ErrorKind,
    Event, HistoryBatch, MqttSetup, NamingChange, Pairing, PublishRequest, RetainedReport, Room,
    SeriesHistory, TopicNode,
};
pub use commands::{Command, Outcome};
pub use config::{Args, BrokerMode, Config, Subcommand, parse_broker_url, parse_duration};
pub use devices::{DeviceKind, Presence, RetainedInfo, TopicMessage};
pub use http::openapi_document;
pub use hub::Hub;
pub use recorder::{Recorder, RecorderOptions, Sample};
pub use sim::{Flavor, SimOptions, SimStats, room_name, run as simulate};
pub use store::{History, Reading, Resolution, Store, StoreError};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Resolves once a shutdown flag turns true (or its sender is gone). The watch guard is
/// dropped inside, so callers' futures stay `Send`.
pub async fn stopped(rx: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// Logs to stderr. A bare level (`info`) keeps the embedded broker's chatty per-connection
/// messages at `warn`; a full filter (`hearth=debug,rmqtt=info`) is taken as written.
/// Colours only on a terminal (a pipe or the journal would keep the escape codes). Under
/// systemd's journal each line starts with its syslog priority (`<4>`) and carries no time
/// of its own, so `journalctl -p warning` filters and the journal's timestamp is the one shown.
pub fn init_logging(level: &str) {
    use std::io::IsTerminal;
    let as_written =
        level.contains('=') || level.contains(',') || matches!(level, "debug" | "trace");
    let filter = if as_written {
        level.to_string()
    } else {
        format!("{level},rmqtt=warn,rmqtt_net=warn,rmqtt_sys_topic=warn,sqlx=warn")
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if stderr_is_journal() {
        builder
            .event_format(Journal(
                tracing_subscriber::fmt::format()
                    .without_time()
                    .with_ansi(false),
            ))
            .try_init()
    } else {
        builder.try_init()
    };
}

/// Writes the message that stops the program on stderr, as an error for the journal when
/// stderr is the journal's (so `journalctl -p err` says why a service did not start). The
/// journal reads each line as a record of its own, so each line carries the priority.
pub fn eprint_error(message: &str) {
    use std::io::Write;
    let priority = if stderr_is_journal() { "<3>" } else { "" };
    let mut text = String::new();
    for line in message.lines() {
        text.push_str(priority);
        text.push_str(line);
        text.push('\n');
    }
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Whether stderr is the journal's stream: systemd sets `JOURNAL_STREAM` to its
/// `device:inode`, which a child's redirected stderr no longer matches.
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    match std::fs::metadata("/proc/self/fd/2") {
        Ok(m) => dev.parse() == Ok(m.dev()) && ino.parse() == Ok(m.ino()),
        Err(_) => false,
    }
}

/// The usual log line behind the sd-daemon priority prefix journald reads (sd-daemon(3)).
struct Journal<F>(F);

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for Journal<F>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let priority = match *event.metadata().level() {
            tracing::Level::ERROR => 3,
            tracing::Level::WARN => 4,
            tracing::Level::INFO => 6,
            _ => 7,
        };
        write!(writer, "<{priority}>")?;
        self.0.format_event(ctx, writer, event)
    }
}
