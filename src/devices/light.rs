//! Lights: what a status payload says, and how a light takes commands. A light's command
//! convention is found from what the hub knows of its topics ([`TopicProbe`]); adding one is a
//! new impl in [`COMMAND_CONVENTIONS`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A light's state as its status payload says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum LightState {
    On,
    Off,
    /// The payload said something else; it is kept raw.
    Unknown,
}

impl LightState {
    pub fn as_str(self) -> &'static str {
        match self {
            LightState::On => "on",
            LightState::Off => "off",
            LightState::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<LightState> {
        match s {
            "on" => Some(LightState::On),
            "off" => Some(LightState::Off),
            "unknown" => Some(LightState::Unknown),
            _ => None,
        }
    }
}

/// What a status payload says: `ON`/`OFF`, `on`/`off`, `true`/`false`, `1`/`0`, or JSON with
/// a `state` (Zigbee2MQTT) or `POWER` (Tasmota) field holding one of those.
pub fn parse_state(payload: &[u8]) -> LightState {
    let Ok(text) = std::str::from_utf8(payload) else {
        return LightState::Unknown;
    };
    let text = text.trim();
    if let Some(s) = state_word(text) {
        return s;
    }
    if text.starts_with('{')
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str(text)
    {
        for key in ["state", "State", "STATE", "POWER", "power"] {
            match map.get(key) {
                Some(serde_json::Value::String(s)) => {
                    if let Some(st) = state_word(s) {
                        return st;
                    }
                }
                Some(serde_json::Value::Bool(b)) => {
                    return if *b { LightState::On } else { LightState::Off };
                }
                _ => {}
            }
        }
    }
    LightState::Unknown
}

fn state_word(s: &str) -> Option<LightState> {
    match s {
        "ON" | "on" | "On" | "true" | "1" => Some(LightState::On),
        "OFF" | "off" | "Off" | "false" | "0" => Some(LightState::Off),
        _ => None,
    }
}

/// What the hub knows about topics, for a convention deciding where a light listens.
pub trait TopicProbe {
    /// A message was seen on `topic`.
    fn seen(&self, topic: &str) -> bool;
    /// A client subscribes to `topic` specifically (not only through a trailing `#`).
    fn listened(&self, topic: &str) -> bool;
}

/// How one light takes commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LightRoute {
    /// The command convention's name, stored with each command (`same-topic`, `set-topic`).
    pub convention: &'static str,
    pub command_topic: String,
    pub payload_on: String,
    pub payload_off: String,
}

impl LightRoute {
    /// A route whose commands are `on` and `off` on `topic`.
    pub fn new(convention: &'static str, topic: impl Into<String>, on: &str, off: &str) -> Self {
        LightRoute {
            convention,
            command_topic: topic.into(),
            payload_on: on.to_string(),
            payload_off: off.to_string(),
        }
    }

    /// The command payload for a state.
    pub fn payload(&self, on: bool) -> &str {
        if on {
            &self.payload_on
        } else {
            &self.payload_off
        }
    }
}

/// How a family of lights is addressed.
pub trait CommandConvention: Send + Sync {
    /// Stable name, stored with each command.
    fn name(&self) -> &'static str;
    /// Where commands go for a light whose status is on `status_topic`, if the light follows
    /// this convention.
    fn command_topic(&self, status_topic: &str, probe: &dyn TopicProbe) -> Option<String>;
    /// The command payload for a state.
    fn command_payload(&self, on: bool) -> &'static str {
        if on { "ON" } else { "OFF" }
    }
}

/// Command on `<status>/set`, status on `<status>`: chosen when the `/set` topic was seen or a
/// client subscribes to it.
pub struct SetTopic;

impl CommandConvention for SetTopic {
    fn name(&self) -> &'static str {
        "set-topic"
    }
    fn command_topic(&self, status_topic: &str, probe: &dyn TopicProbe) -> Option<String> {
        let set = format!("{status_topic}/set");
        (probe.seen(&set) || probe.listened(&set)).then_some(set)
    }
}

/// The seed's convention: command and status on the same topic.
pub struct SameTopic;

impl CommandConvention for SameTopic {
    fn name(&self) -> &'static str {
        "same-topic"
    }
    fn command_topic(&self, status_topic: &str, _: &dyn TopicProbe) -> Option<String> {
        Some(status_topic.to_string())
    }
}

/// Tried in order; the last one always applies.
pub static COMMAND_CONVENTIONS: [&dyn CommandConvention; 2] = [&SetTopic, &SameTopic];

/// The command convention a light whose status is on `status_topic` follows, and its route.
pub fn detect(status_topic: &str, probe: &dyn TopicProbe) -> LightRoute {
    let (c, topic) = COMMAND_CONVENTIONS
        .iter()
        .find_map(|c| c.command_topic(status_topic, probe).map(|t| (*c, t)))
        .unwrap_or((&SameTopic, status_topic.to_string()));
    LightRoute::new(
        c.name(),
        topic,
        c.command_payload(true),
        c.command_payload(false),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        for (p, want) in [
            ("ON", LightState::On),
            ("off", LightState::Off),
            ("true", LightState::On),
            ("0", LightState::Off),
            (" 1 ", LightState::On),
            ("{\"state\":\"ON\"}", LightState::On),
            ("{\"state\":\"off\",\"brightness\":3}", LightState::Off),
            ("{\"POWER\":\"ON\"}", LightState::On),
            ("{\"state\":true}", LightState::On),
            ("dim", LightState::Unknown),
            ("{\"state\":3}", LightState::Unknown),
            ("{\"state\":", LightState::Unknown),
            ("", LightState::Unknown),
            ("oN", LightState::Unknown),
        ] {
            assert_eq!(parse_state(p.as_bytes()), want, "{p:?}");
        }
        assert_eq!(parse_state(&[0xff, 0xfe]), LightState::Unknown);
        for s in [LightState::On, LightState::Off, LightState::Unknown] {
            assert_eq!(LightState::parse(s.as_str()), Some(s));
        }
    }

    struct Probe(&'static [&'static str], &'static [&'static str]);
    impl TopicProbe for Probe {
        fn seen(&self, t: &str) -> bool {
            self.0.contains(&t)
        }
        fn listened(&self, t: &str) -> bool {
            self.1.contains(&t)
        }
    }

    #[test]
    fn conventions() {
        let r = detect("home/a/light", &Probe(&[], &[]));
        assert_eq!(
            (r.convention, r.command_topic.as_str()),
            ("same-topic", "home/a/light")
        );
        let r = detect("home/a/light", &Probe(&["home/a/light/set"], &[]));
        assert_eq!(
            (r.convention, r.command_topic.as_str()),
            ("set-topic", "home/a/light/set")
        );
        let r = detect("home/a/light", &Probe(&[], &["home/a/light/set"]));
        assert_eq!(r.convention, "set-topic");
        assert_eq!((r.payload(true), r.payload(false)), ("ON", "OFF"));
    }
}
