//! The command line (`Args`, `Subcommand`) and the config file's keys (`FileConfig`), with
//! the listeners' default addresses.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;

use super::values::{parse_duration, parse_on_off};
use crate::access::Anonymous;

// Every listener is on the LAN: clients there need credentials (or, for the dashboard, a
// paired phone's token) unless the user turns anonymous access on.
pub const DEFAULT_MQTT_LISTEN: &str = "0.0.0.0:1883";
pub const DEFAULT_MQTTS_LISTEN: &str = "0.0.0.0:8883";
pub const DEFAULT_WS_LISTEN: &str = "0.0.0.0:9001";
pub const DEFAULT_WSS_LISTEN: &str = "0.0.0.0:9002";
pub const DEFAULT_HTTP_LISTEN: &str = "0.0.0.0:8080";
pub const DEFAULT_HTTPS_LISTEN: &str = "0.0.0.0:8443";

/// `hearthd`: the Hearth hub without a window.
#[derive(Debug, Clone, Parser, Default)]
#[command(name = "hearthd", version, about, long_about = None)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Subcommand>,
    /// Read settings from this TOML file (keys as the long flags, e.g. `data-dir = "..."`).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Folder for the database [default: $XDG_DATA_HOME/hearth or ~/.local/share/hearth].
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// MQTT (3.1.1 and 5) listen address; port 0 picks a free port [default: 0.0.0.0:1883].
    #[arg(long, value_name = "ADDR")]
    pub mqtt_listen: Option<String>,
    /// MQTT over TLS listen address, or `off` [default: 0.0.0.0:8883].
    #[arg(long, value_name = "ADDR")]
    pub mqtts_listen: Option<String>,
    /// MQTT over WebSocket listen address, or `off` [default: 0.0.0.0:9001].
    #[arg(long, value_name = "ADDR")]
    pub ws_listen: Option<String>,
    /// MQTT over secure WebSocket listen address, or `off` [default: 0.0.0.0:9002].
    #[arg(long, value_name = "ADDR")]
    pub wss_listen: Option<String>,
    /// HTTP/WebSocket API and dashboard listen address, or `off` [default: 0.0.0.0:8080].
    #[arg(long, value_name = "ADDR")]
    pub http_listen: Option<String>,
    /// The same over HTTPS, or `off` [default: 0.0.0.0:8443].
    #[arg(long, value_name = "ADDR")]
    pub https_listen: Option<String>,
    /// Who may connect without credentials: off, local (this PC only) or on (the LAN too).
    /// Saved, like the dashboard's setting [default: the saved setting, first local].
    #[arg(long, value_name = "MODE", value_parser = Anonymous::parse)]
    pub anonymous: Option<Anonymous>,
    /// Advertise the hub by mDNS/DNS-SD: on or off. Saved, like the dashboard's setting
    /// [default: the saved setting, first on].
    #[arg(long, value_name = "ON|OFF", value_parser = parse_on_off)]
    pub mdns: Option<bool>,
    /// Host name for the pairing QR code and MQTT settings, e.g. a name your router gives the
    /// PC [default: the PC's LAN address].
    #[arg(long, value_name = "HOST")]
    pub public_host: Option<String>,
    /// Folder of the built dashboard served at / [default: ui/dist when it exists].
    #[arg(long, value_name = "DIR")]
    pub ui_dir: Option<PathBuf>,
    /// How long a light command waits for the light's status reply (e.g. 5s, 1500ms)
    /// [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub command_timeout: Option<Duration>,
    /// Use an existing broker (mqtt://HOST:PORT) instead of the embedded one.
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,
    /// Also run simulated devices, so a new hub shows something at once.
    #[arg(long)]
    pub demo: bool,
    /// Rooms the demo simulates [default: 7, one per convention, for `mixed`; else 3].
    #[arg(long, value_name = "N")]
    pub demo_rooms: Option<usize>,
    /// What firmware the demo's devices speak: seed, tasmota, z2m, shelly, esphome, homie, ha,
    /// or mixed (room i speaks the i-th, in that order) [default: mixed].
    #[arg(long, value_name = "FLAVOR")]
    pub demo_flavor: Option<String>,
    /// Log level (error, warn, info, debug, trace) or a tracing filter [default: info].
    #[arg(long, value_name = "LEVEL")]
    pub log: Option<String>,
    /// Days raw readings are kept; rollups are kept for ever [default: 30].
    #[arg(long, value_name = "DAYS")]
    pub retention_days: Option<u32>,
    /// Most client sessions at once [default: 1000].
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Largest MQTT packet accepted, in bytes [default: 1048576].
    #[arg(long, value_name = "BYTES")]
    pub max_packet_bytes: Option<u32>,
    /// Messages queued per session before the oldest are dropped; a QoS 1/2 publisher waits
    /// while a connected subscriber's queue is half full [default: 1000].
    #[arg(long, value_name = "N")]
    pub max_queued_messages: Option<usize>,
    /// Longest a QoS 1/2 publisher waits for a subscriber's full queue before that
    /// subscriber is taken for stalled and its overflow dropped; 0 never waits (nor does a
    /// publisher of readings for a full recorder), at most 3 [default: 3].
    #[arg(long, value_name = "SECS")]
    pub pace_limit: Option<u64>,
    /// QoS 1/2 messages in flight to one client before the broker queues [default: 32].
    #[arg(long, value_name = "N")]
    pub max_inflight: Option<u16>,
    /// Seconds between `$SYS` statistics messages [default: 60].
    #[arg(long, value_name = "SECS")]
    pub sys_interval: Option<u64>,
}

/// What `hearthd` does besides running the hub.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Subcommand {
    /// Print the recorded history of one series as JSON (columnar: ts, min, avg, max), from
    /// the data folder; works while the hub runs.
    History {
        /// The topic, e.g. home/livingroom/temperature.
        topic: String,
        /// The JSON field; empty for a plain-number topic.
        #[arg(long, default_value = "")]
        field: String,
        /// How far back (30m, 24h, 7d, 365d).
        #[arg(long, default_value = "1h", value_parser = parse_duration)]
        last: Duration,
        /// At most this many buckets (2–100000).
        #[arg(long, default_value_t = 100)]
        points: usize,
    },
    /// Print the HTTP API's OpenAPI 3.1 document (what /api/openapi.json serves), e.g. to
    /// generate a client's types from it.
    Openapi,
}

/// The config file: the same keys as the long flags.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) data_dir: Option<PathBuf>,
    pub(super) mqtt_listen: Option<String>,
    pub(super) mqtts_listen: Option<String>,
    pub(super) ws_listen: Option<String>,
    pub(super) wss_listen: Option<String>,
    pub(super) http_listen: Option<String>,
    pub(super) https_listen: Option<String>,
    pub(super) anonymous: Option<String>,
    pub(super) mdns: Option<bool>,
    pub(super) public_host: Option<String>,
    pub(super) ui_dir: Option<PathBuf>,
    pub(super) command_timeout: Option<String>,
    pub(super) broker: Option<String>,
    pub(super) demo: Option<bool>,
    pub(super) demo_rooms: Option<usize>,
    pub(super) demo_flavor: Option<String>,
    pub(super) log: Option<String>,
    pub(super) retention_days: Option<u32>,
    pub(super) max_connections: Option<usize>,
    pub(super) max_packet_bytes: Option<u32>,
    pub(super) max_queued_messages: Option<usize>,
    pub(super) pace_limit: Option<u64>,
    pub(super) max_inflight: Option<u16>,
    pub(super) sys_interval: Option<u64>,
}
