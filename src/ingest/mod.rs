//! How the hub hears its broker: one interface, [`Ingest`], with two sources. With the
//! embedded broker (`embedded.rs`) the hub hears each message in-process from the broker's
//! publish path and publishes in-process; with an external broker (`mqtt.rs`) it is an MQTT 5
//! client subscribed to `#`. Both hand what they hear to a [`Sink`] the hub wires, and their
//! [`Client`] is the tracker's [`Publisher`].

mod embedded;
mod mqtt;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::broker::BrokerHandle;
use crate::commands::Publisher;
use crate::devices::Message;

pub use mqtt::IngestOptions;

/// What became of a publish of the hub's own (a light command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Sent with this packet id.
    Sent(u16),
    /// The broker's PUBACK, with its MQTT 5 reason code.
    Acked {
        pkid: u16,
        reason: u8,
        reason_name: String,
    },
    /// The connection dropped: packet ids no longer mean anything.
    LinkLost,
}

/// Where ingest hands what it hears.
#[async_trait]
pub trait Sink: Send + Sync + 'static {
    /// One message. With the embedded broker this runs in the publisher's own task, which
    /// waits for it: a sink that waits (for the recorder's room) paces that publisher. False
    /// once the hub takes no more (it is stopping).
    async fn message(&self, m: Message<'_>) -> bool;
    /// What became of a command the hub published.
    fn report(&self, r: Report);
}

/// Where the hub hears its messages from.
pub enum Source {
    /// The embedded broker, in-process.
    Embedded(BrokerHandle),
    /// An external broker, through an MQTT client.
    Mqtt(IngestOptions),
}

enum Inner {
    Embedded(embedded::EmbeddedIngest),
    Mqtt(Box<mqtt::MqttIngest>),
}

/// The hub's link to its broker, not yet running; [`Ingest::run`] drives it.
pub struct Ingest {
    inner: Inner,
    connected: watch::Sender<bool>,
    received: Arc<AtomicU64>,
}

/// The hub's publishing side. Cheap to clone.
#[derive(Clone)]
pub enum Client {
    Embedded(embedded::Client),
    Mqtt(mqtt::Client),
}

impl Publisher for Client {
    fn connected(&self) -> bool {
        match self {
            Client::Embedded(c) => c.connected(),
            Client::Mqtt(c) => c.connected(),
        }
    }

    fn try_publish(&self, topic: &str, payload: &str) -> Result<(), String> {
        match self {
            Client::Embedded(c) => c.try_publish(topic, payload),
            Client::Mqtt(c) => c.try_publish(topic, payload),
        }
    }

    fn publish(&self, topic: &str, payload: &[u8], qos: u8, retain: bool) -> Result<(), String> {
        match self {
            Client::Embedded(c) => c.publish(topic, payload, qos, retain),
            Client::Mqtt(c) => c.publish(topic, payload, qos, retain),
        }
    }
}

impl Ingest {
    pub fn new(source: Source) -> Ingest {
        let inner = match source {
            Source::Embedded(broker) => Inner::Embedded(embedded::EmbeddedIngest::new(broker)),
            Source::Mqtt(opts) => Inner::Mqtt(Box::new(mqtt::MqttIngest::new(opts))),
        };
        Ingest {
            inner,
            connected: watch::channel(false).0,
            received: Arc::default(),
        }
    }

    /// The publishing side.
    pub fn client(&self) -> Client {
        match &self.inner {
            Inner::Embedded(e) => Client::Embedded(e.client()),
            Inner::Mqtt(m) => Client::Mqtt(m.client(self.connected.subscribe())),
        }
    }

    /// True while the hub hears its broker (always, once running, with the embedded one).
    pub fn connected(&self) -> watch::Receiver<bool> {
        self.connected.subscribe()
    }

    /// Messages heard since the start.
    pub fn received(&self) -> Arc<AtomicU64> {
        self.received.clone()
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, sink: Arc<dyn Sink>, shutdown: watch::Receiver<bool>) {
        match self.inner {
            Inner::Embedded(e) => e.run(sink, self.connected, self.received, shutdown).await,
            Inner::Mqtt(m) => m.run(sink, self.connected, self.received, shutdown).await,
        }
    }
}
