-- Custom fields (issue 5): definitions by administrators; each customer's values as a JSON
-- object (text, like tags) checked against the definitions by the service on every write.
CREATE TABLE custom_field_definitions (
    id          BLOB PRIMARY KEY NOT NULL,
    resource    TEXT NOT NULL,
    key         TEXT NOT NULL,
    label       TEXT NOT NULL,
    field_type  TEXT NOT NULL CHECK (field_type IN ('TEXT', 'NUMBER', 'DATE', 'BOOL', 'SINGLE_CHOICE', 'MULTI_CHOICE')),
    required    BOOLEAN NOT NULL,
    choices     TEXT NOT NULL,          -- JSON array of strings
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX custom_field_definitions_key_idx ON custom_field_definitions (resource, key);
ALTER TABLE customers ADD COLUMN custom_fields TEXT NOT NULL DEFAULT '{}';
