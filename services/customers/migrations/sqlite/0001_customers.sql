-- Customers: the slice of the customer domain the foundation serves.
-- UUIDs are 16-byte BLOBs and timestamps RFC 3339 TEXT (sqlx's SQLite encodings).
CREATE TABLE customers (
    id              BLOB PRIMARY KEY NOT NULL,
    display_name    TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('PERSON', 'ORGANIZATION')),
    email           TEXT,
    phone           TEXT,
    owner_id        BLOB,
    owner_unit_path TEXT NOT NULL DEFAULT '/',
    version         INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX customers_created_at_idx ON customers (created_at, id);
CREATE INDEX customers_updated_at_idx ON customers (updated_at, id);
CREATE INDEX customers_display_name_idx ON customers (display_name, id);
CREATE INDEX customers_owner_idx ON customers (owner_id);
CREATE INDEX customers_owner_unit_idx ON customers (owner_unit_path);

CREATE TABLE request_log (
    request_id  TEXT PRIMARY KEY NOT NULL,
    method      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response    BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX request_log_created_at_idx ON request_log (created_at);
