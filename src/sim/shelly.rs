//! Shelly (`shelly`): a Shelly Plus 1PM (Gen2) in even rooms and a Shelly 1 (Gen1) in odd
//! rooms, each with a temperature add-on.
//!
//! Gen2 follows Shelly's API docs "MQTT" (Gen2+: `<id>/online` as the retained will, status
//! notifications on `<id>/status/<component>`, events on `<id>/events/rpc`, JSON-RPC 2.0
//! requests on `<id>/rpc` answered on `<src>/rpc`) with the "Switch" component (`Switch.Set`,
//! `Switch.Toggle`, `Switch.GetStatus`, its status object) and "Temperature" for the add-on's
//! `temperature:100`. Gen1 follows the Gen1 API's "MQTT" page (`shellies/<id>/relay/0` and
//! its `/command`, `shellies/<id>/online`, `shellies/announce`, `ext_temperature/0` from the
//! add-on, the `announce` and `update` commands on `shellies/command`). Neither retains
//! status (Gen1's `mqtt_retain` is off by default).

use serde_json::{Value, json};

use super::device::{Device, Heard, Msg, Reading, Reply, Rpc, hex24, round, unix_ts};

fn fahrenheit(c: f64) -> f64 {
    round(c * 9.0 / 5.0 + 32.0, 1)
}

pub struct Gen2 {
    id: String,
    energy_wh: f64,
}

impl Gen2 {
    pub fn new(index: usize) -> Gen2 {
        Gen2 {
            id: format!("shellyplus1pm-a8032a{:06x}", hex24(index, 0x6E_11)),
            energy_wh: 0.0,
        }
    }

    fn switch_status(&self, on: bool, source: &str) -> Value {
        // A 9 W bulb behind the relay.
        let (apower, current) = if on { (8.9, 0.039) } else { (0.0, 0.0) };
        json!({
            "id": 0, "source": source, "output": on, "apower": apower, "voltage": 230.1,
            "freq": 50.0, "current": current,
            "aenergy": {"total": round(self.energy_wh, 3), "by_minute": [0.0, 0.0, 0.0],
                        "minute_ts": unix_ts() as i64},
            "temperature": {"tC": 45.2, "tF": 113.4}
        })
    }

    fn notify(&self, params: Value) -> Msg {
        let mut params = params;
        params["ts"] = json!(unix_ts());
        let payload = json!({"src": self.id, "dst": format!("{}/events", self.id),
                             "method": "NotifyStatus", "params": params});
        Msg::json(format!("{}/events/rpc", self.id), &payload, false)
    }

    fn rpc_reply(&self, rpc: &Rpc, outcome: (&str, Value)) -> Msg {
        let mut payload = json!({"id": rpc.id, "src": self.id, "dst": rpc.src});
        payload[outcome.0] = outcome.1;
        Msg::json(format!("{}/rpc", rpc.src), &payload, false)
    }
}

impl Device for Gen2 {
    fn client_id(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.id)
    }

    fn will(&self) -> Option<Msg> {
        Some(Msg::new(format!("{}/online", self.id), "false", true))
    }

    fn at_connect(&mut self, light_on: bool, _now: Reading) -> Vec<Msg> {
        vec![
            Msg::new(format!("{}/online", self.id), "true", true),
            Msg::json(
                format!("{}/status/switch:0", self.id),
                &self.switch_status(light_on, "init"),
                false,
            ),
        ]
    }

    fn commands(&self) -> Vec<String> {
        vec![format!("{}/rpc", self.id)]
    }

    fn reading(&mut self, r: Reading, light_on: bool) -> Vec<Msg> {
        if light_on {
            self.energy_wh += 0.01;
        }
        let t = round(r.temperature, 1);
        let status = json!({"id": 100, "tC": t, "tF": fahrenheit(t)});
        vec![Msg::json(
            format!("{}/status/temperature:100", self.id),
            &status,
            false,
        )]
    }

    fn command(&self, topic: &str, payload: &[u8], light_on: bool) -> Option<Heard> {
        if topic != format!("{}/rpc", self.id) {
            return None;
        }
        let req: Value = serde_json::from_slice(payload).ok()?;
        let method = req.get("method")?.as_str()?;
        // Without `src` Shelly has nowhere to answer and drops the request.
        let rpc = Rpc {
            id: req.get("id").cloned().unwrap_or(Value::Null),
            src: req.get("src")?.as_str()?.to_string(),
        };
        let params = req.get("params");
        let channel = params.and_then(|p| p.get("id")).and_then(Value::as_u64);
        let outcome = match (method, channel) {
            ("Switch.Set", Some(0)) => {
                let on = params?.get("on")?.as_bool()?;
                return Some(Heard::Switch { on, rpc: Some(rpc) });
            }
            ("Switch.Toggle", Some(0)) => {
                let on = !light_on;
                return Some(Heard::Switch { on, rpc: Some(rpc) });
            }
            ("Switch.GetStatus", Some(0)) => ("result", self.switch_status(light_on, "MQTT")),
            ("Switch.Set" | "Switch.Toggle" | "Switch.GetStatus", _) => (
                "error",
                json!({"code": -105, "message": "Argument 'id', value 0 not found!"}),
            ),
            _ => (
                "error",
                json!({"code": 404, "message": format!("No handler for {method}")}),
            ),
        };
        Some(Heard::Answer(vec![self.rpc_reply(&rpc, outcome)]))
    }

    fn status(&mut self, reply: &Reply) -> Vec<Msg> {
        let mut msgs = Vec::new();
        if let Some(rpc) = &reply.rpc {
            msgs.push(self.rpc_reply(rpc, ("result", json!({"was_on": reply.was_on}))));
        }
        msgs.push(Msg::json(
            format!("{}/status/switch:0", self.id),
            &self.switch_status(reply.on, "MQTT"),
            false,
        ));
        let change = json!({"id": 0, "output": reply.on, "source": "MQTT"});
        msgs.push(self.notify(json!({"switch:0": change})));
        msgs
    }
}

pub struct Gen1 {
    index: usize,
    id: String,
}

impl Gen1 {
    pub fn new(index: usize) -> Gen1 {
        Gen1 {
            index,
            id: format!("shelly1-{:06X}", hex24(index, 0x3C_0E)),
        }
    }

    fn topic(&self, what: &str) -> String {
        format!("shellies/{}/{what}", self.id)
    }

    fn relay(&self, on: bool) -> Msg {
        Msg::new(self.topic("relay/0"), if on { "on" } else { "off" }, false)
    }

    fn announce(&self) -> Msg {
        let mac = format!("E8DB84{}", &self.id[8..]);
        let payload = json!({
            "id": self.id, "model": "SHSW-1", "mac": mac,
            "ip": format!("192.168.1.{}", 100 + self.index % 150),
            "new_fw": false, "fw_ver": "20230913-112003/v1.14.0-gcb84623"
        });
        Msg::json("shellies/announce", &payload, false)
    }
}

impl Device for Gen1 {
    fn client_id(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.id)
    }

    fn will(&self) -> Option<Msg> {
        Some(Msg::new(self.topic("online"), "false", true))
    }

    fn at_connect(&mut self, light_on: bool, _now: Reading) -> Vec<Msg> {
        vec![
            Msg::new(self.topic("online"), "true", true),
            self.announce(),
            self.relay(light_on),
        ]
    }

    fn commands(&self) -> Vec<String> {
        vec![
            self.topic("relay/0/command"),
            "shellies/command".into(),
            self.topic("command"),
        ]
    }

    /// The add-on's DS18B20 in both units, and the relay, which Gen1 repeats every
    /// `mqtt_update_period`.
    fn reading(&mut self, r: Reading, light_on: bool) -> Vec<Msg> {
        let t = round(r.temperature, 2);
        vec![
            Msg::new(self.topic("ext_temperature/0"), format!("{t:.2}"), false),
            Msg::new(
                self.topic("ext_temperature_f/0"),
                format!("{:.2}", t * 9.0 / 5.0 + 32.0),
                false,
            ),
            self.relay(light_on),
        ]
    }

    fn command(&self, topic: &str, payload: &[u8], light_on: bool) -> Option<Heard> {
        let text = std::str::from_utf8(payload).ok()?.trim();
        if topic == self.topic("relay/0/command") {
            let on = match text {
                "on" => true,
                "off" => false,
                "toggle" => !light_on,
                _ => return None,
            };
            return Some(Heard::Switch { on, rpc: None });
        }
        if topic == "shellies/command" || topic == self.topic("command") {
            return match text {
                "announce" => Some(Heard::Answer(vec![self.announce()])),
                "update" => Some(Heard::Answer(vec![self.relay(light_on)])),
                _ => None,
            };
        }
        None
    }

    fn status(&mut self, reply: &Reply) -> Vec<Msg> {
        vec![self.relay(reply.on)]
    }
}

#[cfg(test)]
mod tests {
    use super::super::device::tests::{birth, switches};
    use super::*;

    #[test]
    fn gen2_rpc() {
        let mut s = Gen2::new(0);
        let rpc = format!("{}/rpc", s.id);
        for (p, want) in [
            (
                r#"{"id":1,"src":"hub","method":"Switch.Set","params":{"id":0,"on":true}}"#,
                Some(true),
            ),
            (
                r#"{"id":2,"src":"hub","method":"Switch.Set","params":{"id":0,"on":false}}"#,
                Some(false),
            ),
            (
                r#"{"id":3,"src":"hub","method":"Switch.Toggle","params":{"id":0}}"#,
                Some(true),
            ),
            (
                r#"{"id":4,"method":"Switch.Set","params":{"id":0,"on":true}}"#,
                None,
            ),
            ("on", None),
        ] {
            assert_eq!(switches(&s, &rpc, p), want, "{p}");
        }
        let set = br#"{"id":7,"src":"hub","method":"Switch.Set","params":{"id":0,"on":true}}"#;
        let Some(Heard::Switch {
            on: true,
            rpc: Some(r),
        }) = s.command(&rpc, set, false)
        else {
            panic!("no switch");
        };
        let replies = s.status(&Reply {
            on: true,
            was_on: false,
            rpc: Some(r),
        });
        assert_eq!(replies[0].topic, "hub/rpc");
        let v: Value = serde_json::from_slice(&replies[0].payload).unwrap();
        assert_eq!(
            v,
            json!({"id": 7, "src": s.id, "dst": "hub", "result": {"was_on": false}})
        );
        assert!(replies[1].topic.ends_with("/status/switch:0"));
        assert!(replies[2].topic.ends_with("/events/rpc"));
        // An unknown method gets a JSON-RPC error, not a switch.
        let other = br#"{"id":8,"src":"hub","method":"Cover.Open","params":{"id":0}}"#;
        assert!(matches!(
            s.command(&rpc, other, false),
            Some(Heard::Answer(_))
        ));
        assert_eq!(&birth(&mut s).payload[..], b"true");
    }

    #[test]
    fn gen1_relay() {
        let mut s = Gen1::new(1);
        let cmd = format!("shellies/{}/relay/0/command", s.id);
        for (p, want) in [
            ("on", Some(true)),
            ("off", Some(false)),
            ("toggle", Some(true)),
            ("ON!", None),
            ("1", None),
        ] {
            assert_eq!(switches(&s, &cmd, p), want, "{p}");
        }
        assert!(matches!(
            s.command("shellies/command", b"announce", false),
            Some(Heard::Answer(_))
        ));
        assert_eq!(&birth(&mut s).payload[..], b"true");
    }
}
