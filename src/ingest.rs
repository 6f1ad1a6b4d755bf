//! The hub's own MQTT client (rumqttc, MQTT 5): subscribed to `#`, it feeds every message to
//! the registry and every numeric one to the recorder. It speaks MQTT over TCP like any
//! device, so the same code serves the embedded broker and an external one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet, PubAckReason, Publish, RetainForwardRule};
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use tokio::sync::watch;

use crate::api::Api;
use crate::commands::Tracker;
use crate::events::{self, ReadingEvent};
use crate::payload;
use crate::recorder::{Recorder, Sample};
use crate::registry::{DeviceKind, Registry};

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

/// Where the hub's client hands what it receives.
#[derive(Clone)]
pub struct Sinks {
    pub registry: Registry,
    pub recorder: Recorder,
    pub tracker: Tracker,
    pub api: Api,
    /// Messages received.
    pub received: Arc<AtomicU64>,
}

/// The hub's client, not yet connected; [`run`] drives it. The client handle also publishes
/// light commands, so they share the subscription's `noLocal`.
pub fn client(opts: &IngestOptions) -> (AsyncClient, EventLoop) {
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
    AsyncClient::new(mo, 1024)
}

/// Runs until `shutdown` turns true, reconnecting with back-off when the broker goes away.
pub async fn run(
    opts: IngestOptions,
    client: AsyncClient,
    mut eventloop: EventLoop,
    sinks: Sinks,
    mut shutdown: watch::Receiver<bool>,
    connected: watch::Sender<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let event = tokio::select! {
            _ = crate::stopped(&mut shutdown) => break,
            e = eventloop.poll() => e,
        };
        match event {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if !handle(&sinks, &p) {
                    break;
                }
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Publish(pkid))) => sinks.tracker.on_sent(pkid),
            Ok(Event::Incoming(Packet::PubAck(ack))) => {
                sinks.tracker.on_puback(
                    ack.pkid,
                    puback_code(ack.reason),
                    &format!("{:?}", ack.reason),
                );
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
                sinks.tracker.on_disconnect();
            }
            Ok(_) => {}
            Err(e) => {
                let _ = connected.send(false);
                sinks.tracker.on_disconnect();
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
                        if !handle(&sinks, &p) {
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

/// Feeds one message to the registry, a light's status to the tracker, a numeric one to the
/// recorder, and announces it. Never waits: the client must keep reading, or the broker
/// buffers for it without bound. False once the recorder has stopped.
fn handle(s: &Sinks, p: &Publish) -> bool {
    let Ok(topic) = std::str::from_utf8(&p.topic) else {
        return true;
    };
    s.received.fetch_add(1, Ordering::Relaxed);
    let now = crate::now_ms();
    let fields = payload::numeric_fields(&p.payload);
    let device = s
        .registry
        .observe(topic, &p.payload, p.qos as u8, p.retain, now, &fields);
    if let Some(d) = &device {
        if d.kind == DeviceKind::Light {
            s.tracker.on_status(&d.id, topic, &p.payload, p.retain, now);
        }
        s.api.announce_device(&d.id);
    }
    // A delivered message with the retain flag is a replay from the broker's store
    // (retain-as-published is off): it was recorded when first published.
    if fields.is_empty() || p.retain {
        return true;
    }
    let bus = s.api.bus();
    if bus.has_listeners() {
        for (field, value) in &fields {
            bus.send_with(|| {
                events::Event::Reading(ReadingEvent {
                    topic: topic.to_string(),
                    field: field.clone(),
                    ts_ms: now,
                    value: *value,
                })
            });
        }
    }
    s.recorder.offer(Sample {
        topic: topic.to_string(),
        ts_ms: now,
        fields,
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
