//! Topics and devices: every topic the hub has seen, and the devices recognised in them.
//!
//! Devices are not configured. Each message is offered to the [`Convention`]s (the seed's
//! layout, Tasmota, Zigbee2MQTT, Shelly, ESPHome, Homie, Home Assistant discovery); the one
//! that recognises its topic says what it tells about which device ([`Fact`]), and the
//! registry keeps one [`DeviceInfo`] per device: names, room, readings with their units, a
//! light and how it is switched, availability. A topic's convention is remembered, so a
//! topic no convention wants costs one lookup, until a convention learns something new (a
//! discovery config) and every topic is offered again once. Topics that fit no convention
//! stay visible in the raw topic list. Names and rooms the household chose
//! ([`Registry::set_naming`]) win over what devices say.
//!
//! Also here: what a payload says ([`numeric_fields`]) and what a light's status says
//! ([`parse_state`]), and how lights take commands ([`LightRoute`]).

mod convention;
mod esphome;
mod ha;
mod home;
mod homie;
mod journal;
mod light;
mod model;
mod payload;
mod record;
mod registry;
mod shelly;
mod tasmota;
mod template;
mod z2m;

pub use journal::{RetainedInfo, TopicMessage};
pub use light::{LightRoute, LightState};
pub use model::{DeviceInfo, DeviceKind, Presence, Quantity, TopicInfo};
pub use payload::{Unit, numeric_fields};
pub use registry::{Naming, Registry};

use std::sync::Arc;

/// Limits that keep the registry's memory bounded whatever devices publish.
#[derive(Debug, Clone, Copy)]
pub struct RegistryLimits {
    /// Most topics kept; past it, the least recently seen tenth is forgotten.
    pub max_topics: usize,
    /// Bytes of each topic's last payload kept for display.
    pub max_payload_bytes: usize,
}

impl Default for RegistryLimits {
    fn default() -> Self {
        RegistryLimits {
            max_topics: 20_000,
            max_payload_bytes: 512,
        }
    }
}

/// One message as the broker delivered it.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: u8,
    /// Set on the broker's replay of a retained message, delivered when the hub subscribed:
    /// not news, and never a reply to a command.
    pub retained: bool,
    /// A live message the broker keeps as the topic's retained one (published with the
    /// retain flag, told by retain-as-published); with an empty payload it clears it.
    pub kept: bool,
}

/// What one message told about devices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sighting {
    /// The devices it concerned, by id.
    pub devices: Vec<String>,
    /// Lights whose state it reported.
    pub lights: Vec<(String, LightState)>,
    /// Series whose unit it told for the first time, or changed: topic, field, unit.
    pub units: Vec<(String, String, Unit)>,
}

/// Why a device cannot be switched or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DevicesError {
    #[error("no device '{0}'")]
    NoDevice(String),
    #[error("device '{0}' is not a light")]
    NotALight(String),
    #[error("{name} is offline: {why}")]
    Offline { name: String, why: String },
    #[error("{0}")]
    BadNaming(String),
}

/// Which topics clients subscribe to specifically: the broker knows, the registry does not.
pub type Listening = Arc<dyn Fn(&str) -> bool + Send + Sync>;
