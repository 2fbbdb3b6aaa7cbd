-- The descriptive fields of a customer (issue 5). SQLite adds one column per statement, and
-- cannot add table constraints later: the pairing of external_id and source is checked by the
-- service.
ALTER TABLE customers ADD COLUMN legal_name TEXT;
ALTER TABLE customers ADD COLUMN lifecycle_stage TEXT NOT NULL DEFAULT 'PROSPECT'
    CHECK (lifecycle_stage IN ('PROSPECT', 'NEW', 'ACTIVE', 'AT_RISK', 'CHURNED'));
ALTER TABLE customers ADD COLUMN stage_pinned BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE customers ADD COLUMN value_tier TEXT NOT NULL DEFAULT 'C' CHECK (value_tier IN ('A', 'B', 'C'));
ALTER TABLE customers ADD COLUMN industry TEXT;
ALTER TABLE customers ADD COLUMN region TEXT;
ALTER TABLE customers ADD COLUMN company_size TEXT;
ALTER TABLE customers ADD COLUMN source_channel TEXT;
ALTER TABLE customers ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE customers ADD COLUMN external_id TEXT;
ALTER TABLE customers ADD COLUMN source TEXT;
ALTER TABLE customers ADD COLUMN birth_date TEXT;
ALTER TABLE customers ADD COLUMN preferred_language TEXT;
ALTER TABLE customers ADD COLUMN notes TEXT;
CREATE UNIQUE INDEX customers_external_idx ON customers (source, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX customers_stage_idx ON customers (lifecycle_stage);
CREATE INDEX customers_tier_idx ON customers (value_tier);
