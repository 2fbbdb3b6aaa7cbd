-- Sensitive fields (issue 5): one row per customer and field. Only ciphertext
-- ("v1.<key id>.<nonce+ciphertext>", AES-256-GCM) and a keyed hash for exact-match search
-- (blind index) are stored, never plaintext.
CREATE TABLE customer_secrets (
    customer_id UUID NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    field       TEXT NOT NULL,
    ciphertext  TEXT NOT NULL,
    blind_index TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (customer_id, field)
);
CREATE INDEX customer_secrets_index_idx ON customer_secrets (field, blind_index);

-- The audit trail also records unmasked reads, sharing and ownership transfers, and (issue 6)
-- merges and erasures.
ALTER TABLE customer_history DROP CONSTRAINT customer_history_action_check;
ALTER TABLE customer_history ADD CONSTRAINT customer_history_action_check CHECK (action IN (
    'CREATED', 'UPDATED', 'CLASSIFIED', 'DELETED', 'SENSITIVE_READ', 'SHARED', 'UNSHARED',
    'TRANSFERRED', 'MERGED', 'UNMERGED', 'ERASED'));
