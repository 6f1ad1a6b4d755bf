//! Homie (`homie`): convention v4.0.0 in even rooms, v5.0 in odd rooms, following the Homie
//! specification at homieiot.github.io (v4: device attributes `$homie`, `$name`, `$state`,
//! `$nodes`, `$extensions`, node attributes `$name`, `$type`, `$properties`, property
//! attributes `$name`, `$datatype`, `$unit`, `$settable`, all retained, `lost` as the will,
//! `init` → `ready` → `disconnected`; v5: `homie/5/<dev>/$state` and one retained JSON
//! `$description` instead of the attribute topics). The device has a `thermometer` node
//! (`temperature` in °C, `humidity` in %) and a `light` node whose `power` boolean is
//! settable with `true`/`false` on `…/power/set`; Homie has no toggle for a boolean.

use serde_json::json;

use super::device::{Device, Heard, Msg, Reading, Reply, hex24, title};

/// A Homie boolean's value: exactly `true` or `false`.
fn boolean(payload: &[u8]) -> Option<bool> {
    match payload {
        b"true" => Some(true),
        b"false" => Some(false),
        _ => None,
    }
}

fn bool_text(on: bool) -> &'static str {
    if on { "true" } else { "false" }
}

/// The values both versions publish below their device topic, all retained.
/// Where both versions take the light's commands: its settable `power` property's `/set`.
fn power_set(base: &str) -> String {
    format!("{base}/light/power/set")
}

/// A command to the light, in either version: exactly `true` or `false`.
fn power_command(base: &str, topic: &str, payload: &[u8]) -> Option<Heard> {
    if topic != power_set(base) {
        return None;
    }
    let on = boolean(payload)?;
    Some(Heard::Switch { on, rpc: None })
}

fn values(base: &str, r: Reading) -> Vec<Msg> {
    vec![
        Msg::new(
            format!("{base}/thermometer/temperature"),
            format!("{:.1}", r.temperature),
            true,
        ),
        Msg::new(
            format!("{base}/thermometer/humidity"),
            format!("{:.1}", r.humidity),
            true,
        ),
    ]
}

pub struct Homie4 {
    room: String,
    base: String,
}

impl Homie4 {
    pub fn new(room: String) -> Homie4 {
        Homie4 {
            base: format!("homie/{room}-thermostat"),
            room,
        }
    }

    fn attr(&self, path: &str, value: &str) -> Msg {
        Msg::new(format!("{}/{path}", self.base), value.to_string(), true)
    }
}

impl Device for Homie4 {
    fn client_id(&self, prefix: &str) -> String {
        format!("{prefix}-{}", &self.base[6..])
    }

    fn will(&self) -> Option<Msg> {
        Some(self.attr("$state", "lost"))
    }

    fn at_connect(&mut self, light_on: bool, now: Reading) -> Vec<Msg> {
        let mut msgs = vec![
            // `init` first: a controller must not read a half-published description.
            self.attr("$state", "init"),
            self.attr("$homie", "4.0.0"),
            self.attr("$name", &format!("{} thermostat", title(&self.room))),
            self.attr("$nodes", "thermometer,light"),
            self.attr("$extensions", ""),
            self.attr("thermometer/$name", "Thermometer"),
            self.attr("thermometer/$type", "DHT22"),
            self.attr("thermometer/$properties", "temperature,humidity"),
            self.attr("thermometer/temperature/$name", "Temperature"),
            self.attr("thermometer/temperature/$datatype", "float"),
            self.attr("thermometer/temperature/$unit", "°C"),
            self.attr("thermometer/humidity/$name", "Humidity"),
            self.attr("thermometer/humidity/$datatype", "float"),
            self.attr("thermometer/humidity/$unit", "%"),
            self.attr("light/$name", "Light"),
            self.attr("light/$type", "Relay"),
            self.attr("light/$properties", "power"),
            self.attr("light/power/$name", "Power"),
            self.attr("light/power/$datatype", "boolean"),
            self.attr("light/power/$settable", "true"),
            self.attr("light/power", bool_text(light_on)),
        ];
        msgs.extend(values(&self.base, now));
        msgs.push(self.attr("$state", "ready"));
        msgs
    }

    fn commands(&self) -> Vec<String> {
        vec![power_set(&self.base)]
    }

    fn reading(&mut self, r: Reading, _light_on: bool) -> Vec<Msg> {
        values(&self.base, r)
    }

    fn command(&self, topic: &str, payload: &[u8], _light_on: bool) -> Option<Heard> {
        power_command(&self.base, topic, payload)
    }

    fn status(&mut self, reply: &Reply) -> Vec<Msg> {
        vec![self.attr("light/power", bool_text(reply.on))]
    }

    fn at_shutdown(&self, _light_on: bool) -> Vec<Msg> {
        vec![self.attr("$state", "disconnected")]
    }
}

pub struct Homie5 {
    index: usize,
    room: String,
    base: String,
}

impl Homie5 {
    pub fn new(index: usize, room: String) -> Homie5 {
        Homie5 {
            index,
            base: format!("homie/5/{room}-thermostat"),
            room,
        }
    }

    fn state(&self, state: &str) -> Msg {
        Msg::new(format!("{}/$state", self.base), state.to_string(), true)
    }

    fn description(&self) -> Msg {
        let d = json!({
            "homie": "5.0",
            // Changes whenever the description does; it never does here.
            "version": hex24(self.index, 0x5005),
            "name": format!("{} thermostat", title(&self.room)),
            "type": "thermostat",
            "nodes": {
                "thermometer": {
                    "name": "Thermometer",
                    "type": "DHT22",
                    "properties": {
                        "temperature": {"name": "Temperature", "datatype": "float",
                                        "unit": "°C"},
                        "humidity": {"name": "Humidity", "datatype": "float", "unit": "%"}
                    }
                },
                "light": {
                    "name": "Light",
                    "type": "Relay",
                    "properties": {
                        "power": {"name": "Power", "datatype": "boolean", "settable": true}
                    }
                }
            }
        });
        Msg::json(format!("{}/$description", self.base), &d, true)
    }

    fn power(&self, on: bool) -> Msg {
        Msg::new(format!("{}/light/power", self.base), bool_text(on), true)
    }
}

impl Device for Homie5 {
    fn client_id(&self, prefix: &str) -> String {
        format!("{prefix}-{}", &self.base[8..])
    }

    fn will(&self) -> Option<Msg> {
        Some(self.state("lost"))
    }

    fn at_connect(&mut self, light_on: bool, now: Reading) -> Vec<Msg> {
        let mut msgs = vec![self.state("init"), self.description(), self.power(light_on)];
        msgs.extend(values(&self.base, now));
        msgs.push(self.state("ready"));
        msgs
    }

    fn commands(&self) -> Vec<String> {
        vec![power_set(&self.base)]
    }

    fn reading(&mut self, r: Reading, _light_on: bool) -> Vec<Msg> {
        values(&self.base, r)
    }

    fn command(&self, topic: &str, payload: &[u8], _light_on: bool) -> Option<Heard> {
        power_command(&self.base, topic, payload)
    }

    fn status(&mut self, reply: &Reply) -> Vec<Msg> {
        vec![self.power(reply.on)]
    }

    fn at_shutdown(&self, _light_on: bool) -> Vec<Msg> {
        vec![self.state("disconnected")]
    }
}

#[cfg(test)]
mod tests {
    use super::super::device::tests::{birth, switches};
    use super::*;

    #[test]
    fn v4_and_v5_power() {
        let mut v4 = Homie4::new("livingroom".into());
        let mut v5 = Homie5::new(1, "kitchen".into());
        let set4 = "homie/livingroom-thermostat/light/power/set";
        let set5 = "homie/5/kitchen-thermostat/light/power/set";
        for (p, want) in [
            ("true", Some(true)),
            ("false", Some(false)),
            ("ON", None),
            ("TRUE", None),
            ("toggle", None),
        ] {
            assert_eq!(switches(&v4, set4, p), want, "{p}");
            assert_eq!(switches(&v5, set5, p), want, "{p}");
        }
        // The last of the `$state` messages at connect is `ready`.
        let at = v4.at_connect(
            false,
            Reading {
                temperature: 20.0,
                humidity: 40.0,
            },
        );
        let last = at
            .iter()
            .rev()
            .find(|m| m.topic.ends_with("$state"))
            .unwrap();
        assert_eq!(&last.payload[..], b"ready");
        assert!(at.iter().all(|m| m.retain));
        assert_eq!(&birth(&mut v4).payload[..], b"init");
        assert_eq!(&birth(&mut v5).payload[..], b"init");
        let d: serde_json::Value = serde_json::from_slice(&v5.description().payload).unwrap();
        assert_eq!(d["nodes"]["light"]["properties"]["power"]["settable"], true);
    }
}
