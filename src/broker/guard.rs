//! The broker's gatekeeper: an rmqtt hook that authenticates every CONNECT and checks every
//! SUBSCRIBE and PUBLISH against the access rules (superusers — the hub's own clients,
//! trusted local clients — skip the rule checks inside rmqtt), and keeps the live sessions so
//! revoked ones can be disconnected.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rmqtt::codec::v5::SubscribeAckReason;
use rmqtt::hook::{Handler, HookResult, Parameter, ReturnType};
use rmqtt::types::{AuthResult, Id, PublishAclResult, SubscribeAclResult};

use super::BrokerHandle;
use crate::access::{Access, AuthOutcome};
use crate::acl::Request;

/// Live sessions by client id, for disconnecting revoked ones.
pub(super) type Sessions = Arc<Mutex<HashMap<String, LiveSession>>>;

pub(super) struct LiveSession {
    id: Id,
    /// Connected from this PC.
    local: bool,
}

pub(super) struct Guard {
    pub(super) access: Access,
    pub(super) sessions: Sessions,
}

fn lock(s: &Sessions) -> std::sync::MutexGuard<'_, HashMap<String, LiveSession>> {
    s.lock().expect("sessions lock")
}

/// Forgets a session, unless a newer one took its client id meanwhile.
fn forget(sessions: &mut HashMap<String, LiveSession>, id: &Id) {
    if sessions
        .get(&*id.client_id)
        .is_some_and(|x| x.id.create_time == id.create_time)
    {
        sessions.remove(&*id.client_id);
    }
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
                lock(&self.sessions).insert(
                    s.id.client_id.to_string(),
                    LiveSession {
                        id: s.id.clone(),
                        local,
                    },
                );
                (true, acc)
            }
            Parameter::ClientDisconnected(s, _) => {
                forget(&mut lock(&self.sessions), &s.id);
                (true, acc)
            }
            Parameter::ClientSubscribeCheckAcl(s, sub) => {
                if self.check(&s.id, Request::Subscribe, &sub.topic_filter) {
                    (true, acc)
                } else {
                    let refused =
                        SubscribeAclResult::new_failure(SubscribeAckReason::NotAuthorized);
                    (false, Some(HookResult::SubscribeAclResult(refused)))
                }
            }
            Parameter::MessagePublishCheckAcl(s, p) => {
                if self.check(&s.id, Request::Publish, &p.topic) {
                    (true, acc)
                } else {
                    let refused = PublishAclResult::rejected(false, None);
                    (false, Some(HookResult::PublishAclResult(refused)))
                }
            }
            _ => (true, acc),
        }
    }
}

impl Guard {
    /// Whether the rules let this client make this request; a refusal is logged.
    fn check(&self, id: &Id, request: Request, topic: &str) -> bool {
        let user = id.username.as_deref();
        let ok = self.access.allowed(user, &id.client_id, request, topic);
        if !ok {
            let verb = match request {
                Request::Publish => "publish",
                Request::Subscribe => "subscription",
            };
            tracing::info!(
                "refused {verb} of {} ({}) to {topic}",
                id.client_id,
                user.unwrap_or("anonymous"),
            );
        }
        ok
    }
}

impl BrokerHandle {
    /// MQTT sessions connected right now with this username.
    pub fn sessions_of(&self, username: &str) -> usize {
        lock(&self.sessions)
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
        let gone: Vec<Id> = lock(&self.sessions)
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
            forget(&mut lock(&self.sessions), &id);
        }
    }
}
