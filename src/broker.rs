//! The embedded MQTT broker: rmqtt, in-process, with its retained messages in the hub's
//! SQLite store.
//!
//! rmqtt keeps the broker's state in a `ServerContext` value, not in a process-wide
//! singleton, but it spawns each connection as its own task on the ambient tokio runtime, and
//! those tasks outlive the server task: stopping an in-process broker stops accepting, while
//! live connections last until the runtime ends. It also caches its "node busy" check in
//! process-wide statics. So a process hosts one hub; integration tests spawn `hearthd` per
//! test (see ARCHITECTURE.md).

use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::str::FromStr;
use std::time::Duration;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use rmqtt::context::ServerContext;
use rmqtt::hook::{Handler, HookResult, Parameter, ReturnType, Type};
use rmqtt::net::Builder;
use rmqtt::retain::{DefaultRetainStorage, RetainStorage};
use rmqtt::server::MqttServer;
use rmqtt::types::{Retain, TopicFilter, TopicName};
use rmqtt::utils::StatsMergeMode;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use std::collections::HashMap;

use rmqtt::codec::v5::SubscribeAckReason;
use rmqtt::types::{AuthResult, Id, PublishAclResult, SubscribeAclResult};

use crate::acl::Request;
use crate::auth::{Access, AuthOutcome};
use crate::config::BrokerLimits;
use crate::store::{RetainOp, Store};
use crate::tls::TlsFiles;

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
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What the broker needs to start.
#[derive(Debug, Clone)]
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
}

/// Messages the hub's own session may have queued before the broker drops the oldest.
const INTERNAL_QUEUE: usize = 20_000;

/// A running broker.
pub struct Broker {
    pub mqtt_addr: SocketAddr,
    pub ws_addr: Option<SocketAddr>,
    pub mqtts_addr: Option<SocketAddr>,
    pub wss_addr: Option<SocketAddr>,
    /// Loopback listener reserved for the hub's own client: its session may queue far more
    /// than a device's, so a burst from many devices reaches the recorder instead of being
    /// dropped at the per-session queue limit.
    pub internal_addr: SocketAddr,
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
}

/// What the rest of the hub may ask of the running broker. Cheap to clone.
#[derive(Clone)]
pub struct BrokerHandle {
    scx: ServerContext,
    pub counters: Arc<MessageCounters>,
    sessions: Sessions,
}

impl BrokerHandle {
    /// Clients connected right now.
    pub fn connections(&self) -> isize {
        self.scx.connections.count()
    }

    /// MQTT sessions connected right now with this username.
    pub fn sessions_of(&self, username: &str) -> usize {
        self.sessions
            .lock()
            .expect("sessions lock")
            .values()
            .filter(|s| s.id.username.as_deref() == Some(username))
            .count()
    }

    /// Disconnects every session whose credential (or anonymous access) is no longer valid.
    pub async fn enforce(&self, access: &Access) {
        self.disconnect(
            |s| !access.still_valid(s.id.username.as_deref(), s.local),
            "its access was revoked",
        )
        .await;
    }

    /// Disconnects the sessions whose rules changed: those of credential `Some(username)`,
    /// or the anonymous ones from the LAN for `None` (anonymous clients on this PC are not
    /// bound by rules). MQTT gives a broker no way to take back a subscription it granted,
    /// so a client reconnects and subscribes again under its new rules, as Mosquitto's
    /// dynamic-security plugin has clients do.
    pub async fn reconnect_subject(&self, username: Option<&str>) {
        self.disconnect(
            |s| s.id.username.as_deref() == username && (username.is_some() || !s.local),
            "its rules changed",
        )
        .await;
    }

    async fn disconnect(&self, which: impl Fn(&LiveSession) -> bool, why: &str) {
        let gone: Vec<Id> = self
            .sessions
            .lock()
            .expect("sessions lock")
            .values()
            .filter(|s| which(s))
            .map(|s| s.id.clone())
            .collect();
        for id in gone {
            tracing::info!(
                "disconnecting {} ({:?}): {why}",
                id.client_id,
                id.username.as_deref().unwrap_or("anonymous")
            );
            let mut entry = self.scx.extends.shared().await.entry(id.clone());
            if let Err(e) = entry.kick(true, true, true).await {
                // rmqtt reports a kick whose reply was dropped as an error, though the session is gone.
                tracing::debug!("disconnecting {}: {e}", id.client_id);
            }
            let mut s = self.sessions.lock().expect("sessions lock");
            if s.get(&*id.client_id)
                .is_some_and(|x| x.id.create_time == id.create_time)
            {
                s.remove(&*id.client_id);
            }
        }
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
            (Some(a), Some(b)) if a == "+" || a == b => {}
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

/// Live sessions by client id, for disconnecting revoked ones.
type Sessions = Arc<std::sync::Mutex<HashMap<String, LiveSession>>>;

struct LiveSession {
    id: Id,
    /// Connected from this PC.
    local: bool,
}

/// Authenticates every CONNECT and checks every SUBSCRIBE and PUBLISH against the access
/// rules (superusers — the hub's own clients, trusted local clients — skip the rule checks
/// inside rmqtt).
struct Guard {
    access: Access,
    sessions: Sessions,
}

#[async_trait]
impl Handler for Guard {
    async fn hook(&self, param: &Parameter, acc: Option<HookResult>) -> ReturnType {
        match param {
            Parameter::ClientAuthenticate(ci) => {
                let peer = ci.id().remote_addr.map(|a| a.ip());
                let user = ci.username().map(|u| u.as_ref());
                let password = ci.password().map(|p| p.as_ref());
                let r = match self.access.authenticate(user, password, peer).await {
                    AuthOutcome::Superuser => AuthResult::Allow(true, None),
                    AuthOutcome::Limited => AuthResult::Allow(false, None),
                    AuthOutcome::BadCredentials => AuthResult::BadUsernameOrPassword,
                    AuthOutcome::NotAuthorized => AuthResult::NotAuthorized,
                };
                (false, Some(HookResult::AuthResult(r)))
            }
            Parameter::ClientConnected(s) => {
                let local = s.id.remote_addr.is_some_and(|a| a.ip().is_loopback());
                self.sessions.lock().expect("sessions lock").insert(
                    s.id.client_id.to_string(),
                    LiveSession {
                        id: s.id.clone(),
                        local,
                    },
                );
                (true, acc)
            }
            Parameter::ClientDisconnected(s, _) => {
                let mut map = self.sessions.lock().expect("sessions lock");
                if map
                    .get(&*s.id.client_id)
                    .is_some_and(|x| x.id.create_time == s.id.create_time)
                {
                    map.remove(&*s.id.client_id);
                }
                (true, acc)
            }
            Parameter::ClientSubscribeCheckAcl(s, sub) => {
                let user = s.id.username.as_deref();
                if self
                    .access
                    .allowed(user, &s.id.client_id, Request::Subscribe, &sub.topic_filter)
                {
                    (true, acc)
                } else {
                    tracing::info!(
                        "refused subscription of {} ({}) to {}",
                        s.id.client_id,
                        user.unwrap_or("anonymous"),
                        sub.topic_filter
                    );
                    (
                        false,
                        Some(HookResult::SubscribeAclResult(
                            SubscribeAclResult::new_failure(SubscribeAckReason::NotAuthorized),
                        )),
                    )
                }
            }
            Parameter::MessagePublishCheckAcl(s, p) => {
                let user = s.id.username.as_deref();
                if self
                    .access
                    .allowed(user, &s.id.client_id, Request::Publish, &p.topic)
                {
                    (true, acc)
                } else {
                    tracing::info!(
                        "refused publish of {} ({}) to {}",
                        s.id.client_id,
                        user.unwrap_or("anonymous"),
                        p.topic
                    );
                    (
                        false,
                        Some(HookResult::PublishAclResult(PublishAclResult::rejected(
                            false, None,
                        ))),
                    )
                }
            }
            _ => (true, acc),
        }
    }
}

impl Broker {
    /// Binds the listeners (so a port-0 address has its real port when this returns) and
    /// starts serving.
    pub async fn start(opts: BrokerOptions, store: Store) -> Result<Broker, BrokerError> {
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

        let (retained, retain_writer) = SqliteRetainStorage::load(store).await?;
        *scx.extends.retain_mut().await = Box::new(retained);
        rmqtt_sys_topic::register(&scx, true, false)
            .await
            .map_err(BrokerError::Start)?;
        let counters = Arc::new(MessageCounters::default());
        let register = scx.extends.hook_mgr().register();
        for t in [
            Type::MessagePublish,
            Type::MessageDelivered,
            Type::MessageDropped,
        ] {
            register.add(t, Box::new(Counting(counters.clone()))).await;
        }
        let sessions: Sessions = Arc::default();
        for t in [
            Type::ClientAuthenticate,
            Type::ClientConnected,
            Type::ClientDisconnected,
            Type::ClientSubscribeCheckAcl,
            Type::MessagePublishCheckAcl,
        ] {
            register
                .add(
                    t,
                    Box::new(Guard {
                        access: opts.access.clone(),
                        sessions: sessions.clone(),
                    }),
                )
                .await;
        }
        register.start().await;

        let tcp = listener(&opts.limits, "tcp", opts.mqtt)?
            .tcp()
            .map_err(|e| BrokerError::Bind {
                addr: opts.mqtt,
                source: e,
            })?;
        let mqtt_addr = tcp.local_addr().map_err(BrokerError::Start)?;
        let mut server = MqttServer::new(scx.clone()).listener_by_id(tcp, 1);
        let mut ws_addr = None;
        if let Some(addr) = opts.ws {
            let ws = listener(&opts.limits, "ws", addr)?
                .ws()
                .map_err(|e| BrokerError::Bind { addr, source: e })?;
            ws_addr = Some(ws.local_addr().map_err(BrokerError::Start)?);
            server = server.listener_by_id(ws, 2);
        }
        let mut mqtts_addr = None;
        let mut wss_addr = None;
        if let Some(tls) = &opts.tls {
            if let Some(addr) = opts.mqtts {
                let l = listener_with(&opts.limits, "mqtts", addr, Some(tls))?
                    .tls()
                    .map_err(|e| BrokerError::Bind { addr, source: e })?;
                mqtts_addr = Some(l.local_addr().map_err(BrokerError::Start)?);
                server = server.listener_by_id(l, 4);
            }
            if let Some(addr) = opts.wss {
                let l = listener_with(&opts.limits, "wss", addr, Some(tls))?
                    .wss()
                    .map_err(|e| BrokerError::Bind { addr, source: e })?;
                wss_addr = Some(l.local_addr().map_err(BrokerError::Start)?);
                server = server.listener_by_id(l, 5);
            }
        }
        let internal_limits = BrokerLimits {
            max_inflight: 1024,
            max_queued_messages: INTERNAL_QUEUE,
            ..opts.limits
        };
        let internal = listener(&internal_limits, "internal", ([127, 0, 0, 1], 0).into())?
            .tcp()
            .map_err(BrokerError::Start)?;
        let internal_addr = internal.local_addr().map_err(BrokerError::Start)?;
        server = server.listener_by_id(internal, 3);
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
        };
        let enforcer = {
            let handle = handle.clone();
            let access = opts.access.clone();
            let mut revocations = access.revocations();
            tokio::spawn(async move {
                while revocations.changed().await.is_ok() {
                    handle.enforce(&access).await;
                }
            })
        };
        Ok(Broker {
            mqtt_addr,
            ws_addr,
            mqtts_addr,
            wss_addr,
            internal_addr,
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

    /// Waits until every retained message change so far is in the database; call before
    /// closing the store.
    pub async fn flush_retained(&self) {
        self.retain_writer.flush().await;
    }

    /// Stops accepting and drops every connection.
    pub fn stop(self) {
        self.enforcer.abort();
        self.task.abort();
    }
}

fn listener(
    limits: &BrokerLimits,
    name: &str,
    addr: SocketAddr,
) -> Result<rmqtt::net::Listener, BrokerError> {
    listener_with(limits, name, addr, None)
}

/// A bound listener; with `tls`, ready to become a TLS or WSS one (rmqtt reads the
/// certificate files then).
fn listener_with(
    limits: &BrokerLimits,
    name: &str,
    addr: SocketAddr,
    tls: Option<&TlsFiles>,
) -> Result<rmqtt::net::Listener, BrokerError> {
    Builder::new()
        .tls_cert(tls.map(|t| t.server_cert.display().to_string()))
        .tls_key(tls.map(|t| t.server_key.display().to_string()))
        .name(name)
        .laddr(addr)
        .reuseaddr(Some(true))
        .nodelay(true)
        .max_connections(limits.max_connections)
        .max_packet_size(limits.max_packet_bytes)
        .max_inflight(NonZeroU16::new(limits.max_inflight.max(1)).expect("at least 1"))
        .max_mqueue_len(limits.max_queued_messages)
        .max_clientid_len(limits.max_client_id_len)
        .handshake_timeout(limits.handshake_timeout)
        // Keepalive 0 means "no keepalive" (MQTT-3.1.2-22); accept it.
        .allow_zero_keepalive(true)
        // Messages without an MQTT 5 expiry never expire (rmqtt's default is 5 minutes,
        // which would also silently drop retained messages older than that at delivery).
        .message_expiry_interval(Duration::ZERO)
        // Every CONNECT goes to the `Guard` hook, which knows the anonymous setting.
        .allow_anonymous(false)
        .bind()
        .map_err(|e| BrokerError::Bind { addr, source: e })
}

/// Retained messages in memory for matching (rmqtt's own trie), written through to SQLite so
/// they survive a restart: one store for the hub instead of a second database. The writes go
/// through a writer task, in order and many per transaction: awaiting SQLite's commit (an
/// fsync) inside rmqtt's publish path delayed every retained publish — a light's status
/// reply among them — by about 2 ms.
struct SqliteRetainStorage {
    mem: DefaultRetainStorage,
    writes: mpsc::Sender<RetainWrite>,
}

enum RetainWrite {
    Put {
        topic: String,
        blob: Vec<u8>,
        at_ms: i64,
    },
    Delete(String),
    Flush(oneshot::Sender<()>),
}

/// Changes queued before a publisher of retained messages waits for the database.
const RETAIN_QUEUE: usize = 4096;

/// Handle to the retained-message writer.
struct RetainWriter(mpsc::Sender<RetainWrite>);

impl RetainWriter {
    async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.0.send(RetainWrite::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

impl SqliteRetainStorage {
    async fn load(store: Store) -> Result<(Self, RetainWriter), BrokerError> {
        let mem = DefaultRetainStorage::new();
        for (topic, blob) in store.load_retained().await? {
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
        let (tx, rx) = mpsc::channel(RETAIN_QUEUE);
        tokio::spawn(write_retained(store, rx));
        Ok((
            SqliteRetainStorage {
                mem,
                writes: tx.clone(),
            },
            RetainWriter(tx),
        ))
    }
}

async fn write_retained(store: Store, mut rx: mpsc::Receiver<RetainWrite>) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 256).await > 0 {
        let mut ops = Vec::with_capacity(batch.len());
        let mut acks = Vec::new();
        for w in batch.drain(..) {
            match w {
                RetainWrite::Put { topic, blob, at_ms } => {
                    ops.push(RetainOp::Put { topic, blob, at_ms })
                }
                RetainWrite::Delete(topic) => ops.push(RetainOp::Delete(topic)),
                RetainWrite::Flush(ack) => acks.push(ack),
            }
        }
        if !ops.is_empty()
            && let Err(e) = store.write_retained(&ops).await
        {
            tracing::error!("cannot store {} retained message changes: {e}", ops.len());
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
impl RetainStorage for SqliteRetainStorage {
    fn enable(&self) -> bool {
        true
    }

    async fn set(
        &self,
        topic: &TopicName,
        retain: Retain,
        _listener_expiry: Option<Duration>,
    ) -> rmqtt::Result<()> {
        let write = if retain.publish.payload.is_empty() {
            RetainWrite::Delete(topic.to_string())
        } else {
            RetainWrite::Put {
                topic: topic.to_string(),
                blob: serde_json::to_vec(&retain)?,
                at_ms: crate::now_ms(),
            }
        };
        self.writes
            .send(write)
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
