-- Idempotency: the first result of each request id, returned again on a retry.
CREATE TABLE request_log (
    request_id  TEXT PRIMARY KEY,
    method      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response    BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX request_log_created_at_idx ON request_log (created_at);
