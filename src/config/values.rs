//! Values in flags and the config file: addresses, durations, broker URLs, the data folder.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{BrokerMode, ConfigError};

/// An address that may be `off`.
pub(super) fn optional_addr(
    key: &str,
    given: Option<String>,
    default: &str,
) -> Result<Option<SocketAddr>, ConfigError> {
    match given.as_deref().unwrap_or(default) {
        "off" => Ok(None),
        s => parse_addr(key, s).map(Some),
    }
}

pub(super) fn parse_on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err(format!("'{s}' is not on or off")),
    }
}

pub(super) fn parse_addr(key: &str, s: &str) -> Result<SocketAddr, ConfigError> {
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

pub(super) fn default_data_dir() -> Result<PathBuf, ConfigError> {
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
