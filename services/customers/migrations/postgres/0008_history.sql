-- The audit trail of customers (issue 5). No foreign key: the trail outlives the customer.
CREATE TABLE customer_history (
    id          UUID PRIMARY KEY,
    customer_id UUID NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('CREATED', 'UPDATED', 'CLASSIFIED', 'DELETED')),
    actor       TEXT NOT NULL,
    changes     TEXT NOT NULL,          -- JSON array of {field, before, after}
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX customer_history_customer_idx ON customer_history (customer_id, created_at, id);
