//! Zigbee2MQTT (<https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html>):
//! each device publishes its state as JSON on `<base>/<friendly name>` (`temperature`,
//! `humidity`, `battery`, `linkquality`, a light's `state`), takes commands on
//! `<base>/<friendly name>/set` (`{"state":"ON"}`), and says whether it is reachable on
//! `<base>/<friendly name>/availability`: `{"state":"online"}` in 2.x, the plain `online` in
//! 1.x. The retained `<base>/bridge/devices` lists friendly names with vendor and model. The
//! base topic is `zigbee2mqtt` unless the user changed it; any `<base>/bridge/state` or
//! `<base>/bridge/devices` makes `<base>` known. A friendly name `<room>/<name>` (the
//! grouping Zigbee2MQTT's own frontend uses) gives the device's room.

use std::collections::{HashMap, HashSet};

use super::Message;
use super::convention::{About, Convention, Fact, Route, What, fact, json, named_readings, text};
use super::light::{LightRoute, LightState};

/// Bases known at once: a home has one bridge, rarely two.
const MAX_BASES: usize = 8;
/// Devices remembered from `bridge/devices`: Zigbee networks stop well short of this.
const MAX_LISTED: usize = 10_000;

struct Listed {
    manufacturer: Option<String>,
    model: Option<String>,
    /// Whether its `exposes` include a `light` or `switch`.
    switches: bool,
}

pub struct Zigbee2Mqtt {
    bases: Vec<String>,
    listed: HashMap<String, Listed>,
    /// Devices seen, by base: when a bridge goes offline (its last will), so do they.
    seen: HashMap<String, HashSet<String>>,
    /// Devices whose own availability says offline: the bridge coming back does not
    /// bring them back.
    own_offline: HashSet<String>,
    learned: bool,
}

impl Default for Zigbee2Mqtt {
    fn default() -> Self {
        Zigbee2Mqtt {
            bases: vec!["zigbee2mqtt".to_string()],
            listed: HashMap::new(),
            seen: HashMap::new(),
            own_offline: HashSet::new(),
            learned: false,
        }
    }
}

fn device_id(name: &str) -> String {
    format!("z2m/{name}")
}

/// Commands go to `<base>/<name>/set` as JSON.
fn route(base: &str, name: &str) -> Route {
    Route::Fixed(LightRoute::new(
        "z2m",
        format!("{base}/{name}/set"),
        r#"{"state":"ON"}"#,
        r#"{"state":"OFF"}"#,
    ))
}

/// The friendly name's room and name.
fn split_name(friendly: &str) -> (Option<&str>, &str) {
    match friendly.split_once('/') {
        Some((room, name)) if !room.is_empty() && !name.is_empty() => (Some(room), name),
        _ => (None, friendly),
    }
}

impl Zigbee2Mqtt {
    fn base_of<'t>(&self, topic: &'t str) -> Option<(&str, &'t str)> {
        self.bases.iter().find_map(|b| {
            topic
                .strip_prefix(b.as_str())
                .and_then(|r| r.strip_prefix('/'))
                .filter(|r| !r.is_empty())
                .map(|r| (b.as_str(), r))
        })
    }

    fn bridge(&mut self, base: &str, what: &str, m: &Message<'_>, out: &mut Vec<Fact>) {
        if !self.bases.iter().any(|b| b == base) && self.bases.len() < MAX_BASES {
            self.bases.push(base.to_string());
            self.learned = true;
        }
        if what == "state" {
            let state = match json(m) {
                Some(v) => v.get("state").and_then(|s| s.as_str()).map(str::to_string),
                None => text(m).map(str::to_string),
            };
            // Device availability is optional in Zigbee2MQTT (off by default): the bridge's
            // own state is then all there is. When it comes back, the devices it took offline
            // come back with it; a device whose own availability says offline says so again.
            let online = match state.as_deref() {
                Some("offline") => false,
                Some("online") => true,
                _ => return,
            };
            for name in self.seen.get(base).into_iter().flatten() {
                if !(online && self.own_offline.contains(name)) {
                    out.push(fact(&device_id(name), What::Available(online)));
                }
            }
            return;
        }
        if what != "devices" {
            return;
        }
        let Some(serde_json::Value::Array(list)) = json(m) else {
            tracing::info!(
                "{}: not a JSON array of devices; names stay as published",
                m.topic
            );
            return;
        };
        tracing::info!("{}: {} devices listed", m.topic, list.len());
        if list.len() > MAX_LISTED {
            tracing::warn!(
                "{}: {} devices listed, the first {MAX_LISTED} are used",
                m.topic,
                list.len()
            );
        }
        self.listed.clear();
        for d in list.iter().take(MAX_LISTED) {
            let Some(name) = d.get("friendly_name").and_then(|n| n.as_str()) else {
                continue;
            };
            if d.get("type").and_then(|t| t.as_str()) == Some("Coordinator") {
                continue;
            }
            let def = d.get("definition");
            let s = |k: &str| {
                def.and_then(|x| x.get(k))
                    .and_then(|x| x.as_str())
                    .map(str::to_string)
            };
            let switches = def
                .and_then(|x| x.get("exposes"))
                .and_then(|x| x.as_array())
                .is_some_and(|a| {
                    a.iter().any(|e| {
                        matches!(
                            e.get("type").and_then(|t| t.as_str()),
                            Some("light" | "switch")
                        )
                    })
                });
            let listed = Listed {
                manufacturer: s("vendor"),
                model: s("model"),
                switches,
            };
            // Listed devices appear at once, before they next report (a lamp reports only when
            // switched), with their light's route.
            out.extend(self.describe(base, name, &listed, None));
            self.listed.insert(name.to_string(), listed);
            let seen = self.seen.entry(base.to_string()).or_default();
            if seen.len() < MAX_LISTED {
                seen.insert(name.to_string());
            }
        }
        self.learned = true;
    }

    /// What is known of a device: its names and, for a light, its route and `state`.
    fn describe(
        &self,
        base: &str,
        name: &str,
        listed: &Listed,
        state: Option<LightState>,
    ) -> Vec<Fact> {
        let id = device_id(name);
        let (room, short) = split_name(name);
        let mut v = vec![fact(
            &id,
            What::About(About {
                name: Some(short.to_string()),
                room: room.map(str::to_string),
                manufacturer: listed.manufacturer.clone(),
                model: listed.model.clone(),
            }),
        )];
        if state.is_some() || listed.switches {
            v.push(fact(
                &id,
                What::Light {
                    state,
                    route: route(base, name),
                },
            ));
        }
        v
    }
}

impl Convention for Zigbee2Mqtt {
    fn name(&self) -> &'static str {
        "z2m"
    }

    fn observe(&mut self, m: &Message<'_>, fields: &[(String, f64)], out: &mut Vec<Fact>) -> bool {
        // A bridge of any base makes the base known.
        if let Some((base, rest)) = m.topic.split_once("/bridge/")
            && !base.is_empty()
            && !base.contains('/')
            && matches!(
                rest,
                "state" | "devices" | "info" | "groups" | "logging" | "event"
            )
            && (self.bases.iter().any(|b| b == base) || matches!(rest, "state" | "devices"))
        {
            self.bridge(base, rest, m, out);
            return true;
        }
        let Some((base, rest)) = self.base_of(m.topic) else {
            return false;
        };
        if rest.starts_with("bridge/") {
            return true;
        }
        let base = base.to_string();
        let (name, suffix) = match rest.rsplit_once('/') {
            Some((n, s @ ("set" | "get" | "availability"))) => (n, Some(s)),
            _ => (rest, None),
        };
        // `<name>/set/<attribute>` and `<name>/get/<attribute>` are commands too.
        if let Some((n, _)) = name
            .rsplit_once("/set")
            .or_else(|| name.rsplit_once("/get"))
            && suffix.is_none()
            && !n.is_empty()
            && self.listed.contains_key(n)
        {
            return true;
        }
        let id = device_id(name);
        let seen = self.seen.entry(base.clone()).or_default();
        if seen.len() < MAX_LISTED && !seen.contains(name) {
            seen.insert(name.to_string());
        }
        let listed = self.listed.get(name);
        let (room, short) = split_name(name);
        out.push(fact(
            &id,
            What::About(About {
                name: Some(short.to_string()),
                room: room.map(str::to_string),
                manufacturer: listed.and_then(|l| l.manufacturer.clone()),
                model: listed.and_then(|l| l.model.clone()),
            }),
        ));
        match suffix {
            Some("set") | Some("get") => {}
            Some(_) => {
                let state = match json(m) {
                    Some(v) => v.get("state").and_then(|s| s.as_str()).map(str::to_string),
                    None => text(m).map(str::to_string),
                };
                match state.as_deref() {
                    Some("online") => {
                        self.own_offline.remove(name);
                        out.push(fact(&id, What::Available(true)));
                    }
                    Some("offline") => {
                        if self.own_offline.len() < MAX_LISTED {
                            self.own_offline.insert(name.to_string());
                        }
                        out.push(fact(&id, What::Available(false)));
                    }
                    other => {
                        tracing::info!(
                            "{}: availability '{}' is not online/offline",
                            m.topic,
                            other.unwrap_or("?")
                        );
                        out.push(fact(&id, What::HasAvailability));
                    }
                }
            }
            None => {
                let v = json(m);
                if !matches!(v, Some(serde_json::Value::Object(_))) {
                    tracing::info!(
                        "{}: a Zigbee2MQTT state that is not a JSON object; only listed",
                        m.topic
                    );
                }
                let state = v
                    .as_ref()
                    .and_then(|v| v.get("state"))
                    .and_then(|s| s.as_str())
                    // Covers (`OPEN`) and locks (`LOCK`) have a `state` too: not lights.
                    .and_then(|s| match s.to_ascii_uppercase().as_str() {
                        "ON" => Some(LightState::On),
                        "OFF" => Some(LightState::Off),
                        _ => None,
                    });
                if state.is_some() || listed.is_some_and(|l| l.switches) {
                    out.push(fact(
                        &id,
                        What::Light {
                            state,
                            route: route(&base, name),
                        },
                    ));
                }
                out.extend(named_readings(&id, fields, None));
            }
        }
        true
    }

    fn owner(&self, topic: &str) -> Option<String> {
        let (_, rest) = self.base_of(topic)?;
        if rest.starts_with("bridge/") {
            return None;
        }
        let name = rest
            .strip_suffix("/availability")
            .or_else(|| rest.strip_suffix("/set"))
            .unwrap_or(rest);
        Some(device_id(name))
    }

    fn learned(&mut self) -> bool {
        std::mem::take(&mut self.learned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::convention::message as msg;

    #[test]
    fn another_base_and_plain_availability() {
        let mut z = Zigbee2Mqtt::default();
        let mut out = Vec::new();
        assert!(!z.observe(&msg("z2m_home/lamp", "{}"), &[], &mut out));
        assert!(z.observe(&msg("z2m_home/bridge/state", "online"), &[], &mut out));
        assert!(z.learned() && !z.learned());
        assert!(z.observe(
            &msg("z2m_home/hall/lamp/availability", "offline"),
            &[],
            &mut out
        ));
        assert_eq!(out.last().unwrap().what, What::Available(false));
        assert_eq!(out[0].device, "z2m/hall/lamp");
        assert_eq!(
            out[0].what,
            What::About(About {
                name: Some("lamp".into()),
                room: Some("hall".into()),
                ..About::default()
            })
        );
    }

    #[test]
    fn the_bridge_takes_its_devices_offline_and_back() {
        let mut z = Zigbee2Mqtt::default();
        let mut out = Vec::new();
        z.observe(&msg("zigbee2mqtt/lamp", r#"{"state":"ON"}"#), &[], &mut out);
        z.observe(
            &msg("zigbee2mqtt/plug", r#"{"state":"OFF"}"#),
            &[],
            &mut out,
        );
        z.observe(
            &msg("zigbee2mqtt/plug/availability", r#"{"state":"offline"}"#),
            &[],
            &mut out,
        );
        out.clear();
        z.observe(
            &msg("zigbee2mqtt/bridge/state", r#"{"state":"offline"}"#),
            &[],
            &mut out,
        );
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out.iter().all(|f| f.what == What::Available(false)));
        out.clear();
        z.observe(
            &msg("zigbee2mqtt/bridge/state", r#"{"state":"online"}"#),
            &[],
            &mut out,
        );
        assert_eq!(out, vec![fact("z2m/lamp", What::Available(true))]);
    }

    #[test]
    fn a_huge_device_list_is_cut() {
        let mut z = Zigbee2Mqtt::default();
        let list: Vec<String> = (0..MAX_LISTED + 500)
            .map(|i| {
                format!(r#"{{"friendly_name":"d{i}","definition":{{"model":"m","vendor":"v"}}}}"#)
            })
            .collect();
        let payload = format!("[{}]", list.join(","));
        assert!(z.observe(
            &msg("zigbee2mqtt/bridge/devices", &payload),
            &[],
            &mut Vec::new()
        ));
        assert_eq!(z.listed.len(), MAX_LISTED);
        assert!(z.observe(
            &msg("zigbee2mqtt/bridge/devices", "{\"not\":\"a list\"}"),
            &[],
            &mut Vec::new()
        ));
    }
}
