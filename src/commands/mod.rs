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
//! The decisions are a pure state machine ([`machine`]); [`Tracker`] runs it: it publishes
//! through a [`Publisher`], keeps the timers, writes the log ([`log`]) and tells an
//! [`Observer`] of every change. How a light is addressed is the devices module's business
//! ([`LightRoute`]).

mod log;
mod machine;
mod tracker;

use serde::Serialize;
use utoipa::ToSchema;

pub use tracker::Tracker;

use crate::devices::LightState;

/// Where a log entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Origin {
    /// A command the hub sent.
    Hub,
    /// A state change no command of the hub's explains.
    External,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Hub => "hub",
            Origin::External => "external",
        }
    }
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

/// Errors of the command log.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("the store failed: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("no command {0}")]
    NoCommand(i64),
}

/// How commands leave the hub: its MQTT client. Called under the tracker's lock, so it must
/// not wait; the client reports the packet id and the PUBACK later (`Tracker::on_sent`,
/// `Tracker::on_puback`).
pub trait Publisher: Send + Sync {
    /// Whether the client is connected to its broker.
    fn connected(&self) -> bool;
    /// Queues a QoS 1 publish, or says why it cannot.
    fn try_publish(&self, topic: &str, payload: &str) -> Result<(), String>;
    /// Queues any message (the Topics page's publish), apart from the commands' packet ids;
    /// the hub hears it as if from the broker. Says why it cannot.
    fn publish(&self, topic: &str, payload: &[u8], qos: u8, retain: bool) -> Result<(), String> {
        let _ = (topic, payload, qos, retain);
        Err("this publisher sends light commands only".into())
    }
}

/// Who hears of every change the tracker makes, in order per light.
pub trait Observer: Send + Sync {
    /// A log entry is new or changed.
    fn command(&self, c: &Command);
    /// A light reported its state.
    fn light(&self, s: &LightStatus);
}

#[cfg(test)]
mod tests {
    use super::*;

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
