//! Who may use the hub: MQTT credentials with their topic rules, paired phones, pairing codes
//! and the access settings, kept in SQLite and mirrored in memory so the broker's checks on
//! every CONNECT, SUBSCRIBE and PUBLISH never wait for the database.
//!
//! Passwords are stored as argon2id hashes (PHC strings). Phone tokens (256 random bits) and
//! pairing codes (128) cannot be guessed, so a SHA-256 of them is enough to store: nothing about them can be
//! guessed, only stolen, and the hash is useless to a thief.
//!
//! Clients on this PC (loopback) without credentials are trusted by default, the way the
//! desktop window needs no sign-in: `anonymous = local`. Clients on the LAN need credentials
//! unless the user turns anonymous access on.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Row, SqlitePool};
use tokio::sync::{Semaphore, watch};
use utoipa::ToSchema;

use crate::acl::{self, Action, Client, Permission, Request, Rule};
use crate::api::{ApiError, ErrorKind};

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

/// The rules a new credential starts with. A device's `topic` is its topic base
/// (`home/livingroom/light`); without one it is `home/<username>`.
pub fn default_rules(role: Role, topic: Option<&str>) -> Vec<Rule> {
    use Action::*;
    use Permission::*;
    match role {
        Role::User => vec![Rule::new(Allow, Both, "home/#")],
        Role::Device => {
            let base = topic.unwrap_or("home/%u").trim_end_matches(['/', '#']);
            vec![Rule::new(Allow, Both, &format!("{base}/#"))]
        }
        Role::Phone => vec![
            Rule::new(Allow, Subscribe, "home/#"),
            Rule::new(Allow, Publish, "home/+/light"),
            Rule::new(Allow, Publish, "home/+/+/set"),
        ],
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
    pub fn parse(s: &str) -> Result<Anonymous, String> {
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

/// Failed attempts from one address before answers slow down.
const FREE_FAILURES: u32 = 5;
/// Longest an answer to a failing address is held back.
const MAX_DELAY: Duration = Duration::from_secs(10);
/// An address's failures are forgotten after this long without one.
const FAILURE_MEMORY: Duration = Duration::from_secs(15 * 60);
/// How long a pairing code works.
pub const PAIRING_TTL: Duration = Duration::from_secs(10 * 60);
/// Argon2 hashes computed at once: each takes 19 MiB, so a flood of logins cannot take the
/// PC's memory or every core.
const HASHES_AT_ONCE: usize = 2;
/// A phone's last-seen time is written at most this often.
const LAST_SEEN_WRITE: i64 = 60_000;

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

struct Failures {
    count: u32,
    last: Instant,
    /// When this address's next attempt may be answered: attempts from a failing address
    /// take turns, one step apart, so opening many connections at once gains nothing.
    next: Instant,
}

struct Inner {
    pool: SqlitePool,
    state: RwLock<State>,
    /// The hub's own clients: username → SHA-256 of the password made at start-up.
    internal: HashMap<String, ([u8; 32], String)>,
    hashing: Semaphore,
    failures: Mutex<HashMap<IpAddr, Failures>>,
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

/// Username of the hub's own client.
pub const HUB_USER: &str = "$hub";
/// Username of the in-process simulator's clients.
pub const SIM_USER: &str = "$sim";

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

/// A password people can type from a screen: 20 characters, about 115 bits.
fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Whether failures from an address slow it down. Not for this PC: every local process shares
/// the loopback address, the hub's own client among them, and one misconfigured local script
/// must not hold the others back.
fn throttled(p: IpAddr) -> bool {
    !p.is_loopback()
}

fn now_ms() -> i64 {
    crate::now_ms()
}

fn db(e: sqlx::Error) -> ApiError {
    ApiError::internal(e)
}

/// Checks a username people choose: 1–64 of letters, digits, `.`, `_`, `-`.
pub fn validate_username(u: &str) -> Result<(), ApiError> {
    let ok = !u.is_empty()
        && u.len() <= 64
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "bad_username",
            "a username is 1 to 64 letters, digits, '.', '_' or '-'",
        ))
    }
}

fn validate_rules(rules: &[Rule]) -> Result<(), ApiError> {
    if rules.len() > 256 {
        return Err(ApiError::bad_request("bad_rule", "at most 256 rules"));
    }
    for (i, r) in rules.iter().enumerate() {
        acl::validate_filter(&r.filter)
            .map_err(|m| ApiError::bad_request("bad_rule", format!("rule {}: {m}", i + 1)))?;
    }
    Ok(())
}

fn rule_text(r: &Rule) -> String {
    let p = match r.permission {
        Permission::Allow => "allow",
        Permission::Deny => "deny",
    };
    let a = match r.action {
        Action::Publish => "publish",
        Action::Subscribe => "subscribe",
        Action::Both => "publish + subscribe",
    };
    format!("{p} {a} {}", r.filter)
}

fn action_str(a: Action) -> &'static str {
    match a {
        Action::Publish => "publish",
        Action::Subscribe => "subscribe",
        Action::Both => "both",
    }
}

fn parse_rule(permission: &str, action: &str, filter: String) -> Option<Rule> {
    let permission = match permission {
        "allow" => Permission::Allow,
        "deny" => Permission::Deny,
        _ => return None,
    };
    let action = match action {
        "publish" => Action::Publish,
        "subscribe" => Action::Subscribe,
        "both" => Action::Both,
        _ => return None,
    };
    Some(Rule {
        permission,
        action,
        filter,
    })
}

impl Access {
    /// Loads credentials, rules, phones and settings, and makes fresh passwords for the hub's
    /// own clients (kept in memory only).
    pub async fn load(pool: SqlitePool) -> Result<Access, sqlx::Error> {
        let mut rules: HashMap<Option<i64>, Vec<Rule>> = HashMap::new();
        for row in sqlx::query(
            "SELECT credential_id, permission, action, filter FROM acl_rules ORDER BY credential_id, position",
        )
        .fetch_all(&pool)
        .await?
        {
            let owner: Option<i64> = row.get(0);
            let permission: String = row.get(1);
            let action: String = row.get(2);
            match parse_rule(&permission, &action, row.get(3)) {
                Some(r) => rules.entry(owner).or_default().push(r),
                None => tracing::warn!("ignoring an unreadable ACL rule of credential {owner:?}"),
            }
        }
        let mut by_name = HashMap::new();
        for row in
            sqlx::query("SELECT id, username, role, password_hash, revoked_ms FROM credentials")
                .fetch_all(&pool)
                .await?
        {
            let id: i64 = row.get(0);
            let role: String = row.get(2);
            if Role::parse(&role).is_none() {
                tracing::warn!("ignoring credential {id}: unknown role {role}");
                continue;
            }
            let revoked: Option<i64> = row.get(4);
            by_name.insert(
                row.get::<String, _>(1),
                Arc::new(Cred {
                    id,
                    hash: row.get(3),
                    revoked: revoked.is_some(),
                    rules: Arc::new(rules.remove(&Some(id)).unwrap_or_default()),
                }),
            );
        }
        let mut settings = Settings::default();
        for row in sqlx::query("SELECT key, value FROM settings")
            .fetch_all(&pool)
            .await?
        {
            let key: String = row.get(0);
            let value: String = row.get(1);
            match key.as_str() {
                "anonymous" => match Anonymous::parse(&value) {
                    Ok(a) => settings.anonymous = a,
                    Err(e) => tracing::warn!("setting anonymous: {e}; using local"),
                },
                "mdns" => settings.mdns = value == "on",
                _ => {}
            }
        }
        let mut tokens = HashMap::new();
        for row in
            sqlx::query("SELECT id, token_hash, last_seen_ms FROM phones WHERE revoked_ms IS NULL")
                .fetch_all(&pool)
                .await?
        {
            let hash: Vec<u8> = row.get(1);
            if let Ok(h) = <[u8; 32]>::try_from(hash.as_slice()) {
                tokens.insert(h, (row.get(0), row.get(2)));
            }
        }
        let internal = [HUB_USER, SIM_USER]
            .into_iter()
            .map(|u| {
                let secret = random_secret();
                (u.to_string(), (sha256(secret.as_bytes()), secret))
            })
            .collect();
        Ok(Access(Arc::new(Inner {
            pool,
            state: RwLock::new(State {
                by_name,
                anonymous: Arc::new(rules.remove(&None).unwrap_or_default()),
                settings,
                tokens,
            }),
            internal,
            hashing: Semaphore::new(HASHES_AT_ONCE),
            failures: Mutex::new(HashMap::new()),
            pairings: Mutex::new(HashMap::new()),
            revocations: watch::channel(0).0,
        })))
    }

    /// The username and password of one of the hub's own clients (`HUB_USER`, `SIM_USER`).
    pub fn internal_credentials(&self, user: &str) -> Option<(String, String)> {
        self.0
            .internal
            .get(user)
            .map(|(_, secret)| (user.to_string(), secret.clone()))
    }

    pub fn settings(&self) -> Settings {
        self.0.state.read().expect("access lock").settings
    }

    pub async fn set_settings(&self, s: Settings) -> Result<Settings, ApiError> {
        let mut tx = self.0.pool.begin().await.map_err(db)?;
        for (k, v) in [
            ("anonymous", s.anonymous.as_str()),
            ("mdns", if s.mdns { "on" } else { "off" }),
        ] {
            sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(k)
                .bind(v)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        let before = {
            let mut st = self.0.state.write().expect("access lock");
            std::mem::replace(&mut st.settings, s)
        };
        if s.anonymous == Anonymous::On && before.anonymous != Anonymous::On {
            tracing::warn!(
                "anonymous access from the LAN is on: anyone on the network may use the topics the anonymous rules allow"
            );
        }
        if s.anonymous != before.anonymous {
            // Anonymous clients that connected under the old setting must meet the new one.
            self.0.revocations.send_modify(|n| *n += 1);
        }
        Ok(s)
    }

    /// Decides a CONNECT. Answers to an address with many recent failures are held back.
    pub async fn authenticate(
        &self,
        username: Option<&str>,
        password: Option<&[u8]>,
        peer: Option<IpAddr>,
    ) -> AuthOutcome {
        self.slow_down(peer).await;
        let outcome = self.decide_connect(username, password, peer).await;
        match outcome {
            AuthOutcome::BadCredentials | AuthOutcome::NotAuthorized => {
                self.record_failure(peer);
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
            _ => {
                if let Some(p) = peer {
                    self.0.failures.lock().expect("failures lock").remove(&p);
                }
            }
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
        let cred = self
            .0
            .state
            .read()
            .expect("access lock")
            .by_name
            .get(user)
            .cloned();
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

    async fn hash(&self, password: String) -> Result<String, ApiError> {
        let _permit = self.0.hashing.acquire().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::encode_b64(&rand::rng().random::<[u8; 16]>())
                .map_err(ApiError::internal)?;
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(ApiError::internal)
        })
        .await
        .map_err(ApiError::internal)?
    }

    /// How long this attempt waits for its turn, reserving the turn after it.
    fn failure_delay(&self, peer: Option<IpAddr>) -> Duration {
        let Some(p) = peer.filter(|p| throttled(*p)) else {
            return Duration::ZERO;
        };
        let mut f = self.0.failures.lock().expect("failures lock");
        let Some(entry) = f.get_mut(&p) else {
            return Duration::ZERO;
        };
        if entry.last.elapsed() > FAILURE_MEMORY {
            f.remove(&p);
            return Duration::ZERO;
        }
        let over = entry.count.saturating_sub(FREE_FAILURES);
        if over == 0 {
            return Duration::ZERO;
        }
        let step =
            (Duration::from_millis(100) * 2u32.saturating_pow(over.min(10) - 1)).min(MAX_DELAY);
        let now = Instant::now();
        let turn = entry.next.max(now);
        entry.next = turn + step;
        turn - now
    }

    async fn slow_down(&self, peer: Option<IpAddr>) {
        let d = self.failure_delay(peer);
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }

    fn record_failure(&self, peer: Option<IpAddr>) {
        let Some(p) = peer.filter(|p| throttled(*p)) else {
            return;
        };
        let mut f = self.0.failures.lock().expect("failures lock");
        if f.len() > 10_000 {
            f.retain(|_, v| v.last.elapsed() < FAILURE_MEMORY);
        }
        let e = f.entry(p).or_insert(Failures {
            count: 0,
            last: Instant::now(),
            next: Instant::now(),
        });
        e.count = e.count.saturating_add(1);
        e.last = Instant::now();
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
            let st = self.0.state.read().expect("access lock");
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
        let st = self.0.state.read().expect("access lock");
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

    /// Changes on every revocation (credential, phone, or a stricter anonymous setting).
    pub fn revocations(&self) -> watch::Receiver<u64> {
        self.0.revocations.subscribe()
    }

    /// Every credential, with `sessions` left at 0 for the caller to fill in.
    pub async fn credentials(&self) -> Result<Vec<Credential>, ApiError> {
        let rows = sqlx::query(
            "SELECT id, username, role, label, created_ms, revoked_ms FROM credentials ORDER BY id",
        )
        .fetch_all(&self.0.pool)
        .await
        .map_err(db)?;
        let st = self.0.state.read().expect("access lock");
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let username: String = row.get(1);
                let rules = st
                    .by_name
                    .get(&username)
                    .map(|c| c.rules.as_ref().clone())
                    .unwrap_or_default();
                Some(Credential {
                    id: row.get(0),
                    role: Role::parse(row.get(2))?,
                    username,
                    label: row.get(3),
                    created_ms: row.get(4),
                    revoked_ms: row.get(5),
                    rules,
                    sessions: 0,
                })
            })
            .collect())
    }

    pub async fn credential(&self, id: i64) -> Result<Credential, ApiError> {
        self.credentials()
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| ApiError::not_found(format!("no credential {id}")))
    }

    pub async fn create_credential(&self, n: NewCredential) -> Result<CreatedCredential, ApiError> {
        validate_username(&n.username)?;
        let password = match n.password {
            Some(p) if p.chars().count() < 8 || p.len() > 256 => {
                return Err(ApiError::bad_request(
                    "bad_password",
                    "a password is 8 to 256 characters",
                ));
            }
            Some(p) => p,
            None => random_password(),
        };
        if let Some(t) = &n.topic
            && (n.role != Role::Device
                || acl::validate_filter(t).is_err()
                || t.contains(['+', '#']))
        {
            return Err(ApiError::bad_request(
                "bad_topic",
                "a topic base is for devices, and is a topic without wildcards, e.g. home/livingroom/light",
            ));
        }
        let label = n.label.unwrap_or_default();
        if label.len() > 200 {
            return Err(ApiError::bad_request(
                "bad_label",
                "a label is at most 200 bytes",
            ));
        }
        if self
            .0
            .state
            .read()
            .expect("access lock")
            .by_name
            .contains_key(&n.username)
        {
            return Err(ApiError::new(
                ErrorKind::Conflict,
                "username_taken",
                format!("there is already a credential named {}", n.username),
            ));
        }
        let hash = self.hash(password.clone()).await?;
        let rules = default_rules(n.role, n.topic.as_deref());
        let created = now_ms();
        let mut tx = self.0.pool.begin().await.map_err(db)?;
        let id: i64 = match sqlx::query_scalar(
            "INSERT INTO credentials (username, role, password_hash, label, created_ms) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&n.username)
        .bind(n.role.as_str())
        .bind(&hash)
        .bind(&label)
        .bind(created)
        .fetch_one(&mut *tx)
        .await
        {
            Ok(id) => id,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(ApiError::new(
                    ErrorKind::Conflict,
                    "username_taken",
                    format!("there is already a credential named {}", n.username),
                ));
            }
            Err(e) => return Err(db(e)),
        };
        write_rules(&mut tx, Some(id), &rules).await?;
        tx.commit().await.map_err(db)?;
        self.0.state.write().expect("access lock").by_name.insert(
            n.username.clone(),
            Arc::new(Cred {
                id,
                hash,
                revoked: false,
                rules: Arc::new(rules.clone()),
            }),
        );
        tracing::info!("credential {} ({}) created", n.username, n.role.as_str());
        Ok(CreatedCredential {
            credential: Credential {
                id,
                username: n.username,
                role: n.role,
                label,
                created_ms: created,
                revoked_ms: None,
                rules,
                sessions: 0,
            },
            password,
        })
    }

    /// The username of credential `id`.
    pub fn username(&self, id: i64) -> Option<String> {
        self.name_of(id).map(|(u, _)| u)
    }

    fn name_of(&self, id: i64) -> Option<(String, Arc<Cred>)> {
        let st = self.0.state.read().expect("access lock");
        st.by_name
            .iter()
            .find(|(_, c)| c.id == id)
            .map(|(u, c)| (u.clone(), c.clone()))
    }

    /// Replaces the in-memory copy of credential `id` with a changed one.
    fn update_cred(&self, id: i64, change: impl FnOnce(&mut Cred)) {
        let mut st = self.0.state.write().expect("access lock");
        if let Some(c) = st.by_name.values_mut().find(|c| c.id == id) {
            change(Arc::make_mut(c));
        }
    }

    /// Revokes a credential; returns its username so the caller can disconnect its sessions.
    pub async fn revoke_credential(&self, id: i64) -> Result<String, ApiError> {
        let (user, cred) = self
            .name_of(id)
            .ok_or_else(|| ApiError::not_found(format!("no credential {id}")))?;
        if !cred.revoked {
            sqlx::query("UPDATE credentials SET revoked_ms = ? WHERE id = ?")
                .bind(now_ms())
                .bind(id)
                .execute(&self.0.pool)
                .await
                .map_err(db)?;
            self.update_cred(id, |c| c.revoked = true);
            self.0.revocations.send_modify(|n| *n += 1);
            tracing::info!("credential {user} revoked");
        }
        Ok(user)
    }

    /// Deletes a credential and its rules; returns its username (its sessions must go too).
    pub async fn delete_credential(&self, id: i64) -> Result<String, ApiError> {
        let (user, _) = self
            .name_of(id)
            .ok_or_else(|| ApiError::not_found(format!("no credential {id}")))?;
        let mut tx = self.0.pool.begin().await.map_err(db)?;
        sqlx::query("DELETE FROM acl_rules WHERE credential_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("DELETE FROM credentials WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        self.0
            .state
            .write()
            .expect("access lock")
            .by_name
            .remove(&user);
        self.0.revocations.send_modify(|n| *n += 1);
        tracing::info!("credential {user} deleted");
        Ok(user)
    }

    pub fn rules(&self, subject: Subject) -> Result<Vec<Rule>, ApiError> {
        match subject {
            Subject::Anonymous => Ok(self
                .0
                .state
                .read()
                .expect("access lock")
                .anonymous
                .as_ref()
                .clone()),
            Subject::Credential(id) => self
                .name_of(id)
                .map(|(_, c)| c.rules.as_ref().clone())
                .ok_or_else(|| ApiError::not_found(format!("no credential {id}"))),
        }
    }

    /// Replaces a rule list. Takes effect for the next SUBSCRIBE or PUBLISH; subscriptions
    /// already made stay until the client resubscribes or reconnects.
    pub async fn set_rules(
        &self,
        subject: Subject,
        rules: Vec<Rule>,
    ) -> Result<Vec<Rule>, ApiError> {
        validate_rules(&rules)?;
        let owner = match subject {
            Subject::Anonymous => None,
            Subject::Credential(id) => {
                self.name_of(id)
                    .ok_or_else(|| ApiError::not_found(format!("no credential {id}")))?;
                Some(id)
            }
        };
        let mut tx = self.0.pool.begin().await.map_err(db)?;
        write_rules(&mut tx, owner, &rules).await?;
        tx.commit().await.map_err(db)?;
        match subject {
            Subject::Anonymous => {
                self.0.state.write().expect("access lock").anonymous = Arc::new(rules.clone())
            }
            Subject::Credential(id) => self.update_cred(id, |c| c.rules = Arc::new(rules.clone())),
        }
        Ok(rules)
    }

    /// What a subject's rules decide for one request, and which rule decides.
    pub fn test(
        &self,
        subject: Subject,
        request: Request,
        topic: &str,
        client_id: Option<&str>,
    ) -> Result<AclTest, ApiError> {
        let valid = match request {
            Request::Publish => !topic.is_empty() && !topic.contains(['+', '#']),
            Request::Subscribe => acl::validate_filter(topic).is_ok() && !topic.contains('%'),
        };
        if !valid || topic.len() > 65535 {
            return Err(ApiError::bad_request(
                "bad_topic",
                match request {
                    Request::Publish => "publish to a topic without wildcards",
                    Request::Subscribe => "subscribe to a valid topic filter",
                },
            ));
        }
        let rules = self.rules(subject)?;
        let username = match subject {
            Subject::Anonymous => None,
            Subject::Credential(id) => self.name_of(id).map(|(u, _)| u),
        };
        let client_id = client_id.unwrap_or("");
        let d = acl::decide(
            &rules,
            Client {
                username: username.as_deref(),
                client_id,
            },
            request,
            topic,
        );
        let verb = match request {
            Request::Publish => "publish to",
            Request::Subscribe => "subscribe to",
        };
        let explanation = match d.rule {
            Some(i) => format!(
                "{} to {verb} {topic}: rule {} ({}) is the first that applies",
                if d.allowed { "Allowed" } else { "Denied" },
                i + 1,
                rule_text(&rules[i])
            ),
            None => format!(
                "Denied to {verb} {topic}: no rule applies, and what no rule allows is denied"
            ),
        };
        Ok(AclTest {
            allowed: d.allowed,
            rule: d.rule,
            rule_text: d.rule.map(|i| rule_text(&rules[i])),
            explanation,
        })
    }

    /// A fresh single-use pairing code and when it expires (Unix ms).
    pub fn start_pairing(&self) -> (String, i64) {
        // 128 bits: beyond guessing for a code that works once for minutes, and half the QR
        // code's size of a 256-bit one, so phones read it quickly.
        let code = random_hex(16);
        let mut p = self.0.pairings.lock().expect("pairing lock");
        p.retain(|_, exp| *exp > Instant::now());
        p.insert(sha256(code.as_bytes()), Instant::now() + PAIRING_TTL);
        (code, now_ms() + PAIRING_TTL.as_millis() as i64)
    }

    /// Trades a pairing code for a phone token. The code works once.
    pub async fn pair(
        &self,
        code: &str,
        name: &str,
        peer: Option<IpAddr>,
    ) -> Result<(String, Phone), ApiError> {
        self.slow_down(peer).await;
        let valid = {
            let mut p = self.0.pairings.lock().expect("pairing lock");
            p.remove(&sha256(code.as_bytes()))
                .is_some_and(|exp| exp > Instant::now())
        };
        if !valid {
            self.record_failure(peer);
            return Err(ApiError::new(
                ErrorKind::Unauthorized,
                "bad_pairing_code",
                "this pairing code is unknown, used or expired: show a new QR code on the hub's Phones page",
            ));
        }
        let name: String = name.trim().chars().take(64).collect();
        let name = if name.is_empty() {
            "Phone".to_string()
        } else {
            name
        };
        let token = random_secret();
        let digest = sha256(token.as_bytes());
        let now = now_ms();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO phones (name, token_hash, paired_ms, last_seen_ms) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(&name)
        .bind(digest.as_slice())
        .bind(now)
        .bind(now)
        .fetch_one(&self.0.pool)
        .await
        .map_err(db)?;
        self.0
            .state
            .write()
            .expect("access lock")
            .tokens
            .insert(digest, (id, now));
        tracing::info!("phone {id} ({name}) paired");
        Ok((
            token,
            Phone {
                id,
                name,
                paired_ms: now,
                last_seen_ms: now,
                revoked_ms: None,
            },
        ))
    }

    /// The phone a token belongs to, if it is valid; notes that the phone was seen.
    pub async fn phone_for_token(&self, token: &str, peer: Option<IpAddr>) -> Option<i64> {
        let digest = sha256(token.as_bytes());
        let now = now_ms();
        let found = {
            let mut st = self.0.state.write().expect("access lock");
            st.tokens.get_mut(&digest).map(|(id, written)| {
                let stale = now - *written >= LAST_SEEN_WRITE;
                if stale {
                    *written = now;
                }
                (*id, stale)
            })
        };
        match found {
            Some((id, stale)) => {
                if stale
                    && let Err(e) = sqlx::query("UPDATE phones SET last_seen_ms = ? WHERE id = ?")
                        .bind(now)
                        .bind(id)
                        .execute(&self.0.pool)
                        .await
                {
                    tracing::warn!("cannot note phone {id} as seen: {e}");
                }
                Some(id)
            }
            None => {
                self.slow_down(peer).await;
                self.record_failure(peer);
                None
            }
        }
    }

    /// Whether a phone is still paired (for connections that outlive a request).
    pub fn phone_valid(&self, id: i64) -> bool {
        self.0
            .state
            .read()
            .expect("access lock")
            .tokens
            .values()
            .any(|(p, _)| *p == id)
    }

    pub async fn phones(&self) -> Result<Vec<Phone>, ApiError> {
        let seen: HashMap<i64, i64> = self
            .0
            .state
            .read()
            .expect("access lock")
            .tokens
            .values()
            .map(|(id, at)| (*id, *at))
            .collect();
        let rows = sqlx::query(
            "SELECT id, name, paired_ms, last_seen_ms, revoked_ms FROM phones ORDER BY id",
        )
        .fetch_all(&self.0.pool)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let id: i64 = row.get(0);
                let stored: i64 = row.get(3);
                Phone {
                    id,
                    name: row.get(1),
                    paired_ms: row.get(2),
                    last_seen_ms: seen.get(&id).copied().unwrap_or(stored).max(stored),
                    revoked_ms: row.get(4),
                }
            })
            .collect())
    }

    pub async fn revoke_phone(&self, id: i64) -> Result<(), ApiError> {
        let done =
            sqlx::query("UPDATE phones SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL")
                .bind(now_ms())
                .bind(id)
                .execute(&self.0.pool)
                .await
                .map_err(db)?;
        if done.rows_affected() == 0 {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM phones WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.0.pool)
                .await
                .map_err(db)?;
            if exists.is_none() {
                return Err(ApiError::not_found(format!("no phone {id}")));
            }
            return Ok(());
        }
        self.0
            .state
            .write()
            .expect("access lock")
            .tokens
            .retain(|_, (p, _)| *p != id);
        self.0.revocations.send_modify(|n| *n += 1);
        tracing::info!("phone {id} revoked");
        Ok(())
    }
}

async fn write_rules(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    owner: Option<i64>,
    rules: &[Rule],
) -> Result<(), ApiError> {
    sqlx::query("DELETE FROM acl_rules WHERE credential_id IS ?")
        .bind(owner)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    for (i, r) in rules.iter().enumerate() {
        sqlx::query(
            "INSERT INTO acl_rules (credential_id, position, permission, action, filter) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(owner)
        .bind(i as i64)
        .bind(match r.permission {
            Permission::Allow => "allow",
            Permission::Deny => "deny",
        })
        .bind(action_str(r.action))
        .bind(&r.filter)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// An argon2id hash of a random password nobody knows, verified against for unknown
/// usernames.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2ee6Y3kCsQAWn2oRUBvBa3YdK79nTpWDj2ybfHb41Rs";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    async fn access() -> (Store, Access) {
        let store = Store::open_in_memory().await.unwrap();
        let a = Access::load(store.pool().clone()).await.unwrap();
        (store, a)
    }

    fn lan() -> Option<IpAddr> {
        Some("192.168.1.20".parse().unwrap())
    }

    fn local() -> Option<IpAddr> {
        Some("127.0.0.1".parse().unwrap())
    }

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
        let b = Access::load(store.pool().clone()).await.unwrap();
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
        let (u, p) = a.internal_credentials(HUB_USER).unwrap();
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

    #[tokio::test]
    async fn failures_slow_an_address_down() {
        let (_s, a) = access().await;
        for _ in 0..FREE_FAILURES {
            a.record_failure(lan());
        }
        assert_eq!(a.failure_delay(lan()), Duration::ZERO);
        a.record_failure(lan());
        // Attempts take turns 100 ms apart: the first waits for nothing, the next for a step,
        // the one after for two, however many arrive at once.
        let near = |d: Duration, ms: u64| {
            d.abs_diff(Duration::from_millis(ms)) < Duration::from_millis(20)
        };
        assert!(near(a.failure_delay(lan()), 0));
        assert!(near(a.failure_delay(lan()), 100));
        assert!(near(a.failure_delay(lan()), 200));
        a.record_failure(lan());
        assert!(
            near(a.failure_delay(lan()), 300),
            "the step doubles from the reserved turn on"
        );
        assert!(near(a.failure_delay(lan()), 500));
        for _ in 0..20 {
            a.record_failure(lan());
        }
        let d = a.failure_delay(lan());
        assert!(near(
            a.failure_delay(lan()) - d,
            MAX_DELAY.as_millis() as u64
        ));
        for _ in 0..20 {
            a.record_failure(local());
        }
        assert_eq!(
            a.failure_delay(local()),
            Duration::ZERO,
            "this PC is never slowed down"
        );
        // A success forgets the address's failures.
        a.0.failures.lock().unwrap().remove(&lan().unwrap());
        assert_eq!(a.failure_delay(lan()), Duration::ZERO);
    }

    #[tokio::test]
    async fn pairing_codes_work_once() {
        let (_s, a) = access().await;
        let (code, _) = a.start_pairing();
        let (token, phone) = a.pair(&code, "Pixel", lan()).await.unwrap();
        assert_eq!(a.phone_for_token(&token, lan()).await, Some(phone.id));
        let again = a.pair(&code, "Pixel", lan()).await.unwrap_err();
        assert_eq!(again.code, "bad_pairing_code");
        a.revoke_phone(phone.id).await.unwrap();
        assert_eq!(a.phone_for_token(&token, lan()).await, None);

        // A code past its time is refused, and the refusal counts as a failure.
        let (late, expires_ms) = a.start_pairing();
        assert!(expires_ms - now_ms() > (PAIRING_TTL.as_millis() as i64) - 5_000);
        for exp in a.0.pairings.lock().unwrap().values_mut() {
            *exp = Instant::now() - Duration::from_secs(1);
        }
        let e = a.pair(&late, "Late", lan()).await.unwrap_err();
        assert_eq!(
            (e.kind, e.code.as_str()),
            (ErrorKind::Unauthorized, "bad_pairing_code")
        );
        assert!(a.phones().await.unwrap()[0].revoked_ms.is_some());
    }

    #[tokio::test]
    async fn acl_test_names_the_deciding_rule() {
        let (_s, a) = access().await;
        let c = a
            .create_credential(NewCredential {
                username: "ann-phone".into(),
                role: Role::Phone,
                password: Some("correct horse".into()),
                topic: None,
                label: None,
            })
            .await
            .unwrap();
        let s = Subject::Credential(c.credential.id);
        let t = a
            .test(s, Request::Publish, "home/hall/light", None)
            .unwrap();
        assert!(t.allowed);
        assert_eq!(t.rule, Some(1));
        let t = a
            .test(s, Request::Publish, "home/hall/temperature", None)
            .unwrap();
        assert!(!t.allowed);
        assert_eq!(t.rule, None);
        assert!(t.explanation.contains("no rule applies"));
        assert!(a.test(s, Request::Publish, "home/#", None).is_err());
        let bad = a
            .set_rules(
                s,
                vec![Rule::new(Permission::Allow, Action::Both, "home/#/x")],
            )
            .await
            .unwrap_err();
        assert_eq!(bad.code, "bad_rule");
    }
}
