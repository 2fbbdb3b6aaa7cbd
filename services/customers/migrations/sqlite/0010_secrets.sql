-- Sensitive fields (issue 5): one row per customer and field. Only ciphertext
-- ("v1.<key id>.<nonce+ciphertext>", AES-256-GCM) and a keyed hash for exact-match search
-- (blind index) are stored, never plaintext.
CREATE TABLE customer_secrets (
    customer_id BLOB NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    field       TEXT NOT NULL,
    ciphertext  TEXT NOT NULL,
    blind_index TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (customer_id, field)
);
CREATE INDEX customer_secrets_index_idx ON customer_secrets (field, blind_index);

-- The audit trail also records unmasked reads, sharing and ownership transfers, and (issue 6)
-- merges and erasures. SQLite cannot change a CHECK in place: the table is rebuilt.
CREATE TABLE customer_history_new (
    id          BLOB PRIMARY KEY NOT NULL,
    customer_id BLOB NOT NULL,
    action      TEXT NOT NULL CHECK (action IN (
        'CREATED', 'UPDATED', 'CLASSIFIED', 'DELETED', 'SENSITIVE_READ', 'SHARED', 'UNSHARED',
        'TRANSFERRED', 'MERGED', 'UNMERGED', 'ERASED')),
    actor       TEXT NOT NULL,
    changes     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
INSERT INTO customer_history_new SELECT id, customer_id, action, actor, changes, created_at FROM customer_history;
DROP TABLE customer_history;
ALTER TABLE customer_history_new RENAME TO customer_history;
CREATE INDEX customer_history_customer_idx ON customer_history (customer_id, created_at, id);
