-- The audit trail names the request and trace a write came from (issue 5).
ALTER TABLE customer_history ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
ALTER TABLE customer_history ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
