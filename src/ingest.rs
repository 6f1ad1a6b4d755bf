//! The hub's own MQTT client (rumqttc, MQTT 5): subscribed to `#`, it feeds every message to
//! the registry and every numeric one to the recorder. It speaks MQTT over TCP like any
//! device, so the same code serves the embedded broker and an external one.

use std::time::Duration;

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet, Publish, RetainForwardRule};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use tokio::sync::watch;

use crate::payload;
use crate::recorder::{Recorder, Sample};
use crate::registry::Registry;

/// Where the hub's client connects.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    /// Largest packet the client accepts; matches the broker's limit.
    pub max_packet_bytes: u32,
}

/// Runs until `shutdown` turns true, reconnecting with back-off when the broker goes away.
pub async fn run(
    opts: IngestOptions,
    registry: Registry,
    recorder: Recorder,
    mut shutdown: watch::Receiver<bool>,
    connected: watch::Sender<bool>,
) {
    let mut mo = MqttOptions::new(opts.client_id.clone(), opts.host.clone(), opts.port);
    mo.set_keep_alive(Duration::from_secs(30));
    mo.set_clean_start(true);
    mo.set_max_packet_size(Some(opts.max_packet_bytes));
    // The broker may send this many QoS 1/2 messages before waiting for acks.
    mo.set_receive_maximum(Some(1024));
    let (client, mut eventloop) = AsyncClient::new(mo, 64);
    let mut backoff = Duration::from_millis(100);
    loop {
        let event = tokio::select! {
            _ = crate::stopped(&mut shutdown) => break,
            e = eventloop.poll() => e,
        };
        match event {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if !handle(&registry, &recorder, &p) {
                    break;
                }
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
            }
            Ok(_) => {}
            Err(e) => {
                let _ = connected.send(false);
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
                        if !handle(&registry, &recorder, &p) {
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

/// Feeds one message to the registry and, when numeric, to the recorder. Never waits: the
/// client must keep reading, or the broker buffers for it without bound. False once the
/// recorder has stopped.
fn handle(registry: &Registry, recorder: &Recorder, p: &Publish) -> bool {
    let Ok(topic) = std::str::from_utf8(&p.topic) else {
        return true;
    };
    let now = crate::now_ms();
    let fields = payload::numeric_fields(&p.payload);
    registry.observe(topic, &p.payload, p.qos as u8, p.retain, now, &fields);
    // A delivered message with the retain flag is a replay from the broker's store
    // (retain-as-published is off): it was recorded when first published.
    if fields.is_empty() || p.retain {
        return true;
    }
    recorder.offer(Sample {
        topic: topic.to_string(),
        ts_ms: now,
        fields,
    })
}
