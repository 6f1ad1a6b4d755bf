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
    Event, HistoryBatch, MqttSetup, NamingChange, Pairing, Room, SeriesHistory, TopicNode,
};
pub use commands::{Command, Outcome};
pub use config::{Args, BrokerMode, Config, Subcommand, parse_broker_url, parse_duration};
pub use devices::{DeviceKind, Presence};
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
