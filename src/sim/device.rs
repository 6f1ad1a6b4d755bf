//! The shape every simulated device has: what a flavor implements ([`Device`]) and the small
//! pieces they share. The run loop in `mod.rs` owns connections and timing; each flavor's file
//! owns its firmware's topics and payloads.

use bytes::Bytes;

/// One message a device publishes.
#[derive(Debug, Clone, PartialEq)]
pub struct Msg {
    pub topic: String,
    pub payload: Bytes,
    pub retain: bool,
}

impl Msg {
    pub fn new(topic: impl Into<String>, payload: impl Into<Bytes>, retain: bool) -> Msg {
        Msg {
            topic: topic.into(),
            payload: payload.into(),
            retain,
        }
    }

    pub fn json(topic: impl Into<String>, payload: &serde_json::Value, retain: bool) -> Msg {
        Msg::new(topic, payload.to_string(), retain)
    }
}

/// A sensor's values, unrounded: each firmware rounds them its own way.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    /// °C.
    pub temperature: f64,
    /// % relative humidity.
    pub humidity: f64,
}

/// Who asked for a switch over JSON-RPC, so the reply can go back to them.
#[derive(Debug, Clone, PartialEq)]
pub struct Rpc {
    pub id: serde_json::Value,
    pub src: String,
}

/// What a device made of a message on one of its command topics.
#[derive(Debug, PartialEq)]
pub enum Heard {
    /// Switch the light to `on`; the reply (delayed, maybe dropped) is the device's status.
    Switch { on: bool, rpc: Option<Rpc> },
    /// Publish these at once and change nothing: a status query, a request for discovery.
    Answer(Vec<Msg>),
}

/// The status reply a switch is due.
#[derive(Debug, Clone)]
pub struct Reply {
    pub on: bool,
    pub was_on: bool,
    pub rpc: Option<Rpc>,
}

/// One simulated device: what it publishes and how it reads commands, in its firmware's
/// convention. The connection, timing and statistics are the run loop's.
pub trait Device: Send {
    fn client_id(&self, prefix: &str) -> String;
    /// The last will; its topic is also where the device says it is online at connect.
    fn will(&self) -> Option<Msg>;
    /// Published at every (re)connect, in order: birth, inventory or discovery, states.
    fn at_connect(&mut self, light_on: bool, now: Reading) -> Vec<Msg>;
    /// The filters its commands arrive on.
    fn commands(&self) -> Vec<String>;
    /// Published every interval.
    fn reading(&mut self, r: Reading, light_on: bool) -> Vec<Msg>;
    /// What a message on one of the command filters means; `None` ignores it.
    fn command(&self, topic: &str, payload: &[u8], light_on: bool) -> Option<Heard>;
    /// The status after a switch, on the device's own status topic(s).
    fn status(&mut self, reply: &Reply) -> Vec<Msg>;
    /// Published before a clean disconnect: firmware going down says so itself, since the
    /// broker sends no will after a DISCONNECT.
    fn at_shutdown(&self, _light_on: bool) -> Vec<Msg> {
        self.will().into_iter().collect()
    }
}

/// A stable 24-bit number per room for MACs and ids: distinct for every room (multiplying by
/// an odd number is a bijection modulo 2^24, and so is the xor), yet not counting up like
/// an index, as real addresses do not.
pub fn hex24(index: usize, salt: u32) -> u32 {
    ((index as u32).wrapping_mul(0x9E37_79B1) ^ salt) & 0xFF_FFFF
}

/// `livingroom` → `Livingroom`, for names shown to people.
pub fn title(room: &str) -> String {
    let mut c = room.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Rounds to `decimals` places, so a JSON number carries the firmware's precision.
pub fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// The wall clock as firmware without a time zone prints it: `2026-05-01T12:34:56` (UTC).
pub fn clock_time() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Seconds since the Unix epoch with hundredths, as Shelly's `ts`.
pub fn unix_ts() -> f64 {
    round(crate::now_ms() as f64 / 1000.0, 2)
}

/// The new state an `ON`/`OFF`/`TOGGLE` command asks for (Zigbee2MQTT's and ESPHome's words,
/// already upper-cased), or none for anything else.
pub fn on_off_toggle(word: &str, light_on: bool) -> Option<bool> {
    match word {
        "ON" => Some(true),
        "OFF" => Some(false),
        "TOGGLE" => Some(!light_on),
        _ => None,
    }
}

pub fn on_off(on: bool) -> &'static str {
    if on { "ON" } else { "OFF" }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// The message a device publishes at connect on its will's topic: its birth.
    pub fn birth(dev: &mut dyn Device) -> Msg {
        let will = dev.will().expect("a last will");
        let now = Reading {
            temperature: 21.0,
            humidity: 45.0,
        };
        let at_connect = dev.at_connect(false, now);
        let birth = at_connect
            .iter()
            .find(|m| m.topic == will.topic)
            .expect("a birth on the will's topic")
            .clone();
        assert_eq!(birth.retain, will.retain, "birth and will retained alike");
        assert_ne!(birth.payload, will.payload);
        birth
    }

    /// Whether `payload` on `topic` switches the light, starting from off.
    pub fn switches(dev: &dyn Device, topic: &str, payload: &str) -> Option<bool> {
        match dev.command(topic, payload.as_bytes(), false)? {
            Heard::Switch { on, .. } => Some(on),
            Heard::Answer(_) => None,
        }
    }

    #[test]
    fn ids_are_distinct() {
        let ids: std::collections::HashSet<u32> = (0..500).map(|i| hex24(i, 0xA1B2C3)).collect();
        assert_eq!(ids.len(), 500);
    }
}
