//! The hub's settings: command-line flags, an optional TOML file with the same keys, and
//! the defaults. A flag beats the file; the file beats the default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::access::Anonymous;
use crate::broker::BrokerLimits;
use crate::sim::Flavor;

mod flags;
mod values;

pub use flags::{Args, Subcommand};
pub use values::{parse_broker_url, parse_duration};

use flags::{
    DEFAULT_HTTP_LISTEN, DEFAULT_HTTPS_LISTEN, DEFAULT_MQTT_LISTEN, DEFAULT_MQTTS_LISTEN,
    DEFAULT_WS_LISTEN, DEFAULT_WSS_LISTEN, FileConfig,
};
use values::{default_data_dir, optional_addr, parse_addr};

/// A setting that cannot be used, with a message meant for the person who wrote it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

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
    pub demo_flavor: Flavor,
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
        let demo_flavor: Flavor = match args.demo_flavor.as_ref().or(file.demo_flavor.as_ref()) {
            Some(f) => f
                .parse()
                .map_err(|e| ConfigError(format!("demo-flavor: {e}")))?,
            None => Flavor::Mixed,
        };
        let default_rooms = if demo_flavor == Flavor::Mixed { 7 } else { 3 };
        let demo_rooms = args.demo_rooms.or(file.demo_rooms).unwrap_or(default_rooms);
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
        if let Some(secs) = args.pace_limit.or(file.pace_limit) {
            let limit = Duration::from_secs(secs);
            if limit > crate::broker::MAX_PACE_LIMIT {
                return Err(ConfigError(format!(
                    "pace-limit must be at most {} seconds",
                    crate::broker::MAX_PACE_LIMIT.as_secs()
                )));
            }
            limits.pace_limit = limit;
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
            demo_flavor,
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

#[cfg(test)]
mod tests {
    use clap::Parser;

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
        let text = include_str!("../bin/hearthd.example.toml");
        let _: FileConfig = toml::from_str(text).unwrap();
    }
}
