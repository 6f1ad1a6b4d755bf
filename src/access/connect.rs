//! The decision on every MQTT CONNECT, and the rule checks on every SUBSCRIBE and PUBLISH.

use std::net::IpAddr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;

use super::{Access, AccessError, Anonymous, Result, sha256};
use crate::acl::{self, Client, Request};

/// How the broker should answer a CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Any topic, no rule checks: the hub's own clients and trusted local clients.
    Superuser,
    /// Checked against its rules on every SUBSCRIBE and PUBLISH.
    Limited,
    /// Wrong username or password (3.1.1 rc 4, MQTT 5 0x86).
    BadCredentials,
    /// No credentials where they are needed, or a revoked credential (rc 5, 0x87).
    NotAuthorized,
}

/// An argon2id hash of a random password nobody knows, verified against for unknown
/// usernames.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2ee6Y3kCsQAWn2oRUBvBa3YdK79nTpWDj2ybfHb41Rs";

impl Access {
    /// Decides a CONNECT. Answers to an address with many recent failures are held back.
    pub async fn authenticate(
        &self,
        username: Option<&str>,
        password: Option<&[u8]>,
        peer: Option<IpAddr>,
    ) -> AuthOutcome {
        self.0.throttle.slow_down(peer).await;
        let outcome = self.decide_connect(username, password, peer).await;
        match outcome {
            AuthOutcome::BadCredentials | AuthOutcome::NotAuthorized => {
                self.0.throttle.record_failure(peer);
                let why = if outcome == AuthOutcome::BadCredentials {
                    "wrong username or password"
                } else if username.is_none() {
                    "no credentials"
                } else {
                    "credential revoked"
                };
                tracing::warn!(
                    "refused MQTT connection from {}: {why} (username {:?})",
                    peer.map_or("?".into(), |p| p.to_string()),
                    username.unwrap_or("")
                );
            }
            _ => self.0.throttle.forget(peer),
        }
        outcome
    }

    async fn decide_connect(
        &self,
        username: Option<&str>,
        password: Option<&[u8]>,
        peer: Option<IpAddr>,
    ) -> AuthOutcome {
        let local = peer.is_some_and(|p| p.is_loopback());
        let Some(user) = username else {
            return match self.settings().anonymous {
                Anonymous::On if !local => AuthOutcome::Limited,
                Anonymous::On | Anonymous::Local if local => AuthOutcome::Superuser,
                _ => AuthOutcome::NotAuthorized,
            };
        };
        let password = password.unwrap_or_default();
        if let Some((digest, _)) = self.0.internal.get(user) {
            return if local && sha256(password) == *digest {
                AuthOutcome::Superuser
            } else {
                AuthOutcome::BadCredentials
            };
        }
        let cred = self.read().by_name.get(user).cloned();
        let Some(cred) = cred else {
            // Spend the same effort as for a real user, so timing does not tell which exist.
            let _ = self.verify(DUMMY_HASH.to_string(), password.to_vec()).await;
            return AuthOutcome::BadCredentials;
        };
        if !self.verify(cred.hash.clone(), password.to_vec()).await {
            return AuthOutcome::BadCredentials;
        }
        if cred.revoked {
            AuthOutcome::NotAuthorized
        } else {
            AuthOutcome::Limited
        }
    }

    async fn verify(&self, hash: String, password: Vec<u8>) -> bool {
        let Ok(_permit) = self.0.hashing.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .is_ok_and(|h| Argon2::default().verify_password(&password, &h).is_ok())
        })
        .await
        .unwrap_or(false)
    }

    pub(super) async fn hash(&self, password: String) -> Result<String> {
        let failed = |e: &dyn std::fmt::Display| AccessError::Hashing(e.to_string());
        let _permit = self.0.hashing.acquire().await.map_err(|e| failed(&e))?;
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::encode_b64(&rand::rng().random::<[u8; 16]>())
                .map_err(|e| failed(&e))?;
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| failed(&e))
        })
        .await
        .map_err(|e| failed(&e))?
    }

    /// Whether a connected client may publish to / subscribe to `topic`. The broker does not
    /// ask for superusers.
    pub fn allowed(
        &self,
        username: Option<&str>,
        client_id: &str,
        request: Request,
        topic: &str,
    ) -> bool {
        let rules = {
            let st = self.read();
            match username {
                None => st.anonymous.clone(),
                Some(u) => match st.by_name.get(u) {
                    Some(c) if !c.revoked => c.rules.clone(),
                    _ => return false,
                },
            }
        };
        acl::decide(
            &rules,
            Client {
                username,
                client_id,
            },
            request,
            topic,
        )
        .allowed
    }

    /// Whether a credential (by username) is still valid; `None` is anonymous.
    pub fn still_valid(&self, username: Option<&str>, local: bool) -> bool {
        let st = self.read();
        match username {
            None => match st.settings.anonymous {
                Anonymous::On => true,
                Anonymous::Local => local,
                Anonymous::Off => false,
            },
            Some(u) if self.0.internal.contains_key(u) => true,
            Some(u) => st.by_name.get(u).is_some_and(|c| !c.revoked),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{access, lan, local};
    use super::super::{NewCredential, Role, SIM_USER, Settings};
    use super::*;

    #[tokio::test]
    async fn passwords_are_argon2id_and_checked() {
        let (store, a) = access().await;
        let c = a
            .create_credential(NewCredential {
                username: "kitchen".into(),
                role: Role::Device,
                password: None,
                topic: Some("home/kitchen/light".into()),
                label: None,
            })
            .await
            .unwrap();
        let hash: String = sqlx::query_scalar("SELECT password_hash FROM credentials")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains(&c.password));
        let pw = c.password.as_bytes();
        assert_eq!(
            a.authenticate(Some("kitchen"), Some(pw), lan()).await,
            AuthOutcome::Limited
        );
        assert_eq!(
            a.authenticate(Some("kitchen"), Some(b"nope-nope"), lan())
                .await,
            AuthOutcome::BadCredentials
        );
        assert_eq!(
            a.authenticate(Some("ghost"), Some(pw), lan()).await,
            AuthOutcome::BadCredentials
        );
        assert!(a.allowed(Some("kitchen"), "x", Request::Publish, "home/kitchen/light"));
        assert!(!a.allowed(Some("kitchen"), "x", Request::Publish, "home/hall/light"));

        // A reload from the database gives the same answers.
        let b = Access::load(store.clone()).await.unwrap();
        assert_eq!(
            b.authenticate(Some("kitchen"), Some(pw), lan()).await,
            AuthOutcome::Limited
        );
        assert!(b.allowed(
            Some("kitchen"),
            "x",
            Request::Subscribe,
            "home/kitchen/light/#"
        ));

        a.revoke_credential(c.credential.id).await.unwrap();
        assert_eq!(
            a.authenticate(Some("kitchen"), Some(pw), lan()).await,
            AuthOutcome::NotAuthorized
        );
        assert!(!a.allowed(Some("kitchen"), "x", Request::Publish, "home/kitchen/light"));
    }

    #[tokio::test]
    async fn anonymous_modes() {
        let (_s, a) = access().await;
        assert_eq!(
            a.authenticate(None, None, local()).await,
            AuthOutcome::Superuser
        );
        assert_eq!(
            a.authenticate(None, None, lan()).await,
            AuthOutcome::NotAuthorized
        );
        a.set_settings(Settings {
            anonymous: Anonymous::On,
            mdns: true,
        })
        .await
        .unwrap();
        assert_eq!(
            a.authenticate(None, None, lan()).await,
            AuthOutcome::Limited
        );
        assert!(a.allowed(None, "c", Request::Publish, "home/x"));
        assert!(!a.allowed(None, "c", Request::Subscribe, "$SYS/#"));
        a.set_settings(Settings {
            anonymous: Anonymous::Off,
            mdns: true,
        })
        .await
        .unwrap();
        assert_eq!(
            a.authenticate(None, None, local()).await,
            AuthOutcome::NotAuthorized
        );
        let (u, p) = a.internal_credentials(SIM_USER).unwrap();
        assert_eq!(
            a.authenticate(Some(&u), Some(p.as_bytes()), local()).await,
            AuthOutcome::Superuser
        );
        assert_eq!(
            a.authenticate(Some(&u), Some(p.as_bytes()), lan()).await,
            AuthOutcome::BadCredentials,
            "internal credentials work from this PC only"
        );
    }
}
