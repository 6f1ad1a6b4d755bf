//! Home Assistant MQTT discovery (<https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery>):
//! a retained config per entity on `homeassistant/<component>/[<node>/]<object>/config`, or
//! one per device on `homeassistant/device/<id>/config` with its entities under `cmps`. A
//! config names the entity's topics exactly: `state_topic` (+ `value_template`),
//! `command_topic` with `payload_on`/`payload_off`, `availability_topic` or an
//! `availability` list, `unit_of_measurement`, `device_class`, `schema: json` for lights;
//! keys may be abbreviated (`stat_t`, `cmd_t`, `avty_t`, …) and `~` at either end of a topic
//! stands for the config's `~`. An empty config removes its entities. When a config's topics
//! are another convention's (Zigbee2MQTT, ESPHome and Tasmota all publish discovery), its
//! entities describe that convention's device instead of making a second one.
//!
//! One file: the config reader and the entity interpreter share the abbreviation table and
//! the entity type, and neither is useful alone.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use serde_json::{Map, Value};

use super::convention::{About, Convention, Fact, Route, What, fact, text};
use super::light::{LightRoute, LightState, parse_state};
use super::payload::Unit;
use super::template::Template;
use super::{Message, Quantity};

const PREFIX: &str = "homeassistant/";
/// Configs remembered at once.
const MAX_CONFIGS: usize = 10_000;
/// Components read from one device config; a real device has a few dozen at most.
const MAX_COMPONENTS: usize = 256;

/// The abbreviations the hub reads, from Home Assistant's list.
const ABBREVIATIONS: [(&str, &str); 26] = [
    ("availability", "avty"),
    ("availability_topic", "avty_t"),
    ("payload_available", "pl_avail"),
    ("payload_not_available", "pl_not_avail"),
    ("state_topic", "stat_t"),
    ("command_topic", "cmd_t"),
    ("value_template", "val_tpl"),
    ("state_value_template", "stat_val_tpl"),
    ("payload_on", "pl_on"),
    ("payload_off", "pl_off"),
    ("state_on", "stat_on"),
    ("state_off", "stat_off"),
    ("unit_of_measurement", "unit_of_meas"),
    ("device_class", "dev_cla"),
    ("device", "dev"),
    ("unique_id", "uniq_id"),
    ("identifiers", "ids"),
    ("manufacturer", "mf"),
    ("model", "mdl"),
    ("suggested_area", "sa"),
    ("components", "cmps"),
    ("platform", "p"),
    ("topic", "t"),
    ("origin", "o"),
    ("availability_template", "avty_tpl"),
    ("availability_mode", "avty_mode"),
];

/// What a device config shares with its components (Home Assistant's "shared options").
const SHARED: [&str; 11] = [
    "~",
    "availability",
    "availability_topic",
    "availability_mode",
    "availability_template",
    "payload_available",
    "payload_not_available",
    "command_topic",
    "state_topic",
    "qos",
    "encoding",
];

/// A config's value by its full key or its abbreviation.
fn get<'v>(o: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    o.get(key).or_else(|| {
        ABBREVIATIONS
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, a)| o.get(*a))
    })
}

fn get_str(o: &Map<String, Value>, key: &str) -> Option<String> {
    match get(o, key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A topic with `~` expanded at its start or end.
fn topic(o: &Map<String, Value>, key: &str, base: Option<&str>) -> Option<String> {
    let t = get_str(o, key).filter(|t| !t.is_empty())?;
    Some(match base {
        Some(b) if t.starts_with('~') => format!("{b}{}", &t[1..]),
        Some(b) if t.ends_with('~') => format!("{}{b}", &t[..t.len() - 1]),
        _ => t,
    })
}

#[derive(Debug, Clone)]
struct Entity {
    device: String,
    component: String,
    state_topic: Option<String>,
    command_topic: Option<String>,
    availability: Vec<Avail>,
    mode: Mode,
    value: Option<Template>,
    /// Its template is one the hub cannot evaluate: its values are not read at all.
    unreadable: bool,
    payload_on: String,
    payload_off: String,
    state_on: String,
    state_off: String,
    unit: Option<Unit>,
    quantity: Option<Quantity>,
    json_schema: bool,
}

/// One availability topic: what on it means online and offline, after its template
/// (Zigbee2MQTT's configs read `{{ value_json.state }}` from its JSON availability).
#[derive(Debug, Clone)]
struct Avail {
    topic: String,
    online: String,
    offline: String,
    template: Option<Template>,
    /// What it last said.
    last: Option<bool>,
}

/// How several availability topics combine (`availability_mode`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// The last message on any of them.
    Latest,
    /// Online only when every one says so (Zigbee2MQTT: the bridge and the device).
    All,
    /// Online when any one says so.
    Any,
}

#[derive(Default)]
pub struct Discovery {
    /// Entities by the config topic that made them.
    configs: HashMap<String, Vec<Entity>>,
    /// (config topic, entity index) by the topics they listen to.
    listening: HashMap<String, Vec<(String, usize)>>,
    learned: bool,
    /// Topics a new config listens to, to be replayed.
    new_topics: Vec<String>,
    /// Each config's payload digest, so a config sent again is not read again.
    digests: HashMap<String, u64>,
}

impl Discovery {
    /// Stops listening for `config`'s entities.
    fn unindex(&mut self, config: &str) {
        let Some(entities) = self.configs.get(config) else {
            return;
        };
        for t in entities.iter().flat_map(Entity::topics) {
            if let Some(v) = self.listening.get_mut(t) {
                v.retain(|(c, _)| c != config);
                if v.is_empty() {
                    self.listening.remove(t);
                }
            }
        }
    }

    /// Listens for `config`'s entities; topics nobody listened to before are replayed.
    fn index(&mut self, config: &str) {
        let Some(entities) = self.configs.get(config) else {
            return;
        };
        for (i, e) in entities.iter().enumerate() {
            for t in e.topics() {
                let v = self.listening.entry(t.clone()).or_default();
                if v.is_empty() && !self.new_topics.contains(t) {
                    self.new_topics.push(t.clone());
                }
                if !v.iter().any(|(c, j)| c == config && *j == i) {
                    v.push((config.to_string(), i));
                }
            }
        }
        if !self.new_topics.is_empty() {
            self.learned = true;
        }
    }

    fn config(
        &mut self,
        levels: &[&str],
        m: &Message<'_>,
        owner: &dyn Fn(&str) -> Option<String>,
        out: &mut Vec<Fact>,
    ) {
        let digest = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            m.payload.hash(&mut h);
            h.finish()
        };
        // Devices re-send their configs (at every `homeassistant/status` online): the same
        // config again changes nothing.
        if self.digests.get(m.topic) == Some(&digest) {
            return;
        }
        if m.payload.iter().all(u8::is_ascii_whitespace) {
            self.unindex(m.topic);
            self.digests.remove(m.topic);
            if let Some(old) = self.configs.remove(m.topic) {
                for e in old {
                    let still = self
                        .configs
                        .values()
                        .flatten()
                        .any(|o| o.device == e.device);
                    if e.device.starts_with("ha/") && !still {
                        out.push(fact(&e.device, What::Remove));
                    }
                }
            }
            return;
        }
        let parsed: Option<Map<String, Value>> = text(m).and_then(|t| serde_json::from_str(t).ok());
        let Some(cfg) = parsed else {
            tracing::info!(
                "{}: discovery config is not a JSON object; ignored",
                m.topic
            );
            return;
        };
        if !self.configs.contains_key(m.topic) && self.configs.len() >= MAX_CONFIGS {
            tracing::warn!(
                "{}: more than {MAX_CONFIGS} discovery configs; ignored",
                m.topic
            );
            return;
        }
        let dev = get(&cfg, "device")
            .and_then(|d| d.as_object())
            .cloned()
            .unwrap_or_default();
        let about = About {
            name: get_str(&dev, "name"),
            room: get_str(&dev, "suggested_area"),
            manufacturer: get_str(&dev, "manufacturer"),
            model: get_str(&dev, "model"),
        };
        let dev_id = match get(&dev, "identifiers") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Array(a)) => a.first().and_then(|v| v.as_str()).map(str::to_string),
            _ => None,
        };
        let mut specs: Vec<(String, Map<String, Value>)> = Vec::new();
        if levels[0] == "device" {
            match get(&cfg, "components").and_then(|c| c.as_object()) {
                Some(cmps) => {
                    if cmps.len() > MAX_COMPONENTS {
                        tracing::warn!(
                            "{}: {} components; the first {MAX_COMPONENTS} are read",
                            m.topic,
                            cmps.len()
                        );
                    }
                    for (key, c) in cmps.iter().take(MAX_COMPONENTS) {
                        let Some(mut c) = c.as_object().cloned() else {
                            tracing::info!("{}: component '{key}' is not an object", m.topic);
                            continue;
                        };
                        // The options Home Assistant shares from the device config with
                        // each component, unless the component sets its own.
                        for k in SHARED {
                            if get(&c, k).is_none()
                                && let Some(v) = get(&cfg, k)
                            {
                                c.insert(k.to_string(), v.clone());
                            }
                        }
                        match get_str(&c, "platform") {
                            Some(p) => specs.push((p, c)),
                            None => {
                                tracing::info!("{}: component '{key}' has no platform", m.topic)
                            }
                        }
                    }
                }
                None => tracing::info!("{}: device config without components", m.topic),
            }
        } else {
            specs.push((levels[0].to_string(), cfg.clone()));
        }
        let mut entities = Vec::new();
        for (component, c) in specs {
            let base = c.get("~").and_then(|b| b.as_str());
            let state_topic = topic(&c, "state_topic", base);
            let command_topic = topic(&c, "command_topic", base);
            let device = state_topic
                .as_deref()
                .and_then(owner)
                .or_else(|| command_topic.as_deref().and_then(owner))
                .unwrap_or_else(|| {
                    let fallback = || {
                        get_str(&c, "unique_id")
                            .unwrap_or_else(|| levels[..levels.len() - 1].join("/"))
                    };
                    format!("ha/{}", dev_id.clone().unwrap_or_else(fallback))
                });
            let mut availability = Vec::new();
            let on = get_str(&c, "payload_available").unwrap_or_else(|| "online".into());
            let off = get_str(&c, "payload_not_available").unwrap_or_else(|| "offline".into());
            let read_template = |o: &Map<String, Value>, key: &str| {
                get_str(o, key).and_then(|t| {
                    Template::parse(&t)
                        .map_err(|e| tracing::info!("{}: {e}; availability read as sent", m.topic))
                        .ok()
                })
            };
            let shared = read_template(&c, "availability_template");
            if let Some(t) = topic(&c, "availability_topic", base) {
                availability.push(Avail {
                    topic: t,
                    online: on.clone(),
                    offline: off.clone(),
                    template: shared.clone(),
                    last: None,
                });
            }
            if let Some(Value::Array(list)) = get(&c, "availability") {
                for a in list.iter().filter_map(|a| a.as_object()) {
                    if let Some(t) = topic(a, "topic", base) {
                        availability.push(Avail {
                            topic: t,
                            online: get_str(a, "payload_available").unwrap_or_else(|| on.clone()),
                            offline: get_str(a, "payload_not_available")
                                .unwrap_or_else(|| off.clone()),
                            template: read_template(a, "value_template").or_else(|| shared.clone()),
                            last: None,
                        });
                    }
                }
            }
            let json_schema = get_str(&c, "schema").as_deref() == Some("json");
            let template_key = if component == "light" && get(&c, "state_value_template").is_some()
            {
                "state_value_template"
            } else {
                "value_template"
            };
            let (value, unreadable) = match get_str(&c, template_key).map(|t| Template::parse(&t)) {
                None => (None, false),
                Some(Ok(t)) => (Some(t), false),
                Some(Err(e)) => {
                    tracing::info!("{}: {e}; the entity is listed without its value", m.topic);
                    (None, true)
                }
            };
            let unit_text = get_str(&c, "unit_of_measurement");
            let unit = unit_text.as_deref().and_then(Unit::parse);
            let quantity = match get_str(&c, "device_class").as_deref() {
                Some("temperature") => Some(Quantity::Temperature),
                Some("humidity") => Some(Quantity::Humidity),
                Some("battery") => Some(Quantity::Battery),
                Some("power") => Some(Quantity::Power),
                _ => match unit {
                    Some(Unit::Celsius | Unit::Fahrenheit) => Some(Quantity::Temperature),
                    _ => get_str(&c, "name").as_deref().and_then(Quantity::from_name),
                },
            };
            let payload_on = get_str(&c, "payload_on").unwrap_or_else(|| "ON".into());
            let payload_off = get_str(&c, "payload_off").unwrap_or_else(|| "OFF".into());
            let e = Entity {
                device,
                state_topic,
                command_topic,
                availability,
                mode: match get_str(&c, "availability_mode").as_deref() {
                    Some("all") => Mode::All,
                    Some("any") => Mode::Any,
                    _ => Mode::Latest,
                },
                value,
                unreadable,
                state_on: get_str(&c, "state_on").unwrap_or_else(|| payload_on.clone()),
                state_off: get_str(&c, "state_off").unwrap_or_else(|| payload_off.clone()),
                payload_on,
                payload_off,
                unit,
                quantity,
                json_schema,
                component,
            };
            let mut entity_about = about.clone();
            // With no device block the entity is the device, and its name is the device's.
            if dev.is_empty() && e.device.starts_with("ha/") {
                entity_about.name = get_str(&c, "name");
            }
            out.push(fact(&e.device, What::About(entity_about)));
            if !e.availability.is_empty() {
                out.push(fact(&e.device, What::HasAvailability));
            }
            if let Some(route) = e.route() {
                out.push(fact(&e.device, What::Light { state: None, route }));
            }
            entities.push(e);
        }
        self.unindex(m.topic);
        self.configs.insert(m.topic.to_string(), entities);
        self.digests.insert(m.topic.to_string(), digest);
        self.index(m.topic);
    }
}

impl Entity {
    /// The topics it listens to.
    fn topics(&self) -> impl Iterator<Item = &String> {
        self.state_topic
            .iter()
            .chain(self.availability.iter().map(|a| &a.topic))
    }

    fn switches(&self) -> bool {
        matches!(self.component.as_str(), "light" | "switch")
    }

    fn route(&self) -> Option<Route> {
        if !self.switches() {
            return None;
        }
        let topic = self.command_topic.clone()?;
        Some(Route::Fixed(if self.json_schema {
            LightRoute::new("ha-json", topic, r#"{"state":"ON"}"#, r#"{"state":"OFF"}"#)
        } else {
            LightRoute::new("ha", topic, &self.payload_on, &self.payload_off)
        }))
    }

    /// What a message on one of its topics says.
    fn observe(&mut self, m: &Message<'_>, out: &mut Vec<Fact>) {
        let payload = text(m).unwrap_or_default();
        let mut latest = None;
        for a in self.availability.iter_mut().filter(|a| a.topic == m.topic) {
            let said = match &a.template {
                Some(t) => t.apply(payload),
                None => Some(payload.to_string()),
            };
            if said.as_deref() == Some(a.online.as_str()) {
                a.last = Some(true);
            } else if said.as_deref() == Some(a.offline.as_str()) {
                a.last = Some(false);
            } else {
                continue;
            }
            latest = a.last;
        }
        if let Some(now) = latest {
            let all = || self.availability.iter().map(|a| a.last);
            let online = match self.mode {
                Mode::Latest => Some(now),
                Mode::All if all().any(|l| l == Some(false)) => Some(false),
                Mode::All => all().all(|l| l == Some(true)).then_some(true),
                Mode::Any if all().any(|l| l == Some(true)) => Some(true),
                Mode::Any => all().all(|l| l == Some(false)).then_some(false),
            };
            if let Some(o) = online {
                out.push(fact(&self.device, What::Available(o)));
            }
        }
        if self.state_topic.as_deref() != Some(m.topic) {
            return;
        }
        let value = match (&self.value, self.json_schema) {
            _ if self.unreadable => None,
            (Some(t), _) => t.apply(payload),
            (None, true) => Template::Json(vec!["state".into()]).apply(payload),
            (None, false) => Some(payload.to_string()),
        };
        let Some(value) = value else {
            if !self.unreadable {
                tracing::debug!("{}: the value template found nothing", m.topic);
            }
            out.push(fact(&self.device, What::Seen));
            return;
        };
        if self.switches() {
            let state = if value == self.state_on {
                LightState::On
            } else if value == self.state_off {
                LightState::Off
            } else {
                parse_state(value.as_bytes())
            };
            if let Some(route) = self.route() {
                out.push(fact(
                    &self.device,
                    What::Light {
                        state: Some(state),
                        route,
                    },
                ));
            }
            return;
        }
        match (self.quantity, value.parse::<f64>()) {
            (Some(q), Ok(v)) if v.is_finite() => out.push(fact(
                &self.device,
                What::Reading {
                    quantity: q,
                    field: self.value.as_ref().map(Template::field).unwrap_or_default(),
                    value: v,
                    unit: self.unit.or(q.default_unit()),
                },
            )),
            (Some(_), _) => {
                tracing::info!("{}: '{value}' is not a number", m.topic);
                out.push(fact(&self.device, What::Seen));
            }
            _ => out.push(fact(&self.device, What::Seen)),
        }
    }
}

impl Convention for Discovery {
    fn name(&self) -> &'static str {
        "ha"
    }

    fn observe(&mut self, m: &Message<'_>, fields: &[(String, f64)], out: &mut Vec<Fact>) -> bool {
        self.observe_in(m, fields, &|_| None, out)
    }

    fn observe_in(
        &mut self,
        m: &Message<'_>,
        _: &[(String, f64)],
        owner: &dyn Fn(&str) -> Option<String>,
        out: &mut Vec<Fact>,
    ) -> bool {
        if let Some(rest) = m.topic.strip_prefix(PREFIX) {
            let levels: Vec<&str> = rest.split('/').collect();
            if matches!(levels.len(), 3 | 4) && levels.last() == Some(&"config") {
                self.config(&levels, m, owner, out);
                return true;
            }
        }
        // Entity topics may sit under the prefix too: Home Assistant's own examples put a
        // light's state at `homeassistant/light/kitchen/state`.
        let Some(entities) = self.listening.get(m.topic).cloned() else {
            return m.topic == "homeassistant/status";
        };
        for (config, i) in entities {
            if let Some(e) = self.configs.get_mut(&config).and_then(|v| v.get_mut(i)) {
                e.observe(m, out);
            }
        }
        true
    }

    fn learned(&mut self) -> bool {
        std::mem::take(&mut self.learned)
    }

    fn replay(&mut self) -> Vec<String> {
        std::mem::take(&mut self.new_topics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::convention::message as msg;

    #[test]
    fn abbreviations_base_and_removal() {
        let mut d = Discovery::default();
        let mut out = Vec::new();
        let cfg = r#"{"~":"kitchen/lamp","name":"Lamp","uniq_id":"l1","cmd_t":"~/set","stat_t":"~/state","avty_t":"~/avail","dev":{"ids":"abc","name":"Kitchen lamp","sa":"Kitchen"}}"#;
        assert!(d.observe(&msg("homeassistant/light/l1/config", cfg), &[], &mut out));
        assert!(d.learned());
        assert!(out.iter().any(|f| matches!(&f.what, What::Light { route: Route::Fixed(r), .. } if r.command_topic == "kitchen/lamp/set")));
        out.clear();
        assert!(d.observe(&msg("kitchen/lamp/state", "ON"), &[], &mut out));
        assert_eq!(out[0].device, "ha/abc");
        assert!(matches!(
            out[0].what,
            What::Light {
                state: Some(LightState::On),
                ..
            }
        ));
        out.clear();
        d.observe(&msg("kitchen/lamp/avail", "offline"), &[], &mut out);
        assert_eq!(out[0].what, What::Available(false));
        out.clear();
        d.observe(&msg("homeassistant/light/l1/config", ""), &[], &mut out);
        assert_eq!(out[0].what, What::Remove);
        assert!(!d.observe(&msg("kitchen/lamp/state", "ON"), &[], &mut Vec::new()));
    }

    #[test]
    fn zigbee2mqtt_availability_through_its_template() {
        let mut d = Discovery::default();
        let cfg = r#"{"stat_t":"zigbee2mqtt/lamp","cmd_t":"zigbee2mqtt/lamp/set","schema":"json","avty_mode":"all","avty":[{"topic":"zigbee2mqtt/bridge/state","val_tpl":"{{ value_json.state }}"},{"topic":"zigbee2mqtt/lamp/availability","value_template":"{{ value_json.state }}"}],"dev":{"ids":["zigbee2mqtt_0x01"],"name":"lamp"}}"#;
        let owner = |t: &str| {
            t.strip_prefix("zigbee2mqtt/")
                .map(|n| format!("z2m/{}", n.trim_end_matches("/set")))
        };
        let mut out = Vec::new();
        assert!(d.observe_in(
            &msg("homeassistant/light/0x01/light/config", cfg),
            &[],
            &owner,
            &mut out
        ));
        out.clear();
        d.observe(
            &msg("zigbee2mqtt/lamp/availability", r#"{"state":"offline"}"#),
            &[],
            &mut out,
        );
        assert_eq!(out, vec![fact("z2m/lamp", What::Available(false))]);
        out.clear();
        d.observe(
            &msg("zigbee2mqtt/lamp", r#"{"state":"ON","brightness":3}"#),
            &[],
            &mut out,
        );
        assert!(matches!(
            out[0].what,
            What::Light {
                state: Some(LightState::On),
                ..
            }
        ));
    }

    #[test]
    fn the_documentations_tilde_light_under_the_prefix() {
        let mut d = Discovery::default();
        let cfg = r#"{"~":"homeassistant/light/kitchen","name":"Kitchen","uniq_id":"kitchen_light","cmd_t":"~/set","stat_t":"~/state","schema":"json","brightness":true}"#;
        let mut out = Vec::new();
        d.observe(
            &msg("homeassistant/light/kitchen/config", cfg),
            &[],
            &mut out,
        );
        out.clear();
        assert!(d.observe(
            &msg(
                "homeassistant/light/kitchen/state",
                r#"{"state":"ON","brightness":255}"#
            ),
            &[],
            &mut out
        ));
        let Some(Fact {
            device,
            what:
                What::Light {
                    state,
                    route: Route::Fixed(r),
                },
            ..
        }) = out.first()
        else {
            panic!("{out:?}")
        };
        assert_eq!(device, "ha/kitchen_light");
        assert_eq!(*state, Some(LightState::On));
        assert_eq!(
            (r.command_topic.as_str(), r.payload(true)),
            ("homeassistant/light/kitchen/set", r#"{"state":"ON"}"#)
        );
    }

    #[test]
    fn bad_configs_are_refused_with_a_reason() {
        let mut d = Discovery::default();
        for p in ["{not json", "[1,2]", "\"x\"", r#"{"cmps":7}"#] {
            let mut out = Vec::new();
            assert!(d.observe(&msg("homeassistant/device/x/config", p), &[], &mut out));
        }
        let mut out = Vec::new();
        let cfg = r#"{"stat_t":"s/t","val_tpl":"{{ value_json.t * 2 }}","dev_cla":"temperature","dev":{"ids":["d1"]}}"#;
        d.observe(&msg("homeassistant/sensor/t/config", cfg), &[], &mut out);
        out.clear();
        d.observe(&msg("s/t", r#"{"t":3}"#), &[], &mut out);
        assert_eq!(out[0].device, "ha/d1");
        assert_eq!(out[0].what, What::Seen);
    }
}
