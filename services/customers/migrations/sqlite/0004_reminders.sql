-- Follow-up reminders (issue 5). A durable timer per open reminder publishes "reminder.due".
CREATE TABLE reminders (
    id          BLOB PRIMARY KEY NOT NULL,
    customer_id BLOB NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    assignee_id BLOB NOT NULL,
    due_at      TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL CHECK (state IN ('OPEN', 'DONE', 'CANCELLED')),
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX reminders_assignee_idx ON reminders (assignee_id, state, due_at, id);
CREATE INDEX reminders_customer_idx ON reminders (customer_id, due_at, id);
