-- The audit trail of customers (issue 5). No foreign key: the trail outlives the customer.
CREATE TABLE customer_history (
    id          BLOB PRIMARY KEY NOT NULL,
    customer_id BLOB NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('CREATED', 'UPDATED', 'CLASSIFIED', 'DELETED')),
    actor       TEXT NOT NULL,
    changes     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX customer_history_customer_idx ON customer_history (customer_id, created_at, id);
