//! Home Assistant MQTT discovery (`ha`), following Home Assistant's docs "MQTT" (discovery
//! topics `homeassistant/<component>/[<node_id>/]<object_id>/config` and, since 2024.12, the
//! device-based `homeassistant/device/<id>/config` with `dev`, `o`, `cmps`; abbreviated keys;
//! `~` as the topic base; retained configs; the birth message `online` on
//! `homeassistant/status` asking devices to re-send discovery), "MQTT Sensor" and "MQTT
//! Light" (the default schema with `ON`/`OFF`, and `"schema":"json"` with `{"state":"ON"}`).
//!
//! Even rooms publish one config per entity, topics written with `~`, and a default-schema
//! light; odd rooms one device config with full topics and a JSON-schema light. Both report
//! the climate as one JSON state (`val_tpl`), availability on `hearth-sim/<room>/status`, and
//! retain the light's state so Home Assistant knows it after a restart.

use serde_json::{Value, json};

use super::device::{Device, Heard, Msg, Reading, Reply, on_off, round, title};

const DISCOVERY_REQUEST: &str = "homeassistant/status";

pub struct Ha {
    room: String,
    node: String,
    base: String,
    json_light: bool,
}

impl Ha {
    pub fn new(index: usize, room: String) -> Ha {
        Ha {
            node: format!("hearth_{room}"),
            base: format!("hearth-sim/{room}"),
            json_light: !index.is_multiple_of(2),
            room,
        }
    }

    fn dev(&self) -> Value {
        let name = title(&self.room);
        json!({"ids": [self.node], "name": format!("{name} climate"), "mf": "Hearth",
               "mdl": "Simulated climate sensor and light", "sa": name})
    }

    fn discovery(&self) -> Vec<Msg> {
        let node = &self.node;
        let temperature_template = "{{ value_json.temperature }}";
        let humidity_template = "{{ value_json.humidity }}";
        if !self.json_light {
            let sensor = |obj: &str, name: &str, unit: &str, tpl: &str| {
                let config = json!({
                    "~": self.base, "name": name, "uniq_id": format!("{node}_{obj}"),
                    "stat_t": "~/climate", "val_tpl": tpl, "unit_of_meas": unit,
                    "dev_cla": obj, "stat_cla": "measurement", "avty_t": "~/status",
                    "dev": self.dev()
                });
                Msg::json(
                    format!("homeassistant/sensor/{node}/{obj}/config"),
                    &config,
                    true,
                )
            };
            let light = json!({
                "~": self.base, "name": null, "uniq_id": format!("{node}_light"),
                "cmd_t": "~/light/set", "stat_t": "~/light", "pl_on": "ON", "pl_off": "OFF",
                "avty_t": "~/status", "dev": self.dev()
            });
            return vec![
                sensor("temperature", "Temperature", "°C", temperature_template),
                sensor("humidity", "Humidity", "%", humidity_template),
                Msg::json(
                    format!("homeassistant/light/{node}/light/config"),
                    &light,
                    true,
                ),
            ];
        }
        let base = &self.base;
        let sensor = |obj: &str, name: &str, unit: &str, tpl: &str| {
            json!({"p": "sensor", "name": name, "uniq_id": format!("{node}_{obj}"),
                   "stat_t": format!("{base}/climate"), "val_tpl": tpl,
                   "unit_of_meas": unit, "dev_cla": obj, "stat_cla": "measurement"})
        };
        let config = json!({
            "dev": self.dev(),
            "o": {"name": "hearth-sim", "sw": env!("CARGO_PKG_VERSION")},
            "cmps": {
                format!("{node}_temperature"):
                    sensor("temperature", "Temperature", "°C", temperature_template),
                format!("{node}_humidity"):
                    sensor("humidity", "Humidity", "%", humidity_template),
                format!("{node}_light"): {
                    "p": "light", "name": null, "schema": "json",
                    "uniq_id": format!("{node}_light"),
                    "cmd_t": format!("{base}/light/set"), "stat_t": format!("{base}/light")
                }
            },
            "avty_t": format!("{base}/status"),
            "qos": 1
        });
        vec![Msg::json(
            format!("homeassistant/device/{node}/config"),
            &config,
            true,
        )]
    }

    fn light_state(&self, on: bool) -> Msg {
        let topic = format!("{}/light", self.base);
        if self.json_light {
            Msg::json(topic, &json!({"state": on_off(on)}), true)
        } else {
            Msg::new(topic, on_off(on), true)
        }
    }
}

impl Device for Ha {
    fn client_id(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.node)
    }

    fn will(&self) -> Option<Msg> {
        Some(Msg::new(format!("{}/status", self.base), "offline", true))
    }

    fn at_connect(&mut self, light_on: bool, _now: Reading) -> Vec<Msg> {
        // Discovery before availability, so the entities exist when they come online.
        let mut msgs = self.discovery();
        msgs.push(Msg::new(format!("{}/status", self.base), "online", true));
        msgs.push(self.light_state(light_on));
        msgs
    }

    fn commands(&self) -> Vec<String> {
        vec![format!("{}/light/set", self.base), DISCOVERY_REQUEST.into()]
    }

    fn reading(&mut self, r: Reading, _light_on: bool) -> Vec<Msg> {
        let payload = json!({"temperature": round(r.temperature, 1),
                             "humidity": round(r.humidity, 1)});
        vec![Msg::json(format!("{}/climate", self.base), &payload, false)]
    }

    fn command(&self, topic: &str, payload: &[u8], _light_on: bool) -> Option<Heard> {
        let text = std::str::from_utf8(payload).ok()?.trim();
        if topic == DISCOVERY_REQUEST {
            return (text == "online").then(|| Heard::Answer(self.discovery()));
        }
        if topic != format!("{}/light/set", self.base) {
            return None;
        }
        // Home Assistant sends the configured payloads, exactly.
        let state = if self.json_light {
            let v: Value = serde_json::from_str(text).ok()?;
            v.get("state")?.as_str()?.to_string()
        } else {
            text.to_string()
        };
        let on = match state.as_str() {
            "ON" => true,
            "OFF" => false,
            _ => return None,
        };
        Some(Heard::Switch { on, rpc: None })
    }

    fn status(&mut self, reply: &Reply) -> Vec<Msg> {
        vec![self.light_state(reply.on)]
    }
}

#[cfg(test)]
mod tests {
    use super::super::device::tests::{birth, switches};
    use super::*;

    #[test]
    fn default_and_json_lights() {
        let mut plain = Ha::new(0, "livingroom".into());
        let set = "hearth-sim/livingroom/light/set";
        for (p, want) in [
            ("ON", Some(true)),
            ("OFF", Some(false)),
            ("on", None),
            ("{\"state\":\"ON\"}", None),
        ] {
            assert_eq!(switches(&plain, set, p), want, "{p}");
        }
        assert_eq!(&birth(&mut plain).payload[..], b"online");
        let configs = plain.discovery();
        assert_eq!(
            configs[0].topic,
            "homeassistant/sensor/hearth_livingroom/temperature/config"
        );
        let c: Value = serde_json::from_slice(&configs[0].payload).unwrap();
        assert_eq!(c["val_tpl"], "{{ value_json.temperature }}");
        assert_eq!(c["dev"]["sa"], "Livingroom");

        let mut json_light = Ha::new(1, "kitchen".into());
        let set = "hearth-sim/kitchen/light/set";
        for (p, want) in [
            ("{\"state\":\"ON\"}", Some(true)),
            ("{\"state\":\"OFF\",\"brightness\":3}", Some(false)),
            ("ON", None),
            ("{\"state\":\"TOGGLE\"}", None),
        ] {
            assert_eq!(switches(&json_light, set, p), want, "{p}");
        }
        assert_eq!(&birth(&mut json_light).payload[..], b"online");
        let d = json_light.discovery();
        assert_eq!(d[0].topic, "homeassistant/device/hearth_kitchen/config");
        let c: Value = serde_json::from_slice(&d[0].payload).unwrap();
        assert_eq!(c["cmps"]["hearth_kitchen_light"]["schema"], "json");
        assert!(matches!(
            json_light.command(DISCOVERY_REQUEST, b"online", false),
            Some(Heard::Answer(_))
        ));
        assert_eq!(
            json_light.command(DISCOVERY_REQUEST, b"offline", false),
            None
        );
    }
}
