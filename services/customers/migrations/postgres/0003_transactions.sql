-- Purchase history (issue 5): what classification (lifecycle stage, value tier) is derived from.
CREATE TABLE transactions (
    id              UUID PRIMARY KEY,
    customer_id     UUID NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    order_reference TEXT NOT NULL,
    order_time      TIMESTAMPTZ NOT NULL,
    amount_minor    BIGINT NOT NULL CHECK (amount_minor >= 0),
    currency        TEXT NOT NULL,
    items           TEXT NOT NULL,          -- JSON array of {product, quantity, unit_price_minor}
    channel         TEXT,
    status          TEXT NOT NULL CHECK (status IN ('COMPLETED', 'REFUNDED')),
    created_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT transactions_order_key UNIQUE (customer_id, order_reference)
);
-- History newest first, per customer.
CREATE INDEX transactions_customer_time_idx ON transactions (customer_id, order_time, id);
