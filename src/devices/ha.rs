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

use serde_json::{Map, Value};

use super::convention::{About, Convention, Fact, Route, What, fact, text};
use super::light::{LightRoute, LightState, parse_state};
use super::payload::Unit;
use super::template::Template;
use super::{Message, Quantity};

const PREFIX: &str = "homeassistant/";
/// Configs remembered at once.
const MAX_CONFIGS: usize = 10_000;

/// The abbreviations the hub reads, from Home Assistant's list.
const ABBREVIATIONS: [(&str, &str); 24] = [
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
    /// Topic, payload meaning online, payload meaning offline.
    availability: Vec<(String, String, String)>,
    value: Option<Template>,
    payload_on: String,
    payload_off: String,
    state_on: String,
    state_off: String,
    unit: Option<Unit>,
    quantity: Option<Quantity>,
    json_schema: bool,
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
}

impl Discovery {
    fn reindex(&mut self) {
        self.listening.clear();
        for (config, entities) in &self.configs {
            for (i, e) in entities.iter().enumerate() {
                let topics = e
                    .state_topic
                    .iter()
                    .chain(e.availability.iter().map(|(t, ..)| t));
                for t in topics {
                    let v = self.listening.entry(t.clone()).or_default();
                    if !v.contains(&(config.clone(), i)) {
                        v.push((config.clone(), i));
                    }
                }
            }
        }
        self.learned = true;
    }

    fn config(
        &mut self,
        levels: &[&str],
        m: &Message<'_>,
        owner: &dyn Fn(&str) -> Option<String>,
        out: &mut Vec<Fact>,
    ) {
        if m.payload.iter().all(u8::is_ascii_whitespace) {
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
                self.reindex();
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
                    for (key, c) in cmps {
                        let Some(mut c) = c.as_object().cloned() else {
                            tracing::info!("{}: component '{key}' is not an object", m.topic);
                            continue;
                        };
                        // The device's own keys (`~`, availability) hold for each component.
                        for k in [
                            "~",
                            "avty",
                            "availability",
                            "avty_t",
                            "availability_topic",
                            "state_topic",
                            "stat_t",
                        ] {
                            if let (None, Some(v)) = (c.get(k), cfg.get(k)) {
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
            if let Some(t) = topic(&c, "availability_topic", base) {
                availability.push((t, on.clone(), off.clone()));
            }
            if let Some(Value::Array(list)) = get(&c, "availability") {
                for a in list.iter().filter_map(|a| a.as_object()) {
                    if let Some(t) = topic(a, "topic", base) {
                        availability.push((
                            t,
                            get_str(a, "payload_available").unwrap_or_else(|| on.clone()),
                            get_str(a, "payload_not_available").unwrap_or_else(|| off.clone()),
                        ));
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
            let value = get_str(&c, template_key).and_then(|t| {
                Template::parse(&t)
                    .map_err(|e| {
                        tracing::info!("{}: {e}; the entity is listed without its value", m.topic)
                    })
                    .ok()
            });
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
                value,
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
            self.new_topics.extend(e.state_topic.iter().cloned());
            self.new_topics
                .extend(e.availability.iter().map(|(t, ..)| t.clone()));
            out.push(fact(&e.device, What::About(entity_about)));
            if !e.availability.is_empty() {
                out.push(fact(&e.device, What::HasAvailability));
            }
            if let Some(route) = e.route() {
                out.push(fact(&e.device, What::Light { state: None, route }));
            }
            entities.push(e);
        }
        self.configs.insert(m.topic.to_string(), entities);
        self.reindex();
    }
}

impl Entity {
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
    fn observe(&self, m: &Message<'_>, out: &mut Vec<Fact>) {
        let payload = text(m).unwrap_or_default();
        for (t, on, off) in &self.availability {
            if t == m.topic {
                if payload == on {
                    out.push(fact(&self.device, What::Available(true)));
                } else if payload == off {
                    out.push(fact(&self.device, What::Available(false)));
                }
            }
        }
        if self.state_topic.as_deref() != Some(m.topic) {
            return;
        }
        let value = match (&self.value, self.json_schema) {
            (Some(t), _) => t.apply(payload),
            (None, true) => Template::Json(vec!["state".into()]).apply(payload),
            (None, false) => Some(payload.to_string()),
        };
        let Some(value) = value else {
            tracing::debug!("{}: the value template found nothing", m.topic);
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
            return rest == "status";
        }
        let Some(entities) = self.listening.get(m.topic) else {
            return false;
        };
        for (config, i) in entities {
            if let Some(e) = self.configs.get(config).and_then(|v| v.get(*i)) {
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

    fn msg<'a>(topic: &'a str, payload: &'a str) -> Message<'a> {
        Message {
            topic,
            payload: payload.as_bytes(),
            qos: 1,
            retained: true,
        }
    }

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
