-- SQLite: UUIDs are 16-byte BLOBs, timestamps RFC 3339 TEXT (sqlx's SQLite encodings).
-- Organisation tree: materialized paths make "this unit and everything below" one prefix query.
CREATE TABLE units (
    id           BLOB PRIMARY KEY NOT NULL,
    code         TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    parent_id    BLOB REFERENCES units (id),
    path         TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX units_path_idx ON units (path);

-- Roles: permissions (JSON array) and data scope per resource family (JSON object).
CREATE TABLE roles (
    id           BLOB PRIMARY KEY NOT NULL,
    display_name TEXT NOT NULL UNIQUE,
    description  TEXT NOT NULL,
    permissions  TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    built_in     BOOLEAN NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE users (
    id                       BLOB PRIMARY KEY NOT NULL,
    login_name               TEXT NOT NULL UNIQUE,
    display_name             TEXT NOT NULL,
    email                    TEXT,
    phone                    TEXT,
    unit_id                  BLOB NOT NULL REFERENCES units (id),
    status                   TEXT NOT NULL,
    password_hash            TEXT NOT NULL,
    password_change_required BOOLEAN NOT NULL,
    failed_login_count       INTEGER NOT NULL,
    locked_until             TEXT,
    last_login_at            TEXT,
    version                  INTEGER NOT NULL,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL
);
CREATE INDEX users_unit_idx ON users (unit_id);

CREATE TABLE user_roles (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id BLOB NOT NULL REFERENCES roles (id),
    PRIMARY KEY (user_id, role_id)
);

-- Machine callers. Secrets are stored as hashes; the previous one stays valid during rotation.
CREATE TABLE api_clients (
    id                         BLOB PRIMARY KEY NOT NULL,
    client_id                  TEXT NOT NULL UNIQUE,
    display_name               TEXT NOT NULL,
    unit_id                    BLOB REFERENCES units (id),
    role_ids                   TEXT NOT NULL,
    allowed_cidrs              TEXT NOT NULL,
    status                     TEXT NOT NULL,
    secret_hash                TEXT NOT NULL,
    previous_secret_hash       TEXT,
    previous_secret_expires_at TEXT,
    secret_rotated_at          TEXT NOT NULL,
    version                    INTEGER NOT NULL,
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL
);

-- Rotating refresh tokens, stored hashed; a family is one login session.
CREATE TABLE refresh_tokens (
    id         BLOB PRIMARY KEY NOT NULL,
    family_id  BLOB NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    revoked_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE security_events (
    id         BLOB PRIMARY KEY NOT NULL,
    type       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    target     TEXT NOT NULL,
    time       TEXT NOT NULL,
    source_ip  TEXT NOT NULL,
    request_id TEXT NOT NULL,
    trace_id   TEXT NOT NULL,
    details    TEXT NOT NULL
);
CREATE INDEX security_events_time_idx ON security_events (time, id);
CREATE INDEX security_events_target_idx ON security_events (target, type, time);
CREATE INDEX security_events_source_idx ON security_events (source_ip, type, time);

CREATE TABLE security_alerts (
    id           BLOB PRIMARY KEY NOT NULL,
    rule         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    count        INTEGER NOT NULL,
    window_start TEXT NOT NULL,
    window_end   TEXT NOT NULL,
    state        TEXT NOT NULL,
    ack_actor    TEXT,
    ack_time     TEXT,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX security_alerts_open_idx ON security_alerts (rule, subject, state);
