-- A person's name parts (issue 14): imported from first/last-name columns, compared by the
-- duplicate matcher part by part, and filterable.
ALTER TABLE customers ADD COLUMN given_name TEXT;
ALTER TABLE customers ADD COLUMN family_name TEXT;
