-- Search (issue 5). `search_doc` holds the customer's search tokens, made by the service
-- (search.rs) and indexed as they are (no parser, no stemming); names also get a trigram index
-- for typos. pg_trgm is a trusted extension: the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
ALTER TABLE customers ADD COLUMN search_doc TEXT NOT NULL DEFAULT '';
CREATE INDEX customers_search_idx ON customers USING GIN (array_to_tsvector(string_to_array(search_doc, ' ')));
CREATE INDEX customers_name_trgm_idx ON customers USING GIN (lower(display_name) gin_trgm_ops);
CREATE INDEX contact_points_value_idx ON contact_points (value);
