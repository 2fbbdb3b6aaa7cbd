-- Events machinery every service database holds (crm_platform::events).

-- Outbox: events written in the transaction of the change, published by the relay in seq order.
CREATE TABLE outbox (
    seq        BIGSERIAL PRIMARY KEY,
    id         UUID NOT NULL,
    stream     TEXT NOT NULL,
    event      BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    sent_at    TIMESTAMPTZ
);
CREATE INDEX outbox_unsent_idx ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL;

-- One row per outbox; the publishing relay holds it FOR UPDATE (others SKIP LOCKED), so one
-- relay among replicas publishes at a time, in seq order.
CREATE TABLE outbox_relay (
    name TEXT PRIMARY KEY
);
INSERT INTO outbox_relay (name) VALUES ('outbox');

-- Inbox: ids of the events each consumer has applied, written in the handler's transaction.
CREATE TABLE inbox (
    consumer     TEXT NOT NULL,
    event_id     UUID NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX inbox_processed_at_idx ON inbox (processed_at);

-- Durable timers: (kind, key) names a timer, so scheduling again moves it.
CREATE TABLE timers (
    id           UUID PRIMARY KEY,
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL,
    due_at       TIMESTAMPTZ NOT NULL,
    payload      BYTEA NOT NULL,
    attempt      INTEGER NOT NULL DEFAULT 0,
    locked_by    TEXT,
    locked_until TIMESTAMPTZ,
    last_error   TEXT,
    CONSTRAINT timers_kind_key_key UNIQUE (kind, key)
);
CREATE INDEX timers_due_idx ON timers (due_at);
