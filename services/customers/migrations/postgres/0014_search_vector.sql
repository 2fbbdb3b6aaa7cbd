-- Search, faster (issue 5): the token vector is stored instead of computed per row on every
-- query, and names get a prefix index (exact and prefix matches rank first).
ALTER TABLE customers ADD COLUMN search_tsv tsvector
    GENERATED ALWAYS AS (array_to_tsvector(string_to_array(search_doc, ' '))) STORED;
DROP INDEX customers_search_idx;
CREATE INDEX customers_search_idx ON customers USING GIN (search_tsv);
CREATE INDEX customers_name_prefix_idx ON customers (lower(display_name) text_pattern_ops);
