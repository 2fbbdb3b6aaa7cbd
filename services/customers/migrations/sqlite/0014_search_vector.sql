-- Search, faster (issue 5): names get a prefix index (exact and prefix matches rank first).
-- The token index is FTS5 already.
CREATE INDEX customers_name_prefix_idx ON customers (lower(display_name));
