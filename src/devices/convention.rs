//! Recognising devices: a [`Convention`] is one way devices name their topics. It says which
//! topics are a device's state (where it reports readings or its status) and which take its
//! commands, what kind of device it is, where its temperature is, and how its lights are
//! switched. Devices need no setup: the registry asks the conventions about every new topic.
//!
//! Adding a convention (Tasmota, Zigbee2MQTT, …) is a file beside `home.rs` and an entry in
//! [`CONVENTIONS`].

use super::DeviceKind;
use super::home::HomeLayout;
use super::light::{LightRoute, LightState, TopicProbe, parse_state};
use super::payload;

/// What a topic is to a convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place<'t> {
    /// A device's state topic. The device's id is `<room>/<name>`.
    State { room: &'t str, name: &'t str },
    /// Where a device takes commands (`…/set`): part of a device, not a device of its own.
    Command,
}

/// One way devices name their topics.
pub trait Convention: Send + Sync {
    /// Stable name.
    fn name(&self) -> &'static str;

    /// What `topic` is under this convention, if anything.
    fn recognise<'t>(&self, topic: &'t str) -> Option<Place<'t>>;

    /// The kind of the device called `name` whose state topic is `state_topic`.
    fn kind(
        &self,
        name: &str,
        state_topic: &str,
        has_temperature: bool,
        topics: &dyn TopicProbe,
    ) -> DeviceKind;

    /// The temperature one message on a device's state topic carries: the field it is in
    /// (empty for a plain number) and its value.
    fn temperature<'f>(
        &self,
        state_topic: &str,
        fields: &'f [(String, f64)],
    ) -> Option<(&'f str, f64)> {
        let last = state_topic.rsplit('/').next().unwrap_or(state_topic);
        let named = last.eq_ignore_ascii_case("temperature") || last.eq_ignore_ascii_case("temp");
        fields.iter().find_map(|(f, v)| {
            ((f.is_empty() && named) || payload::is_temperature_field(f))
                .then_some((f.as_str(), *v))
        })
    }

    /// How a light of this convention whose state topic is `state_topic` takes commands.
    fn light_route(&self, state_topic: &str, topics: &dyn TopicProbe) -> LightRoute;

    /// What a light's status payload says.
    fn light_state(&self, payload: &[u8]) -> LightState {
        parse_state(payload)
    }
}

/// Every convention, asked in order; the first that recognises a topic has it.
pub static CONVENTIONS: [&dyn Convention; 1] = [&HomeLayout];

/// The convention that recognises `topic`, and what the topic is to it.
pub fn recognise(topic: &str) -> Option<(&'static dyn Convention, Place<'_>)> {
    CONVENTIONS
        .iter()
        .find_map(|c| c.recognise(topic).map(|p| (*c, p)))
}
