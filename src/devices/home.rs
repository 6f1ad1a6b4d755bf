//! The seed's layout: `home/<room>/<thing>` is device `<thing>` in room `<room>`, and
//! `home/<room>/<thing>/set` takes its commands. A `…/temperature` or `…/temp` topic, or one
//! whose JSON has a temperature field, reports a temperature (in °F when its JSON says
//! `"unit":"F"`); `…/light`, `…/lamp`, or a topic with a `…/set` sibling, is a light.

use std::collections::HashSet;

use super::convention::{About, Convention, Fact, Route, What, fact, json, named_readings};
use super::light::parse_state;
use super::payload::Unit;
use super::{Message, Quantity};

/// Devices with a `/set` topic are remembered only up to this many: past it, a light so
/// named (`light`, `lamp`) still is one.
const MAX_SET_TOPICS: usize = 10_000;

#[derive(Default)]
pub struct HomeLayout {
    /// Devices whose `…/set` topic was seen: lights, whatever their name.
    with_set: HashSet<String>,
}

/// What a topic is in the layout.
#[derive(Debug, PartialEq)]
enum Place<'t> {
    State { room: &'t str, thing: &'t str },
    Command { room: &'t str, thing: &'t str },
}

fn place(topic: &str) -> Option<Place<'_>> {
    let mut parts = topic.split('/');
    if parts.next()? != "home" {
        return None;
    }
    let room = parts.next().filter(|s| !s.is_empty())?;
    let thing = parts.next().filter(|s| !s.is_empty())?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(Place::State { room, thing }),
        (Some("set"), None) => Some(Place::Command { room, thing }),
        _ => None,
    }
}

impl Convention for HomeLayout {
    fn name(&self) -> &'static str {
        "home"
    }

    fn observe(&mut self, m: &Message<'_>, fields: &[(String, f64)], out: &mut Vec<Fact>) -> bool {
        let (room, thing, command) = match place(m.topic) {
            Some(Place::State { room, thing }) => (room, thing, false),
            Some(Place::Command { room, thing }) => (room, thing, true),
            None => return false,
        };
        let id = format!("{room}/{thing}");
        out.push(fact(
            &id,
            What::About(About {
                name: Some(thing.to_string()),
                room: Some(room.to_string()),
                ..About::default()
            }),
        ));
        if command {
            if self.with_set.len() < MAX_SET_TOPICS {
                self.with_set.insert(id.clone());
            }
            out.push(fact(
                &id,
                What::Light {
                    state: None,
                    route: Route::Detect,
                },
            ));
            return true;
        }
        let named = thing.to_ascii_lowercase();
        let temperature_name = named == "temperature" || named == "temp";
        if temperature_name && let Some((_, v)) = fields.iter().find(|(f, _)| f.is_empty()) {
            out.push(fact(
                &id,
                What::Reading {
                    quantity: Quantity::Temperature,
                    field: String::new(),
                    value: *v,
                    unit: Some(Unit::Celsius),
                },
            ));
        }
        let unit = json(m)
            .as_ref()
            .and_then(|v| v.get("unit"))
            .and_then(|u| u.as_str())
            .and_then(Unit::parse);
        let readings = named_readings(&id, fields, unit);
        let has_temperature = temperature_name
            || readings.iter().any(|f| {
                matches!(
                    f.what,
                    What::Reading {
                        quantity: Quantity::Temperature,
                        ..
                    }
                )
            });
        out.extend(readings);
        let light = named == "light" || named == "lamp" || self.with_set.contains(&id);
        if light && !has_temperature {
            out.push(fact(
                &id,
                What::Light {
                    state: Some(parse_state(m.payload)),
                    route: Route::Detect,
                },
            ));
        } else if !has_temperature {
            out.push(fact(&id, What::Seen));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_of_the_layout() {
        assert_eq!(
            place("home/hall/lamp"),
            Some(Place::State {
                room: "hall",
                thing: "lamp"
            })
        );
        assert_eq!(
            place("home/hall/lamp/set"),
            Some(Place::Command {
                room: "hall",
                thing: "lamp"
            })
        );
        for other in [
            "home",
            "home/hall",
            "home//lamp",
            "home/hall/",
            "home/hall/lamp/x",
            "home/hall/lamp/set/x",
            "tele/tasmota_1/SENSOR",
        ] {
            assert_eq!(place(other), None, "{other}");
        }
    }
}
