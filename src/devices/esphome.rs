//! ESPHome in MQTT mode (<https://esphome.io/components/mqtt.html>): a component publishes
//! its state on `<node>/<component>/<object id>/state` and takes commands on
//! `…/<object id>/command`; sensors are plain numbers, switches `ON`/`OFF`, lights the JSON
//! schema (`{"state":"ON","brightness":255}`). `<node>/status` is `online`/`offline` (birth
//! and last will). A sensor's quantity follows its name (`…/sensor/living_temperature/…`);
//! its unit is °C, ESPHome's own, unless a Home Assistant discovery config says otherwise.
//! The node's first light or switch is the device; others are devices of their own,
//! `esphome/<node>/<object id>`.

use std::collections::HashMap;

use super::Message;
use super::Quantity;
use super::convention::{About, Convention, Fact, Route, What, fact, json, text};
use super::light::{LightRoute, LightState, parse_state};

const COMPONENTS: [&str; 12] = [
    "sensor",
    "binary_sensor",
    "text_sensor",
    "switch",
    "light",
    "fan",
    "number",
    "select",
    "button",
    "cover",
    "climate",
    "lock",
];
const MAX_NODES: usize = 4096;
/// Home Assistant's discovery prefix: topics under it are discovery's own (its examples put
/// entity topics there, `homeassistant/light/kitchen/state`), never an ESPHome node's.
const DISCOVERY_PREFIX: &str = "homeassistant";

#[derive(Default)]
pub struct EspHome {
    /// Each node's first light or switch.
    first: HashMap<String, String>,
}

fn device_id(node: &str) -> String {
    format!("esphome/{node}")
}

impl Convention for EspHome {
    fn name(&self) -> &'static str {
        "esphome"
    }

    fn observe(&mut self, m: &Message<'_>, fields: &[(String, f64)], out: &mut Vec<Fact>) -> bool {
        let parts: Vec<&str> = m.topic.split('/').collect();
        match parts[..] {
            [node, "status"] if !node.is_empty() => {
                let id = device_id(node);
                match text(m) {
                    Some("online") => out.push(fact(&id, What::Available(true))),
                    Some("offline") => out.push(fact(&id, What::Available(false))),
                    _ => return false,
                }
                out.push(fact(
                    &id,
                    What::About(About {
                        name: Some(node.to_string()),
                        ..About::default()
                    }),
                ));
                true
            }
            [node, component, object, end @ ("state" | "command")]
                if !node.is_empty()
                    && node != DISCOVERY_PREFIX
                    && !object.is_empty()
                    && COMPONENTS.contains(&component) =>
            {
                let main = device_id(node);
                out.push(fact(
                    &main,
                    What::About(About {
                        name: Some(node.to_string()),
                        ..About::default()
                    }),
                ));
                if end == "command" {
                    return true;
                }
                match component {
                    "sensor" => {
                        let plain = fields.iter().find(|(f, _)| f.is_empty());
                        if plain.is_none() {
                            tracing::info!("{}: a sensor state that is not a number", m.topic);
                        }
                        if let Some((_, v)) = plain
                            && let Some(q) = Quantity::from_name(object)
                        {
                            out.push(fact(
                                &main,
                                What::Reading {
                                    quantity: q,
                                    field: String::new(),
                                    value: *v,
                                    unit: q.default_unit(),
                                },
                            ));
                        }
                    }
                    "switch" | "light" => {
                        if self.first.len() < MAX_NODES && !self.first.contains_key(node) {
                            self.first.insert(node.to_string(), object.to_string());
                        }
                        let id = if self.first.get(node).map(String::as_str) == Some(object) {
                            main
                        } else {
                            let id = format!("{main}/{object}");
                            out.push(fact(
                                &id,
                                What::About(About {
                                    name: Some(object.replace('_', " ")),
                                    ..About::default()
                                }),
                            ));
                            id
                        };
                        let command = format!("{node}/{component}/{object}/command");
                        let (route, state) = if component == "light" {
                            let state = json(m)
                                .and_then(|v| v.get("state")?.as_str().map(str::to_string))
                                .map(|s| parse_state(s.as_bytes()))
                                .unwrap_or(LightState::Unknown);
                            (
                                LightRoute::new(
                                    "esphome-json",
                                    command,
                                    r#"{"state":"ON"}"#,
                                    r#"{"state":"OFF"}"#,
                                ),
                                state,
                            )
                        } else {
                            (
                                LightRoute::new("esphome", command, "ON", "OFF"),
                                parse_state(m.payload),
                            )
                        };
                        out.push(fact(
                            &id,
                            What::Light {
                                state: Some(state),
                                route: Route::Fixed(route),
                            },
                        ));
                    }
                    _ => out.push(fact(&main, What::Seen)),
                }
                true
            }
            _ => false,
        }
    }

    fn owner(&self, topic: &str) -> Option<String> {
        let parts: Vec<&str> = topic.split('/').collect();
        match parts[..] {
            [node, "status"] => Some(device_id(node)),
            [node, component, object, "state" | "command"]
                if node != DISCOVERY_PREFIX && COMPONENTS.contains(&component) =>
            {
                match self.first.get(node) {
                    Some(first) if first != object && matches!(component, "light" | "switch") => {
                        Some(format!("{}/{object}", device_id(node)))
                    }
                    _ => Some(device_id(node)),
                }
            }
            _ => None,
        }
    }
}
