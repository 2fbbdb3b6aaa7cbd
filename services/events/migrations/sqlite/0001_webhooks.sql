-- Webhook subscriptions and their delivery log.
CREATE TABLE webhook_subscriptions (
    id              BLOB PRIMARY KEY NOT NULL,
    url             TEXT NOT NULL,
    event_types     TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('ACTIVE', 'DISABLED')),
    disabled_reason TEXT NOT NULL DEFAULT '',
    secret          TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    creator         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX webhook_subscriptions_created_at_idx ON webhook_subscriptions (created_at, id);

CREATE TABLE webhook_deliveries (
    id              BLOB PRIMARY KEY NOT NULL,
    subscription_id BLOB NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    body            BLOB NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    next_attempt_at TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_created_at_idx ON webhook_deliveries (subscription_id, created_at, id);

CREATE TABLE request_log (
    request_id  TEXT PRIMARY KEY NOT NULL,
    method      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response    BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
