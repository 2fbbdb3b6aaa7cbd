-- Imports (issue 6): a job per uploaded file, and its reported rows: every row not simply
-- created (updated, skipped, failed), and created rows that look like an existing customer.
CREATE TABLE customer_imports (
    id                 UUID PRIMARY KEY,
    state              TEXT NOT NULL CHECK (state IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
    file_name          TEXT NOT NULL,
    format             TEXT NOT NULL,
    dry_run            BOOLEAN NOT NULL,
    options            TEXT NOT NULL,
    rows_total         BIGINT NOT NULL DEFAULT 0,
    rows_done          BIGINT NOT NULL DEFAULT 0,
    created            BIGINT NOT NULL DEFAULT 0,
    updated            BIGINT NOT NULL DEFAULT 0,
    skipped            BIGINT NOT NULL DEFAULT 0,
    failed             BIGINT NOT NULL DEFAULT 0,
    header             TEXT NOT NULL DEFAULT '[]',
    mapping            TEXT NOT NULL DEFAULT '{}',
    unmapped           TEXT NOT NULL DEFAULT '[]',
    detected_encoding  TEXT NOT NULL DEFAULT '',
    detected_delimiter TEXT NOT NULL DEFAULT '',
    error              TEXT NOT NULL DEFAULT '',
    cancel_requested   BOOLEAN NOT NULL DEFAULT FALSE,
    started_by         TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    finished_at        TIMESTAMPTZ
);
CREATE INDEX customer_imports_started_by_idx ON customer_imports (started_by, id);

CREATE TABLE customer_import_rows (
    import_id   UUID NOT NULL REFERENCES customer_imports (id) ON DELETE CASCADE,
    row_number  BIGINT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('CREATED', 'UPDATED', 'SKIPPED_DUPLICATE', 'FAILED')),
    customer_id UUID,
    candidate   UUID,
    field       TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    cells       TEXT NOT NULL,
    PRIMARY KEY (import_id, row_number)
);
