//! Zigbee2MQTT (`z2m`), following its docs "MQTT Topics and Messages" (base topic
//! `zigbee2mqtt`, `<base>/<friendly_name>` state, `/set` and `/get`, `bridge/state` as the
//! bridge's retained last will, retained `bridge/devices`, per-device `/availability` as JSON
//! since 2.0) and the device pages of an Aqara WSDCGQ11LM (temperature, humidity, pressure)
//! and an IKEA LED1545G12 bulb for the exposes and payloads.
//!
//! Each room is a bridge connection with two devices, `<room>/temperature` and `<room>/lamp`.
//! The will can only cover the bridge, as with Zigbee2MQTT itself: a killed room takes its
//! bridge offline and leaves device availability as it was, while a clean stop marks both
//! devices offline and then the bridge, as Zigbee2MQTT does when it stops. Device state is
//! not retained (`retain` is off per device by default).

use bytes::Bytes;
use serde_json::{Value, json};

use super::device::{Device, Heard, Msg, Reading, Reply, hex24, on_off, on_off_toggle, round};

const BASE: &str = "zigbee2mqtt";

pub struct Z2m {
    index: usize,
    sensor: String,
    lamp: String,
    devices: Bytes,
}

impl Z2m {
    /// `devices` is the retained `bridge/devices` list, shared by every z2m room.
    pub fn new(index: usize, room: String, devices: Bytes) -> Z2m {
        Z2m {
            index,
            sensor: format!("{room}/temperature"),
            lamp: format!("{room}/lamp"),
            devices,
        }
    }

    fn availability(&self, state: &str) -> Vec<Msg> {
        [&self.sensor, &self.lamp]
            .into_iter()
            .map(|d| {
                let topic = format!("{BASE}/{d}/availability");
                Msg::json(topic, &json!({"state": state}), true)
            })
            .collect()
    }

    fn lamp_state(&self, on: bool) -> Msg {
        let payload = json!({
            "brightness": 254,
            "color_mode": "color_temp",
            "color_temp": 370,
            "linkquality": 80 + self.index % 60,
            "state": on_off(on),
            "update": {"installed_version": 587_814_449, "latest_version": 587_814_449,
                       "state": "idle"}
        });
        Msg::json(format!("{BASE}/{}", self.lamp), &payload, false)
    }
}

/// The retained `zigbee2mqtt/bridge/devices` list: the coordinator and each z2m room's
/// sensor and lamp.
pub fn bridge_devices(rooms: &[usize]) -> Bytes {
    let mut list = vec![json!({
        "ieee_address": "0x00124b0022a2c1d0",
        "type": "Coordinator",
        "network_address": 0,
        "supported": true,
        "disabled": false,
        "friendly_name": "Coordinator",
        "definition": null,
        "power_source": null,
        "interview_completed": true,
        "interviewing": false
    })];
    for &i in rooms {
        let room = super::room_name(i);
        list.push(sensor_entry(i, &room));
        list.push(lamp_entry(i, &room));
    }
    Bytes::from(Value::Array(list).to_string())
}

fn numeric(name: &str, label: &str, unit: &str, description: &str) -> Value {
    json!({"access": 1, "type": "numeric", "name": name, "property": name, "label": label,
           "unit": unit, "description": description})
}

fn sensor_entry(i: usize, room: &str) -> Value {
    json!({
        "ieee_address": format!("0x00158d0004{:06x}", hex24(i, 0x2E)),
        "type": "EndDevice",
        "network_address": 1000 + i,
        "supported": true,
        "disabled": false,
        "friendly_name": format!("{room}/temperature"),
        "model_id": "lumi.weather",
        "manufacturer": "LUMI",
        "power_source": "Battery",
        "interview_completed": true,
        "interviewing": false,
        "definition": {
            "model": "WSDCGQ11LM",
            "vendor": "Aqara",
            "description": "Temperature and humidity sensor",
            "supports_ota": false,
            "options": [],
            "exposes": [
                numeric("battery", "Battery", "%", "Remaining battery in %"),
                numeric("temperature", "Temperature", "°C", "Measured temperature value"),
                numeric("humidity", "Humidity", "%", "Measured relative humidity"),
                numeric("pressure", "Pressure", "hPa", "The measured atmospheric pressure"),
                numeric("voltage", "Voltage", "mV", "Voltage of the battery in millivolts"),
                numeric("linkquality", "Linkquality", "lqi", "Link quality (signal strength)")
            ]
        }
    })
}

fn lamp_entry(i: usize, room: &str) -> Value {
    json!({
        "ieee_address": format!("0x000d6ffffe{:06x}", hex24(i, 0x1B)),
        "type": "Router",
        "network_address": 2000 + i,
        "supported": true,
        "disabled": false,
        "friendly_name": format!("{room}/lamp"),
        "model_id": "TRADFRI bulb E27 WS opal 980lm",
        "manufacturer": "IKEA of Sweden",
        "power_source": "Mains (single phase)",
        "interview_completed": true,
        "interviewing": false,
        "definition": {
            "model": "LED1545G12",
            "vendor": "IKEA",
            "description": "TRADFRI bulb E26/E27, white spectrum, globe, opal, 980 lm",
            "supports_ota": true,
            "options": [],
            "exposes": [
                {"type": "light", "features": [
                    {"access": 7, "type": "binary", "name": "state", "property": "state",
                     "label": "State", "description": "On/off state of this light",
                     "value_on": "ON", "value_off": "OFF", "value_toggle": "TOGGLE"},
                    {"access": 7, "type": "numeric", "name": "brightness",
                     "property": "brightness", "label": "Brightness",
                     "description": "Brightness of this light", "value_min": 0,
                     "value_max": 254},
                    {"access": 7, "type": "numeric", "name": "color_temp",
                     "property": "color_temp", "label": "Color temp", "unit": "mired",
                     "description": "Color temperature of this light", "value_min": 250,
                     "value_max": 454}
                ]},
                numeric("linkquality", "Linkquality", "lqi", "Link quality (signal strength)")
            ]
        }
    })
}

impl Device for Z2m {
    fn client_id(&self, prefix: &str) -> String {
        format!("{prefix}-zigbee2mqtt_{:06x}", hex24(self.index, 0x22))
    }

    fn will(&self) -> Option<Msg> {
        let offline = json!({"state": "offline"});
        Some(Msg::json(format!("{BASE}/bridge/state"), &offline, true))
    }

    fn at_connect(&mut self, light_on: bool, _now: Reading) -> Vec<Msg> {
        let online = json!({"state": "online"});
        let mut msgs = vec![
            Msg::json(format!("{BASE}/bridge/state"), &online, true),
            Msg::new(format!("{BASE}/bridge/devices"), self.devices.clone(), true),
        ];
        msgs.extend(self.availability("online"));
        msgs.push(self.lamp_state(light_on));
        msgs
    }

    fn commands(&self) -> Vec<String> {
        vec![
            format!("{BASE}/{}/set", self.lamp),
            format!("{BASE}/{}/get", self.lamp),
        ]
    }

    fn reading(&mut self, r: Reading, _light_on: bool) -> Vec<Msg> {
        // The Aqara reports hundredths of a degree and of a percent, and tenths of a hPa.
        let payload = json!({
            "battery": 97,
            "humidity": round(r.humidity, 2),
            "linkquality": 100 + self.index % 50,
            "pressure": round(1012.0 + (self.index % 7) as f64 * 0.3, 1),
            "temperature": round(r.temperature, 2),
            "voltage": 3005
        });
        vec![Msg::json(
            format!("{BASE}/{}", self.sensor),
            &payload,
            false,
        )]
    }

    fn command(&self, topic: &str, payload: &[u8], light_on: bool) -> Option<Heard> {
        let rest = topic.strip_prefix(BASE)?.strip_prefix('/')?;
        let rest = rest.strip_prefix(self.lamp.as_str())?;
        if rest == "/get" {
            return Some(Heard::Answer(vec![self.lamp_state(light_on)]));
        }
        if rest != "/set" {
            return None;
        }
        let text = std::str::from_utf8(payload).ok()?.trim();
        // `/set` takes JSON, or a bare state value for the `state` attribute.
        let state = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(o)) => o.get("state")?.as_str()?.to_ascii_uppercase(),
            _ => text.to_ascii_uppercase(),
        };
        let on = on_off_toggle(&state, light_on)?;
        Some(Heard::Switch { on, rpc: None })
    }

    fn status(&mut self, reply: &Reply) -> Vec<Msg> {
        vec![self.lamp_state(reply.on)]
    }

    fn at_shutdown(&self, _light_on: bool) -> Vec<Msg> {
        let mut msgs = self.availability("offline");
        msgs.extend(self.will());
        msgs
    }
}

#[cfg(test)]
mod tests {
    use super::super::device::tests::{birth, switches};
    use super::*;

    #[test]
    fn lamp_commands_and_bridge_state() {
        let mut z = Z2m::new(2, "bedroom".into(), bridge_devices(&[2, 9]));
        let set = "zigbee2mqtt/bedroom/lamp/set";
        for (p, want) in [
            ("{\"state\":\"ON\"}", Some(true)),
            ("{\"state\":\"off\"}", Some(false)),
            ("{\"state\":\"TOGGLE\"}", Some(true)),
            ("ON", Some(true)),
            ("OFF", Some(false)),
            ("{\"brightness\":3}", None),
            ("dim", None),
        ] {
            assert_eq!(switches(&z, set, p), want, "{p}");
        }
        assert_eq!(switches(&z, "zigbee2mqtt/bedroom/lampe/set", "ON"), None);
        let b = birth(&mut z);
        assert_eq!(&b.payload[..], br#"{"state":"online"}"#);
        let at = z.at_connect(
            false,
            Reading {
                temperature: 20.0,
                humidity: 40.0,
            },
        );
        assert!(
            at.iter()
                .any(|m| m.topic == "zigbee2mqtt/bedroom/lamp/availability"
                    && m.retain
                    && &m.payload[..] == br#"{"state":"online"}"#)
        );
    }

    #[test]
    fn devices_list_every_room() {
        let list: Vec<Value> = serde_json::from_slice(&bridge_devices(&[2, 9])).unwrap();
        assert_eq!(list.len(), 5);
        assert_eq!(list[0]["type"], "Coordinator");
        assert_eq!(list[4]["friendly_name"], "room10/lamp");
        assert_eq!(
            list[4]["definition"]["exposes"][0]["features"][0]["name"],
            "state"
        );
    }
}
