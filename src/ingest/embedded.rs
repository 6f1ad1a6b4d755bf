//! Ingest from the embedded broker, in-process: the broker's [`Tap`] hands each message a
//! client publishes to the sink from the publisher's own task, and the hub's own messages
//! (light commands, the Topics page's) are published through the broker's handle by one
//! task, in the order they were queued.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{mpsc, watch};

use super::{Report, Sink};
use crate::broker::{BrokerHandle, Heard, Tap};
use crate::devices::Message;

/// The hub's own messages queued for the broker; a full queue refuses a command rather
/// than waiting (the tracker calls under its lock).
const OUTBOX: usize = 1024;

enum Out {
    Command {
        topic: String,
        payload: String,
    },
    Message {
        topic: String,
        payload: Vec<u8>,
        qos: u8,
        retain: bool,
    },
}

pub(super) struct EmbeddedIngest {
    broker: BrokerHandle,
    tx: mpsc::Sender<Out>,
    rx: mpsc::Receiver<Out>,
}

/// The publishing side: queues for the outbox task.
#[derive(Clone)]
pub struct Client {
    tx: mpsc::Sender<Out>,
}

impl Client {
    pub(super) fn connected(&self) -> bool {
        !self.tx.is_closed()
    }

    pub(super) fn try_publish(&self, topic: &str, payload: &str) -> Result<(), String> {
        self.queue(Out::Command {
            topic: topic.to_string(),
            payload: payload.to_string(),
        })
    }

    pub(super) fn publish(
        &self,
        topic: &str,
        payload: &[u8],
        qos: u8,
        retain: bool,
    ) -> Result<(), String> {
        if qos > 2 {
            return Err(format!("QoS {qos} does not exist"));
        }
        self.queue(Out::Message {
            topic: topic.to_string(),
            payload: payload.to_vec(),
            qos,
            retain,
        })
    }

    fn queue(&self, out: Out) -> Result<(), String> {
        self.tx.try_send(out).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => "the hub's outgoing queue is full".to_string(),
            mpsc::error::TrySendError::Closed(_) => "the hub is stopping".to_string(),
        })
    }
}

/// What the broker's tap hands on to the sink.
struct ToSink {
    sink: Arc<dyn Sink>,
    received: Arc<AtomicU64>,
    /// While the retained messages are replayed at start: the topics heard live meanwhile,
    /// whose replay would be older than what the hub already heard.
    heard_live: Arc<Mutex<Option<HashSet<String>>>>,
}

#[async_trait]
impl Tap for ToSink {
    async fn message(&self, m: Heard<'_>) {
        self.received.fetch_add(1, Ordering::Relaxed);
        if let Some(live) = self.heard_live.lock().expect("heard lock").as_mut() {
            live.insert(m.topic.to_string());
        }
        let heard = Message {
            topic: m.topic,
            payload: m.payload,
            qos: m.qos,
            // The broker never replays retained messages to its tap: a retain flag is a
            // message published to be kept (or, empty, a retained one cleared).
            retained: false,
            kept: m.retain,
        };
        self.sink.message(heard).await;
    }
}

impl EmbeddedIngest {
    pub(super) fn new(broker: BrokerHandle) -> EmbeddedIngest {
        let (tx, rx) = mpsc::channel(OUTBOX);
        EmbeddedIngest { broker, tx, rx }
    }

    pub(super) fn client(&self) -> Client {
        Client {
            tx: self.tx.clone(),
        }
    }

    /// Sets the tap, then publishes the hub's own messages until `shutdown`; then takes the
    /// tap away, so the sink (and the recorder behind it) can close.
    pub(super) async fn run(
        self,
        sink: Arc<dyn Sink>,
        connected: watch::Sender<bool>,
        received: Arc<AtomicU64>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let EmbeddedIngest { broker, tx, mut rx } = self;
        drop(tx);
        let heard_live = Arc::new(Mutex::new(Some(HashSet::new())));
        let tap = ToSink {
            sink: sink.clone(),
            received: received.clone(),
            heard_live: heard_live.clone(),
        };
        broker.set_tap(Some(Arc::new(tap)));
        replay_retained(&broker, &*sink, &received, &heard_live).await;
        heard_live.lock().expect("heard lock").take();
        let _ = connected.send(true);
        // Packet ids for the tracker, which matches each command's report by them.
        let mut pkid: u16 = 0;
        loop {
            let out = tokio::select! {
                _ = crate::stopped(&mut shutdown) => break,
                out = rx.recv() => out,
            };
            let Some(out) = out else { break };
            match out {
                Out::Command { topic, payload } => {
                    pkid = pkid.checked_add(1).unwrap_or(1);
                    sink.report(Report::Sent(pkid));
                    let (reason, reason_name) =
                        match broker.publish(&topic, Bytes::from(payload), 1, false).await {
                            Ok(()) => (0x00, "Success".to_string()),
                            Err(e) => {
                                tracing::warn!("the hub could not publish to {topic}: {e}");
                                (0x80, "UnspecifiedError".to_string())
                            }
                        };
                    sink.report(Report::Acked {
                        pkid,
                        reason,
                        reason_name,
                    });
                }
                Out::Message {
                    topic,
                    payload,
                    qos,
                    retain,
                } => {
                    // The hub hears its own message as it leaves, like any client's.
                    received.fetch_add(1, Ordering::Relaxed);
                    let heard = Message {
                        topic: &topic,
                        payload: &payload,
                        qos,
                        retained: false,
                        kept: retain,
                    };
                    sink.message(heard).await;
                    if let Err(e) = broker.publish(&topic, payload.into(), qos, retain).await {
                        tracing::warn!("the hub could not publish to {topic}: {e}");
                    }
                }
            }
        }
        broker.set_tap(None);
        let _ = connected.send(false);
    }
}

/// Hands the sink every retained message the broker holds, as a replay: what a client
/// subscribing to `#` is sent, and how the hub learns its devices again after a restart. A
/// topic already heard live since the tap was set is skipped.
async fn replay_retained(
    broker: &BrokerHandle,
    sink: &dyn Sink,
    received: &AtomicU64,
    heard_live: &Mutex<Option<HashSet<String>>>,
) {
    for m in broker.retained_messages().await {
        let live = heard_live
            .lock()
            .expect("heard lock")
            .as_ref()
            .is_some_and(|h| h.contains(&m.topic));
        if m.topic.starts_with('$') || live {
            continue;
        }
        received.fetch_add(1, Ordering::Relaxed);
        let replay = Message {
            topic: &m.topic,
            payload: &m.payload,
            qos: m.qos,
            retained: true,
            kept: false,
        };
        sink.message(replay).await;
    }
}
