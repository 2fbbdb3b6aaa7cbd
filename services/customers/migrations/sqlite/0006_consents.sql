-- Consent ledger (issue 5): append-only; the latest decision per purpose is the current one.
CREATE TABLE consents (
    id          BLOB PRIMARY KEY NOT NULL,
    customer_id BLOB NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('MARKETING_EMAIL', 'SMS', 'PHONE', 'DATA_PROCESSING')),
    status      TEXT NOT NULL CHECK (status IN ('GRANTED', 'WITHDRAWN')),
    decided_at  TEXT NOT NULL,
    source      TEXT NOT NULL,
    evidence    TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX consents_customer_idx ON consents (customer_id, decided_at, id);
