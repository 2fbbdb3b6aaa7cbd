-- Contact points (issue 5): several emails, phones and addresses per customer, one primary per kind.
CREATE TABLE contact_points (
    id          UUID PRIMARY KEY,
    customer_id UUID NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('EMAIL', 'PHONE', 'ADDRESS')),
    label       TEXT NOT NULL DEFAULT '',
    is_primary  BOOLEAN NOT NULL,
    value       TEXT NOT NULL,          -- email, E.164 phone, or the address as JSON
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX contact_points_customer_idx ON contact_points (customer_id, kind);
-- At most one primary per customer and kind.
CREATE UNIQUE INDEX contact_points_primary_idx ON contact_points (customer_id, kind) WHERE is_primary;
