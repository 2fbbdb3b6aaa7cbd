-- Sharing (issue 5): a customer shared with a user (grantee = user id) or a unit (grantee =
-- unit path: its members and the units below it), for reading or writing.
CREATE TABLE customer_shares (
    id           UUID PRIMARY KEY,
    customer_id  UUID NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    grantee_kind TEXT NOT NULL CHECK (grantee_kind IN ('USER', 'UNIT')),
    grantee      TEXT NOT NULL,
    access       TEXT NOT NULL CHECK (access IN ('READ', 'WRITE')),
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX customer_shares_grantee_idx ON customer_shares (customer_id, grantee_kind, grantee);
CREATE INDEX customer_shares_lookup_idx ON customer_shares (grantee_kind, grantee);
