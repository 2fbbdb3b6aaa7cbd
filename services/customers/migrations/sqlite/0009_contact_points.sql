-- Contact points (issue 5): several emails, phones and addresses per customer, one primary per kind.
CREATE TABLE contact_points (
    id          BLOB PRIMARY KEY NOT NULL,
    customer_id BLOB NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('EMAIL', 'PHONE', 'ADDRESS')),
    label       TEXT NOT NULL DEFAULT '',
    is_primary  BOOLEAN NOT NULL,
    value       TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX contact_points_customer_idx ON contact_points (customer_id, kind);
CREATE UNIQUE INDEX contact_points_primary_idx ON contact_points (customer_id, kind) WHERE is_primary;
