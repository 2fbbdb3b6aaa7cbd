-- Search (issue 5). `search_doc` holds the customer's search tokens, made by the service
-- (search.rs); FTS5 indexes them. The FTS rows are keyed by `search_key`, a stable number of
-- the customer's own (a rowid may change on VACUUM), kept in step by triggers.
ALTER TABLE customers ADD COLUMN search_doc TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN search_key INTEGER;
CREATE UNIQUE INDEX customers_search_key_idx ON customers (search_key);
CREATE VIRTUAL TABLE customer_search USING fts5(
    search_doc, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER customers_search_insert AFTER INSERT ON customers BEGIN
    UPDATE customers SET search_key = (SELECT IFNULL(MAX(search_key), 0) + 1 FROM customers)
        WHERE id = new.id;
    INSERT INTO customer_search (rowid, search_doc)
        SELECT search_key, new.search_doc FROM customers WHERE id = new.id;
END;
CREATE TRIGGER customers_search_update AFTER UPDATE OF search_doc ON customers BEGIN
    DELETE FROM customer_search WHERE rowid = old.search_key;
    INSERT INTO customer_search (rowid, search_doc) VALUES (new.search_key, new.search_doc);
END;
CREATE TRIGGER customers_search_delete AFTER DELETE ON customers BEGIN
    DELETE FROM customer_search WHERE rowid = old.search_key;
END;
CREATE INDEX contact_points_value_idx ON contact_points (value);
