-- MQTT credentials (users, devices, phone apps), their topic rules, paired phones and the
-- access settings. Passwords are argon2id PHC strings; phone tokens are stored as SHA-256.
CREATE TABLE credentials (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL, -- 'user' | 'device' | 'phone'
    password_hash TEXT    NOT NULL,
    label         TEXT    NOT NULL DEFAULT '',
    created_ms    INTEGER NOT NULL,
    revoked_ms    INTEGER
);

-- Ordered per owner; the first rule that applies decides. credential_id NULL holds the rules
-- of anonymous LAN clients (used only when anonymous access is turned on).
CREATE TABLE acl_rules (
    id            INTEGER PRIMARY KEY,
    credential_id INTEGER REFERENCES credentials (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    permission    TEXT    NOT NULL, -- 'allow' | 'deny'
    action        TEXT    NOT NULL, -- 'publish' | 'subscribe' | 'both'
    filter        TEXT    NOT NULL
);
CREATE INDEX acl_rules_by_owner ON acl_rules (credential_id, position);

CREATE TABLE phones (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    token_hash   BLOB    NOT NULL UNIQUE,
    paired_ms    INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    revoked_ms   INTEGER
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

INSERT INTO acl_rules (credential_id, position, permission, action, filter)
VALUES (NULL, 0, 'allow', 'both', 'home/#');
