//! The hub's own MQTT client (rumqttc, MQTT 5), subscribed to `#` with `noLocal`: it hands
//! every message to a [`Sink`] the hub wires, and light commands leave through it ([`Client`]
//! is the tracker's publisher, so they share the subscription's `noLocal`). It speaks MQTT
//! over TCP like any device, so the same code serves the embedded broker and an external one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet, PubAckReason, Publish, RetainForwardRule};
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use tokio::sync::watch;

use crate::commands::Publisher;
use crate::devices::Message;

/// Where the hub's client connects.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    /// Largest packet the client accepts; matches the broker's limit.
    pub max_packet_bytes: u32,
    /// Username and password: the hub's internal credentials with the embedded broker.
    pub credentials: Option<(String, String)>,
}

/// What became of a publish of the client's own (a light command).
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

/// Where ingest hands what it hears. Called on the client's task: it must never wait, or
/// the broker buffers for the client without bound.
pub trait Sink: Send + Sync + 'static {
    /// One message. False once the hub takes no more (it is stopping).
    fn message(&self, m: Message<'_>) -> bool;
    /// What became of a command the client published.
    fn report(&self, r: Report);
}

/// The hub's client, not yet connected; [`Ingest::run`] drives it.
pub struct Ingest {
    opts: IngestOptions,
    client: AsyncClient,
    eventloop: EventLoop,
    connected: watch::Sender<bool>,
    received: Arc<AtomicU64>,
}

/// The publishing side of the hub's client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    client: AsyncClient,
    connected: watch::Receiver<bool>,
}

impl Publisher for Client {
    fn connected(&self) -> bool {
        *self.connected.borrow()
    }

    fn try_publish(&self, topic: &str, payload: &str) -> Result<(), String> {
        self.client
            .try_publish(topic, QoS::AtLeastOnce, false, payload.as_bytes().to_vec())
            .map_err(|e| e.to_string())
    }
}

impl Ingest {
    pub fn new(opts: IngestOptions) -> Ingest {
        let mut mo = MqttOptions::new(opts.client_id.clone(), opts.host.clone(), opts.port);
        mo.set_keep_alive(Duration::from_secs(30));
        mo.set_clean_start(true);
        mo.set_max_packet_size(Some(opts.max_packet_bytes));
        if let Some((u, p)) = &opts.credentials {
            mo.set_credentials(u.clone(), p.clone());
        }
        // The broker may send this many QoS 1/2 messages before waiting for acks.
        mo.set_receive_maximum(Some(1024));
        // Commands are single small packets: Nagle's algorithm would hold each back until the
        // broker's delayed ACK (~40 ms).
        let mut net = rumqttc::NetworkOptions::new();
        net.set_tcp_nodelay(true);
        mo.set_network_options(net);
        // Room for bursts of commands: a full request queue fails a command instead of waiting.
        let (client, eventloop) = AsyncClient::new(mo, 1024);
        Ingest {
            opts,
            client,
            eventloop,
            connected: watch::channel(false).0,
            received: Arc::default(),
        }
    }

    /// The client's publishing side.
    pub fn client(&self) -> Client {
        Client {
            client: self.client.clone(),
            connected: self.connected.subscribe(),
        }
    }

    /// True while the client is connected and subscribed.
    pub fn connected(&self) -> watch::Receiver<bool> {
        self.connected.subscribe()
    }

    /// Messages received since the start.
    pub fn received(&self) -> Arc<AtomicU64> {
        self.received.clone()
    }

    /// Runs until `shutdown` turns true, reconnecting with back-off when the broker goes away;
    /// then drains what the broker already sent.
    pub async fn run(self, sink: Arc<dyn Sink>, mut shutdown: watch::Receiver<bool>) {
        let Ingest {
            opts,
            client,
            mut eventloop,
            connected,
            received,
        } = self;
        let hand = |p: &Publish| {
            received.fetch_add(1, Ordering::Relaxed);
            handle(&*sink, p)
        };
        let mut backoff = Duration::from_millis(100);
        loop {
            let event = tokio::select! {
                _ = crate::stopped(&mut shutdown) => break,
                e = eventloop.poll() => e,
            };
            match event {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if !hand(&p) {
                        break;
                    }
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Publish(pkid))) => {
                    sink.report(Report::Sent(pkid))
                }
                Ok(Event::Incoming(Packet::PubAck(ack))) => sink.report(Report::Acked {
                    pkid: ack.pkid,
                    reason: puback_code(ack.reason),
                    reason_name: format!("{:?}", ack.reason),
                }),
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = Duration::from_millis(100);
                    let filter = Filter {
                        path: "#".into(),
                        // QoS 2, so each message arrives at the QoS it was published with.
                        qos: QoS::ExactlyOnce,
                        nolocal: true,
                        preserve_retain: false,
                        retain_forward_rule: RetainForwardRule::OnEverySubscribe,
                    };
                    if let Err(e) = client.subscribe_many([filter]).await {
                        tracing::error!("hub client cannot subscribe: {e}");
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = connected.send(true);
                }
                Ok(Event::Incoming(Packet::Disconnect(d))) => {
                    tracing::warn!("broker disconnected the hub client: {:?}", d.reason_code);
                    let _ = connected.send(false);
                    sink.report(Report::LinkLost);
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = connected.send(false);
                    sink.report(Report::LinkLost);
                    tracing::warn!(
                        "hub client lost the broker at {}:{}: {e}; retrying in {:?}",
                        opts.host,
                        opts.port,
                        backoff
                    );
                    tokio::select! {
                        _ = crate::stopped(&mut shutdown) => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        // Drain: what the broker already sent is recorded before the hub lets go.
        if client.try_disconnect().is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                loop {
                    match eventloop.poll().await {
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            if !hand(&p) {
                                return;
                            }
                        }
                        Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            })
            .await;
        }
    }
}

/// Hands one PUBLISH to the sink. A topic that is not UTF-8 cannot have reached a conforming
/// broker's subscribers; it is skipped.
fn handle(sink: &dyn Sink, p: &Publish) -> bool {
    let Ok(topic) = std::str::from_utf8(&p.topic) else {
        return true;
    };
    sink.message(Message {
        topic,
        payload: &p.payload,
        qos: p.qos as u8,
        retained: p.retain,
    })
}

/// The MQTT 5 reason code of a PUBACK (rumqttc keeps its own mapping private).
fn puback_code(r: PubAckReason) -> u8 {
    match r {
        PubAckReason::Success => 0x00,
        PubAckReason::NoMatchingSubscribers => 0x10,
        PubAckReason::UnspecifiedError => 0x80,
        PubAckReason::ImplementationSpecificError => 0x83,
        PubAckReason::NotAuthorized => 0x87,
        PubAckReason::TopicNameInvalid => 0x90,
        PubAckReason::PacketIdentifierInUse => 0x91,
        PubAckReason::QuotaExceeded => 0x97,
        PubAckReason::PayloadFormatInvalid => 0x99,
    }
}
