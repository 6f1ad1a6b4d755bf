-- A series is one numeric stream: a topic, and the JSON field it came from ('' for a plain number).
CREATE TABLE series (
    id    INTEGER PRIMARY KEY,
    topic TEXT    NOT NULL,
    field TEXT    NOT NULL,
    UNIQUE (topic, field)
);

-- Raw readings, kept for the configured retention (default 30 days).
CREATE TABLE readings (
    series_id INTEGER NOT NULL REFERENCES series (id),
    ts        INTEGER NOT NULL, -- Unix milliseconds
    value     REAL    NOT NULL
);
-- Covering index: history queries over raw rows never touch the table itself.
CREATE INDEX readings_by_series_ts ON readings (series_id, ts, value);

-- Aggregates kept up to date as readings arrive; never purged by retention.
CREATE TABLE rollup_minute (
    series_id INTEGER NOT NULL,
    bucket    INTEGER NOT NULL, -- Unix seconds, start of the minute
    count     INTEGER NOT NULL,
    sum       REAL    NOT NULL,
    min       REAL    NOT NULL,
    max       REAL    NOT NULL,
    PRIMARY KEY (series_id, bucket)
) WITHOUT ROWID;

CREATE TABLE rollup_hour (
    series_id INTEGER NOT NULL,
    bucket    INTEGER NOT NULL, -- Unix seconds, start of the hour
    count     INTEGER NOT NULL,
    sum       REAL    NOT NULL,
    min       REAL    NOT NULL,
    max       REAL    NOT NULL,
    PRIMARY KEY (series_id, bucket)
) WITHOUT ROWID;

-- The embedded broker's retained messages, so they survive a restart.
CREATE TABLE retained (
    topic      TEXT    PRIMARY KEY,
    message    BLOB    NOT NULL, -- the broker's own serialised form (JSON)
    updated_ms INTEGER NOT NULL
);
