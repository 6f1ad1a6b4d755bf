//! Homie (<https://homieiot.github.io/specification/>). Versions 3 and 4 describe a device
//! attribute by attribute, each retained: `homie/<dev>/$name`, `$state`, `$nodes`, a node's
//! `$properties`, and a property's `$datatype`, `$unit`, `$settable`; the value itself is on
//! `homie/<dev>/<node>/<prop>` and a settable property takes commands on `…/<prop>/set`.
//! Version 5 puts the same description in one retained JSON, `homie/5/<dev>/$description`,
//! beside `homie/5/<dev>/$state`. `$state` is the availability (`ready`, `init`, `sleeping`,
//! `alert` count as online; `disconnected` and `lost` as offline). A property is a
//! temperature by its unit (`°C`, `°F`) or name, a light when it is a settable boolean. The
//! first settable boolean is the device; others are devices of their own.

use std::collections::HashMap;

use super::convention::{About, Convention, Fact, Route, What, fact, json, text};
use super::light::{LightRoute, LightState};
use super::payload::Unit;
use super::{Message, Quantity};

/// Properties described at once; past it, new properties are values without a description.
const MAX_PROPERTIES: usize = 20_000;
const DATATYPES: [&str; 8] = [
    "integer", "float", "boolean", "string", "enum", "color", "datetime", "duration",
];

#[derive(Default, Clone)]
struct Property {
    datatype: Option<String>,
    unit: Option<String>,
    settable: bool,
    name: Option<String>,
    /// The last value, so a description that arrives after it still applies.
    value: Option<String>,
}

#[derive(Default)]
pub struct Homie {
    /// By the property's topic.
    properties: HashMap<String, Property>,
    /// Each device's first settable boolean, by device id.
    first_switch: HashMap<String, String>,
}

/// A Homie topic: the device's id, its topic prefix, and the levels after it.
fn split(topic: &str) -> Option<(String, &str, Vec<&str>)> {
    let rest = topic.strip_prefix("homie/")?;
    let (prefix_len, rest) = match rest.strip_prefix("5/") {
        Some(r) => ("homie/5/".len(), r),
        None => ("homie/".len(), rest),
    };
    let mut parts = rest.split('/');
    let dev = parts.next().filter(|d| !d.is_empty())?;
    let prefix = &topic[..prefix_len + dev.len()];
    Some((format!("homie/{dev}"), prefix, parts.collect()))
}

impl Homie {
    fn property(&mut self, topic: &str) -> Option<&mut Property> {
        if !self.properties.contains_key(topic) && self.properties.len() >= MAX_PROPERTIES {
            return None;
        }
        Some(self.properties.entry(topic.to_string()).or_default())
    }

    /// What a property's value says, given its description.
    fn value_facts(&mut self, id: &str, topic: &str, out: &mut Vec<Fact>) {
        let Some(p) = self.properties.get(topic).cloned() else {
            return;
        };
        let Some(value) = p.value.as_deref() else {
            return;
        };
        let prop = topic.rsplit('/').next().unwrap_or_default();
        let datatype = p.datatype.as_deref();
        if let Some(d) = datatype
            && !DATATYPES.contains(&d)
        {
            tracing::info!("{topic}: unknown Homie datatype '{d}', read as a string");
        }
        if datatype == Some("boolean") && p.settable {
            let state = match value {
                "true" => LightState::On,
                "false" => LightState::Off,
                other => {
                    tracing::info!("{topic}: '{other}' is not a Homie boolean");
                    LightState::Unknown
                }
            };
            let first = self
                .first_switch
                .entry(id.to_string())
                .or_insert_with(|| topic.to_string());
            let device = if first == topic {
                id.to_string()
            } else {
                let node = topic.rsplit('/').nth(1).unwrap_or_default();
                format!("{id}/{node}-{prop}")
            };
            if device != id {
                out.push(fact(
                    &device,
                    What::About(About {
                        name: p.name.clone().or_else(|| Some(prop.to_string())),
                        ..About::default()
                    }),
                ));
            }
            out.push(Fact {
                topic: Some(topic.to_string()),
                ..fact(
                    &device,
                    What::Light {
                        state: Some(state),
                        route: Route::Fixed(LightRoute::new(
                            "homie",
                            format!("{topic}/set"),
                            "true",
                            "false",
                        )),
                    },
                )
            });
            return;
        }
        let unit = p.unit.as_deref().and_then(Unit::parse);
        let quantity = match unit {
            Some(Unit::Celsius | Unit::Fahrenheit) => Some(Quantity::Temperature),
            _ => Quantity::from_name(prop)
                .or_else(|| p.name.as_deref().and_then(Quantity::from_name)),
        };
        let Some(q) = quantity else {
            return;
        };
        match value.parse::<f64>() {
            Ok(v) if v.is_finite() => out.push(Fact {
                topic: Some(topic.to_string()),
                ..fact(
                    id,
                    What::Reading {
                        quantity: q,
                        field: String::new(),
                        value: v,
                        unit: unit.or(q.default_unit()),
                    },
                )
            }),
            _ => tracing::info!(
                "{topic}: '{value}' is not a number, though the {} says {}",
                if datatype.is_some() {
                    "datatype"
                } else {
                    "name"
                },
                datatype.unwrap_or(prop)
            ),
        }
    }

    /// A v5 `$description`: every property's datatype, unit and whether it is settable.
    fn description(&mut self, id: &str, prefix: &str, m: &Message<'_>, out: &mut Vec<Fact>) {
        let Some(v) = json(m) else {
            tracing::info!("{}: a Homie description that is not JSON", m.topic);
            return;
        };
        out.push(fact(
            id,
            What::About(About {
                name: v.get("name").and_then(|n| n.as_str()).map(str::to_string),
                ..About::default()
            }),
        ));
        let Some(nodes) = v.get("nodes").and_then(|n| n.as_object()) else {
            return;
        };
        for (node, n) in nodes {
            let Some(props) = n.get("properties").and_then(|p| p.as_object()) else {
                continue;
            };
            for (prop, d) in props {
                let topic = format!("{prefix}/{node}/{prop}");
                let s = |k: &str| d.get(k).and_then(|x| x.as_str()).map(str::to_string);
                let Some(p) = self.property(&topic) else {
                    continue;
                };
                p.datatype = s("datatype");
                p.unit = s("unit");
                p.name = s("name");
                p.settable = d.get("settable").and_then(|x| x.as_bool()).unwrap_or(false);
                self.value_facts(id, &topic, out);
            }
        }
    }
}

impl Convention for Homie {
    fn name(&self) -> &'static str {
        "homie"
    }

    fn observe(&mut self, m: &Message<'_>, _: &[(String, f64)], out: &mut Vec<Fact>) -> bool {
        let Some((id, prefix, levels)) = split(m.topic) else {
            return false;
        };
        let value = text(m).unwrap_or_default();
        match levels[..] {
            // An empty retained `$state` clears the device (Homie 5); a payload that is not
            // text is not empty.
            ["$state"] if m.payload.is_empty() => out.push(fact(&id, What::Remove)),
            ["$state"] => {
                let online = match value {
                    "ready" | "init" | "sleeping" | "alert" => Some(true),
                    "disconnected" | "lost" => Some(false),
                    _ => None,
                };
                out.push(fact(
                    &id,
                    online.map_or(What::HasAvailability, What::Available),
                ));
            }
            ["$name"] => out.push(fact(
                &id,
                What::About(About {
                    name: Some(value.to_string()),
                    ..About::default()
                }),
            )),
            ["$description"] => self.description(&id, prefix, m, out),
            [_, _, "set"] | [_, _, "$target"] => {}
            [node, prop, attr] if attr.starts_with('$') && !node.starts_with('$') => {
                let topic = format!("{prefix}/{node}/{prop}");
                if let Some(p) = self.property(&topic) {
                    match attr {
                        "$datatype" => p.datatype = Some(value.to_string()),
                        "$unit" => p.unit = Some(value.to_string()),
                        "$settable" => p.settable = value == "true",
                        "$name" => p.name = Some(value.to_string()),
                        _ => {}
                    }
                    self.value_facts(&id, &topic, out);
                }
                out.push(fact(&id, What::Seen));
            }
            [node, prop] if !node.starts_with('$') && !prop.starts_with('$') => {
                if let Some(p) = self.property(m.topic) {
                    p.value = Some(value.chars().take(64).collect());
                }
                self.value_facts(&id, m.topic, out);
                out.push(fact(&id, What::Seen));
            }
            _ => out.push(fact(&id, What::Seen)),
        }
        true
    }

    fn owner(&self, topic: &str) -> Option<String> {
        split(topic).map(|(id, ..)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::convention::message as msg;

    #[test]
    fn a_description_after_the_value_still_applies() {
        let mut h = Homie::default();
        let mut out = Vec::new();
        h.observe(&msg("homie/lamp/light/power", "true"), &[], &mut out);
        assert!(!out.iter().any(|f| matches!(f.what, What::Light { .. })));
        h.observe(
            &msg("homie/lamp/light/power/$datatype", "boolean"),
            &[],
            &mut out,
        );
        h.observe(
            &msg("homie/lamp/light/power/$settable", "true"),
            &[],
            &mut out,
        );
        let light = out
            .iter()
            .find(|f| matches!(f.what, What::Light { .. }))
            .unwrap();
        assert_eq!(light.topic.as_deref(), Some("homie/lamp/light/power"));
        assert_eq!(light.device, "homie/lamp");
    }

    #[test]
    fn v5_and_bad_datatypes() {
        let mut h = Homie::default();
        let mut out = Vec::new();
        let d = r#"{"homie":"5.0","name":"Hall","nodes":{"t":{"properties":{"temperature":{"datatype":"quaternion","unit":"°F"}}}}}"#;
        h.observe(&msg("homie/5/hall/$description", d), &[], &mut out);
        h.observe(
            &msg("homie/5/hall/t/temperature", "not a number"),
            &[],
            &mut out,
        );
        h.observe(&msg("homie/5/hall/t/temperature", "70.1"), &[], &mut out);
        let r = out
            .iter()
            .find(|f| matches!(f.what, What::Reading { .. }))
            .unwrap();
        assert_eq!(r.topic.as_deref(), Some("homie/5/hall/t/temperature"));
        assert!(
            matches!(r.what, What::Reading { unit: Some(Unit::Fahrenheit), value, .. } if value == 70.1)
        );
        assert_eq!(split("homie/5/hall/$state").unwrap().0, "homie/hall");
    }
}
