//! Tasmota (`tasmota`): a Sonoff TH-style plug with one relay and a temperature sensor,
//! following Tasmota's docs "MQTT" (FullTopic `%prefix%/%topic%/`, `cmnd`/`stat`/`tele`, LWT,
//! `POWER` with `ON`/`OFF`/`TOGGLE`/`1`/`0`/`2` and an empty payload as a query, the
//! `RESULT` and `POWER` replies, `PowerRetain` off by default), "Commands" (TelePeriod's
//! `tele/<t>/STATE` and `tele/<t>/SENSOR`, `TempUnit`) and the native discovery message
//! `tasmota/discovery/<MAC>/config` that Home Assistant's Tasmota integration reads
//! (`SetOption19 0`, the default since 9.2).
//!
//! Even rooms carry a DS18B20, odd rooms an AM2301 (temperature and humidity); every third
//! room is set to Fahrenheit (`SetOption8 1`), so its SENSOR says `"TempUnit":"F"`.

use std::time::Instant;

use super::device::{Device, Heard, Msg, Reading, Reply, clock_time, hex24, on_off, round, title};

pub struct Tasmota {
    index: usize,
    room: String,
    /// The MQTT topic, `tasmota_` and the MAC's last six hex digits, as Tasmota names itself.
    topic: String,
    mac: String,
    am2301: bool,
    fahrenheit: bool,
    booted: Instant,
}

impl Tasmota {
    pub fn new(index: usize, room: String) -> Tasmota {
        let low = hex24(index, 0x5A_17C3);
        Tasmota {
            index,
            room,
            topic: format!("tasmota_{low:06X}"),
            // Espressif's OUI: Tasmota runs on ESP8266 and ESP32.
            mac: format!("A4CF12{low:06X}"),
            am2301: index % 2 == 1,
            fahrenheit: index % 3 == 2,
            booted: Instant::now(),
        }
    }

    fn tele(&self, what: &str) -> String {
        format!("tele/{}/{what}", self.topic)
    }

    fn name(&self) -> String {
        format!("{} plug", title(&self.room))
    }

    /// The temperature in the unit the device is set to, with Tasmota's default one decimal
    /// (`TempRes 1`).
    fn temp(&self, celsius: f64) -> f64 {
        round(
            if self.fahrenheit {
                celsius * 9.0 / 5.0 + 32.0
            } else {
                celsius
            },
            1,
        )
    }

    /// The SENSOR payload, keys in Tasmota's order (`Time` first).
    fn sensor(&self, r: Reading) -> String {
        let t = self.temp(r.temperature);
        let unit = if self.fahrenheit { "F" } else { "C" };
        let body = if self.am2301 {
            let h = round(r.humidity, 1);
            // Tasmota adds the dew point for every humidity sensor (Magnus formula).
            let g = (h / 100.0).ln() + 17.62 * r.temperature / (243.12 + r.temperature);
            let dew = self.temp(243.12 * g / (17.62 - g));
            format!(
                "\"AM2301\":{{\"Temperature\":{t:.1},\"Humidity\":{h:.1},\"DewPoint\":{dew:.1}}}"
            )
        } else {
            let id = format!("0{:06X}A3B1F", hex24(self.index, 0x0314));
            format!("\"DS18B20\":{{\"Id\":\"{id}\",\"Temperature\":{t:.1}}}")
        };
        format!(
            "{{\"Time\":\"{}\",{body},\"TempUnit\":\"{unit}\"}}",
            clock_time()
        )
    }

    fn state(&self, light_on: bool) -> Msg {
        let up = self.booted.elapsed().as_secs();
        let uptime = format!(
            "{}T{:02}:{:02}:{:02}",
            up / 86_400,
            up / 3600 % 24,
            up / 60 % 60,
            up % 60
        );
        let payload = format!(
            "{{\"Time\":\"{}\",\"Uptime\":\"{uptime}\",\"UptimeSec\":{up},\"Heap\":26,\
             \"SleepMode\":\"Dynamic\",\"Sleep\":50,\"LoadAvg\":19,\"MqttCount\":1,\
             \"POWER\":\"{}\",\"Wifi\":{{\"AP\":1,\"SSId\":\"hearth\",\"BSSId\":\"30:B5:C2:5D:70:72\",\
             \"Channel\":6,\"Mode\":\"11n\",\"RSSI\":76,\"Signal\":-62,\"LinkCount\":1,\
             \"Downtime\":\"0T00:00:03\"}}}}",
            clock_time(),
            on_off(light_on)
        );
        Msg::new(self.tele("STATE"), payload, false)
    }

    fn discovery(&self) -> serde_json::Value {
        let low = &self.mac[6..];
        let name = self.name();
        serde_json::json!({
            "ip": format!("192.168.1.{}", 100 + self.index % 150),
            "dn": name,
            "fn": [name, null, null, null, null, null, null, null],
            "hn": format!("tasmota-{low}-{:04}", hex24(self.index, 0x77) % 10_000),
            "mac": self.mac,
            "md": "Sonoff TH",
            "ty": 0,
            "if": 0,
            "ofln": "Offline",
            "onln": "Online",
            "state": ["OFF", "ON", "TOGGLE", "HOLD"],
            "sw": "14.5.0",
            "t": self.topic,
            "ft": "%prefix%/%topic%/",
            "tp": ["cmnd", "stat", "tele"],
            "rl": [1, 0, 0, 0, 0, 0, 0, 0],
            "swc": [-1, -1, -1, -1, -1, -1, -1, -1],
            "swn": [null, null, null, null, null, null, null, null],
            "btn": [0, 0, 0, 0, 0, 0, 0, 0],
            "so": {"4": 0, "11": 0, "13": 0, "17": 0, "20": 0, "30": 0, "68": 0, "73": 0,
                   "82": 0, "114": 0, "117": 0},
            "lk": 0,
            "lt_st": 0,
            "bat": 0,
            "dslp": 0,
            "sho": [],
            "sht": [],
            "ver": 1
        })
    }
}

impl Device for Tasmota {
    fn client_id(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.topic)
    }

    fn will(&self) -> Option<Msg> {
        Some(Msg::new(self.tele("LWT"), "Offline", true))
    }

    fn at_connect(&mut self, light_on: bool, now: Reading) -> Vec<Msg> {
        let info1 = serde_json::json!({"Info1": {
            "Module": "Sonoff TH",
            "Version": "14.5.0(release-tasmota)",
            "FallbackTopic": format!("cmnd/DVES_{}_fb/", &self.mac[6..]),
            "GroupTopic": "cmnd/tasmotas/"
        }});
        let config = format!("tasmota/discovery/{}/config", self.mac);
        let sensors = format!("{{\"sn\":{},\"ver\":1}}", self.sensor(now));
        let mut msgs = vec![
            Msg::new(self.tele("LWT"), "Online", true),
            Msg::json(self.tele("INFO1"), &info1, false),
            Msg::json(config, &self.discovery(), true),
            Msg::new(
                format!("tasmota/discovery/{}/sensors", self.mac),
                sensors,
                true,
            ),
        ];
        // After connecting, Tasmota reports its relay as after a query.
        msgs.extend(self.status_msgs(light_on));
        msgs.push(self.state(light_on));
        msgs
    }

    fn commands(&self) -> Vec<String> {
        // With one relay, POWER1 is the same relay as POWER.
        vec![
            format!("cmnd/{}/POWER", self.topic),
            format!("cmnd/{}/POWER1", self.topic),
        ]
    }

    fn reading(&mut self, r: Reading, light_on: bool) -> Vec<Msg> {
        vec![
            Msg::new(self.tele("SENSOR"), self.sensor(r), false),
            self.state(light_on),
        ]
    }

    fn command(&self, topic: &str, payload: &[u8], light_on: bool) -> Option<Heard> {
        if !self.commands().iter().any(|c| c == topic) {
            return None;
        }
        let text = std::str::from_utf8(payload).ok()?.trim();
        let on = match text.to_ascii_lowercase().as_str() {
            "" => {
                return Some(Heard::Answer(self.status_msgs(light_on)));
            }
            "on" | "1" => true,
            "off" | "0" => false,
            "toggle" | "2" => !light_on,
            _ => return None,
        };
        Some(Heard::Switch { on, rpc: None })
    }

    fn status(&mut self, reply: &Reply) -> Vec<Msg> {
        self.status_msgs(reply.on)
    }
}

impl Tasmota {
    /// `stat/<t>/RESULT` then `stat/<t>/POWER`, not retained (`PowerRetain 0`).
    fn status_msgs(&self, on: bool) -> Vec<Msg> {
        vec![
            Msg::new(
                format!("stat/{}/RESULT", self.topic),
                format!("{{\"POWER\":\"{}\"}}", on_off(on)),
                false,
            ),
            Msg::new(format!("stat/{}/POWER", self.topic), on_off(on), false),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::super::device::tests::{birth, switches};
    use super::*;

    #[test]
    fn power_commands_and_lwt() {
        let mut t = Tasmota::new(2, "bedroom".into());
        let cmd = format!("cmnd/{}/POWER", t.topic);
        for (p, want) in [
            ("ON", Some(true)),
            ("off", Some(false)),
            ("1", Some(true)),
            ("0", Some(false)),
            ("TOGGLE", Some(true)),
            ("dim", None),
            ("{\"state\":\"ON\"}", None),
        ] {
            assert_eq!(switches(&t, &cmd, p), want, "{p}");
        }
        // An empty payload is a query: the status at once, no switch.
        let Some(Heard::Answer(a)) = t.command(&cmd, b"", true) else {
            panic!("no answer to a query");
        };
        assert_eq!(a[1].topic, format!("stat/{}/POWER", t.topic));
        assert_eq!(&a[1].payload[..], b"ON");
        assert_eq!(switches(&t, "cmnd/other/POWER", "ON"), None);
        assert_eq!(&birth(&mut t).payload[..], b"Online");
    }

    #[test]
    fn sensor_shapes() {
        let r = Reading {
            temperature: 21.04,
            humidity: 45.26,
        };
        let ds: serde_json::Value =
            serde_json::from_str(&Tasmota::new(0, "a".into()).sensor(r)).unwrap();
        assert_eq!(ds["DS18B20"]["Temperature"], 21.0);
        assert_eq!(ds["TempUnit"], "C");
        let am: serde_json::Value =
            serde_json::from_str(&Tasmota::new(1, "b".into()).sensor(r)).unwrap();
        assert_eq!(am["AM2301"]["Humidity"], 45.3);
        let f: serde_json::Value =
            serde_json::from_str(&Tasmota::new(2, "c".into()).sensor(r)).unwrap();
        assert_eq!(f["TempUnit"], "F");
        assert_eq!(f["DS18B20"]["Temperature"], 69.9);
    }
}
