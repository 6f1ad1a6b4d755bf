//! The core API: one façade over the hub that both front ends use, the HTTP/WebSocket API
//! (`http`) and the desktop shell. Every method is a question or an order a dashboard has;
//! errors carry a stable `code` and a message fit to show.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{broadcast, watch};
use utoipa::ToSchema;

use crate::auth::Access;
use crate::broker::BrokerHandle;
use crate::commands::{self, Command, Target, TopicProbe, Tracker};
use crate::events::{Bus, Event};
use crate::hub::ListenerInfo;
use crate::mdns::Mdns;
use crate::recorder::RecorderStats;
use crate::registry::{Device, DeviceKind, Registry, Room, TopicInfo};
use crate::store::{History, Store, StoreError};
use crate::tls::TlsFiles;

/// What went wrong, as a caller sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is wrong (400).
    BadRequest,
    /// No such thing (404).
    NotFound,
    /// Sign-in needed: no token, or one that is not valid (401).
    Unauthorized,
    /// Not allowed from where the request came (403).
    Forbidden,
    /// It clashes with what exists (409).
    Conflict,
    /// The hub failed (500); the message says no more than that.
    Internal,
}

/// An error from the core API: `{"code": "...", "message": "..."}` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ApiError {
    #[serde(skip)]
    pub kind: ErrorKind,
    /// Stable, machine-readable: `not_found`, `bad_range`, `not_a_light`, …
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorKind, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::NotFound, "not_found", what)
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::BadRequest, code, message)
    }

    /// Logs the cause and returns an error that does not reveal it.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {cause}");
        ApiError::new(
            ErrorKind::Internal,
            "internal",
            "the hub failed to answer; details are in its log",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadRange(m) => ApiError::bad_request("bad_range", m),
            e => ApiError::internal(e),
        }
    }
}

/// A listener with its address, as shown on the Broker page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// `mqtt`, `ws`, `http`.
    pub name: String,
    pub address: String,
}

/// The broker's state.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrokerStatus {
    /// `embedded`, or `external` with `externalBroker` set.
    pub mode: String,
    pub external_broker: Option<String>,
    /// Whether the hub's own client is connected and subscribed.
    pub hub_connected: bool,
    /// Clients connected (embedded broker only; includes the hub's own client).
    pub clients: Option<i64>,
    /// Publishes received per second, over the last five seconds.
    pub messages_in_per_sec: f64,
    /// Messages delivered to subscribers per second (embedded broker only).
    pub messages_out_per_sec: Option<f64>,
    pub messages_in_total: u64,
    pub messages_out_total: Option<u64>,
    pub messages_dropped_total: Option<u64>,
    pub listeners: Vec<Listener>,
    pub topics: usize,
    pub pending_commands: usize,
    /// Clients of the live events (WebSocket streams, the desktop window).
    pub event_listeners: usize,
    pub readings_stored: u64,
    /// Readings the recorder could not keep up with.
    pub readings_dropped: u64,
    pub uptime_secs: u64,
}

/// A node of the topic tree: one level of a topic, with the topic's details when a
/// message was published at exactly this level.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopicNode {
    /// This level's name.
    pub name: String,
    /// The full topic up to this level.
    pub path: String,
    /// Messages on this topic and every topic below it.
    pub messages: u64,
    pub info: Option<TopicInfo>,
    #[schema(no_recursion)]
    pub children: Vec<TopicNode>,
}

/// A history answer with what it is the history of.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriesHistory {
    pub topic: String,
    pub field: String,
    /// Unix seconds, inclusive.
    pub from: i64,
    /// Unix seconds, exclusive.
    pub to: i64,
    pub history: History,
}

/// Where the hub's client gets its messages, for the Broker page.
#[derive(Clone)]
pub enum BrokerLink {
    Embedded(BrokerHandle),
    External(String),
}

/// The parts the façade is made of; `Hub::start` assembles them.
pub struct Parts {
    pub registry: Registry,
    pub store: Store,
    /// The recorder's counters (not the recorder: the API must not keep it running).
    pub recorder_stats: Arc<RecorderStats>,
    pub tracker: Tracker,
    pub bus: Bus,
    pub broker: BrokerLink,
    pub listeners: Vec<ListenerInfo>,
    pub connected: watch::Receiver<bool>,
    pub retention_days: u32,
    /// Messages the hub's client received.
    pub hub_received: Arc<AtomicU64>,
    /// Credentials and rules (used by the embedded broker only), phones, settings.
    pub access: Access,
    /// The hub's certificates, when a TLS listener is on.
    pub tls: Option<TlsFiles>,
    pub mdns: Option<Mdns>,
    /// The host name phones should use for the dashboard, if the user gave one.
    pub public_host: Option<String>,
}

/// The core API. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) p: Parts,
    started: Instant,
    rates: Mutex<Rates>,
}

/// Counter samples of the last few seconds: rates over a window, so devices reporting
/// every few seconds do not show as a rate jumping between zero and a burst.
#[derive(Default, Clone)]
struct Rates {
    samples: std::collections::VecDeque<(Instant, u64, u64)>,
    in_per_sec: f64,
    out_per_sec: f64,
}

const RATE_WINDOW: usize = 5;

/// The most history points a caller may ask for.
pub const MAX_POINTS: usize = 10_000;
/// The most log entries one call returns.
pub const MAX_LOG: u32 = 1000;

impl Api {
    pub fn new(parts: Parts) -> Api {
        Api {
            inner: Arc::new(Inner {
                p: parts,
                started: Instant::now(),
                rates: Mutex::new(Rates::default()),
            }),
        }
    }

    /// Devices grouped by room, with lights' states and latest commands.
    pub fn devices(&self) -> Vec<Room> {
        let mut rooms = self.inner.p.registry.rooms();
        for r in &mut rooms {
            for d in &mut r.devices {
                self.enrich(d);
            }
        }
        rooms
    }

    /// One device by id (`<room>/<thing>`).
    pub fn device(&self, id: &str) -> Result<Device, ApiError> {
        let mut d = self.registered(id)?;
        self.enrich(&mut d);
        Ok(d)
    }

    /// A device as the registry knows it (not enriched).
    fn registered(&self, id: &str) -> Result<Device, ApiError> {
        self.inner
            .p
            .registry
            .device(id)
            .ok_or_else(|| ApiError::not_found(format!("no device '{id}'")))
    }

    /// Adds what the tracker and the conventions know to a light.
    fn enrich(&self, d: &mut Device) {
        if d.kind != DeviceKind::Light {
            return;
        }
        let (conv, topic) = commands::detect(&d.state_topic, self);
        d.command_topic = Some(topic);
        d.convention = Some(conv.name().to_string());
        d.light = self.inner.p.tracker.light(&d.id);
        d.last_command = self.inner.p.tracker.last_command(&d.id);
    }

    /// Every topic seen, flat and sorted.
    pub fn topics(&self) -> Vec<TopicInfo> {
        self.inner.p.registry.topics()
    }

    /// Every topic seen, as a tree of levels.
    pub fn topic_tree(&self) -> Vec<TopicNode> {
        build_tree(self.inner.p.registry.topics())
    }

    /// History of one series over `[from, to)` Unix seconds in at most `points` buckets.
    pub async fn history(
        &self,
        topic: &str,
        field: &str,
        from: i64,
        to: i64,
        points: usize,
    ) -> Result<SeriesHistory, ApiError> {
        if points == 0 || points > MAX_POINTS {
            return Err(ApiError::bad_request(
                "bad_range",
                format!("points must be between 1 and {MAX_POINTS}"),
            ));
        }
        let h = self
            .inner
            .p
            .store
            .history_of(topic, field, from, to, points, self.inner.p.retention_days)
            .await?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no readings recorded for topic '{topic}' field '{field}'"
                ))
            })?;
        Ok(SeriesHistory {
            topic: topic.to_string(),
            field: field.to_string(),
            from,
            to,
            history: h,
        })
    }

    /// Switches a light; the returned command is pending (or already failed). Its fate
    /// follows as `command_updated` events.
    pub fn switch_light(&self, id: &str, on: bool) -> Result<Command, ApiError> {
        let d = self.light(id)?;
        let (conv, topic) = commands::detect(&d.state_topic, self);
        let target = Target {
            light: d.id,
            command_topic: topic,
            convention: conv.name(),
            payload_on: conv.command_payload(true),
            payload_off: conv.command_payload(false),
        };
        Ok(self.inner.p.tracker.switch(&target, on))
    }

    /// A device that must be a light, not enriched.
    fn light(&self, id: &str) -> Result<Device, ApiError> {
        let d = self.registered(id)?;
        if d.kind != DeviceKind::Light {
            return Err(ApiError::bad_request(
                "not_a_light",
                format!("device '{id}' is not a light"),
            ));
        }
        Ok(d)
    }

    /// One command log entry.
    pub async fn command(&self, id: i64) -> Result<Command, ApiError> {
        if let Some(c) = self.inner.p.tracker.recent(id) {
            return Ok(c);
        }
        self.inner.p.tracker.synced().await;
        self.inner
            .p
            .store
            .command(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no command {id}")))
    }

    /// A light's log, newest first.
    pub async fn commands(
        &self,
        light: &str,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<Command>, ApiError> {
        if limit == 0 || limit > MAX_LOG {
            return Err(ApiError::bad_request(
                "bad_limit",
                format!("limit must be between 1 and {MAX_LOG}"),
            ));
        }
        self.light(light)?;
        self.inner.p.tracker.synced().await;
        Ok(self.inner.p.store.commands_of(light, limit, before).await?)
    }

    /// The broker's state, with message rates over the last five seconds.
    pub fn broker_status(&self) -> BrokerStatus {
        let p = &self.inner.p;
        let (in_per_sec, out_per_sec) = {
            let r = self.inner.rates.lock().expect("rates lock poisoned");
            (r.in_per_sec, r.out_per_sec)
        };
        let (mode, external, clients, counters) = match &p.broker {
            BrokerLink::Embedded(b) => ("embedded", None, Some(b.connections() as i64), {
                let c = &b.counters;
                Some((
                    c.received.load(Ordering::Relaxed),
                    c.delivered.load(Ordering::Relaxed),
                    c.dropped.load(Ordering::Relaxed),
                ))
            }),
            BrokerLink::External(url) => ("external", Some(url.clone()), None, None),
        };
        let stats = &p.recorder_stats;
        BrokerStatus {
            mode: mode.to_string(),
            external_broker: external,
            hub_connected: *p.connected.borrow(),
            clients,
            messages_in_per_sec: in_per_sec,
            messages_out_per_sec: counters.map(|_| out_per_sec),
            messages_in_total: counters
                .map(|c| c.0)
                .unwrap_or_else(|| p.hub_received.load(Ordering::Relaxed)),
            messages_out_total: counters.map(|c| c.1),
            messages_dropped_total: counters.map(|c| c.2),
            listeners: p
                .listeners
                .iter()
                .map(|l| Listener {
                    name: l.name.to_string(),
                    address: l.addr.to_string(),
                })
                .collect(),
            topics: p.registry.topic_count(),
            pending_commands: p.tracker.pending_count(),
            event_listeners: p.bus.listener_count(),
            readings_stored: stats.rows_written.load(Ordering::Relaxed),
            readings_dropped: stats.dropped.load(Ordering::Relaxed),
            uptime_secs: self.inner.started.elapsed().as_secs(),
        }
    }

    /// Samples the message counters; called once a second by [`Api::run_stats`].
    fn sample_rates(&self) {
        let p = &self.inner.p;
        let (received, delivered) = match &p.broker {
            BrokerLink::Embedded(b) => (
                b.counters.received.load(Ordering::Relaxed),
                b.counters.delivered.load(Ordering::Relaxed),
            ),
            BrokerLink::External(_) => (p.hub_received.load(Ordering::Relaxed), 0),
        };
        let now = Instant::now();
        let mut r = self.inner.rates.lock().expect("rates lock poisoned");
        r.samples.push_back((now, received, delivered));
        if r.samples.len() > RATE_WINDOW + 1 {
            r.samples.pop_front();
        }
        if let (Some(&(t0, in0, out0)), true) = (r.samples.front(), r.samples.len() > 1) {
            let secs = now.duration_since(t0).as_secs_f64().max(1e-3);
            r.in_per_sec = received.saturating_sub(in0) as f64 / secs;
            r.out_per_sec = delivered.saturating_sub(out0) as f64 / secs;
        }
    }

    /// Samples rates and sends `broker_stats` every second until `shutdown`.
    pub async fn run_stats(self, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = crate::stopped(&mut shutdown) => return,
                _ = tick.tick() => {
                    self.sample_rates();
                    self.inner.p.bus.send_with(|| Event::BrokerStats(self.broker_status()));
                }
            }
        }
    }

    /// The live events: `reading`, `device_updated`, `light_state`, `command_updated`,
    /// `broker_stats`.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.inner.p.bus.subscribe()
    }

    /// The events bus, for the parts that send.
    pub fn bus(&self) -> &Bus {
        &self.inner.p.bus
    }

    /// A device's update event, when anyone listens.
    pub fn announce_device(&self, id: &str) {
        if self.inner.p.bus.has_listeners()
            && let Ok(d) = self.device(id)
        {
            self.inner
                .p
                .bus
                .send_with(|| Event::DeviceUpdated(Box::new(d)));
        }
    }
}

impl TopicProbe for Api {
    fn seen(&self, topic: &str) -> bool {
        self.inner.p.registry.seen(topic)
    }
    fn listened(&self, topic: &str) -> bool {
        match &self.inner.p.broker {
            BrokerLink::Embedded(b) => b.listened(topic),
            BrokerLink::External(_) => false,
        }
    }
}

fn build_tree(topics: Vec<TopicInfo>) -> Vec<TopicNode> {
    #[derive(Default)]
    struct N {
        info: Option<TopicInfo>,
        children: BTreeMap<String, N>,
    }
    let mut root = N::default();
    for t in topics {
        let mut n = &mut root;
        for level in t.topic.split('/') {
            n = n.children.entry(level.to_string()).or_default();
        }
        n.info = Some(t);
    }
    fn convert(map: BTreeMap<String, N>, prefix: Option<&str>) -> Vec<TopicNode> {
        map.into_iter()
            .map(|(name, n)| {
                let path = match prefix {
                    Some(p) => format!("{p}/{name}"),
                    None => name.clone(),
                };
                let children = convert(n.children, Some(&path));
                let messages = n.info.as_ref().map_or(0, |i| i.messages)
                    + children.iter().map(|c| c.messages).sum::<u64>();
                TopicNode {
                    name,
                    path,
                    messages,
                    info: n.info,
                    children,
                }
            })
            .collect()
    }
    convert(root.children, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(topic: &str, messages: u64) -> TopicInfo {
        TopicInfo {
            topic: topic.into(),
            first_seen_ms: 0,
            last_seen_ms: 0,
            messages,
            qos: 0,
            retained: false,
            last_payload: String::new(),
            payload_bytes: 0,
            truncated: false,
        }
    }

    #[test]
    fn tree_of_levels_with_counts() {
        let tree = build_tree(vec![
            info("home/hall/light", 2),
            info("home/hall/light/set", 1),
            info("home/kitchen/temperature", 5),
            info("/leading", 1),
        ]);
        assert_eq!(tree.len(), 2);
        assert_eq!((tree[0].name.as_str(), tree[0].path.as_str()), ("", ""));
        assert_eq!(tree[0].children[0].path, "/leading");
        let home = &tree[1];
        assert_eq!((home.path.as_str(), home.messages), ("home", 8));
        let light = &home.children[0].children[0];
        assert_eq!(light.path, "home/hall/light");
        assert_eq!(light.messages, 3);
        assert_eq!(light.info.as_ref().unwrap().messages, 2);
        assert_eq!(light.children[0].path, "home/hall/light/set");
    }

    #[test]
    fn error_json_is_code_and_message() {
        let e = ApiError::not_found("no device 'x/y'");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"code":"not_found","message":"no device 'x/y'"})
        );
        let e = ApiError::internal("disk I/O error at /secret/path");
        assert!(!e.message.contains("secret"));
        assert_eq!(e.kind, ErrorKind::Internal);
    }
}
