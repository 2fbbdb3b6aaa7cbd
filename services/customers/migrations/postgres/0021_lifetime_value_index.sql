-- Customers by lifetime value, live ones only (every read has `merged_into IS NULL`): the Pareto
-- curve of SummarizeCustomers reads them in this order instead of sorting every customer (a
-- sort that spills to disk at a million rows), and ListCustomers ordered by lifetime_value pages
-- through it (the id is the keyset tiebreak).
CREATE INDEX customers_lifetime_value_idx ON customers (lifetime_value_minor, id) WHERE merged_into IS NULL;
