//! Recognising devices: a [`Convention`] is one way firmware names its topics (the seed's
//! `home/<room>/<thing>`, Tasmota, Zigbee2MQTT, Shelly, ESPHome, Homie, Home Assistant
//! discovery). Each interprets the messages it recognises as [`Fact`]s about devices: what a
//! device is called, a reading it reports, a light's state and how it is switched, whether it
//! is online. The registry keeps the devices those facts describe; devices need no setup.
//!
//! Adding a convention is a file beside `home.rs` and an entry in [`all`].

use super::light::{LightRoute, LightState};
use super::payload::Unit;
use super::{Message, Quantity};

/// What one message says about one device.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    /// The device's id, `<convention or room>/<name>`, unique across conventions.
    pub device: String,
    pub what: What,
    /// The topic the fact is about, when it is not the message's own (a property's value,
    /// remembered, to which a later description gives meaning).
    pub topic: Option<String>,
}

/// One thing a message says.
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    /// The topic belongs to the device and says nothing more the registry keeps.
    Seen,
    /// Names and inventory, from the topic or the device's own description.
    About(About),
    /// A reading: `field` is the series it is recorded under (`""` for a plain number).
    Reading {
        quantity: Quantity,
        field: String,
        value: f64,
        unit: Option<Unit>,
    },
    /// The device switches: its state as this message says it (none when the message only
    /// announces the light), and how it takes commands.
    Light {
        state: Option<LightState>,
        route: Route,
    },
    /// Online or offline, as the device's availability message says.
    Available(bool),
    /// The device has an availability topic, though no message on it was seen yet.
    HasAvailability,
    /// The device is gone (Home Assistant's empty discovery config).
    Remove,
}

/// What a device says about itself; each field replaces what was known when present.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct About {
    pub name: Option<String>,
    pub room: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
}

/// How a light takes commands.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// The convention says exactly.
    Fixed(LightRoute),
    /// The seed's layout: `…/set` when that topic is seen or listened to, else the status
    /// topic itself, decided when a command is sent.
    Detect,
}

/// One way firmware names its topics.
pub trait Convention: Send {
    /// Stable name, shown with each device.
    fn name(&self) -> &'static str;

    /// Interprets `m` (its numeric `fields` already parsed), adding what it says to `out`.
    /// Returns whether the topic is this convention's, even when the message says nothing.
    fn observe(&mut self, m: &Message<'_>, fields: &[(String, f64)], out: &mut Vec<Fact>) -> bool;

    /// [`Convention::observe`], for a convention that may describe other conventions'
    /// devices: `owner` says whose device a topic is by another convention's shape.
    fn observe_in(
        &mut self,
        m: &Message<'_>,
        fields: &[(String, f64)],
        _owner: &dyn Fn(&str) -> Option<String>,
        out: &mut Vec<Fact>,
    ) -> bool {
        self.observe(m, fields, out)
    }

    /// The device `topic` belongs to by its shape alone, so discovery configs that name a
    /// topic of this convention describe the same device instead of a second one.
    fn owner(&self, _topic: &str) -> Option<String> {
        None
    }

    /// Topics this convention just started to listen to (a discovery config's state and
    /// availability topics): their last message, if the registry kept it, is offered again,
    /// since a retained state may well arrive before its config.
    fn replay(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// Whether what this convention knows changed since the last call, so topics it did not
    /// recognise before may be its now (a discovery config, a bridge's device list).
    fn learned(&mut self) -> bool {
        false
    }
}

/// Every convention, asked in this order. Home Assistant discovery comes first: a config
/// names its topics exactly, which is surer than any topic shape.
pub fn all() -> Vec<Box<dyn Convention>> {
    vec![
        Box::new(super::ha::Discovery::default()),
        Box::new(super::tasmota::Tasmota::default()),
        Box::new(super::z2m::Zigbee2Mqtt::default()),
        Box::new(super::shelly::Shelly::default()),
        Box::new(super::esphome::EspHome::default()),
        Box::new(super::homie::Homie::default()),
        Box::new(super::home::HomeLayout::default()),
    ]
}

/// Offers a message to every convention in order; the first that recognises it has it.
pub(super) fn offer(
    conventions: &mut [Box<dyn Convention>],
    m: &Message<'_>,
    fields: &[(String, f64)],
    facts: &mut Vec<Fact>,
) -> Option<usize> {
    for i in 0..conventions.len() {
        if ask(conventions, i, m, fields, facts) {
            return Some(i);
        }
        facts.clear();
    }
    None
}

/// Asks convention `i` about a message, the others standing by to say whose a topic is.
pub(super) fn ask(
    conventions: &mut [Box<dyn Convention>],
    i: usize,
    m: &Message<'_>,
    fields: &[(String, f64)],
    facts: &mut Vec<Fact>,
) -> bool {
    let (before, rest) = conventions.split_at_mut(i);
    let (c, after) = rest.split_first_mut().expect("a convention's index");
    let owner = |t: &str| before.iter().chain(after.iter()).find_map(|o| o.owner(t));
    c.observe_in(m, fields, &owner, facts)
}

/// The device a topic belongs to, by what its message said: the one device it named, or the
/// device whose channels it named too (`tasmota/plug` for a `STATE` with two relays); none for
/// a list of unrelated devices (a Zigbee2MQTT bridge's).
pub(super) fn owner_of(facts: &[Fact]) -> Option<&str> {
    let first = facts
        .iter()
        .map(|f| f.device.as_str())
        .min_by_key(|d| d.len())?;
    facts
        .iter()
        .all(|f| {
            f.device == first
                || f.device
                    .strip_prefix(first)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .then_some(first)
}

/// A message with `payload` on `topic`, for the conventions' tests: none reads its QoS or
/// retain flag.
#[cfg(test)]
pub fn message<'a>(topic: &'a str, payload: &'a str) -> Message<'a> {
    Message {
        topic,
        payload: payload.as_bytes(),
        qos: 1,
        retained: false,
        kept: false,
    }
}

/// Shorthand for conventions: a fact about `device`.
pub fn fact(device: &str, what: What) -> Fact {
    Fact {
        device: device.to_string(),
        what,
        topic: None,
    }
}

/// The payload as trimmed text, if it is UTF-8.
pub fn text<'p>(m: &Message<'p>) -> Option<&'p str> {
    std::str::from_utf8(m.payload).ok().map(str::trim)
}

/// The payload as a JSON value, if it is one.
pub fn json(m: &Message<'_>) -> Option<serde_json::Value> {
    let t = text(m)?;
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str(t).ok()
}

/// The readings a JSON state's numeric fields carry, by their names: `temperature`,
/// `humidity`, `battery`, `linkquality`, `power` (nested paths count by their last part).
pub fn named_readings(device: &str, fields: &[(String, f64)], unit: Option<Unit>) -> Vec<Fact> {
    fields
        .iter()
        .filter_map(|(f, v)| {
            let quantity = Quantity::from_field(f)?;
            Some(fact(
                device,
                What::Reading {
                    quantity,
                    field: f.clone(),
                    value: *v,
                    unit: if quantity == Quantity::Temperature {
                        unit.or(Some(Unit::Celsius))
                    } else {
                        quantity.default_unit()
                    },
                },
            ))
        })
        .collect()
}
