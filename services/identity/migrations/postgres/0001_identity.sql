-- Organisation tree: materialized paths make "this unit and everything below" one prefix query.
CREATE TABLE units (
    id           UUID PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    parent_id    UUID REFERENCES units (id),
    path         TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX units_path_idx ON units (path text_pattern_ops);

-- Roles: permissions (JSON array) and data scope per resource family (JSON object).
CREATE TABLE roles (
    id           UUID PRIMARY KEY,
    display_name TEXT NOT NULL UNIQUE,
    description  TEXT NOT NULL,
    permissions  TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    built_in     BOOLEAN NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id                       UUID PRIMARY KEY,
    login_name               TEXT NOT NULL UNIQUE,
    display_name             TEXT NOT NULL,
    email                    TEXT,
    phone                    TEXT,
    unit_id                  UUID NOT NULL REFERENCES units (id),
    status                   TEXT NOT NULL,
    password_hash            TEXT NOT NULL,
    password_change_required BOOLEAN NOT NULL,
    failed_login_count       INTEGER NOT NULL,
    locked_until             TIMESTAMPTZ,
    last_login_at            TIMESTAMPTZ,
    version                  BIGINT NOT NULL,
    created_at               TIMESTAMPTZ NOT NULL,
    updated_at               TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_unit_idx ON users (unit_id);

CREATE TABLE user_roles (
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id UUID NOT NULL REFERENCES roles (id),
    PRIMARY KEY (user_id, role_id)
);

-- Machine callers. Secrets are stored as hashes; the previous one stays valid during rotation.
CREATE TABLE api_clients (
    id                         UUID PRIMARY KEY,
    client_id                  TEXT NOT NULL UNIQUE,
    display_name               TEXT NOT NULL,
    unit_id                    UUID REFERENCES units (id),
    role_ids                   TEXT NOT NULL,
    allowed_cidrs              TEXT NOT NULL,
    status                     TEXT NOT NULL,
    secret_hash                TEXT NOT NULL,
    previous_secret_hash       TEXT,
    previous_secret_expires_at TIMESTAMPTZ,
    secret_rotated_at          TIMESTAMPTZ NOT NULL,
    version                    BIGINT NOT NULL,
    created_at                 TIMESTAMPTZ NOT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL
);

-- Rotating refresh tokens, stored hashed; a family is one login session.
CREATE TABLE refresh_tokens (
    id         UUID PRIMARY KEY,
    family_id  UUID NOT NULL,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE security_events (
    id         UUID PRIMARY KEY,
    type       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    target     TEXT NOT NULL,
    time       TIMESTAMPTZ NOT NULL,
    source_ip  TEXT NOT NULL,
    request_id TEXT NOT NULL,
    trace_id   TEXT NOT NULL,
    details    TEXT NOT NULL
);
CREATE INDEX security_events_time_idx ON security_events (time, id);
CREATE INDEX security_events_target_idx ON security_events (target, type, time);
CREATE INDEX security_events_source_idx ON security_events (source_ip, type, time);

CREATE TABLE security_alerts (
    id           UUID PRIMARY KEY,
    rule         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    count        BIGINT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end   TIMESTAMPTZ NOT NULL,
    state        TEXT NOT NULL,
    ack_actor    TEXT,
    ack_time     TIMESTAMPTZ,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX security_alerts_open_idx ON security_alerts (rule, subject, state);
