-- Lifetime value (issue 5): the sum of a customer's completed purchases in minor units, kept
-- with each recording so that List can filter and sort-free scan by it.
ALTER TABLE customers ADD COLUMN lifetime_value_minor BIGINT NOT NULL DEFAULT 0;
UPDATE customers SET lifetime_value_minor = t.total
    FROM (SELECT customer_id, SUM(amount_minor) AS total FROM transactions
          WHERE status = 'COMPLETED' GROUP BY customer_id) AS t
    WHERE customers.id = t.customer_id;
