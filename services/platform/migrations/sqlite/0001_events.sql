-- Events machinery every service database holds (crm_platform::events).
-- UUIDs are 16-byte BLOBs and timestamps RFC 3339 TEXT (sqlx's SQLite encodings).
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         BLOB NOT NULL,
    stream     TEXT NOT NULL,
    event      BLOB NOT NULL,
    created_at TEXT NOT NULL,
    sent_at    TEXT
);
CREATE INDEX outbox_unsent_idx ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL;

CREATE TABLE outbox_relay (
    name TEXT PRIMARY KEY NOT NULL
);
INSERT INTO outbox_relay (name) VALUES ('outbox');

CREATE TABLE inbox (
    consumer     TEXT NOT NULL,
    event_id     BLOB NOT NULL,
    processed_at TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX inbox_processed_at_idx ON inbox (processed_at);

CREATE TABLE timers (
    id           BLOB PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL,
    due_at       TEXT NOT NULL,
    payload      BLOB NOT NULL,
    attempt      INTEGER NOT NULL DEFAULT 0,
    locked_by    TEXT,
    locked_until TEXT,
    last_error   TEXT,
    UNIQUE (kind, key)
);
CREATE INDEX timers_due_idx ON timers (due_at);
