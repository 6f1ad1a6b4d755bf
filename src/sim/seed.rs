//! The seed's own convention (the guide `device-conventions.md`, "The seed's own
//! convention"), exactly as the simulator spoke it before it had flavors.
//!
//! Even-numbered rooms speak the same-topic form (command and status both on
//! `home/<room>/light`); odd-numbered rooms the `…/set` form (command on
//! `home/<room>/light/set`, status on `home/<room>/light`). Same-topic lights subscribe with
//! MQTT 5 `noLocal` (the run loop does so for every flavor), so a light never hears its own
//! status and cannot loop on it. Temperature is a plain number in even rooms and JSON with
//! humidity in odd rooms. No availability: the seed's devices have none.

use super::device::{Device, Heard, Msg, Reading, Reply, on_off};
use super::parse_command;

pub struct Seed {
    room: String,
    same_topic: bool,
    status_topic: String,
    command_topic: String,
    temp_topic: String,
}

impl Seed {
    pub fn new(index: usize, room: String) -> Seed {
        let same_topic = index.is_multiple_of(2);
        let status_topic = format!("home/{room}/light");
        let command_topic = if same_topic {
            status_topic.clone()
        } else {
            format!("{status_topic}/set")
        };
        let temp_topic = if same_topic {
            format!("home/{room}/temperature")
        } else {
            format!("home/{room}/climate")
        };
        Seed {
            room,
            same_topic,
            status_topic,
            command_topic,
            temp_topic,
        }
    }
}

impl Device for Seed {
    fn client_id(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.room)
    }

    fn will(&self) -> Option<Msg> {
        None
    }

    fn at_connect(&mut self, light_on: bool, _now: Reading) -> Vec<Msg> {
        vec![Msg::new(&self.status_topic, on_off(light_on), true)]
    }

    fn commands(&self) -> Vec<String> {
        vec![self.command_topic.clone()]
    }

    fn reading(&mut self, r: Reading, _light_on: bool) -> Vec<Msg> {
        let t = (r.temperature * 10.0).round() / 10.0;
        let payload = if self.same_topic {
            format!("{t}")
        } else {
            format!("{{\"temperature\":{t},\"humidity\":{:.0}}}", r.humidity)
        };
        vec![Msg::new(&self.temp_topic, payload, false)]
    }

    fn command(&self, topic: &str, payload: &[u8], light_on: bool) -> Option<Heard> {
        if topic != self.command_topic {
            return None;
        }
        let on = parse_command(payload, light_on)?;
        Some(Heard::Switch { on, rpc: None })
    }

    fn status(&mut self, reply: &Reply) -> Vec<Msg> {
        vec![Msg::new(&self.status_topic, on_off(reply.on), true)]
    }
}

#[cfg(test)]
mod tests {
    use super::super::device::tests::switches;
    use super::*;

    #[test]
    fn commands() {
        for (p, want) in [
            ("ON", Some(true)),
            ("off", Some(false)),
            ("1", Some(true)),
            ("false", Some(false)),
            ("{\"state\":\"ON\"}", Some(true)),
            ("TOGGLE", Some(true)),
            ("dim", None),
            ("{\"state\":3}", None),
        ] {
            assert_eq!(parse_command(p.as_bytes(), false), want, "{p}");
        }
    }

    #[test]
    fn same_topic_in_even_rooms_set_topic_in_odd_ones() {
        let even = Seed::new(0, "livingroom".into());
        assert_eq!(even.commands(), ["home/livingroom/light"]);
        let odd = Seed::new(1, "kitchen".into());
        assert_eq!(odd.commands(), ["home/kitchen/light/set"]);
        for (p, want) in [
            ("ON", Some(true)),
            ("off", Some(false)),
            ("TOGGLE", Some(true)),
            ("{\"state\":\"ON\"}", Some(true)),
            ("dim", None),
        ] {
            assert_eq!(switches(&odd, "home/kitchen/light/set", p), want, "{p}");
        }
        assert_eq!(switches(&odd, "home/kitchen/light", "ON"), None);
        // No will, so nothing to announce: the seed's devices have no availability.
        assert!(odd.will().is_none());
    }
}
