//! Ingest from an external broker (`--broker mqtt://…`): the hub's own MQTT client (rumqttc,
//! MQTT 5), subscribed to `#` with `noLocal`. It hands every message to the [`Sink`], and light
//! commands leave through it ([`Client`] is the tracker's publisher, so they share the
//! subscription's `noLocal`).

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet, PubAckReason, Publish, RetainForwardRule};
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use tokio::sync::watch;

use super::{Report, Sink};
use crate::devices::Message;

/// Where the hub's client connects.
#[derive(Clone)]
pub struct IngestOptions {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    /// Largest packet the client accepts; matches the broker's limit.
    pub max_packet_bytes: u32,
    pub credentials: Option<(String, String)>,
}

/// A publish of the client's own, in the order they were handed to rumqttc, so each
/// outgoing packet id is matched to its sender: the tracker counts only its commands'.
enum Own {
    Command,
    Message {
        topic: String,
        payload: Vec<u8>,
        qos: u8,
        retain: bool,
    },
}

type OwnQueue = Arc<Mutex<VecDeque<Own>>>;

/// The hub's client, not yet connected; [`MqttIngest::run`] drives it.
pub(super) struct MqttIngest {
    opts: IngestOptions,
    client: AsyncClient,
    eventloop: EventLoop,
    own: OwnQueue,
}

/// The publishing side of the hub's client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    client: AsyncClient,
    connected: watch::Receiver<bool>,
    own: OwnQueue,
}

impl Client {
    pub(super) fn connected(&self) -> bool {
        *self.connected.borrow()
    }

    pub(super) fn try_publish(&self, topic: &str, payload: &str) -> Result<(), String> {
        let mut own = self.own.lock().expect("own publishes lock poisoned");
        self.client
            .try_publish(topic, QoS::AtLeastOnce, false, payload.as_bytes().to_vec())
            .map_err(|e| e.to_string())?;
        own.push_back(Own::Command);
        Ok(())
    }

    pub(super) fn publish(
        &self,
        topic: &str,
        payload: &[u8],
        qos: u8,
        retain: bool,
    ) -> Result<(), String> {
        if !self.connected() {
            return Err("the hub's client is not connected to its broker".into());
        }
        let q = match qos {
            0 => QoS::AtMostOnce,
            1 => QoS::AtLeastOnce,
            2 => QoS::ExactlyOnce,
            _ => return Err(format!("QoS {qos} does not exist")),
        };
        let mut own = self.own.lock().expect("own publishes lock poisoned");
        self.client
            .try_publish(topic, q, retain, payload.to_vec())
            .map_err(|e| e.to_string())?;
        own.push_back(Own::Message {
            topic: topic.to_string(),
            payload: payload.to_vec(),
            qos,
            retain,
        });
        Ok(())
    }
}

impl MqttIngest {
    pub(super) fn new(opts: IngestOptions) -> MqttIngest {
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
        MqttIngest {
            opts,
            client,
            eventloop,
            own: Arc::default(),
        }
    }

    /// The client's publishing side; `connected` is true while it is connected and subscribed.
    pub(super) fn client(&self, connected: watch::Receiver<bool>) -> Client {
        Client {
            client: self.client.clone(),
            connected,
            own: self.own.clone(),
        }
    }

    /// Runs until `shutdown` turns true, reconnecting with back-off when the broker goes away;
    /// then drains what the broker already sent.
    pub(super) async fn run(
        self,
        sink: Arc<dyn Sink>,
        connected: watch::Sender<bool>,
        received: Arc<AtomicU64>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let MqttIngest {
            opts,
            client,
            mut eventloop,
            own,
        } = self;
        let hand = async |p: &Publish| {
            received.fetch_add(1, Ordering::Relaxed);
            handle(&*sink, p).await
        };
        // Packet ids of the page's own QoS 1/2 publishes, whose acks are not the tracker's.
        let mut others: HashSet<u16> = HashSet::new();
        let mut backoff = Duration::from_millis(100);
        loop {
            let event = tokio::select! {
                _ = crate::stopped(&mut shutdown) => break,
                e = eventloop.poll() => e,
            };
            match event {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if !hand(&p).await {
                        break;
                    }
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Publish(pkid))) => {
                    let next = own.lock().expect("own publishes lock poisoned").pop_front();
                    match next {
                        Some(Own::Message {
                            topic,
                            payload,
                            qos,
                            retain,
                        }) => {
                            if qos > 0 {
                                others.insert(pkid);
                            }
                            // noLocal keeps the broker from sending it back: the hub hears
                            // it here, as it leaves, like any other client's message.
                            received.fetch_add(1, Ordering::Relaxed);
                            let heard = Message {
                                topic: &topic,
                                payload: &payload,
                                qos,
                                retained: false,
                                kept: retain,
                            };
                            if !sink.message(heard).await {
                                break;
                            }
                        }
                        Some(Own::Command) | None => sink.report(Report::Sent(pkid)),
                    }
                }
                Ok(Event::Incoming(Packet::PubAck(ack))) => {
                    if !others.remove(&ack.pkid) {
                        sink.report(Report::Acked {
                            pkid: ack.pkid,
                            reason: puback_code(ack.reason),
                            reason_name: format!("{:?}", ack.reason),
                        })
                    }
                }
                Ok(Event::Incoming(Packet::PubComp(c))) => {
                    others.remove(&c.pkid);
                }
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
                    lost(&own, &mut others);
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = connected.send(false);
                    sink.report(Report::LinkLost);
                    lost(&own, &mut others);
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
                            if !hand(&p).await {
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

/// Packet ids mean nothing after the link drops; what rumqttc re-sends after a reconnect
/// is no longer told apart, so it counts as the tracker's (which ignores ids it did not
/// wait for).
fn lost(own: &OwnQueue, others: &mut HashSet<u16>) {
    own.lock().expect("own publishes lock poisoned").clear();
    others.clear();
}

/// Hands one PUBLISH to the sink. A topic that is not UTF-8 cannot have reached a conforming
/// broker's subscribers; it is skipped. Without retain-as-published only replays from the
/// broker's store carry the retain flag, and an empty message is taken as what it nearly
/// always is: the MQTT way to clear a retained one.
async fn handle(sink: &dyn Sink, p: &Publish) -> bool {
    let Ok(topic) = std::str::from_utf8(&p.topic) else {
        return true;
    };
    let (retained, kept) = (p.retain, !p.retain && p.payload.is_empty());
    sink.message(Message {
        topic,
        payload: &p.payload,
        qos: p.qos as u8,
        retained,
        kept,
    })
    .await
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
