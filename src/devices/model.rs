//! The one device model every convention fills in: what the registry says of a topic and of a
//! device, whatever firmware it runs.

use serde::Serialize;
use utoipa::ToSchema;

use super::payload::Unit;

/// What the registry knows about one topic.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopicInfo {
    pub topic: String,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub messages: u64,
    pub qos: u8,
    pub retained: bool,
    /// The last payload, cut to the registry's limit (lossy UTF-8).
    pub last_payload: String,
    /// Size of the last payload before any cut.
    pub payload_bytes: usize,
    pub truncated: bool,
    /// The numeric series the last payload carried (`""` for a plain number), each
    /// chartable through `/api/history`.
    pub fields: Vec<String>,
    /// The device a convention recognised this topic as part of.
    pub device: Option<String>,
}

/// Kinds of device the hub recognises: a device that switches is a light, one that reports
/// a temperature and does not switch is a temperature sensor.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DeviceKind {
    Temperature,
    Light,
    Other,
}

/// What a reading measures.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Quantity {
    Temperature,
    Humidity,
    Battery,
    LinkQuality,
    Power,
}

impl Quantity {
    /// The quantity a JSON field's name says, by its last part (`DS18B20.Temperature`,
    /// `humidity`, `ENERGY.Power`, Shelly's `tC` and `rh`).
    pub fn from_field(field: &str) -> Option<Quantity> {
        let last = field.rsplit('.').next().unwrap_or(field);
        Some(match last.to_ascii_lowercase().as_str() {
            "temperature" | "temp" | "tc" => Quantity::Temperature,
            "humidity" | "rh" => Quantity::Humidity,
            "battery" => Quantity::Battery,
            "linkquality" => Quantity::LinkQuality,
            "power" | "apower" => Quantity::Power,
            _ => return None,
        })
    }

    /// The quantity a sensor's name says (`temperature`, `Living Room Humidity`).
    pub fn from_name(name: &str) -> Option<Quantity> {
        let n = name.to_ascii_lowercase();
        if n.contains("temp") {
            Some(Quantity::Temperature)
        } else if n.contains("humid") {
            Some(Quantity::Humidity)
        } else if n.contains("battery") {
            Some(Quantity::Battery)
        } else if n.contains("linkquality") || n.contains("link quality") {
            Some(Quantity::LinkQuality)
        } else if n == "power" || n.ends_with(" power") || n.ends_with("_power") {
            Some(Quantity::Power)
        } else {
            None
        }
    }

    /// The unit a quantity has when nothing says otherwise.
    pub fn default_unit(self) -> Option<Unit> {
        match self {
            Quantity::Temperature => Some(Unit::Celsius),
            Quantity::Humidity | Quantity::Battery => Some(Unit::Percent),
            Quantity::Power => Some(Unit::Watt),
            Quantity::LinkQuality => None,
        }
    }
}

/// A device's latest reading of one quantity.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reading {
    pub quantity: Quantity,
    pub value: f64,
    /// `°C`, `°F`, `%`, `W`; none when the device does not say.
    #[schema(value_type = Option<String>)]
    pub unit: Option<Unit>,
    /// The series it is recorded under: `/api/history?topic=…&field=…`.
    pub topic: String,
    pub field: String,
    pub ts_ms: i64,
}

/// Whether a device is reachable.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Presence {
    /// Its availability message says online, or (with no availability topic) it reports as
    /// often as it usually does.
    Online,
    /// Its availability message says offline (often its last will).
    Offline,
    /// It has an availability topic, but nothing was heard on it yet.
    Unknown,
    /// It has no availability topic and has not reported for several of its usual intervals.
    Silent,
}

/// A device's availability, and what says so.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Availability {
    pub state: Presence,
    /// Since when the state holds (Unix milliseconds).
    pub since_ms: Option<i64>,
    /// The message that said so: its topic and payload. None when the state is inferred
    /// from the device's own reports.
    pub topic: Option<String>,
    pub payload: Option<String>,
}

/// A device as its topics describe it, whatever its convention.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    /// Stable and unique: `<room>/<thing>` for the seed's layout, `<convention>/<device>`
    /// (`tasmota/tasmota_A1B2C3`, `z2m/<friendly name>`) for the others.
    pub id: String,
    /// The name the household gave it, else the convention's friendly name.
    pub name: String,
    /// The household's room for it, else the one its topic or discovery suggests; none when
    /// unassigned.
    pub room: Option<String>,
    /// Whether the household renamed it or chose its room.
    pub customised: bool,
    /// `home`, `tasmota`, `z2m`, `shelly`, `esphome`, `homie` or `ha`.
    pub convention: String,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub kind: DeviceKind,
    /// Latest reading per quantity.
    pub readings: Vec<Reading>,
    /// Where its light status, else its main reading, arrives.
    pub state_topic: String,
    /// Where commands go, for a light.
    pub command_topic: Option<String>,
    /// How commands are addressed, stored with each command (`same-topic`, `set-topic`,
    /// `tasmota`, `z2m`, `shelly-rpc`, …).
    pub command_convention: Option<String>,
    pub availability: Availability,
    pub last_seen_ms: i64,
    /// The last payload on the state topic, as text.
    pub last_payload: String,
    /// Its temperature, from `readings`, in `temperature_unit`.
    pub temperature: Option<f64>,
    #[schema(value_type = Option<String>)]
    pub temperature_unit: Option<Unit>,
    /// The series its temperature is recorded under, on its temperature topic.
    pub temperature_topic: Option<String>,
    pub temperature_field: Option<String>,
}

/// Orders names as people read them: numbers by value (`room2` before `room10`), letters
/// without regard to case; byte order breaks ties, so equal names stay together.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn chunk(s: &str) -> (&str, &str) {
        let digits = s.starts_with(|c: char| c.is_ascii_digit());
        let end = s
            .find(|c: char| c.is_ascii_digit() != digits)
            .unwrap_or(s.len());
        s.split_at(end)
    }
    let (mut x, mut y) = (a, b);
    while !x.is_empty() && !y.is_empty() {
        let ((cx, rx), (cy, ry)) = (chunk(x), chunk(y));
        let numbers = cx.starts_with(|c: char| c.is_ascii_digit())
            && cy.starts_with(|c: char| c.is_ascii_digit());
        let o = if numbers {
            let (nx, ny) = (cx.trim_start_matches('0'), cy.trim_start_matches('0'));
            nx.len().cmp(&ny.len()).then_with(|| nx.cmp(ny))
        } else {
            cx.to_lowercase().cmp(&cy.to_lowercase())
        };
        if o != Ordering::Equal {
            return o;
        }
        (x, y) = (rx, ry);
    }
    x.len().cmp(&y.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;

    #[test]
    fn names_in_natural_order() {
        let mut v = vec![
            "room10", "Room2", "room1", "room100", "attic", "Bedroom", "room02x",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            vec![
                "attic", "Bedroom", "room1", "Room2", "room02x", "room10", "room100"
            ]
        );
    }
}
