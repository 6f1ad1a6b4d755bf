//! The hub's live events, fanned out to every listener (WebSocket clients, the desktop
//! window) through one broadcast channel. A listener that falls more than the channel's
//! capacity behind loses events and is told so (`Lagged`); it never slows the hub.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast;
use utoipa::ToSchema;

use crate::api::BrokerStatus;
use crate::commands::{Command, LightStatus};
use crate::registry::Device;

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
}

impl Event {
    /// The event's `type` on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Reading(_) => "reading",
            Event::DeviceUpdated(_) => "device_updated",
            Event::LightState(_) => "light_state",
            Event::CommandUpdated(_) => "command_updated",
            Event::BrokerStats(_) => "broker_stats",
        }
    }
}

/// Events a listener may fall behind by before it is cut off.
pub const BUS_CAPACITY: usize = 8192;

/// The event bus. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    tx: broadcast::Sender<Arc<Event>>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus::new(BUS_CAPACITY)
    }
}

impl Bus {
    pub fn new(capacity: usize) -> Bus {
        Bus {
            tx: broadcast::channel(capacity).0,
        }
    }

    /// Sends the event `make` builds, building it only when someone listens.
    pub fn send_with(&self, make: impl FnOnce() -> Event) {
        if self.tx.receiver_count() > 0 {
            let _ = self.tx.send(Arc::new(make()));
        }
    }

    /// How many listen.
    pub fn listener_count(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Whether anyone listens.
    pub fn has_listeners(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }
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
    }

    #[test]
    fn nothing_is_built_without_listeners() {
        let bus = Bus::new(4);
        bus.send_with(|| unreachable!("no listener"));
        let mut rx = bus.subscribe();
        bus.send_with(|| {
            Event::Reading(ReadingEvent {
                topic: "t".into(),
                field: String::new(),
                ts_ms: 1,
                value: 1.0,
            })
        });
        assert_eq!(rx.try_recv().unwrap().kind(), "reading");
    }
}
