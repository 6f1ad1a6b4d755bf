//! The embedded MQTT broker: rmqtt, in-process, with its listeners (`listeners`), the access
//! hook that authenticates and checks every client (`guard`), the publish path's tap and
//! pacing (`flow`), and retained messages kept across restarts through a [`RetainedStore`]
//! the hub gives it (`retained`).
//!
//! rmqtt keeps the broker's state in a `ServerContext` value, not in a process-wide
//! singleton, but it spawns each connection as its own task on the ambient tokio runtime, and
//! those tasks outlive the server task: stopping an in-process broker stops accepting, while
//! live connections last until the runtime ends. It also caches its "node busy" check in
//! process-wide statics. So a process hosts one hub; integration tests spawn `hearthd` per
//! test (see ARCHITECTURE.md).

mod flow;
mod guard;
mod listeners;
mod retained;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rmqtt::context::ServerContext;
use rmqtt::hook::{Handler, HookResult, Parameter, ReturnType, Type};
use rmqtt::server::MqttServer;
use tokio::task::JoinHandle;

pub use flow::{Heard, Tap};
pub use retained::{RetainedChange, RetainedStore};

use crate::access::Access;
use crate::tls::TlsFiles;
use flow::{Flow, FlowHook, TapSlot};
use guard::{Guard, Sessions};
use listeners::Kind;
use retained::{PersistentRetain, RetainWriter};

/// Errors starting the broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: anyhow::Error,
    },
    #[error("broker start-up failed: {0}")]
    Start(anyhow::Error),
    #[error("cannot load the retained messages: {0}")]
    Retained(anyhow::Error),
}

/// Limits that keep the broker's memory bounded and protect it from misbehaving clients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BrokerLimits {
    /// Most client sessions at once (connected or persisted); more are refused with
    /// CONNACK 0x03 (3.1.1) / 0x97 (5).
    pub max_connections: usize,
    /// Largest MQTT packet accepted; a larger one disconnects its sender.
    pub max_packet_bytes: u32,
    /// QoS 1/2 messages in flight to one client before the broker queues.
    pub max_inflight: u16,
    /// Messages queued for one session (offline or slow) before the oldest are dropped;
    /// a QoS 1/2 publisher waits while a connected subscriber's queue is half full.
    pub max_queued_messages: usize,
    /// Longest a QoS 1/2 publisher waits for full subscribers; past it, the subscriber is
    /// taken for stalled and its overflow dropped. At most [`MAX_PACE_LIMIT`].
    pub pace_limit: Duration,
    /// Longest client id accepted.
    pub max_client_id_len: usize,
    /// Time a new connection has to send CONNECT.
    pub handshake_timeout: Duration,
}

impl Default for BrokerLimits {
    fn default() -> Self {
        BrokerLimits {
            max_connections: 1_000,
            max_packet_bytes: 1024 * 1024,
            max_inflight: 32,
            max_queued_messages: 1_000,
            pace_limit: Duration::from_secs(3),
            max_client_id_len: 256,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// The longest a publisher may be held by pacing. With the recorder's 1 s it stays under the
/// 5 s rmqtt gives an old session to let go when its client reconnects (a session still held
/// would live on beside the new one and send the will).
pub const MAX_PACE_LIMIT: Duration = Duration::from_secs(3);

/// What the broker needs to start.
pub struct BrokerOptions {
    pub mqtt: SocketAddr,
    pub ws: Option<SocketAddr>,
    /// MQTT over TLS and secure WebSocket; both need `tls`.
    pub mqtts: Option<SocketAddr>,
    pub wss: Option<SocketAddr>,
    pub tls: Option<TlsFiles>,
    /// Who may connect, and what they may do.
    pub access: Access,
    pub limits: BrokerLimits,
    pub sys_interval: Duration,
    /// Where retained messages are kept across restarts.
    pub retained: Box<dyn RetainedStore>,
}

/// A running broker.
pub struct Broker {
    pub mqtt_addr: SocketAddr,
    pub ws_addr: Option<SocketAddr>,
    pub mqtts_addr: Option<SocketAddr>,
    pub wss_addr: Option<SocketAddr>,
    pub handle: BrokerHandle,
    task: JoinHandle<()>,
    enforcer: JoinHandle<()>,
    retain_writer: RetainWriter,
}

/// Messages the broker has handled since it started.
#[derive(Debug, Default)]
pub struct MessageCounters {
    /// PUBLISH packets received from clients.
    pub received: AtomicU64,
    /// Messages delivered to subscribers.
    pub delivered: AtomicU64,
    /// Messages dropped (a full queue, an expired message, no route).
    pub dropped: AtomicU64,
    /// QoS 1/2 publishes held back until a subscriber's queue had room.
    pub paced: AtomicU64,
    /// Times a subscriber stayed full past the pace limit and publishers stopped waiting.
    pub stalled: AtomicU64,
}

/// What the rest of the hub may ask of the running broker. Cheap to clone.
#[derive(Clone)]
pub struct BrokerHandle {
    scx: ServerContext,
    pub counters: Arc<MessageCounters>,
    sessions: Sessions,
    tap: TapSlot,
}

/// A retained message the broker holds.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldMessage {
    pub topic: String,
    pub payload: bytes::Bytes,
    pub qos: u8,
    /// When it was published, Unix milliseconds.
    pub created_ms: i64,
}

impl BrokerHandle {
    /// Every retained message the broker holds.
    pub async fn retained_messages(&self) -> Vec<HeldMessage> {
        let store = self.scx.extends.retain().await;
        let mut all = Vec::new();
        let mut offset = 0;
        loop {
            let Ok((page, more)) = store.get_all_paginated(offset, 1000).await else {
                break;
            };
            offset += page.len();
            let empty = page.is_empty();
            all.extend(page.into_iter().map(|(topic, r, _)| HeldMessage {
                topic: topic.to_string(),
                payload: r.publish.payload.clone(),
                qos: r.publish.qos.value(),
                created_ms: r.publish.create_time.unwrap_or_else(crate::now_ms),
            }));
            if !more || empty {
                break;
            }
        }
        all
    }

    /// Clients connected right now.
    pub fn connections(&self) -> isize {
        self.scx.connections.count()
    }

    /// Whether a client subscribes to `topic` with a filter free of `#`: a device listening
    /// at exactly that depth (`home/hall/light/set`, `home/+/light/set`), not a monitor
    /// subscribed to everything.
    pub fn listened(&self, topic: &str) -> bool {
        // The router lock is only written while the broker is being set up.
        let Ok(router) = self.scx.extends.router.try_read() else {
            return false;
        };
        router
            .relations()
            .iter()
            .any(|e| !e.key().contains('#') && filter_matches(e.key(), topic))
    }
}

/// MQTT topic matching for filters without `#`: equal depth, `+` matching one level.
fn filter_matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b || a == "+" => {}
            _ => return false,
        }
    }
}

/// Counts messages through rmqtt's hooks.
struct Counting(Arc<MessageCounters>);

#[async_trait]
impl Handler for Counting {
    async fn hook(&self, param: &Parameter, acc: Option<HookResult>) -> ReturnType {
        let c = match param {
            Parameter::MessagePublish(Some(_), _, _) => &self.0.received,
            Parameter::MessageDelivered(..) => &self.0.delivered,
            Parameter::MessageDropped(..) => &self.0.dropped,
            _ => return (true, acc),
        };
        c.fetch_add(1, Ordering::Relaxed);
        (true, acc)
    }
}

impl Broker {
    /// Binds the listeners (so a port-0 address has its real port when this returns) and
    /// starts serving.
    pub async fn start(opts: BrokerOptions) -> Result<Broker, BrokerError> {
        let sys_cfg = format!(
            "publish_qos = 0\npublish_interval = \"{}s\"\nmessage_expiry_interval = \"5m\"\n",
            opts.sys_interval.as_secs().max(1)
        );
        let scx = ServerContext::new()
            .node_id(1)
            .mqtt_max_sessions(opts.limits.max_connections as isize)
            .plugins_config_map_add("rmqtt-sys-topic", sys_cfg)
            .build()
            .await;

        let (retained, retain_writer) = PersistentRetain::load(opts.retained)
            .await
            .map_err(BrokerError::Retained)?;
        *scx.extends.retain_mut().await = Box::new(retained);
        rmqtt_sys_topic::register(&scx, true, false)
            .await
            .map_err(BrokerError::Start)?;
        let counters = Arc::new(MessageCounters::default());
        let sessions = Sessions::default();
        let tap = TapSlot::default();
        let flow = Flow {
            scx: scx.clone(),
            access: opts.access.clone(),
            tap: tap.clone(),
            counters: counters.clone(),
            pace_limit: opts.limits.pace_limit,
            queues: Mutex::default(),
            stalled: Mutex::default(),
            waiting: Mutex::default(),
            routed: Mutex::default(),
            epoch: Default::default(),
        };
        register_hooks(&scx, &counters, &opts.access, &sessions, flow).await;

        let limits = &opts.limits;
        let tls = opts.tls.as_ref();
        let (tcp, mqtt_addr) = listeners::bind(limits, "tcp", Kind::Tcp, opts.mqtt, None)?;
        let mut server = MqttServer::new(scx.clone()).listener_by_id(tcp, 1);
        let mut bound = [None; 3];
        // Listener ids: 1 mqtt, 2 ws, 4 mqtts, 5 wss (3 was a loopback listener of the hub's).
        let optional = [
            (opts.ws, "ws", Kind::Ws, 2, None),
            (opts.mqtts, "mqtts", Kind::Tls, 4, tls),
            (opts.wss, "wss", Kind::Wss, 5, tls),
        ];
        for (i, (addr, name, kind, id, tls)) in optional.into_iter().enumerate() {
            // The TLS listeners need certificates; the hub makes them whenever one is on.
            let Some(addr) = addr.filter(|_| tls.is_some() || matches!(kind, Kind::Ws)) else {
                continue;
            };
            let (l, a) = listeners::bind(limits, name, kind, addr, tls)?;
            bound[i] = Some(a);
            server = server.listener_by_id(l, id);
        }
        let server = server.build();
        let task = tokio::spawn(async move {
            if let Err(e) = server.run().await {
                tracing::error!("broker stopped: {e}");
            }
        });
        let handle = BrokerHandle {
            scx,
            counters,
            sessions,
            tap,
        };
        let enforcer = tokio::spawn(enforce_revocations(handle.clone(), opts.access));
        let [ws_addr, mqtts_addr, wss_addr] = bound;
        Ok(Broker {
            mqtt_addr,
            ws_addr,
            mqtts_addr,
            wss_addr,
            handle,
            enforcer,
            task,
            retain_writer,
        })
    }

    /// Clients connected right now.
    pub fn connections(&self) -> isize {
        self.handle.connections()
    }

    /// Waits until every retained message change so far is kept; call before closing the
    /// store.
    pub async fn flush_retained(&self) {
        self.retain_writer.flush().await;
    }

    /// Stops accepting and drops every connection.
    pub fn stop(self) {
        self.enforcer.abort();
        self.task.abort();
    }
}

async fn register_hooks(
    scx: &ServerContext,
    counters: &Arc<MessageCounters>,
    access: &Access,
    sessions: &Sessions,
    flow: Flow,
) {
    let register = scx.extends.hook_mgr().register();
    let flow = Arc::new(flow);
    for t in [
        Type::MessagePublish,
        Type::MessageDelivered,
        Type::MessageDropped,
        Type::ClientConnected,
        Type::ClientDisconnected,
        Type::SessionSubscribed,
        Type::SessionUnsubscribed,
        Type::SessionTerminated,
    ] {
        register.add(t, Box::new(FlowHook(flow.clone()))).await;
    }
    for t in [
        Type::MessagePublish,
        Type::MessageDelivered,
        Type::MessageDropped,
    ] {
        register.add(t, Box::new(Counting(counters.clone()))).await;
    }
    for t in [
        Type::ClientAuthenticate,
        Type::ClientConnected,
        Type::ClientDisconnected,
        Type::ClientSubscribeCheckAcl,
        Type::MessagePublishCheckAcl,
    ] {
        let guard = Guard {
            access: access.clone(),
            sessions: sessions.clone(),
        };
        register.add(t, Box::new(guard)).await;
    }
    register.start().await;
}

/// Disconnects the sessions a revocation ends, on every revocation.
async fn enforce_revocations(handle: BrokerHandle, access: Access) {
    let mut revocations = access.revocations();
    while revocations.changed().await.is_ok() {
        handle.enforce(&access).await;
    }
}

#[cfg(test)]
mod tests {
    use super::filter_matches;

    #[test]
    fn filters_without_hash() {
        assert!(filter_matches("home/hall/light/set", "home/hall/light/set"));
        assert!(filter_matches("home/+/light/set", "home/hall/light/set"));
        assert!(!filter_matches("home/+/light", "home/hall/light/set"));
        assert!(!filter_matches(
            "home/hall/light/set/x",
            "home/hall/light/set"
        ));
        assert!(!filter_matches(
            "home/kitchen/light/set",
            "home/hall/light/set"
        ));
    }
}
