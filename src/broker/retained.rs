//! Retained messages in memory for matching (rmqtt's own trie), written through to a
//! [`RetainedStore`] the hub gives the broker, so they survive a restart. The writes go
//! through a writer task, in order and many per transaction: awaiting a database commit (an
//! fsync) inside rmqtt's publish path delayed every retained publish — a light's status reply
//! among them — by about 2 ms.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use rmqtt::retain::{DefaultRetainStorage, RetainStorage};
use rmqtt::types::{Retain, TopicFilter, TopicName};
use rmqtt::utils::StatsMergeMode;
use tokio::sync::{mpsc, oneshot};

/// One change to the kept retained messages.
#[derive(Debug, Clone, PartialEq)]
pub struct RetainedChange {
    pub topic: String,
    /// The message in the broker's serialised form; `None` clears the topic.
    pub message: Option<Vec<u8>>,
    pub at_ms: i64,
}

/// Where retained messages are kept across restarts.
#[async_trait]
pub trait RetainedStore: Send + Sync + 'static {
    /// Every kept message, as (topic, serialised message).
    async fn load(&self) -> anyhow::Result<Vec<(String, Vec<u8>)>>;
    /// Applies changes in order, all or none.
    async fn write(&self, changes: &[RetainedChange]) -> anyhow::Result<()>;
}

enum Write {
    Change(RetainedChange),
    Flush(oneshot::Sender<()>),
}

/// Changes queued before a publisher of retained messages waits for the database.
const QUEUE: usize = 4096;

/// rmqtt's retained-message storage for the hub.
pub(super) struct PersistentRetain {
    mem: DefaultRetainStorage,
    writes: mpsc::Sender<Write>,
}

/// Handle to the writer, for flushing before the store closes.
pub(super) struct RetainWriter(mpsc::Sender<Write>);

impl RetainWriter {
    pub(super) async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.0.send(Write::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

impl PersistentRetain {
    /// Loads what `store` kept and starts the writer.
    pub(super) async fn load(
        store: Box<dyn RetainedStore>,
    ) -> anyhow::Result<(PersistentRetain, RetainWriter)> {
        let mem = DefaultRetainStorage::new();
        for (topic, blob) in store.load().await? {
            match serde_json::from_slice::<Retain>(&blob) {
                Ok(r) => {
                    let expiry = message_expiry(&r);
                    if let Err(e) = mem
                        .set_with_timeout(&TopicName::from(topic.as_str()), r, expiry)
                        .await
                    {
                        tracing::warn!("skipping stored retained message on {topic}: {e}");
                    }
                }
                Err(e) => tracing::warn!("skipping unreadable retained message on {topic}: {e}"),
            }
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write(store, rx));
        Ok((
            PersistentRetain {
                mem,
                writes: tx.clone(),
            },
            RetainWriter(tx),
        ))
    }
}

async fn write(store: Box<dyn RetainedStore>, mut rx: mpsc::Receiver<Write>) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 256).await > 0 {
        let mut changes = Vec::with_capacity(batch.len());
        let mut acks = Vec::new();
        for w in batch.drain(..) {
            match w {
                Write::Change(c) => changes.push(c),
                Write::Flush(ack) => acks.push(ack),
            }
        }
        if !changes.is_empty()
            && let Err(e) = store.write(&changes).await
        {
            tracing::error!(
                "cannot store {} retained message changes: {e}",
                changes.len()
            );
        }
        for a in acks {
            let _ = a.send(());
        }
    }
}

/// The MQTT 5 message expiry a retained message asked for, if any.
fn message_expiry(r: &Retain) -> Option<Duration> {
    r.publish
        .properties
        .as_ref()
        .and_then(|p| p.message_expiry_interval)
        .map(|s| Duration::from_secs(s.get() as u64))
}

#[async_trait]
impl RetainStorage for PersistentRetain {
    fn enable(&self) -> bool {
        true
    }

    async fn set(
        &self,
        topic: &TopicName,
        retain: Retain,
        _listener_expiry: Option<Duration>,
    ) -> rmqtt::Result<()> {
        let message = if retain.publish.payload.is_empty() {
            None
        } else {
            Some(serde_json::to_vec(&retain)?)
        };
        let change = RetainedChange {
            topic: topic.to_string(),
            message,
            at_ms: crate::now_ms(),
        };
        self.writes
            .send(Write::Change(change))
            .await
            .map_err(|_| anyhow::anyhow!("the retained-message writer has stopped"))?;
        let expiry = message_expiry(&retain);
        self.mem.set_with_timeout(topic, retain, expiry).await
    }

    async fn get(&self, topic_filter: &TopicFilter) -> rmqtt::Result<Vec<(TopicName, Retain)>> {
        // A topic filter that is not valid matches nothing rather than failing the SUBSCRIBE.
        if rmqtt::topic::Topic::from_str(topic_filter).is_err() {
            return Ok(Vec::new());
        }
        self.mem.get_message(topic_filter).await
    }

    async fn get_all_paginated(
        &self,
        offset: usize,
        limit: usize,
    ) -> rmqtt::Result<(Vec<(TopicName, Retain, Option<Duration>)>, bool)> {
        self.mem.get_all_paginated(offset, limit).await
    }

    async fn count(&self) -> isize {
        self.mem.count().await
    }

    async fn max(&self) -> isize {
        self.mem.max().await
    }

    fn stats_merge_mode(&self) -> StatsMergeMode {
        StatsMergeMode::Max
    }
}
