//! What the hub adds to rmqtt's publish path. rmqtt awaits its `MessagePublish` hook in the
//! publisher's own connection task, before it routes the message and before it acknowledges
//! it, so a hook that waits holds that one publisher back: its PUBACK (or PUBREC) waits and
//! its socket is not read, which is MQTT's own back-pressure (Receive Maximum, then TCP).
//!
//! - **Tap**: the hub hears every message a client may publish in-process, through a [`Tap`]
//!   it sets (no second delivery, no re-encoding, no loopback socket). The tap may wait: the
//!   recorder paces publishers that way instead of dropping readings.
//! - **Pacing**: a QoS 1/2 publish waits while a connected subscriber of its topic has its
//!   queue half full, so rmqtt's queue (which drops the oldest QoS 1/2 message when full,
//!   after the publisher was told its message was accepted) never overflows for it. A
//!   subscriber that stays that full for [`BrokerLimits::pace_limit`] is taken for stalled:
//!   publishers stop waiting for it until it has drained to a quarter, and what overflows its
//!   queue is dropped and counted, as in every other broker. QoS 0 is never paced.
//!
//! The subscribers of each topic are cached and the cache forgotten at any connect,
//! disconnect, subscribe or unsubscribe, so a publish costs one map lookup and a counter per
//! subscriber. A subscriber's fill is its queue's length or, when larger, the messages routed
//! to it and not yet delivered or dropped (counted through the `MessageDelivered` and
//! `MessageDropped` hooks): rmqtt hands messages to a session through an unbounded channel
//! before its queue, where the queue's length does not see them.
//!
//! [`BrokerLimits::pace_limit`]: super::BrokerLimits::pace_limit

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use rmqtt::codec::v5::PublishProperties;
use rmqtt::context::ServerContext;
use rmqtt::hook::{Handler, HookResult, Parameter, ReturnType};
use rmqtt::session::{Session, SessionState};
use rmqtt::types::{
    ClientId, CodecPublish, From, Id, MessageQueue, Publish, QoS, TopicName, UserName,
};
use tokio::time::Instant;

use super::{BrokerHandle, MessageCounters};
use crate::access::Access;
use crate::acl::Request;

/// A message a client published, as the hub hears it.
pub struct Heard<'a> {
    pub topic: &'a str,
    pub payload: &'a Bytes,
    pub qos: u8,
    /// Published to be kept (the retain flag of a live publish: the broker never replays
    /// retained messages to the tap).
    pub retain: bool,
}

/// Where the broker hands what clients publish. Called in the publisher's task: the
/// publisher waits until it returns.
#[async_trait]
pub trait Tap: Send + Sync + 'static {
    async fn message(&self, m: Heard<'_>);
}

/// The tap the hub set, if any; cleared when the hub stops listening.
pub(super) type TapSlot = Arc<RwLock<Option<Arc<dyn Tap>>>>;

/// A connected subscriber: its client id, its queue, and how many messages were routed to
/// it and not yet delivered or dropped (rmqtt passes them through an unbounded channel
/// before its queue, so the queue's length alone can read low while thousands are on the way).
type Subscriber = (ClientId, Weak<MessageQueue>, Arc<AtomicUsize>);

/// Queues of at most this many topics are remembered before the cache starts over.
const MAX_CACHED_TOPICS: usize = 10_000;

/// How often a paced publisher looks at the queue it waits for.
const PACE_POLL: Duration = Duration::from_millis(1);

pub(super) struct Flow {
    pub(super) scx: ServerContext,
    pub(super) access: Access,
    pub(super) tap: TapSlot,
    pub(super) counters: Arc<MessageCounters>,
    pub(super) pace_limit: Duration,
    pub(super) queues: Mutex<HashMap<TopicName, Arc<[Subscriber]>>>,
    /// Messages routed to each connected subscriber and not yet delivered or dropped.
    pub(super) routed: Mutex<HashMap<ClientId, Arc<AtomicUsize>>>,
    /// Subscribers taken for stalled.
    pub(super) stalled: Mutex<HashSet<ClientId>>,
    /// Bumped at every cache clear, so a lookup that raced one does not fill the cache.
    pub(super) epoch: AtomicU64,
    /// Publishers waiting right now. Their own queues do not drain while they wait (one task
    /// reads and writes a connection), so nobody waits for those: two clients publishing to
    /// each other's topics would otherwise wait for each other until the pace limit.
    pub(super) waiting: Mutex<HashSet<ClientId>>,
}

/// [`Flow`] as a handler of several hook types.
pub(super) struct FlowHook(pub(super) Arc<Flow>);

#[async_trait]
impl Handler for FlowHook {
    async fn hook(&self, param: &Parameter, acc: Option<HookResult>) -> ReturnType {
        let flow = &self.0;
        match param {
            // `None` is the broker's own ($SYS); a leading `$` is no device's.
            Parameter::MessagePublish(Some(s), from, p) if !p.topic.starts_with('$') => {
                // rmqtt refuses it after this hook, and drops it with no subscriber named.
                if !flow.hear(s, p).await {
                    return (true, acc);
                }
                let subscribers = flow.subscribers(from, &p.topic).await;
                if p.qos != QoS::AtMostOnce && !flow.pace_limit.is_zero() {
                    flow.pace(from, &p.topic, &subscribers).await;
                }
                for (owner, _, routed) in subscribers.iter() {
                    if *owner != from.id.client_id {
                        routed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Parameter::MessageDelivered(s, ..) => flow.left_queue(&s.id.client_id),
            Parameter::MessageDropped(Some(to), ..) => flow.left_queue(&to.client_id),
            Parameter::ClientDisconnected(s, _) => {
                flow.forget_subscribers();
                flow.routed
                    .lock()
                    .expect("routed lock")
                    .remove(&s.id.client_id);
                flow.stalled
                    .lock()
                    .expect("stalled lock")
                    .remove(&s.id.client_id);
            }
            Parameter::ClientConnected(_)
            | Parameter::SessionSubscribed(..)
            | Parameter::SessionUnsubscribed(..)
            | Parameter::SessionTerminated(..) => flow.forget_subscribers(),
            _ => {}
        }
        (true, acc)
    }
}

impl Flow {
    /// Hands the message to the tap when its publisher may publish it (this hook runs before
    /// rmqtt's rule check, which then refuses it); says whether it may.
    async fn hear(&self, s: &Session, p: &Publish) -> bool {
        let may = s.superuser().await.unwrap_or(false)
            || self.access.allowed(
                s.id.username.as_deref(),
                &s.id.client_id,
                Request::Publish,
                &p.topic,
            );
        let tap = self.tap.read().expect("tap lock").clone();
        if let (true, Some(tap)) = (may, tap) {
            let heard = Heard {
                topic: &p.topic,
                payload: &p.payload,
                qos: p.qos.value(),
                retain: p.retain,
            };
            tap.message(heard).await;
        }
        may
    }

    /// Empties the subscriber cache; a lookup begun before does not fill it afterwards.
    fn forget_subscribers(&self) {
        let mut cache = self.queues.lock().expect("queues lock");
        self.epoch.fetch_add(1, Ordering::Relaxed);
        cache.clear();
    }

    /// A message left a subscriber's queue (delivered, or dropped).
    fn left_queue(&self, client_id: &ClientId) {
        if let Some(n) = self.routed.lock().expect("routed lock").get(client_id) {
            let _ = n.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1));
        }
    }

    /// Waits while a connected subscriber of `topic` (other than the publisher, and other
    /// than one waiting itself) has its queue half full, counting what is on its way there.
    async fn pace(&self, from: &From, topic: &TopicName, subscribers: &[Subscriber]) {
        // One deadline for the whole publish, however many subscribers are full.
        let deadline = Instant::now() + self.pace_limit;
        let me = &from.id.client_id;
        for (owner, q, routed) in subscribers {
            let Some(q) = q.upgrade() else { continue };
            let cap = q.capacity();
            let half = (cap / 2).max(1);
            let fill = || q.len().max(routed.load(Ordering::Relaxed));
            if owner == me || self.is_stalled(owner, fill(), cap) || fill() < half {
                continue;
            }
            self.waiting
                .lock()
                .expect("waiting lock")
                .insert(me.clone());
            self.counters.paced.fetch_add(1, Ordering::Relaxed);
            while fill() >= half && !self.waiting.lock().expect("waiting lock").contains(owner) {
                if Instant::now() >= deadline {
                    self.counters.stalled.fetch_add(1, Ordering::Relaxed);
                    self.stalled
                        .lock()
                        .expect("stalled lock")
                        .insert(owner.clone());
                    tracing::warn!(
                        "a subscriber of {topic} has not read for {:?}: publishers no longer wait for it",
                        self.pace_limit
                    );
                    break;
                }
                tokio::time::sleep(PACE_POLL).await;
            }
            self.waiting.lock().expect("waiting lock").remove(me);
        }
    }

    /// Whether publishers stopped waiting for this subscriber; it is forgiven once drained
    /// to a quarter, and forgotten when it disconnects.
    fn is_stalled(&self, owner: &ClientId, fill: usize, cap: usize) -> bool {
        let mut stalled = self.stalled.lock().expect("stalled lock");
        if stalled.is_empty() || !stalled.contains(owner) {
            return false;
        }
        if fill <= cap / 4 {
            stalled.remove(owner);
            return false;
        }
        true
    }

    /// The queues of the connected sessions subscribed to `topic` (not the publisher's own
    /// when it subscribed with noLocal), from the cache or the router.
    async fn subscribers(&self, from: &From, topic: &TopicName) -> Arc<[Subscriber]> {
        let epoch = {
            let cache = self.queues.lock().expect("queues lock");
            if let Some(q) = cache.get(topic) {
                return q.clone();
            }
            self.epoch.load(Ordering::Relaxed)
        };
        let Ok(matches) = self
            .scx
            .extends
            .router()
            .await
            .matches(from.id.clone(), topic)
            .await
        else {
            return Arc::new([]);
        };
        let shared = self.scx.extends.shared().await;
        let mut found = Vec::new();
        for (node, relations) in matches {
            for (_, client_id, ..) in relations {
                let Some(s) = shared.entry(Id::from(node, client_id.clone())).session() else {
                    continue;
                };
                // An offline session's queue fills until it returns: nobody waits for that.
                if s.connected().await.unwrap_or(false) {
                    let routed = self
                        .routed
                        .lock()
                        .expect("routed lock")
                        .entry(client_id.clone())
                        .or_default()
                        .clone();
                    found.push((client_id, Arc::downgrade(s.deliver_queue()), routed));
                }
            }
        }
        drop(shared);
        let mut cache = self.queues.lock().expect("queues lock");
        if cache.len() >= MAX_CACHED_TOPICS {
            cache.clear();
        }
        let found: Arc<[Subscriber]> = found.into();
        if self.epoch.load(Ordering::Relaxed) == epoch {
            cache.insert(topic.clone(), found.clone());
        }
        found
    }
}

/// The client id the hub's own messages carry.
const HUB_ID: &str = "hearth-hub";

impl BrokerHandle {
    /// Sets where the broker hands every message clients publish, or stops handing them.
    pub fn set_tap(&self, tap: Option<Arc<dyn Tap>>) {
        *self.tap.write().expect("tap lock") = tap;
    }

    /// Publishes a message of the hub's own, in-process, to every subscriber (and to the
    /// retained store with `retain`). It does not pass through the tap: the caller hears it.
    pub async fn publish(
        &self,
        topic: &str,
        payload: Bytes,
        qos: u8,
        retain: bool,
    ) -> anyhow::Result<()> {
        let qos = match qos {
            0 => QoS::AtMostOnce,
            1 => QoS::AtLeastOnce,
            2 => QoS::ExactlyOnce,
            _ => anyhow::bail!("QoS {qos} does not exist"),
        };
        let from = From::from_system(Id::new(
            self.scx.node.id(),
            0,
            None,
            None,
            ClientId::from_static(HUB_ID),
            Some(UserName::from(HUB_ID)),
        ));
        let p = CodecPublish {
            dup: false,
            retain,
            qos,
            topic: TopicName::from(topic),
            packet_id: None,
            payload,
            properties: Some(PublishProperties::default()),
        };
        let p = <CodecPublish as Into<Publish>>::into(p).create_time(crate::now_ms());
        SessionState::forwards(&self.scx, from, p, false, None).await?;
        Ok(())
    }
}
