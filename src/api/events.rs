//! The live events the dashboard hears, and the tracker's observer that sends its share.

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use super::{BrokerStatus, Device, FavouritesChange, RemovedDevice, TopicsChange};
use crate::commands::{Command, LightStatus, Observer};
use crate::events::Bus;

/// A numeric reading as it arrives.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadingEvent {
    pub topic: String,
    /// The JSON field it came from; empty for a plain number.
    pub field: String,
    /// Unix milliseconds.
    pub ts_ms: i64,
    pub value: f64,
}

/// One live event. On the wire: a JSON object whose `type` names the event, with the
/// event's fields beside it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Reading(ReadingEvent),
    DeviceUpdated(Box<Device>),
    LightState(LightStatus),
    CommandUpdated(Command),
    BrokerStats(BrokerStatus),
    DeviceRemoved(RemovedDevice),
    TopicsChanged(TopicsChange),
    FavouritesChanged(FavouritesChange),
}

impl Event {
    /// Every event's `type` on the wire.
    pub const TYPES: [&str; 8] = [
        "reading",
        "device_updated",
        "light_state",
        "command_updated",
        "broker_stats",
        "device_removed",
        "topics_changed",
        "favourites_changed",
    ];

    /// The event's `type` on the wire.
    pub fn kind(&self) -> &'static str {
        let i = match self {
            Event::Reading(_) => 0,
            Event::DeviceUpdated(_) => 1,
            Event::LightState(_) => 2,
            Event::CommandUpdated(_) => 3,
            Event::BrokerStats(_) => 4,
            Event::DeviceRemoved(_) => 5,
            Event::TopicsChanged(_) => 6,
            Event::FavouritesChanged(_) => 7,
        };
        Self::TYPES[i]
    }
}

/// Sends the tracker's changes as `command_updated` and `light_state`.
struct BusObserver(Bus<Event>);

impl Observer for BusObserver {
    fn command(&self, c: &Command) {
        self.0.send_with(|| Event::CommandUpdated(c.clone()));
    }
    fn light(&self, s: &LightStatus) {
        self.0.send_with(|| Event::LightState(s.clone()));
    }
}

/// The tracker's observer over `bus`.
pub fn observer(bus: &Bus<Event>) -> Arc<dyn Observer> {
    Arc::new(BusObserver(bus.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape_is_tagged_and_camel_case() {
        let e = Event::Reading(ReadingEvent {
            topic: "home/a/temperature".into(),
            field: String::new(),
            ts_ms: 5,
            value: 21.5,
        });
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"type":"reading","topic":"home/a/temperature","field":"","tsMs":5,"value":21.5})
        );
        assert_eq!(e.kind(), "reading");
        assert_eq!(
            serde_json::to_value(&e).unwrap()["type"],
            Event::TYPES[0],
            "the names are the wire's"
        );
    }
}
