//! Light commands and their fate.
//!
//! `switch` publishes a command at QoS 1 on the light's command topic and tracks it: pending,
//! then confirmed (the light's status reply agrees), mismatch (the reply says otherwise),
//! timed out, superseded by a newer command to the same light, or failed (the hub has no
//! broker, or the broker refused the publish). The hub publishes through its own client,
//! whose `#` subscription has MQTT 5 `noLocal`, so in the seed's same-topic convention its own
//! command never comes back to it as a reply. A status that changes a light's state with no
//! command pending is logged as an external change (a wall switch, a phone).
//!
//! How a light is addressed is a [`Convention`]; adding one is a new impl in [`CONVENTIONS`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::v5::AsyncClient;
use rumqttc::v5::mqttbytes::QoS;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use utoipa::ToSchema;

use crate::events::{Bus, Event};
use crate::store::Store;

/// A light's state as its status payload says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum LightState {
    On,
    Off,
    /// The payload said something else; it is kept raw.
    Unknown,
}

impl LightState {
    pub fn as_str(self) -> &'static str {
        match self {
            LightState::On => "on",
            LightState::Off => "off",
            LightState::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> Option<LightState> {
        match s {
            "on" => Some(LightState::On),
            "off" => Some(LightState::Off),
            "unknown" => Some(LightState::Unknown),
            _ => None,
        }
    }
}

/// What a status payload says: `ON`/`OFF`, `on`/`off`, `true`/`false`, `1`/`0`, or JSON with
/// a `state` (Zigbee2MQTT) or `POWER` (Tasmota) field holding one of those.
pub fn parse_state(payload: &[u8]) -> LightState {
    let Ok(text) = std::str::from_utf8(payload) else {
        return LightState::Unknown;
    };
    let text = text.trim();
    if let Some(s) = state_word(text) {
        return s;
    }
    if text.starts_with('{')
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str(text)
    {
        for key in ["state", "State", "STATE", "POWER", "power"] {
            match map.get(key) {
                Some(serde_json::Value::String(s)) => {
                    if let Some(st) = state_word(s) {
                        return st;
                    }
                }
                Some(serde_json::Value::Bool(b)) => {
                    return if *b { LightState::On } else { LightState::Off };
                }
                _ => {}
            }
        }
    }
    LightState::Unknown
}

fn state_word(s: &str) -> Option<LightState> {
    match s {
        "ON" | "on" | "On" | "true" | "1" => Some(LightState::On),
        "OFF" | "off" | "Off" | "false" | "0" => Some(LightState::Off),
        _ => None,
    }
}

/// What the hub knows about topics, for a convention deciding where a light listens.
pub trait TopicProbe {
    /// A message was seen on `topic`.
    fn seen(&self, topic: &str) -> bool;
    /// A client subscribes to `topic` specifically (not only through a trailing `#`).
    fn listened(&self, topic: &str) -> bool;
}

/// How a family of lights is addressed.
pub trait Convention: Send + Sync {
    /// Stable name, stored with each command.
    fn name(&self) -> &'static str;
    /// Where commands go for a light whose status is on `status_topic`, if the light follows
    /// this convention.
    fn command_topic(&self, status_topic: &str, probe: &dyn TopicProbe) -> Option<String>;
    /// The command payload for a state.
    fn command_payload(&self, on: bool) -> &'static str {
        if on { "ON" } else { "OFF" }
    }
}

/// Command on `<status>/set`, status on `<status>`: chosen when the `/set` topic was seen or a
/// client subscribes to it.
pub struct SetTopic;

impl Convention for SetTopic {
    fn name(&self) -> &'static str {
        "set-topic"
    }
    fn command_topic(&self, status_topic: &str, probe: &dyn TopicProbe) -> Option<String> {
        let set = format!("{status_topic}/set");
        (probe.seen(&set) || probe.listened(&set)).then_some(set)
    }
}

/// The seed's convention: command and status on the same topic.
pub struct SameTopic;

impl Convention for SameTopic {
    fn name(&self) -> &'static str {
        "same-topic"
    }
    fn command_topic(&self, status_topic: &str, _: &dyn TopicProbe) -> Option<String> {
        Some(status_topic.to_string())
    }
}

/// Tried in order; the last one always applies.
pub static CONVENTIONS: [&dyn Convention; 2] = [&SetTopic, &SameTopic];

/// The convention a light follows and its command topic.
pub fn detect(status_topic: &str, probe: &dyn TopicProbe) -> (&'static dyn Convention, String) {
    for c in CONVENTIONS {
        if let Some(t) = c.command_topic(status_topic, probe) {
            return (c, t);
        }
    }
    (&SameTopic, status_topic.to_string())
}

/// Where a log entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Origin {
    /// A command the hub sent.
    Hub,
    /// A state change no command of the hub's explains.
    External,
}

/// The fate of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pending,
    Confirmed,
    /// The light replied with the opposite state.
    Mismatch,
    TimedOut,
    Superseded,
    Failed,
    /// An external change (origin `external`).
    External,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Confirmed => "confirmed",
            Outcome::Mismatch => "mismatch",
            Outcome::TimedOut => "timed_out",
            Outcome::Superseded => "superseded",
            Outcome::Failed => "failed",
            Outcome::External => "external",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "pending" => Outcome::Pending,
            "confirmed" => Outcome::Confirmed,
            "mismatch" => Outcome::Mismatch,
            "timed_out" => Outcome::TimedOut,
            "superseded" => Outcome::Superseded,
            "failed" => Outcome::Failed,
            "external" => Outcome::External,
            _ => return None,
        })
    }
}

/// One entry of a light's log: a command and its fate, or an external change.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Command {
    pub id: i64,
    /// The light's device id, `<room>/<thing>`.
    pub light: String,
    pub origin: Origin,
    /// Where the command went, or where the external status came from.
    pub topic: String,
    pub convention: Option<String>,
    pub desired: Option<LightState>,
    /// The command payload as sent.
    pub payload: Option<String>,
    pub outcome: Outcome,
    /// The status payload as received.
    pub reply: Option<String>,
    pub reply_state: Option<LightState>,
    /// Why it failed, or which command superseded it.
    pub detail: Option<String>,
    /// Unix milliseconds.
    pub sent_ms: i64,
    pub resolved_ms: Option<i64>,
    /// From publishing the command to receiving the reply.
    pub latency_ms: Option<f64>,
}

impl Command {
    /// Rebuilds an entry from its stored columns.
    #[allow(clippy::too_many_arguments)]
    pub fn from_row(
        id: i64,
        light: String,
        origin: &str,
        topic: String,
        convention: Option<String>,
        desired: Option<String>,
        payload: Option<String>,
        outcome: &str,
        reply: Option<String>,
        reply_state: Option<String>,
        detail: Option<String>,
        sent_ms: i64,
        resolved_ms: Option<i64>,
        latency_ms: Option<f64>,
    ) -> Command {
        Command {
            id,
            light,
            origin: if origin == "external" {
                Origin::External
            } else {
                Origin::Hub
            },
            topic,
            convention,
            desired: desired.as_deref().and_then(LightState::parse),
            payload,
            outcome: Outcome::parse(outcome).unwrap_or(Outcome::Failed),
            reply,
            reply_state: reply_state.as_deref().and_then(LightState::parse),
            detail,
            sent_ms,
            resolved_ms,
            latency_ms,
        }
    }
}

/// Where a light's current state came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum StateSource {
    /// The reply to a command of the hub's.
    Reply,
    /// A change no command explains.
    External,
    /// The broker's retained status, replayed when the hub subscribed.
    Retained,
    /// A status repeating the known state.
    Report,
}

/// A light's current state.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LightStatus {
    pub light: String,
    pub state: LightState,
    /// The status payload as received (cut to 512 bytes).
    pub payload: String,
    pub source: StateSource,
    /// Unix milliseconds of the status message.
    pub updated_ms: i64,
}

/// Errors from `switch`.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("the store failed: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// A light the tracker can command.
#[derive(Debug, Clone)]
pub struct Target {
    pub light: String,
    pub command_topic: String,
    pub convention: &'static str,
    pub payload_on: &'static str,
    pub payload_off: &'static str,
}

struct Pending {
    cmd: Command,
    started: Instant,
    /// States asked for by commands this one superseded that have not replied yet: their
    /// late replies are theirs, not a mismatch of this command.
    superseded: Vec<LightState>,
}

/// Late replies to superseded commands remembered per light.
const MAX_SUPERSEDED: usize = 8;

#[derive(Default)]
struct State {
    lights: HashMap<String, LightStatus>,
    last_command: HashMap<String, Command>,
    pending: HashMap<String, Pending>,
    /// Commands handed to the client, in order, awaiting their packet id.
    unassigned: VecDeque<i64>,
    by_pkid: HashMap<u16, i64>,
}

/// Tracks commands. Cheap to clone.
#[derive(Clone)]
pub struct Tracker {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    client: AsyncClient,
    connected: watch::Receiver<bool>,
    bus: Bus,
    writes: mpsc::UnboundedSender<Command>,
    /// Entries handed to the writer, and entries it has stored.
    queued: std::sync::atomic::AtomicU64,
    written: watch::Receiver<u64>,
    close: watch::Sender<bool>,
    next_id: std::sync::atomic::AtomicI64,
    timeout: Duration,
}

const MAX_PAYLOAD_SHOWN: usize = 512;

impl Tracker {
    /// A tracker publishing through `client` (the hub's own, subscribed with `noLocal`).
    /// Commands left pending by an earlier run are closed as timed out. Returns the task
    /// that writes the log; it ends after [`Tracker::close`].
    pub async fn start(
        store: Store,
        client: AsyncClient,
        connected: watch::Receiver<bool>,
        bus: Bus,
        timeout: Duration,
    ) -> Result<(Tracker, tokio::task::JoinHandle<()>), CommandError> {
        store.close_pending_commands(crate::now_ms()).await?;
        let last = store.max_command_id().await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (written_tx, written) = watch::channel(0);
        let (close, close_rx) = watch::channel(false);
        let task = tokio::spawn(write_log(store, rx, written_tx, close_rx));
        Ok((
            Tracker {
                inner: Arc::new(Inner {
                    state: Mutex::new(State::default()),
                    client,
                    connected,
                    bus,
                    writes: tx,
                    queued: std::sync::atomic::AtomicU64::new(0),
                    written,
                    close,
                    next_id: std::sync::atomic::AtomicI64::new(last + 1),
                    timeout,
                }),
            },
            task,
        ))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().expect("tracker lock poisoned")
    }

    /// Stores and announces a new or changed entry. Called with the state lock held, so
    /// events of one light leave in the order they happened.
    fn publish(&self, state: &mut State, cmd: &Command) {
        if cmd.origin == Origin::Hub {
            state.last_command.insert(cmd.light.clone(), cmd.clone());
        }
        if self.inner.writes.send(cmd.clone()).is_ok() {
            self.inner
                .queued
                .fetch_add(1, std::sync::atomic::Ordering::Release);
        }
        self.inner
            .bus
            .send_with(|| Event::CommandUpdated(cmd.clone()));
    }

    /// Sends ON or OFF to a light and starts tracking the command.
    pub fn switch(&self, target: &Target, on: bool) -> Command {
        let id = self
            .inner
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let payload = if on {
            target.payload_on
        } else {
            target.payload_off
        };
        let now = crate::now_ms();
        let mut cmd = Command {
            id,
            light: target.light.clone(),
            origin: Origin::Hub,
            topic: target.command_topic.clone(),
            convention: Some(target.convention.to_string()),
            desired: Some(if on { LightState::On } else { LightState::Off }),
            payload: Some(payload.to_string()),
            outcome: Outcome::Pending,
            reply: None,
            reply_state: None,
            detail: None,
            sent_ms: now,
            resolved_ms: None,
            latency_ms: None,
        };
        let mut st = self.lock();
        let mut superseded = Vec::new();
        if let Some(old) = st.pending.remove(&target.light) {
            superseded = old.superseded;
            if let Some(d) = old.cmd.desired {
                superseded.push(d);
            }
            if superseded.len() > MAX_SUPERSEDED {
                superseded.remove(0);
            }
            let mut c = old.cmd;
            c.outcome = Outcome::Superseded;
            c.detail = Some(format!("superseded by command {id}"));
            c.resolved_ms = Some(now);
            self.publish(&mut st, &c);
        }
        if !*self.inner.connected.borrow() {
            cmd.outcome = Outcome::Failed;
            cmd.detail = Some("the hub is not connected to its MQTT broker".into());
            cmd.resolved_ms = Some(now);
            self.publish(&mut st, &cmd);
            return cmd;
        }
        // Under the lock, so the order of `unassigned` is the order the client sends in.
        if let Err(e) =
            self.inner
                .client
                .try_publish(&target.command_topic, QoS::AtLeastOnce, false, payload)
        {
            cmd.outcome = Outcome::Failed;
            cmd.detail = Some(format!("the hub's MQTT client refused the command: {e}"));
            cmd.resolved_ms = Some(now);
            self.publish(&mut st, &cmd);
            return cmd;
        }
        st.unassigned.push_back(id);
        self.publish(&mut st, &cmd);
        st.pending.insert(
            target.light.clone(),
            Pending {
                cmd: cmd.clone(),
                started: Instant::now(),
                superseded,
            },
        );
        drop(st);
        // Weak: a pending timer does not keep a stopped hub's tracker alive.
        let me = Arc::downgrade(&self.inner);
        let light = target.light.clone();
        let timeout = self.inner.timeout;
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(inner) = me.upgrade() {
                Tracker { inner }.expire(&light, id);
            }
        });
        cmd
    }

    /// Stops the log writer once it has stored every entry so far.
    pub fn close(&self) {
        let _ = self.inner.close.send(true);
    }

    fn expire(&self, light: &str, id: i64) {
        let mut st = self.lock();
        if st.pending.get(light).is_some_and(|p| p.cmd.id == id) {
            let p = st.pending.remove(light).expect("checked");
            let mut c = p.cmd;
            c.outcome = Outcome::TimedOut;
            c.resolved_ms = Some(crate::now_ms());
            c.detail = Some(format!(
                "no status reply within {} ms",
                self.inner.timeout.as_millis()
            ));
            self.publish(&mut st, &c);
        }
    }

    /// The client sent a publish with `pkid`: the oldest unassigned command.
    pub fn on_sent(&self, pkid: u16) {
        let mut st = self.lock();
        if let Some(id) = st.unassigned.pop_front() {
            st.by_pkid.insert(pkid, id);
        }
    }

    /// The broker acknowledged `pkid` with an MQTT 5 reason code; 0x80 and above refuse.
    pub fn on_puback(&self, pkid: u16, reason: u8, reason_name: &str) {
        let mut st = self.lock();
        let Some(id) = st.by_pkid.remove(&pkid) else {
            return;
        };
        if reason < 0x80 {
            return;
        }
        let Some(light) = st
            .pending
            .iter()
            .find(|(_, p)| p.cmd.id == id)
            .map(|(l, _)| l.clone())
        else {
            return;
        };
        let p = st.pending.remove(&light).expect("found");
        let mut c = p.cmd;
        c.outcome = Outcome::Failed;
        c.detail = Some(format!(
            "the broker refused the command: {reason_name} (0x{reason:02x})"
        ));
        c.resolved_ms = Some(crate::now_ms());
        self.publish(&mut st, &c);
    }

    /// The connection to the broker dropped: packet ids no longer map to commands.
    pub fn on_disconnect(&self) {
        let mut st = self.lock();
        st.unassigned.clear();
        st.by_pkid.clear();
    }

    /// A message on a light's status topic. `retained` marks the broker's replay of a
    /// stored status, which is never a reply.
    pub fn on_status(&self, light: &str, topic: &str, payload: &[u8], retained: bool, now: i64) {
        let state = parse_state(payload);
        let cut = payload.len().min(MAX_PAYLOAD_SHOWN);
        let text = String::from_utf8_lossy(&payload[..cut]).into_owned();
        let mut st = self.lock();
        let previous = st.lights.get(light).map(|l| l.state);
        // A light's first report is how it introduces itself, not a change.
        let mut source = if retained {
            StateSource::Retained
        } else if previous.is_none_or(|p| p == state) {
            StateSource::Report
        } else {
            StateSource::External
        };
        if !retained && let Some(p) = st.pending.get_mut(light) {
            let desired = p.cmd.desired;
            let late = (Some(state) != desired)
                .then(|| p.superseded.iter().position(|s| *s == state))
                .flatten();
            if let Some(i) = late {
                // The reply to a command this one superseded: this one still waits.
                p.superseded.remove(i);
                source = StateSource::Reply;
            } else if state != LightState::Unknown {
                let p = st.pending.remove(light).expect("present");
                let mut c = p.cmd;
                c.outcome = if Some(state) == desired {
                    Outcome::Confirmed
                } else {
                    Outcome::Mismatch
                };
                c.reply = Some(text.clone());
                c.reply_state = Some(state);
                c.resolved_ms = Some(now);
                c.latency_ms = Some(p.started.elapsed().as_secs_f64() * 1000.0);
                self.publish(&mut st, &c);
                source = StateSource::Reply;
            } else if let Some(p) = st.pending.get_mut(light) {
                // A status the hub cannot read does not settle the command; the log keeps it.
                p.cmd.reply = Some(text.clone());
                p.cmd.reply_state = Some(state);
                source = StateSource::Reply;
            }
        } else if source == StateSource::External {
            let id = self
                .inner
                .next_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let c = Command {
                id,
                light: light.to_string(),
                origin: Origin::External,
                topic: topic.to_string(),
                convention: None,
                desired: None,
                payload: None,
                outcome: Outcome::External,
                reply: Some(text.clone()),
                reply_state: Some(state),
                detail: None,
                sent_ms: now,
                resolved_ms: Some(now),
                latency_ms: None,
            };
            self.publish(&mut st, &c);
        }
        let status = LightStatus {
            light: light.to_string(),
            state,
            payload: text,
            source,
            updated_ms: now,
        };
        st.lights.insert(light.to_string(), status.clone());
        self.inner.bus.send_with(|| Event::LightState(status));
    }

    /// A light's current state, if it has reported one.
    pub fn light(&self, light: &str) -> Option<LightStatus> {
        self.lock().lights.get(light).cloned()
    }

    /// The latest command to a light, as it stands.
    pub fn last_command(&self, light: &str) -> Option<Command> {
        self.lock().last_command.get(light).cloned()
    }

    /// Waits (at most 5 s) until every entry logged so far is in the store.
    pub async fn synced(&self) {
        let target = self.inner.queued.load(std::sync::atomic::Ordering::Acquire);
        let mut w = self.inner.written.clone();
        let _ = tokio::time::timeout(Duration::from_secs(5), w.wait_for(|n| *n >= target)).await;
    }

    /// A recent entry still held in memory (pending, or the latest of its light).
    pub fn recent(&self, id: i64) -> Option<Command> {
        let st = self.lock();
        st.pending
            .values()
            .map(|p| &p.cmd)
            .chain(st.last_command.values())
            .find(|c| c.id == id)
            .cloned()
    }

    /// Commands waiting for a reply.
    pub fn pending_count(&self) -> usize {
        self.lock().pending.len()
    }
}

/// Writes log entries in order, many per transaction when they come fast.
async fn write_log(
    store: Store,
    mut rx: mpsc::UnboundedReceiver<Command>,
    written: watch::Sender<u64>,
    mut close: watch::Receiver<bool>,
) {
    let mut batch = Vec::new();
    loop {
        let closing = tokio::select! {
            n = rx.recv_many(&mut batch, 512) => n == 0,
            _ = crate::stopped(&mut close) => true,
        };
        if closing {
            while let Ok(c) = rx.try_recv() {
                batch.push(c);
            }
        }
        if !batch.is_empty() {
            if let Err(e) = store.save_commands(&batch).await {
                tracing::error!("cannot store {} command log entries: {e}", batch.len());
            }
            let n = batch.len() as u64;
            written.send_modify(|w| *w += n);
            batch.clear();
        }
        if closing {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        for (p, want) in [
            ("ON", LightState::On),
            ("off", LightState::Off),
            ("true", LightState::On),
            ("0", LightState::Off),
            (" 1 ", LightState::On),
            ("{\"state\":\"ON\"}", LightState::On),
            ("{\"state\":\"off\",\"brightness\":3}", LightState::Off),
            ("{\"POWER\":\"ON\"}", LightState::On),
            ("{\"state\":true}", LightState::On),
            ("dim", LightState::Unknown),
            ("{\"state\":3}", LightState::Unknown),
            ("{\"state\":", LightState::Unknown),
            ("", LightState::Unknown),
            ("oN", LightState::Unknown),
        ] {
            assert_eq!(parse_state(p.as_bytes()), want, "{p:?}");
        }
        assert_eq!(parse_state(&[0xff, 0xfe]), LightState::Unknown);
    }

    struct Probe(&'static [&'static str], &'static [&'static str]);
    impl TopicProbe for Probe {
        fn seen(&self, t: &str) -> bool {
            self.0.contains(&t)
        }
        fn listened(&self, t: &str) -> bool {
            self.1.contains(&t)
        }
    }

    #[test]
    fn conventions() {
        let (c, t) = detect("home/a/light", &Probe(&[], &[]));
        assert_eq!((c.name(), t.as_str()), ("same-topic", "home/a/light"));
        let (c, t) = detect("home/a/light", &Probe(&["home/a/light/set"], &[]));
        assert_eq!((c.name(), t.as_str()), ("set-topic", "home/a/light/set"));
        let (c, _) = detect("home/a/light", &Probe(&[], &["home/a/light/set"]));
        assert_eq!(c.name(), "set-topic");
        assert_eq!(c.command_payload(true), "ON");
    }

    #[test]
    fn outcome_names_round_trip() {
        for o in [
            Outcome::Pending,
            Outcome::Confirmed,
            Outcome::Mismatch,
            Outcome::TimedOut,
            Outcome::Superseded,
            Outcome::Failed,
            Outcome::External,
        ] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
    }
}
