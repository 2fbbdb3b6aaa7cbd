-- Data subjects' requests (issue 6) and each service's answer (the erasure receipt).
CREATE TABLE privacy_requests (
    id           UUID PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('ACCESS', 'ERASURE')),
    subjects     TEXT NOT NULL,
    reason       TEXT NOT NULL,
    customers    TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('RUNNING', 'COMPLETED')),
    requested_by TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ
);
CREATE INDEX privacy_requests_created_idx ON privacy_requests (created_at, id);

CREATE TABLE privacy_answers (
    request_id  UUID NOT NULL REFERENCES privacy_requests (id) ON DELETE CASCADE,
    service     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('PENDING', 'DONE')),
    actions     TEXT NOT NULL DEFAULT '[]',
    data        TEXT NOT NULL DEFAULT '',
    answered_at TIMESTAMPTZ,
    PRIMARY KEY (request_id, service)
);

-- Each customer's data key (envelope encryption of its sensitive values), wrapped by the
-- keyring's current key. Deleting it makes the customer's ciphertexts unreadable wherever copies
-- of them are (crypto-shredding); a keyring rotation only re-wraps these keys.
CREATE TABLE customer_keys (
    customer_id UUID PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    wrapped     TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
