-- Purchase history (issue 5): what classification (lifecycle stage, value tier) is derived from.
CREATE TABLE transactions (
    id              BLOB PRIMARY KEY NOT NULL,
    customer_id     BLOB NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    order_reference TEXT NOT NULL,
    order_time      TEXT NOT NULL,
    amount_minor    INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency        TEXT NOT NULL,
    items           TEXT NOT NULL,
    channel         TEXT,
    status          TEXT NOT NULL CHECK (status IN ('COMPLETED', 'REFUNDED')),
    created_at      TEXT NOT NULL,
    UNIQUE (customer_id, order_reference)
);
CREATE INDEX transactions_customer_time_idx ON transactions (customer_id, order_time, id);
