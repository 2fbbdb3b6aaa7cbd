-- Personal settings of a user (PreferencesService). A user without a row has the defaults; the
-- row goes with the user (ON DELETE CASCADE, like their roles and sessions).
CREATE TABLE user_preferences (
    user_id     BLOB PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    locale      TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    -- The saved views, a JSON array of objects as the service validated them (JSONB on PostgreSQL).
    saved_views TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
