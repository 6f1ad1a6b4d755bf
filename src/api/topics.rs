//! The Topics page beyond the tree: a topic's last messages, publishing a message through
//! the hub's own client, clearing a retained message, the retained messages with the
//! usual traps flagged, and `topics_changed`, the page's live feed.

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use utoipa::ToSchema;

use super::{Api, ApiError, ErrorKind, Event};
use crate::devices::{RetainedInfo, TopicInfo, TopicMessage};

/// The most bytes a published payload may have.
pub const MAX_PUBLISH_PAYLOAD: usize = 256 * 1024;
/// MQTT's own limit on a topic name (a two-byte length).
const MAX_TOPIC_BYTES: usize = 65_535;
/// A retained payload this large is flagged: every subscriber gets it at every connect.
pub const LARGE_RETAINED: usize = 64 * 1024;
/// A discovery config whose device was not seen for this long is flagged.
pub const STALE_DISCOVERY_MS: i64 = 30 * 86_400_000;
/// How often `topics_changed` may go out: at most four a second, whatever the traffic.
const CHANGES_EVERY: Duration = Duration::from_millis(250);

/// Topics that changed since the last `topics_changed`: their rows as `/api/topics` has
/// them. With `reload`, too many changed to list: fetch `/api/topics` again.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopicsChange {
    pub topics: Vec<TopicInfo>,
    pub reload: bool,
}

/// A message to publish through the hub's own client.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishRequest {
    /// A topic name: no `+` or `#`, not empty, at most 65,535 bytes of UTF-8.
    pub topic: String,
    /// The payload as text (UTF-8), at most 256 KiB; empty with `retain` clears a retained
    /// message.
    #[serde(default)]
    pub payload: String,
    /// 0, 1 or 2 [default: 0].
    #[serde(default)]
    pub qos: u8,
    /// Ask the broker to keep it as the topic's retained message [default: false].
    #[serde(default)]
    pub retain: bool,
}

/// Why a retained message is flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrapKind {
    /// A command topic: the device obeys it again at every connect.
    RetainedCommand,
    /// A discovery config for a device not seen for 30 days: a ghost device.
    StaleDiscovery,
    /// A large payload, sent to every subscriber at every connect.
    Large,
}

/// One flag, with why in words.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Trap {
    pub kind: TrapKind,
    pub why: String,
}

/// A retained message and what is wrong with it, if anything.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetainedRow {
    #[serde(flatten)]
    pub info: RetainedInfo,
    /// The device a convention recognised the topic as part of.
    pub device: Option<String>,
    pub traps: Vec<Trap>,
}

/// Every retained message the broker holds: flagged ones first, then the oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetainedReport {
    pub count: usize,
    pub bytes: usize,
    pub flagged: usize,
    pub messages: Vec<RetainedRow>,
}

/// Whether a topic reads like a command: the forms the conventions and firmware use.
pub fn command_like(topic: &str) -> bool {
    let last = topic.rsplit('/').next().unwrap_or(topic);
    topic.starts_with("cmnd/")
        || topic.contains("/cmnd/")
        || matches!(last, "set" | "command" | "on")
}

/// Whether a topic is a discovery config (Home Assistant's, Tasmota's).
fn discovery_config(topic: &str) -> bool {
    (topic.starts_with("homeassistant/") && topic.ends_with("/config"))
        || topic.starts_with("tasmota/discovery/")
}

fn check_topic(topic: &str) -> Result<(), ApiError> {
    let bad = |m: String| Err(ApiError::bad_request("bad_topic", m));
    if topic.is_empty() {
        return bad("the topic is empty".into());
    }
    if topic.len() > MAX_TOPIC_BYTES {
        return bad(format!(
            "the topic has {} bytes; MQTT allows at most {MAX_TOPIC_BYTES}",
            topic.len()
        ));
    }
    if topic.contains(['+', '#']) {
        return bad(format!(
            "'{}' has a wildcard (+ or #): a message goes to one topic, filters are for \
             subscribing",
            short(topic)
        ));
    }
    if topic.contains('\0') {
        return bad("the topic contains a NUL character, which MQTT forbids".into());
    }
    // The hub's client may publish anywhere; a page (a phone's too) may not speak for the
    // broker, whose own statistics live under `$SYS` (MQTT 4.7.2 leaves `$` topics to it).
    if topic.starts_with('$') {
        return bad(format!(
            "'{}' starts with $: such topics are the broker's own",
            short(topic)
        ));
    }
    Ok(())
}

fn short(s: &str) -> String {
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// What is wrong with a retained message: `commanded` says a light takes its commands on the
/// topic, `seen` when the device a discovery config describes was last seen.
fn traps(info: &RetainedInfo, commanded: bool, seen: Option<i64>, now: i64) -> Vec<Trap> {
    let mut traps = Vec::new();
    if commanded {
        traps.push(Trap {
            kind: TrapKind::RetainedCommand,
            why: "a light takes its commands here: it switches to this at every connect, \
                  after each power cut"
                .into(),
        });
    } else if command_like(&info.topic) {
        traps.push(Trap {
            kind: TrapKind::RetainedCommand,
            why: "it looks like a command, and whatever listens obeys it again at every connect"
                .into(),
        });
    }
    let stale = |t: i64| now - t > STALE_DISCOVERY_MS;
    if discovery_config(&info.topic) && stale(info.since_ms) && seen.is_none_or(stale) {
        let why = match seen {
            Some(t) => format!(
                "describes a device last seen {} days ago: a ghost in every dashboard that \
                 reads discovery",
                (now - t) / 86_400_000
            ),
            None => "describes a device not seen in 30 days: a ghost in every dashboard that \
                     reads discovery"
                .into(),
        };
        traps.push(Trap {
            kind: TrapKind::StaleDiscovery,
            why,
        });
    }
    if info.payload_bytes >= LARGE_RETAINED {
        traps.push(Trap {
            kind: TrapKind::Large,
            why: format!(
                "{} kB sent to every subscriber at every connect",
                info.payload_bytes / 1024
            ),
        });
    }
    traps
}

impl Api {
    /// A topic's last messages, oldest first.
    pub fn topic_messages(&self, topic: &str) -> Result<Vec<TopicMessage>, ApiError> {
        self.parts()
            .registry
            .messages(topic)
            .ok_or_else(|| ApiError::not_found(format!("no topic '{}' seen", short(topic))))
    }

    /// Publishes a message through the hub's own client; the hub hears it like any other.
    pub fn publish(&self, req: &PublishRequest) -> Result<(), ApiError> {
        check_topic(&req.topic)?;
        if req.payload.len() > MAX_PUBLISH_PAYLOAD {
            return Err(ApiError::bad_request(
                "payload_too_large",
                format!(
                    "the payload has {} bytes; at most {MAX_PUBLISH_PAYLOAD} can be published here",
                    req.payload.len()
                ),
            ));
        }
        if req.qos > 2 {
            return Err(ApiError::bad_request(
                "bad_qos",
                format!("QoS is 0, 1 or 2, not {}", req.qos),
            ));
        }
        self.parts()
            .publisher
            .publish(&req.topic, req.payload.as_bytes(), req.qos, req.retain)
            .map_err(|e| {
                ApiError::new(
                    ErrorKind::Conflict,
                    "not_published",
                    format!("the hub could not publish: {e}"),
                )
            })
    }

    /// Clears a topic's retained message: an empty retained message, the MQTT way.
    pub fn clear_retained(&self, topic: &str) -> Result<(), ApiError> {
        self.publish(&PublishRequest {
            topic: topic.to_string(),
            payload: String::new(),
            qos: 1,
            retain: true,
        })
    }

    /// Every retained message, with the usual traps flagged.
    pub fn retained_report(&self) -> RetainedReport {
        let p = self.parts();
        let now = crate::now_ms();
        let devices = p.registry.devices_at(now);
        let commanded: HashSet<&str> = devices
            .iter()
            .filter_map(|d| d.command_topic.as_deref())
            .collect();
        let mut rows: Vec<RetainedRow> = p
            .registry
            .retained()
            .into_iter()
            .map(|info| {
                let device = p.registry.topic(&info.topic).and_then(|t| t.device);
                let seen = device
                    .as_deref()
                    .and_then(|id| devices.iter().find(|d| d.id == id))
                    .map(|d| d.last_seen_ms)
                    .filter(|t| *t > 0);
                let commanded = commanded.contains(info.topic.as_str());
                let traps = traps(&info, commanded, seen, now);
                RetainedRow {
                    info,
                    device,
                    traps,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            (a.traps.is_empty().cmp(&b.traps.is_empty()))
                .then(a.info.since_ms.cmp(&b.info.since_ms))
                .then_with(|| a.info.topic.cmp(&b.info.topic))
        });
        RetainedReport {
            count: rows.len(),
            bytes: rows.iter().map(|r| r.info.payload_bytes).sum(),
            flagged: rows.iter().filter(|r| !r.traps.is_empty()).count(),
            messages: rows,
        }
    }

    /// Sends `topics_changed` at most every 250 ms while someone listens; the registry
    /// notes changed topics only then, so the first listener is told to reload once.
    pub async fn run_topic_changes(self, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(CHANGES_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut watching = false;
        loop {
            tokio::select! {
                _ = crate::stopped(&mut shutdown) => return,
                _ = tick.tick() => {}
            }
            let p = self.parts();
            let listening = p.bus.has_listeners();
            if listening != watching {
                p.registry.watch_changes(listening);
                watching = listening;
                // Changes since the first listener connected, before this tick, were not
                // noted: it asks again rather than wait for a change that was missed.
                if watching {
                    p.bus.send_with(|| {
                        Event::TopicsChanged(TopicsChange {
                            topics: Vec::new(),
                            reload: true,
                        })
                    });
                    continue;
                }
            }
            if !watching {
                continue;
            }
            self.flush_device_changes(crate::now_ms());
            let change = match p.registry.take_changes() {
                Some(t) if t.is_empty() => continue,
                Some(mut topics) => {
                    topics.sort_by(|a, b| a.topic.cmp(&b.topic));
                    TopicsChange {
                        topics,
                        reload: false,
                    }
                }
                None => TopicsChange {
                    topics: Vec::new(),
                    reload: true,
                },
            };
            p.bus.send_with(|| Event::TopicsChanged(change));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_checked() {
        assert!(check_topic("home/a/light/set").is_ok());
        assert!(check_topic("homie/dev/$state").is_ok());
        for bad in ["", "home/+/x", "home/#", "a\0b", "$SYS/broker/uptime"] {
            assert_eq!(check_topic(bad).unwrap_err().code, "bad_topic", "{bad:?}");
        }
        assert!(check_topic(&"a".repeat(65_536)).is_err());
        assert!(check_topic(&"a".repeat(65_535)).is_ok());
    }

    #[test]
    fn command_forms() {
        for t in [
            "home/hall/light/set",
            "cmnd/plug/POWER",
            "shellies/s1/relay/0/command",
            "x/on",
        ] {
            assert!(command_like(t), "{t}");
        }
        for t in [
            "home/hall/light",
            "stat/plug/POWER",
            "zigbee2mqtt/lamp",
            "settings",
        ] {
            assert!(!command_like(t), "{t}");
        }
    }

    #[test]
    fn traps_and_why() {
        let day = 86_400_000;
        let now = 100 * day;
        let info = |topic: &str, bytes, since_ms| RetainedInfo {
            topic: topic.into(),
            payload_bytes: bytes,
            qos: 0,
            since_ms,
            preview: String::new(),
        };
        let kinds = |t: Vec<Trap>| t.into_iter().map(|t| t.kind).collect::<Vec<_>>();
        let config = "homeassistant/switch/plug/config";
        assert_eq!(
            kinds(traps(&info(config, 100, now - 31 * day), false, None, now)),
            [TrapKind::StaleDiscovery]
        );
        let old = traps(
            &info(config, 100, now - 31 * day),
            false,
            Some(now - 40 * day),
            now,
        );
        assert!(old[0].why.contains("40 days"), "{}", old[0].why);
        assert!(
            traps(
                &info(config, 100, now - 31 * day),
                false,
                Some(now - day),
                now
            )
            .is_empty(),
            "its device was seen yesterday"
        );
        assert!(
            traps(&info(config, 100, now - day), false, None, now).is_empty(),
            "a config of yesterday is no ghost yet"
        );
        assert!(
            kinds(traps(
                &info("tasmota/discovery/AABB/config", 9, 0),
                false,
                None,
                now
            )) == [TrapKind::StaleDiscovery]
        );
        assert_eq!(
            kinds(traps(&info("zigbee2mqtt/lamp", 10, 0), true, None, now)),
            [TrapKind::RetainedCommand],
            "a light's own command topic, whatever its form"
        );
        assert_eq!(
            kinds(traps(
                &info("cmnd/plug/POWER", 70_000, now),
                false,
                None,
                now
            )),
            [TrapKind::RetainedCommand, TrapKind::Large]
        );
        assert!(traps(&info("stat/plug/POWER", 2, 0), false, None, now).is_empty());
    }
}
