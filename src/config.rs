//! The hub's settings: command-line flags, an optional TOML file with the same keys, and
//! the defaults. A flag beats the file; the file beats the default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;

use crate::auth::Anonymous;

/// A setting that cannot be used, with a message meant for the person who wrote it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Limits that keep the broker's memory bounded and protect it from misbehaving clients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BrokerLimits {
    /// Most client sessions at once (connected or persisted); more are refused with
    /// CONNACK 0x03 (3.1.1) / 0x97 (5).
    pub max_connections: usize,
    /// Largest MQTT packet accepted; a larger one disconnects its sender.
    pub max_packet_bytes: u32,
    /// QoS 1/2 messages in flight to one client before the broker queues.
    pub max_inflight: u16,
    /// Messages queued for one session (offline or slow) before the oldest are dropped.
    pub max_queued_messages: usize,
    /// Longest client id accepted.
    pub max_client_id_len: usize,
    /// Time a new connection has to send CONNECT.
    pub handshake_timeout: Duration,
}

impl Default for BrokerLimits {
    fn default() -> Self {
        BrokerLimits {
            max_connections: 1_000,
            max_packet_bytes: 1024 * 1024,
            max_inflight: 32,
            max_queued_messages: 1_000,
            max_client_id_len: 256,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// Where the hub's MQTT traffic comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum BrokerMode {
    /// Start the embedded broker with these listeners.
    Embedded {
        mqtt: SocketAddr,
        ws: Option<SocketAddr>,
        /// MQTT over TLS.
        mqtts: Option<SocketAddr>,
        /// MQTT over secure WebSocket.
        wss: Option<SocketAddr>,
    },
    /// Use an existing broker; no embedded broker starts.
    External { host: String, port: u16 },
}

/// The hub's resolved settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub broker: BrokerMode,
    pub demo: bool,
    pub demo_rooms: usize,
    pub log: String,
    pub retention_days: u32,
    pub limits: BrokerLimits,
    /// How often `$SYS` statistics are published.
    pub sys_interval: Duration,
    /// Longest a reading waits before it is committed (what a power cut can lose).
    pub flush_interval: Duration,
    /// Where the HTTP/WebSocket API and dashboard listen; `None` is off.
    pub http: Option<SocketAddr>,
    /// The same over HTTPS.
    pub https: Option<SocketAddr>,
    /// Sets the stored anonymous-access setting at start, when given.
    pub anonymous: Option<Anonymous>,
    /// Sets the stored mDNS setting at start, when given.
    pub mdns: Option<bool>,
    /// The host name phones use for the dashboard, instead of the PC's LAN address.
    pub public_host: Option<String>,
    /// The built dashboard served at `/`, if any.
    pub ui_dir: Option<PathBuf>,
    /// How long a light command waits for its status reply.
    pub command_timeout: Duration,
}

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
    pub command: Option<Command>,
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
    /// Rooms the demo simulates [default: 3].
    #[arg(long, value_name = "N")]
    pub demo_rooms: Option<usize>,
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
    /// Messages queued per session before the oldest are dropped [default: 1000].
    #[arg(long, value_name = "N")]
    pub max_queued_messages: Option<usize>,
    /// QoS 1/2 messages in flight to one client before the broker queues [default: 32].
    #[arg(long, value_name = "N")]
    pub max_inflight: Option<u16>,
    /// Seconds between `$SYS` statistics messages [default: 60].
    #[arg(long, value_name = "SECS")]
    pub sys_interval: Option<u64>,
}

/// What `hearthd` does besides running the hub.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
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
}

/// The config file: the same keys as the long flags.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    mqtt_listen: Option<String>,
    mqtts_listen: Option<String>,
    ws_listen: Option<String>,
    wss_listen: Option<String>,
    http_listen: Option<String>,
    https_listen: Option<String>,
    anonymous: Option<String>,
    mdns: Option<bool>,
    public_host: Option<String>,
    ui_dir: Option<PathBuf>,
    command_timeout: Option<String>,
    broker: Option<String>,
    demo: Option<bool>,
    demo_rooms: Option<usize>,
    log: Option<String>,
    retention_days: Option<u32>,
    max_connections: Option<usize>,
    max_packet_bytes: Option<u32>,
    max_queued_messages: Option<usize>,
    max_inflight: Option<u16>,
    sys_interval: Option<u64>,
}

impl Config {
    /// Resolves flags, the config file they name (if any) and defaults into settings.
    pub fn from_args(args: Args) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir = match args.data_dir.or(file.data_dir) {
            Some(d) => d,
            None => default_data_dir()?,
        };
        let broker = match args.broker.or(file.broker) {
            Some(url) => parse_broker_url(&url)?,
            None => {
                let mqtt = parse_addr(
                    "mqtt-listen",
                    &args
                        .mqtt_listen
                        .or(file.mqtt_listen)
                        .unwrap_or_else(|| DEFAULT_MQTT_LISTEN.into()),
                )?;
                let ws = optional_addr(
                    "ws-listen",
                    args.ws_listen.or(file.ws_listen),
                    DEFAULT_WS_LISTEN,
                )?;
                let mqtts = optional_addr(
                    "mqtts-listen",
                    args.mqtts_listen.or(file.mqtts_listen),
                    DEFAULT_MQTTS_LISTEN,
                )?;
                let wss = optional_addr(
                    "wss-listen",
                    args.wss_listen.or(file.wss_listen),
                    DEFAULT_WSS_LISTEN,
                )?;
                BrokerMode::Embedded {
                    mqtt,
                    ws,
                    mqtts,
                    wss,
                }
            }
        };
        let log = args.log.or(file.log).unwrap_or_else(|| "info".into());
        if tracing_subscriber::EnvFilter::try_new(&log).is_err() {
            return Err(ConfigError(format!(
                "log level '{log}' is not valid: use error, warn, info, debug or trace"
            )));
        }
        let retention_days = args.retention_days.or(file.retention_days).unwrap_or(30);
        if retention_days == 0 {
            return Err(ConfigError(
                "retention-days must be at least 1 (rollups are kept regardless)".into(),
            ));
        }
        let demo_rooms = args.demo_rooms.or(file.demo_rooms).unwrap_or(3);
        if !(1..=500).contains(&demo_rooms) {
            return Err(ConfigError("demo-rooms must be between 1 and 500".into()));
        }
        let mut limits = BrokerLimits::default();
        if let Some(n) = args.max_connections.or(file.max_connections) {
            if n == 0 {
                return Err(ConfigError("max-connections must be at least 1".into()));
            }
            limits.max_connections = n;
        }
        if let Some(n) = args.max_packet_bytes.or(file.max_packet_bytes) {
            if n < 1024 {
                return Err(ConfigError("max-packet-bytes must be at least 1024".into()));
            }
            limits.max_packet_bytes = n;
        }
        if let Some(n) = args.max_queued_messages.or(file.max_queued_messages) {
            if n == 0 {
                return Err(ConfigError("max-queued-messages must be at least 1".into()));
            }
            limits.max_queued_messages = n;
        }
        if let Some(n) = args.max_inflight.or(file.max_inflight) {
            if n == 0 {
                return Err(ConfigError("max-inflight must be at least 1".into()));
            }
            limits.max_inflight = n;
        }
        let sys_interval = args.sys_interval.or(file.sys_interval).unwrap_or(60);
        if sys_interval == 0 {
            return Err(ConfigError("sys-interval must be at least 1 second".into()));
        }
        let http = optional_addr(
            "http-listen",
            args.http_listen.or(file.http_listen),
            DEFAULT_HTTP_LISTEN,
        )?;
        let https = optional_addr(
            "https-listen",
            args.https_listen.or(file.https_listen),
            DEFAULT_HTTPS_LISTEN,
        )?;
        let mut taken: Vec<(&str, SocketAddr)> = vec![];
        if let BrokerMode::Embedded {
            mqtt,
            ws,
            mqtts,
            wss,
        } = &broker
        {
            taken.push(("mqtt-listen", *mqtt));
            taken.extend(ws.map(|a| ("ws-listen", a)));
            taken.extend(mqtts.map(|a| ("mqtts-listen", a)));
            taken.extend(wss.map(|a| ("wss-listen", a)));
        }
        taken.extend(http.map(|a| ("http-listen", a)));
        taken.extend(https.map(|a| ("https-listen", a)));
        for (i, (name, a)) in taken.iter().enumerate() {
            if let Some((other, _)) = taken[..i].iter().find(|(_, b)| {
                a.port() != 0
                    && b.port() == a.port()
                    && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
            }) {
                return Err(ConfigError(format!(
                    "{other} and {name} both use port {}; give them different ports",
                    a.port()
                )));
            }
        }
        let anonymous = match (args.anonymous, file.anonymous) {
            (Some(a), _) => Some(a),
            (None, Some(s)) => {
                Some(Anonymous::parse(&s).map_err(|e| ConfigError(format!("anonymous: {e}")))?)
            }
            (None, None) => None,
        };
        let mdns = args.mdns.or(file.mdns);
        let public_host = args.public_host.or(file.public_host);
        if let Some(h) = &public_host
            && (h.is_empty()
                || h.len() > 253
                || !h
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')))
        {
            return Err(ConfigError(format!(
                "public-host '{h}' is not a host name or address"
            )));
        }
        let ui_dir = match args.ui_dir.or(file.ui_dir) {
            Some(d) if !d.join("index.html").is_file() => {
                return Err(ConfigError(format!(
                    "ui-dir {} has no index.html: build the dashboard first (npm run build in ui/)",
                    d.display()
                )));
            }
            Some(d) => Some(d),
            None => Some(PathBuf::from("ui/dist")).filter(|d| d.join("index.html").is_file()),
        };
        let command_timeout = match (args.command_timeout, file.command_timeout) {
            (Some(d), _) => d,
            (None, Some(s)) => {
                parse_duration(&s).map_err(|e| ConfigError(format!("command-timeout: {e}")))?
            }
            (None, None) => Duration::from_secs(5),
        };
        if command_timeout < Duration::from_millis(100)
            || command_timeout > Duration::from_secs(600)
        {
            return Err(ConfigError(
                "command-timeout must be between 100ms and 10m".into(),
            ));
        }
        Ok(Config {
            data_dir,
            broker,
            demo: args.demo || file.demo.unwrap_or(false),
            demo_rooms,
            log,
            retention_days,
            limits,
            sys_interval: Duration::from_secs(sys_interval),
            flush_interval: Duration::from_secs(1),
            http,
            https,
            anonymous,
            mdns,
            public_host,
            ui_dir,
            command_timeout,
        })
    }

    /// Settings for a hub in `data_dir` with everything else at its default, listening on
    /// free loopback ports: what tests and embedders start from.
    pub fn ephemeral(data_dir: &Path) -> Config {
        let mut c = Config::from_args(Args {
            data_dir: Some(data_dir.to_path_buf()),
            mqtt_listen: Some("127.0.0.1:0".into()),
            mqtts_listen: Some("127.0.0.1:0".into()),
            ws_listen: Some("127.0.0.1:0".into()),
            wss_listen: Some("127.0.0.1:0".into()),
            http_listen: Some("127.0.0.1:0".into()),
            https_listen: Some("127.0.0.1:0".into()),
            mdns: Some(false),
            ..Args::default()
        })
        .expect("default settings are valid");
        c.log = "warn".into();
        c
    }

    /// The database file inside the data folder.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("hearth.db")
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))
}

/// An address that may be `off`.
fn optional_addr(
    key: &str,
    given: Option<String>,
    default: &str,
) -> Result<Option<SocketAddr>, ConfigError> {
    match given.as_deref().unwrap_or(default) {
        "off" => Ok(None),
        s => parse_addr(key, s).map(Some),
    }
}

fn parse_on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err(format!("'{s}' is not on or off")),
    }
}

fn parse_addr(key: &str, s: &str) -> Result<SocketAddr, ConfigError> {
    s.parse().map_err(|_| {
        ConfigError(format!(
            "{key} '{s}' is not an address: use IP:PORT, e.g. 127.0.0.1:1883 (port 0 picks a free port)"
        ))
    })
}

/// `mqtt://HOST[:PORT]` (or `tcp://`), port 1883 when omitted.
pub fn parse_broker_url(s: &str) -> Result<BrokerMode, ConfigError> {
    let bad = |why: &str| ConfigError(format!("broker '{s}' {why}: use mqtt://HOST:PORT"));
    let url = url::Url::parse(s).map_err(|_| bad("is not a URL"))?;
    if url.scheme() != "mqtt" && url.scheme() != "tcp" {
        return Err(bad("has an unsupported scheme"));
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("has no host"))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url.port().unwrap_or(1883);
    if port == 0 {
        return Err(bad("has port 0"));
    }
    if !(url.path().is_empty() || url.path() == "/") {
        return Err(bad("has a path"));
    }
    Ok(BrokerMode::External { host, port })
}

/// Parses `500ms`, `2s`, `1.5s`, `1m`, `1h`, `7d`, or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration: use e.g. 500ms, 2s, 1m"))?;
    let secs = match unit {
        "ms" => v / 1000.0,
        "s" => v,
        "m" => v * 60.0,
        "h" => v * 3600.0,
        "d" => v * 86_400.0,
        _ => {
            return Err(format!(
                "'{s}': unknown unit '{unit}' (use ms, s, m, h or d)"
            ));
        }
    };
    if !(0.0..=1e10).contains(&secs) {
        return Err(format!("'{s}' is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn default_data_dir() -> Result<PathBuf, ConfigError> {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("hearth"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".local/share/hearth")),
        None => Err(ConfigError(
            "no data folder: give --data-dir (neither XDG_DATA_HOME nor HOME is set)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("-1s").is_err());
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert!(parse_duration("3w").is_err());
    }

    fn parse(argv: &[&str]) -> Result<Config, ConfigError> {
        let mut full = vec!["hearthd", "--data-dir", "/tmp/x"];
        full.extend_from_slice(argv);
        Config::from_args(Args::try_parse_from(full).unwrap())
    }

    #[test]
    fn defaults_listen_on_the_lan() {
        let c = parse(&[]).unwrap();
        assert_eq!(
            c.broker,
            BrokerMode::Embedded {
                mqtt: "0.0.0.0:1883".parse().unwrap(),
                ws: Some("0.0.0.0:9001".parse().unwrap()),
                mqtts: Some("0.0.0.0:8883".parse().unwrap()),
                wss: Some("0.0.0.0:9002".parse().unwrap()),
            }
        );
        assert_eq!(c.http, Some("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(c.https, Some("0.0.0.0:8443".parse().unwrap()));
        assert_eq!(c.anonymous, None);
        assert_eq!(c.mdns, None);
        let c = parse(&["--anonymous", "off", "--mdns", "off", "--wss-listen", "off"]).unwrap();
        assert_eq!(c.anonymous, Some(Anonymous::Off));
        assert_eq!(c.mdns, Some(false));
        assert!(matches!(c.broker, BrokerMode::Embedded { wss: None, .. }));
        assert_eq!(c.retention_days, 30);
        assert_eq!(c.limits, BrokerLimits::default());
    }

    #[test]
    fn bad_values_have_clear_messages() {
        for (argv, needle) in [
            (&["--mqtt-listen", "nope"][..], "mqtt-listen 'nope'"),
            (&["--ws-listen", "1.2.3.4"], "ws-listen"),
            (&["--broker", "http://x"], "unsupported scheme"),
            (&["--broker", "mqtt://"], "broker"),
            (&["--log", "loud[["], "log level"),
            (&["--retention-days", "0"], "retention-days"),
            (
                &[
                    "--mqtt-listen",
                    "127.0.0.1:5000",
                    "--ws-listen",
                    "127.0.0.1:5000",
                ],
                "different ports",
            ),
            (&["--https-listen", "127.0.0.1:1883"], "both use port 1883"),
        ] {
            let e = parse(argv).unwrap_err().to_string();
            assert!(e.contains(needle), "{argv:?}: {e}");
        }
    }

    #[test]
    fn broker_urls() {
        assert_eq!(
            parse_broker_url("mqtt://localhost").unwrap(),
            BrokerMode::External {
                host: "localhost".into(),
                port: 1883
            }
        );
        assert_eq!(
            parse_broker_url("tcp://127.0.0.1:1999").unwrap(),
            BrokerMode::External {
                host: "127.0.0.1".into(),
                port: 1999
            }
        );
        assert!(parse_broker_url("mqtt://h:1/x").is_err());
    }

    #[test]
    fn file_values_yield_to_flags() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("hearth.toml");
        std::fs::write(
            &f,
            "mqtt-listen = \"127.0.0.1:2000\"\nretention-days = 7\ndemo = true\n",
        )
        .unwrap();
        let c = parse(&["--config", f.to_str().unwrap(), "--retention-days", "9"]).unwrap();
        assert_eq!(c.retention_days, 9);
        assert!(c.demo);
        assert!(matches!(c.broker, BrokerMode::Embedded { mqtt, .. } if mqtt.port() == 2000));
    }

    #[test]
    fn bad_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.toml");
        std::fs::write(&f, "no-such-key = 1\n").unwrap();
        let e = parse(&["--config", f.to_str().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field"), "{e}");
        std::fs::write(&f, "retention-days = \"many\"\n").unwrap();
        assert!(parse(&["--config", f.to_str().unwrap()]).is_err());
        let e = parse(&["--config", "/nonexistent/x.toml"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read"), "{e}");
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("bin/hearthd.example.toml");
        let _: FileConfig = toml::from_str(text).unwrap();
    }
}
