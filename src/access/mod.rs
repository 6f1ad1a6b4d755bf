//! Who may use the hub: MQTT credentials with their topic rules (`credentials`), paired phones
//! and pairing codes (`phones`), the access settings, the decision on every CONNECT
//! (`connect`) and the slow-down of addresses that keep failing (`throttle`). SQLite (through
//! the store) is the record; an in-memory mirror answers the broker's checks on every CONNECT,
//! SUBSCRIBE and PUBLISH without waiting for the database.
//!
//! Passwords are stored as argon2id hashes (PHC strings). Phone tokens (256 random bits) and
//! pairing codes (128) cannot be guessed, so a SHA-256 of them is enough to store: nothing
//! about them can be guessed, only stolen, and the hash is useless to a thief.
//!
//! Clients on this PC (loopback) without credentials are trusted by default, the way the
//! desktop window needs no sign-in: `anonymous = local`. Clients on the LAN need credentials
//! unless the user turns anonymous access on.

mod connect;
mod credentials;
mod phones;
mod throttle;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, watch};
use utoipa::ToSchema;

use crate::acl::{Action, Permission, Rule};
use crate::store::{RuleRow, Store, StoreError};

pub use connect::AuthOutcome;

/// What a credential is for; decides its default rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A person's MQTT client (MQTT Explorer, a script): reads and writes `home/#`.
    User,
    /// A sensor or a light: reads and writes under its own topic.
    Device,
    /// An MQTT app on a phone: reads `home/#`, switches lights.
    Phone,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Device => "device",
            Role::Phone => "phone",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "device" => Some(Role::Device),
            "phone" => Some(Role::Phone),
            _ => None,
        }
    }
}

/// Who may connect without credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Anonymous {
    /// Nobody: every client needs credentials.
    Off,
    /// Clients on this PC (loopback) only, with full access.
    Local,
    /// Anyone on the LAN too, limited by the anonymous rules.
    On,
}

impl Anonymous {
    pub fn parse(s: &str) -> std::result::Result<Anonymous, String> {
        match s {
            "off" => Ok(Anonymous::Off),
            "local" => Ok(Anonymous::Local),
            "on" => Ok(Anonymous::On),
            _ => Err(format!("'{s}' is not off, local or on")),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Anonymous::Off => "off",
            Anonymous::Local => "local",
            Anonymous::On => "on",
        }
    }
}

/// Access settings the user changes from the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub anonymous: Anonymous,
    /// Whether the hub advertises itself by mDNS/DNS-SD.
    pub mdns: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            anonymous: Anonymous::Local,
            mdns: true,
        }
    }
}

/// A credential as the dashboard shows it (never its hash).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub label: String,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
    pub rules: Vec<Rule>,
    /// MQTT sessions connected with it right now.
    pub sessions: usize,
}

/// A new credential, as asked for.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCredential {
    pub username: String,
    pub role: Role,
    /// At least 8 characters; the hub makes a strong one when absent.
    pub password: Option<String>,
    /// A device's topic base, e.g. `home/livingroom/light`.
    pub topic: Option<String>,
    pub label: Option<String>,
}

/// A credential just made, with its password: shown this once, never stored in clear.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedCredential {
    pub credential: Credential,
    pub password: String,
}

/// Whose rules: a credential's, or those of anonymous LAN clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Credential(i64),
    Anonymous,
}

/// "Test a topic": what the rules decide and why.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AclTest {
    pub allowed: bool,
    /// Index of the deciding rule in the list.
    pub rule: Option<usize>,
    /// The deciding rule, or none when nothing applied.
    pub rule_text: Option<String>,
    pub explanation: String,
}

/// A paired phone.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Phone {
    pub id: i64,
    pub name: String,
    pub paired_ms: i64,
    pub last_seen_ms: i64,
    pub revoked_ms: Option<i64>,
}

/// What went wrong managing access. The messages are meant for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("a username is 1 to 64 letters, digits, '.', '_' or '-'")]
    BadUsername,
    #[error("a password is 8 to 256 characters")]
    BadPassword,
    #[error("{0}")]
    BadTopic(&'static str),
    #[error("a label is at most 200 bytes")]
    BadLabel,
    #[error("{0}")]
    BadRule(String),
    #[error("there is already a credential named {0}")]
    UsernameTaken(String),
    #[error("no credential {0}")]
    NoCredential(i64),
    #[error("no phone {0}")]
    NoPhone(i64),
    #[error(
        "this pairing code is unknown, used or expired: show a new QR code on the hub's Phones page"
    )]
    BadPairingCode,
    #[error("the access store failed: {0}")]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

type Result<T> = std::result::Result<T, AccessError>;

#[derive(Clone)]
struct Cred {
    id: i64,
    hash: String,
    revoked: bool,
    rules: Arc<Vec<Rule>>,
}

struct State {
    by_name: HashMap<String, Arc<Cred>>,
    anonymous: Arc<Vec<Rule>>,
    settings: Settings,
    /// Live phones by the SHA-256 of their token: (phone id, last seen written).
    tokens: HashMap<[u8; 32], (i64, i64)>,
}

struct Inner {
    store: Store,
    state: RwLock<State>,
    /// The hub's own clients: username → SHA-256 of the password made at start-up.
    internal: HashMap<String, ([u8; 32], String)>,
    /// Argon2 hashes computed at once: each takes 19 MiB, so a flood of logins cannot take
    /// the PC's memory or every core.
    hashing: Semaphore,
    throttle: throttle::Throttle,
    /// Unused pairing codes by their SHA-256, with when they expire.
    pairings: Mutex<HashMap<[u8; 32], Instant>>,
    /// Bumped on every revocation, so live connections can check they still may stay.
    revocations: watch::Sender<u64>,
}

/// The access state. Cheap to clone.
#[derive(Clone)]
pub struct Access(Arc<Inner>);

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").finish_non_exhaustive()
    }
}

/// Username of the in-process simulator's clients.
pub const SIM_USER: &str = "$sim";

const HASHES_AT_ONCE: usize = 2;

fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

/// `bytes` random bytes as hex digits.
fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

/// 256 random bits as 64 hex digits: tokens and internal passwords.
fn random_secret() -> String {
    random_hex(32)
}

fn now_ms() -> i64 {
    crate::now_ms()
}

fn rule_of_row(r: RuleRow) -> Option<Rule> {
    Some(Rule {
        permission: Permission::parse(&r.permission)?,
        action: Action::parse(&r.action)?,
        filter: r.filter,
    })
}

fn row_of_rule(owner: Option<i64>, r: &Rule) -> RuleRow {
    RuleRow {
        owner,
        permission: r.permission.as_str().into(),
        action: r.action.as_str().into(),
        filter: r.filter.clone(),
    }
}

impl Access {
    /// Loads credentials, rules, phones and settings, and makes fresh passwords for the hub's
    /// own clients (kept in memory only).
    pub async fn load(store: Store) -> Result<Access> {
        let mut rules: HashMap<Option<i64>, Vec<Rule>> = HashMap::new();
        for row in store.acl_rules().await? {
            let owner = row.owner;
            match rule_of_row(row) {
                Some(r) => rules.entry(owner).or_default().push(r),
                None => tracing::warn!("ignoring an unreadable ACL rule of credential {owner:?}"),
            }
        }
        let mut by_name = HashMap::new();
        for row in store.credentials().await? {
            if Role::parse(&row.role).is_none() {
                tracing::warn!("ignoring credential {}: unknown role {}", row.id, row.role);
                continue;
            }
            by_name.insert(
                row.username,
                Arc::new(Cred {
                    id: row.id,
                    hash: row.password_hash,
                    revoked: row.revoked_ms.is_some(),
                    rules: Arc::new(rules.remove(&Some(row.id)).unwrap_or_default()),
                }),
            );
        }
        let mut settings = Settings::default();
        for (key, value) in store.settings().await? {
            match key.as_str() {
                "anonymous" => match Anonymous::parse(&value) {
                    Ok(a) => settings.anonymous = a,
                    Err(e) => tracing::warn!("setting anonymous: {e}; using local"),
                },
                "mdns" => settings.mdns = value == "on",
                _ => {}
            }
        }
        let tokens = store
            .live_phone_tokens()
            .await?
            .into_iter()
            .filter_map(|t| {
                let h = <[u8; 32]>::try_from(t.token_hash.as_slice()).ok()?;
                Some((h, (t.id, t.last_seen_ms)))
            })
            .collect();
        let internal = [SIM_USER]
            .into_iter()
            .map(|u| {
                let secret = random_secret();
                (u.to_string(), (sha256(secret.as_bytes()), secret))
            })
            .collect();
        Ok(Access(Arc::new(Inner {
            store,
            state: RwLock::new(State {
                by_name,
                anonymous: Arc::new(rules.remove(&None).unwrap_or_default()),
                settings,
                tokens,
            }),
            internal,
            hashing: Semaphore::new(HASHES_AT_ONCE),
            throttle: throttle::Throttle::default(),
            pairings: Mutex::new(HashMap::new()),
            revocations: watch::channel(0).0,
        })))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.0.state.read().expect("access lock")
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.0.state.write().expect("access lock")
    }

    /// The username and password of one of the hub's own clients (`SIM_USER`).
    pub fn internal_credentials(&self, user: &str) -> Option<(String, String)> {
        self.0
            .internal
            .get(user)
            .map(|(_, secret)| (user.to_string(), secret.clone()))
    }

    pub fn settings(&self) -> Settings {
        self.read().settings
    }

    pub async fn set_settings(&self, s: Settings) -> Result<Settings> {
        self.0
            .store
            .save_settings(&[
                ("anonymous", s.anonymous.as_str()),
                ("mdns", if s.mdns { "on" } else { "off" }),
            ])
            .await?;
        let before = std::mem::replace(&mut self.write().settings, s);
        if s.anonymous == Anonymous::On && before.anonymous != Anonymous::On {
            tracing::warn!(
                "anonymous access from the LAN is on: anyone on the network may use the topics the anonymous rules allow"
            );
        }
        if s.anonymous != before.anonymous {
            // Anonymous clients that connected under the old setting must meet the new one.
            self.revoked();
        }
        Ok(s)
    }

    /// Changes on every revocation (credential, phone, or a stricter anonymous setting).
    pub fn revocations(&self) -> watch::Receiver<u64> {
        self.0.revocations.subscribe()
    }

    fn revoked(&self) {
        self.0.revocations.send_modify(|n| *n += 1);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::net::IpAddr;

    use super::*;

    pub(crate) async fn access() -> (Store, Access) {
        let store = Store::open_in_memory().await.unwrap();
        let a = Access::load(store.clone()).await.unwrap();
        (store, a)
    }

    pub(crate) fn lan() -> Option<IpAddr> {
        Some("192.168.1.20".parse().unwrap())
    }

    pub(crate) fn local() -> Option<IpAddr> {
        Some("127.0.0.1".parse().unwrap())
    }
}
