-- Customers: the slice of the customer domain the foundation serves.
CREATE TABLE customers (
    id              UUID PRIMARY KEY,
    display_name    TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('PERSON', 'ORGANIZATION')),
    email           TEXT,
    phone           TEXT,
    owner_id        UUID,
    owner_unit_path TEXT NOT NULL DEFAULT '/',
    version         BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
-- Keyset paging for each sortable field, with id as the tiebreak.
CREATE INDEX customers_created_at_idx ON customers (created_at, id);
CREATE INDEX customers_updated_at_idx ON customers (updated_at, id);
CREATE INDEX customers_display_name_idx ON customers (display_name, id);
-- Data scope checks.
CREATE INDEX customers_owner_idx ON customers (owner_id);
CREATE INDEX customers_owner_unit_idx ON customers (owner_unit_path text_pattern_ops);

-- Idempotency: the first result of each request id, returned again on a retry.
CREATE TABLE request_log (
    request_id  TEXT PRIMARY KEY,
    method      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response    BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX request_log_created_at_idx ON request_log (created_at);
