-- Contacts of organisation customers (issue 5).
CREATE TABLE contacts (
    id           BLOB PRIMARY KEY NOT NULL,
    customer_id  BLOB NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    role         TEXT,
    email        TEXT,
    phone        TEXT,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX contacts_customer_idx ON contacts (customer_id, display_name, id);
