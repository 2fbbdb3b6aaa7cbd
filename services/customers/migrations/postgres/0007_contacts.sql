-- Contacts of organisation customers (issue 5).
CREATE TABLE contacts (
    id           UUID PRIMARY KEY,
    customer_id  UUID NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    role         TEXT,
    email        TEXT,
    phone        TEXT,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX contacts_customer_idx ON contacts (customer_id, display_name, id);
