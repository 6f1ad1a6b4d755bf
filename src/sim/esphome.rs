//! ESPHome in MQTT mode (`esphome`), following ESPHome's docs "MQTT Client Component" (birth
//! and last will `online`/`offline` retained on `<node>/status`, state topics
//! `<node>/<component>/<object_id>/state` retained by default, command topics
//! `…/command`, Home Assistant discovery on by default with `discovery_unique_id_generator:
//! mac`, re-sent when `homeassistant/status` says `online`), "Light Component" (the JSON
//! schema: `{"state":"ON","brightness":255,"color_mode":"brightness"}`, `TOGGLE` accepted) and
//! "Switch Component" (`ON`/`OFF`/`TOGGLE`).
//!
//! Even rooms have a dimmable light `<room>_light`, odd rooms a relay switch; the sensors are
//! `temperature` (two decimals, as with `accuracy_decimals: 2`) and `humidity` (one).

use serde_json::{Value, json};

use super::device::{Device, Heard, Msg, Reading, Reply, hex24, on_off, on_off_toggle};

const DISCOVERY_REQUEST: &str = "homeassistant/status";

pub struct EspHome {
    node: String,
    mac: String,
    /// `light/<room>_light` or `switch/relay`.
    actuator: String,
    light: bool,
}

impl EspHome {
    pub fn new(index: usize, room: String) -> EspHome {
        let light = index.is_multiple_of(2);
        EspHome {
            node: format!("{room}-node"),
            mac: format!("e8db84{:06x}", hex24(index, 0xE5)),
            actuator: if light {
                format!("light/{room}_light")
            } else {
                "switch/relay".into()
            },
            light,
        }
    }

    fn actuator_state(&self, on: bool) -> Msg {
        let topic = format!("{}/{}/state", self.node, self.actuator);
        if self.light {
            let payload = json!({"state": on_off(on), "color_mode": "brightness",
                                 "brightness": 255});
            Msg::json(topic, &payload, true)
        } else {
            Msg::new(topic, on_off(on), true)
        }
    }

    fn discovery(&self) -> Vec<Msg> {
        let node = &self.node;
        let dev = json!({"ids": self.mac, "name": node, "sw": "esphome v2025.6.0",
                         "mdl": "esp32dev", "mf": "Espressif",
                         "cns": [["mac", self.mac]]});
        let avty = format!("{node}/status");
        let sensor = |obj: &str, name: &str, class: &str, unit: &str| {
            let config = json!({
                "dev_cla": class, "unit_of_meas": unit, "stat_cla": "measurement",
                "name": name, "stat_t": format!("{node}/sensor/{obj}/state"),
                "avty_t": avty, "uniq_id": format!("{}-sensor-{obj}", self.mac), "dev": dev
            });
            Msg::json(
                format!("homeassistant/sensor/{node}/{obj}/config"),
                &config,
                true,
            )
        };
        let (component, obj) = self.actuator.split_once('/').unwrap_or(("switch", "relay"));
        let mut actuator = json!({
            "name": if self.light { "Light" } else { "Relay" },
            "stat_t": format!("{node}/{}/state", self.actuator),
            "cmd_t": format!("{node}/{}/command", self.actuator),
            "avty_t": avty,
            "uniq_id": format!("{}-{component}-{obj}", self.mac),
            "dev": dev
        });
        if self.light {
            actuator["schema"] = json!("json");
            actuator["brightness"] = json!(true);
            actuator["sup_clrm"] = json!(["brightness"]);
        }
        vec![
            sensor("temperature", "Temperature", "temperature", "°C"),
            sensor("humidity", "Humidity", "humidity", "%"),
            Msg::json(
                format!("homeassistant/{component}/{node}/{obj}/config"),
                &actuator,
                true,
            ),
        ]
    }
}

impl Device for EspHome {
    fn client_id(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.node)
    }

    fn will(&self) -> Option<Msg> {
        Some(Msg::new(format!("{}/status", self.node), "offline", true))
    }

    fn at_connect(&mut self, light_on: bool, _now: Reading) -> Vec<Msg> {
        let mut msgs = vec![Msg::new(format!("{}/status", self.node), "online", true)];
        msgs.extend(self.discovery());
        msgs.push(self.actuator_state(light_on));
        msgs
    }

    fn commands(&self) -> Vec<String> {
        vec![
            format!("{}/{}/command", self.node, self.actuator),
            DISCOVERY_REQUEST.into(),
        ]
    }

    fn reading(&mut self, r: Reading, _light_on: bool) -> Vec<Msg> {
        let node = &self.node;
        vec![
            Msg::new(
                format!("{node}/sensor/temperature/state"),
                format!("{:.2}", r.temperature),
                true,
            ),
            Msg::new(
                format!("{node}/sensor/humidity/state"),
                format!("{:.1}", r.humidity),
                true,
            ),
        ]
    }

    fn command(&self, topic: &str, payload: &[u8], light_on: bool) -> Option<Heard> {
        let text = std::str::from_utf8(payload).ok()?.trim();
        if topic == DISCOVERY_REQUEST {
            return (text == "online").then(|| Heard::Answer(self.discovery()));
        }
        if topic != format!("{}/{}/command", self.node, self.actuator) {
            return None;
        }
        let state = if self.light {
            let v: Value = serde_json::from_str(text).ok()?;
            v.get("state")?.as_str()?.to_ascii_uppercase()
        } else {
            text.to_ascii_uppercase()
        };
        let on = on_off_toggle(&state, light_on)?;
        Some(Heard::Switch { on, rpc: None })
    }

    fn status(&mut self, reply: &Reply) -> Vec<Msg> {
        vec![self.actuator_state(reply.on)]
    }
}

#[cfg(test)]
mod tests {
    use super::super::device::tests::{birth, switches};
    use super::*;

    #[test]
    fn light_in_even_rooms_switch_in_odd_ones() {
        let mut light = EspHome::new(0, "livingroom".into());
        let cmd = "livingroom-node/light/livingroom_light/command";
        for (p, want) in [
            ("{\"state\":\"ON\"}", Some(true)),
            ("{\"state\":\"OFF\",\"transition\":1}", Some(false)),
            ("{\"state\":\"TOGGLE\"}", Some(true)),
            ("ON", None),
            ("{\"state\":\"dim\"}", None),
        ] {
            assert_eq!(switches(&light, cmd, p), want, "{p}");
        }
        assert_eq!(&birth(&mut light).payload[..], b"online");
        let mut relay = EspHome::new(1, "kitchen".into());
        let cmd = "kitchen-node/switch/relay/command";
        for (p, want) in [
            ("ON", Some(true)),
            ("OFF", Some(false)),
            ("TOGGLE", Some(true)),
        ] {
            assert_eq!(switches(&relay, cmd, p), want, "{p}");
        }
        assert_eq!(switches(&relay, cmd, "{\"state\":\"ON\"}"), None);
        assert_eq!(&birth(&mut relay).payload[..], b"online");
        assert!(matches!(
            relay.command(DISCOVERY_REQUEST, b"online", false),
            Some(Heard::Answer(d)) if d.len() == 3
        ));
    }
}
