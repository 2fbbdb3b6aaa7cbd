-- The version of the duplicate-key rules is kept once per database instead of on every customer
-- (issue 14): marking it on the customer cost every create a second update of its row and of all
-- of its indexes, and made the backfill after a bulk load rewrite every customer. Customers
-- without keys are found by the keys' own index; a change of the rules re-keys everyone once.
DROP INDEX customers_match_keys_version_idx;
ALTER TABLE customers DROP COLUMN match_keys_version;
CREATE TABLE derived_versions (
    name    TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
-- The keys stored so far were made by the rules of version 1.
INSERT INTO derived_versions (name, version) VALUES ('match_keys', 1);
