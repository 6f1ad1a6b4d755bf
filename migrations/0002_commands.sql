-- Every light command the hub sent and its fate, and every change of a light's state that no
-- command of the hub's explains (a wall switch, a phone): a light's log, newest first.
CREATE TABLE commands (
    id          INTEGER PRIMARY KEY,
    light       TEXT    NOT NULL, -- device id, `<room>/<thing>`
    origin      TEXT    NOT NULL, -- 'hub' | 'external'
    topic       TEXT    NOT NULL, -- where the command went, or where the external status came from
    convention  TEXT,             -- 'same-topic' | 'set-topic' (hub commands)
    desired     TEXT,             -- 'on' | 'off' (hub commands)
    payload     TEXT,             -- the command payload as sent
    outcome     TEXT    NOT NULL, -- pending confirmed mismatch timed_out superseded failed external
    reply       TEXT,             -- the status payload as received
    reply_state TEXT,             -- 'on' | 'off' | 'unknown'
    detail      TEXT,             -- why it failed, or which command superseded it
    sent_ms     INTEGER NOT NULL, -- Unix milliseconds
    resolved_ms INTEGER,
    latency_ms  REAL
);
CREATE INDEX commands_by_light ON commands (light, id);
