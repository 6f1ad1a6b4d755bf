//! Hearth: a smart-home hub.
//!
//! - [`broker`]: the embedded MQTT broker (rmqtt), retained messages kept in SQLite.
//! - [`ingest`]: the hub's own MQTT client, subscribed to `#`, feeding the two below.
//! - [`registry`]: every topic seen, and the devices derived from `home/<room>/<thing>`.
//! - [`recorder`]: numeric readings batched into SQLite transactions.
//! - [`store`]: the SQLite database (sqlx), rollups, history queries, retention.
//! - [`payload`]: what a payload says (numbers, JSON fields, temperatures).
//! - [`commands`]: light commands and their fate (pending → confirmed, timed out, …).
//! - [`events`]: the live events bus.
//! - [`api`]: the core API, one façade both front ends use.
//! - [`http`]: the HTTP + WebSocket API over it (axum), with its OpenAPI document.
//! - [`sim`]: a simulated home of sensors and lights, for demos and tests.
//! - [`config`]: flags, config file and defaults.
//! - [`hub`]: all of the above started and stopped as one.
//!
//! The binaries `hearthd` and `hearth-sim` are thin adapters over this library.

pub mod access_api;
pub mod acl;
pub mod api;
pub mod auth;
pub mod broker;
pub mod commands;
pub mod config;
pub mod events;
pub mod http;
pub mod hub;
pub mod ingest;
pub mod mdns;
pub mod payload;
pub mod recorder;
pub mod registry;
pub mod sim;
pub mod store;
pub mod tls;

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
pub fn init_logging(level: &str) {
    let as_written =
        level.contains('=') || level.contains(',') || matches!(level, "debug" | "trace");
    let filter = if as_written {
        level.to_string()
    } else {
        format!("{level},rmqtt=warn,rmqtt_net=warn,rmqtt_sys_topic=warn,sqlx=warn")
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}
