-- Lifetime value (issue 5): the sum of a customer's completed purchases in minor units, kept
-- with each recording so that List can filter by it.
ALTER TABLE customers ADD COLUMN lifetime_value_minor INTEGER NOT NULL DEFAULT 0;
UPDATE customers SET lifetime_value_minor = COALESCE((SELECT SUM(amount_minor) FROM transactions t
    WHERE t.customer_id = customers.id AND t.status = 'COMPLETED'), 0);
