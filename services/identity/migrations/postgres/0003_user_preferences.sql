-- Personal settings of a user (PreferencesService). A user without a row has the defaults; the
-- row goes with the user (ON DELETE CASCADE, like their roles and sessions).
CREATE TABLE user_preferences (
    user_id     UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    locale      TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    -- The saved views, a JSON array of objects as the service validated them.
    saved_views JSONB NOT NULL,
    version     BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
