-- Follow-up reminders (issue 5). A durable timer per open reminder publishes "reminder.due".
CREATE TABLE reminders (
    id          UUID PRIMARY KEY,
    customer_id UUID NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    assignee_id UUID NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL CHECK (state IN ('OPEN', 'DONE', 'CANCELLED')),
    version     BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
-- A user's day: their open reminders by due time.
CREATE INDEX reminders_assignee_idx ON reminders (assignee_id, state, due_at, id);
CREATE INDEX reminders_customer_idx ON reminders (customer_id, due_at, id);
