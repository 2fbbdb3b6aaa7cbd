-- Imports (issue 6): a job per uploaded file, and its reported rows: every row not simply
-- created (updated, skipped, failed), and created rows that look like an existing customer.
CREATE TABLE customer_imports (
    id                 BLOB PRIMARY KEY NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
    file_name          TEXT NOT NULL,
    format             TEXT NOT NULL,
    dry_run            INTEGER NOT NULL,
    options            TEXT NOT NULL,
    rows_total         INTEGER NOT NULL DEFAULT 0,
    rows_done          INTEGER NOT NULL DEFAULT 0,
    created            INTEGER NOT NULL DEFAULT 0,
    updated            INTEGER NOT NULL DEFAULT 0,
    skipped            INTEGER NOT NULL DEFAULT 0,
    failed             INTEGER NOT NULL DEFAULT 0,
    header             TEXT NOT NULL DEFAULT '[]',
    mapping            TEXT NOT NULL DEFAULT '{}',
    unmapped           TEXT NOT NULL DEFAULT '[]',
    detected_encoding  TEXT NOT NULL DEFAULT '',
    detected_delimiter TEXT NOT NULL DEFAULT '',
    error              TEXT NOT NULL DEFAULT '',
    cancel_requested   INTEGER NOT NULL DEFAULT 0,
    started_by         TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    finished_at        TEXT
);
CREATE INDEX customer_imports_started_by_idx ON customer_imports (started_by, id);

CREATE TABLE customer_import_rows (
    import_id   BLOB NOT NULL REFERENCES customer_imports (id) ON DELETE CASCADE,
    row_number  INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('CREATED', 'UPDATED', 'SKIPPED_DUPLICATE', 'FAILED')),
    customer_id BLOB,
    candidate   BLOB,
    field       TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    cells       TEXT NOT NULL,
    PRIMARY KEY (import_id, row_number)
);
