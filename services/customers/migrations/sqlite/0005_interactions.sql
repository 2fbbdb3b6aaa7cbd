-- Interactions (issue 5): a customer's timeline.
CREATE TABLE interactions (
    id               BLOB PRIMARY KEY NOT NULL,
    customer_id      BLOB NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    type             TEXT NOT NULL CHECK (type IN ('CALL', 'EMAIL', 'MEETING', 'VISIT', 'NOTE')),
    direction        TEXT,
    occurred_at      TEXT NOT NULL,
    duration_seconds INTEGER NOT NULL DEFAULT 0,
    subject          TEXT NOT NULL DEFAULT '',
    body             TEXT NOT NULL DEFAULT '',
    participants     TEXT NOT NULL DEFAULT '[]',
    user_id          BLOB,
    outcome          TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL
);
CREATE INDEX interactions_customer_time_idx ON interactions (customer_id, occurred_at, id);
