-- The descriptive fields of a customer (issue 5): legal name, classification, segmentation,
-- the corporate system's id, and personal details.
ALTER TABLE customers
    ADD COLUMN legal_name         TEXT,
    ADD COLUMN lifecycle_stage    TEXT NOT NULL DEFAULT 'PROSPECT'
        CHECK (lifecycle_stage IN ('PROSPECT', 'NEW', 'ACTIVE', 'AT_RISK', 'CHURNED')),
    ADD COLUMN stage_pinned       BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN value_tier         TEXT NOT NULL DEFAULT 'C' CHECK (value_tier IN ('A', 'B', 'C')),
    ADD COLUMN industry           TEXT,
    ADD COLUMN region             TEXT,
    ADD COLUMN company_size       TEXT,
    ADD COLUMN source_channel     TEXT,
    ADD COLUMN tags               TEXT NOT NULL DEFAULT '[]',
    ADD COLUMN external_id        TEXT,
    ADD COLUMN source             TEXT,
    ADD COLUMN birth_date         TEXT,
    ADD COLUMN preferred_language TEXT,
    ADD COLUMN notes              TEXT,
    -- An external id always names its system.
    ADD CONSTRAINT customers_external_source_check CHECK ((external_id IS NULL) = (source IS NULL));
-- Corporate systems upsert by (source, external_id): one customer per pair.
CREATE UNIQUE INDEX customers_external_idx ON customers (source, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX customers_stage_idx ON customers (lifecycle_stage);
CREATE INDEX customers_tier_idx ON customers (value_tier);
