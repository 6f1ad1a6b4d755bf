//! The core API: one façade over the hub that both front ends use, the HTTP/WebSocket API
//! (`http`) and the desktop shell. Every method is a question or an order a dashboard has;
//! errors carry a stable `code` and a message fit to show. Each part below has its own
//! error type; this module maps them to [`ApiError`].
//!
//! - `devices`: the device view (what the registry describes, with a light's state and last
//!   command), switching lights, the command log.
//! - `data`: the topic tree and recorded history.
//! - `status`: the broker page's figures and the `broker_stats` event.
//! - `events`: the live events and the tracker's observer that sends them.
//! - `topics`: a topic's last messages, publishing, clearing and the retained view, and
//!   the coalesced `topics_changed` event.
//! - `access`: credentials, rules, settings, pairing, phones, the CA.

mod access;
mod data;
mod devices;
mod events;
mod status;
mod topics;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::{broadcast, watch};
use utoipa::ToSchema;

pub use access::{AccessInfo, AclQuestion, MqttSetup, Pairing};
pub use data::{HistoryBatch, SeriesHistory, TopicNode};
pub use devices::{Device, DisplaySettings, FavouritesChange, NamingChange, RemovedDevice, Room};
pub use events::{Event, ReadingEvent, observer};
pub use status::BrokerStatus;
pub use topics::{MAX_PUBLISH_PAYLOAD, PublishRequest, RetainedReport, TopicsChange};
// The wire type of a topic's messages is the registry's own.
pub use crate::devices::TopicMessage;

use crate::access::{Access, AccessError};
use crate::broker::BrokerHandle;
use crate::commands::{CommandError, Publisher, Tracker};
use crate::devices::{DevicesError, Registry};
use crate::events::Bus;
use crate::mdns::Mdns;
use crate::recorder::RecorderStats;
use crate::store::{Store, StoreError};
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

impl From<DevicesError> for ApiError {
    fn from(e: DevicesError) -> Self {
        let message = e.to_string();
        match e {
            DevicesError::NoDevice(_) => ApiError::not_found(message),
            DevicesError::NotALight(_) => ApiError::bad_request("not_a_light", message),
            DevicesError::Offline { .. } => {
                ApiError::new(ErrorKind::Conflict, "device_offline", message)
            }
            DevicesError::BadNaming(_) => ApiError::bad_request("bad_naming", message),
        }
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Store(e) => e.into(),
            e @ CommandError::NoCommand(_) => ApiError::not_found(e.to_string()),
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        use ErrorKind::*;
        let (kind, code) = match &e {
            AccessError::BadUsername => (BadRequest, "bad_username"),
            AccessError::BadPassword => (BadRequest, "bad_password"),
            AccessError::BadTopic(_) => (BadRequest, "bad_topic"),
            AccessError::BadLabel => (BadRequest, "bad_label"),
            AccessError::BadRule(_) => (BadRequest, "bad_rule"),
            AccessError::UsernameTaken(_) => (Conflict, "username_taken"),
            AccessError::NoCredential(_) | AccessError::NoPhone(_) => (NotFound, "not_found"),
            AccessError::BadPairingCode => (Unauthorized, "bad_pairing_code"),
            AccessError::Store(_) | AccessError::Hashing(_) => return ApiError::internal(e),
        };
        ApiError::new(kind, code, e.to_string())
    }
}

/// A listener the hub serves, with its real address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerInfo {
    pub name: &'static str,
    pub addr: SocketAddr,
}

/// The hub's own MQTT link, for the Broker page.
#[derive(Clone)]
pub struct Link {
    pub broker: BrokerLink,
    /// Whether the hub's client is connected and subscribed.
    pub connected: watch::Receiver<bool>,
    /// Messages the hub's client received.
    pub received: Arc<AtomicU64>,
}

/// Where the hub's client gets its messages.
#[derive(Clone)]
pub enum BrokerLink {
    Embedded(BrokerHandle),
    External(String),
}

/// Where phones and devices reach the hub.
#[derive(Clone)]
pub struct Reach {
    pub listeners: Vec<ListenerInfo>,
    /// The hub's certificates, when a TLS listener is on.
    pub tls: Option<TlsFiles>,
    pub mdns: Option<Mdns>,
    /// The host name phones should use for the dashboard, if the user gave one.
    pub public_host: Option<String>,
}

/// The parts the façade is made of; the hub assembles them.
pub struct Parts {
    pub registry: Registry,
    pub tracker: Tracker,
    pub store: Store,
    /// The recorder's counters (not the recorder: the API must not keep it running).
    pub recorder: Arc<RecorderStats>,
    pub bus: Bus<Event>,
    pub link: Link,
    /// Credentials and rules (used by the embedded broker only), phones, settings.
    pub access: Access,
    pub reach: Reach,
    pub retention_days: u32,
    /// The hub's own client, for messages the household publishes (the tracker has it too).
    pub publisher: Arc<dyn Publisher>,
}

/// The core API. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    inner: Arc<Inner>,
}

struct Inner {
    p: Parts,
    started: Instant,
    rates: Mutex<status::Rates>,
    devices: Mutex<devices::Throttle>,
}

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
                rates: Mutex::default(),
                devices: Mutex::default(),
            }),
        }
    }

    fn parts(&self) -> &Parts {
        &self.inner.p
    }

    /// The live events: `reading`, `device_updated`, `light_state`, `command_updated`,
    /// `broker_stats`.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.parts().bus.subscribe()
    }

    /// Whether anyone listens to the live events.
    pub fn has_listeners(&self) -> bool {
        self.parts().bus.has_listeners()
    }

    /// The embedded broker, when the hub runs one.
    fn embedded(&self) -> Option<&BrokerHandle> {
        match &self.parts().link.broker {
            BrokerLink::Embedded(b) => Some(b),
            BrokerLink::External(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn part_errors_keep_their_codes() {
        let cases: [(ApiError, ErrorKind, &str); 5] = [
            (
                DevicesError::NotALight("a/b".into()).into(),
                ErrorKind::BadRequest,
                "not_a_light",
            ),
            (
                DevicesError::NoDevice("a/b".into()).into(),
                ErrorKind::NotFound,
                "not_found",
            ),
            (
                AccessError::BadPairingCode.into(),
                ErrorKind::Unauthorized,
                "bad_pairing_code",
            ),
            (
                AccessError::UsernameTaken("ann".into()).into(),
                ErrorKind::Conflict,
                "username_taken",
            ),
            (
                CommandError::NoCommand(7).into(),
                ErrorKind::NotFound,
                "not_found",
            ),
        ];
        for (e, kind, code) in cases {
            assert_eq!((e.kind, e.code.as_str()), (kind, code), "{e}");
        }
        let e: ApiError = AccessError::NoCredential(3).into();
        assert_eq!(e.message, "no credential 3");
    }
}
