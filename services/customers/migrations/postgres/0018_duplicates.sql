-- Duplicates and merges (issue 6).

-- Blocking keys of each customer (crm-dedup), hashed to 64 bits: the candidates of a duplicate
-- check are the customers sharing a key, found by index instead of by comparing every pair.
-- A hash collision only adds a candidate, which the scoring then rejects.
CREATE TABLE customer_match_keys (
    key_hash    BIGINT NOT NULL,
    customer_id UUID NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    PRIMARY KEY (key_hash, customer_id)
);
CREATE INDEX customer_match_keys_customer_idx ON customer_match_keys (customer_id);
-- Which version of the key rules a customer's keys were made with (0: none yet), so a change
-- of the rules re-keys the stored customers at the next start.
ALTER TABLE customers ADD COLUMN match_keys_version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX customers_match_keys_version_idx ON customers (match_keys_version);

-- A merged customer is kept, hidden from every read, until its merge can no longer be undone:
-- undo then restores it exactly. NULL for every live customer.
ALTER TABLE customers ADD COLUMN merged_into UUID;
CREATE INDEX customers_merged_into_idx ON customers (merged_into) WHERE merged_into IS NOT NULL;

-- One merge: the survivor, the merged customers, and what undo needs (the survivor's fields
-- before, the sub-resources that moved, the primaries that were demoted) as JSON.
CREATE TABLE customer_merges (
    id               UUID PRIMARY KEY,
    survivor_id      UUID NOT NULL,
    merged_ids       TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('MERGED', 'UNDONE')),
    undo             TEXT NOT NULL,
    owner_unit_path  TEXT NOT NULL,
    actor            TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    undo_deadline    TIMESTAMPTZ NOT NULL,
    undone_at        TIMESTAMPTZ,
    undone_by        TEXT
);
CREATE INDEX customer_merges_survivor_idx ON customer_merges (survivor_id, created_at);
CREATE INDEX customer_merges_created_idx ON customer_merges (created_at, id);

-- Reviewers' decisions on pairs (a < b): "not a duplicate" is remembered so the pair is never
-- proposed again; "duplicate" confirms it for merging.
CREATE TABLE duplicate_decisions (
    customer_a  UUID NOT NULL,
    customer_b  UUID NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('DUPLICATE', 'NOT_DUPLICATE')),
    decided_by  TEXT NOT NULL,
    decided_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (customer_a, customer_b)
);

-- Scans for duplicates among the customers in a caller's scope, run in the background.
CREATE TABLE duplicate_scans (
    id                UUID PRIMARY KEY,
    state             TEXT NOT NULL CHECK (state IN ('RUNNING', 'SUCCEEDED', 'FAILED')),
    started_by        TEXT NOT NULL,
    customers_scanned BIGINT NOT NULL DEFAULT 0,
    comparisons       BIGINT NOT NULL DEFAULT 0,
    clusters          BIGINT NOT NULL DEFAULT 0,
    duplicate_pairs   BIGINT NOT NULL DEFAULT 0,
    possible_pairs    BIGINT NOT NULL DEFAULT 0,
    read_millis       BIGINT NOT NULL DEFAULT 0,
    compare_millis    BIGINT NOT NULL DEFAULT 0,
    error             TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ
);
CREATE INDEX duplicate_scans_created_idx ON duplicate_scans (created_at);

-- The pairs a scan found (customer_a < customer_b), in listing order (`position`: clusters of
-- likely duplicates first, then possible pairs, best score first).
CREATE TABLE duplicate_scan_pairs (
    scan_id     UUID NOT NULL REFERENCES duplicate_scans (id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    customer_a  UUID NOT NULL,
    customer_b  UUID NOT NULL,
    cluster     BIGINT NOT NULL,
    score       DOUBLE PRECISION NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('DUPLICATE', 'POSSIBLE')),
    reasons     TEXT NOT NULL,
    PRIMARY KEY (scan_id, position)
);
