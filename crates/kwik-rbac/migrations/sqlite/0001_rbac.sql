-- Kwik's users, roles, permissions and their assignments, with RecordInfoMixin audit fields.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    surname TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    hashed_password TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    -- Bumped on password change, reset and deactivation: tokens carrying an older version die.
    token_version INTEGER NOT NULL DEFAULT 0,
    creation_time DATETIME NOT NULL,
    last_modification_time DATETIME NOT NULL,
    creator_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    last_modifier_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    creation_time DATETIME NOT NULL,
    last_modification_time DATETIME NOT NULL,
    creator_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    last_modifier_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE permissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    creation_time DATETIME NOT NULL,
    last_modification_time DATETIME NOT NULL,
    creator_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    last_modifier_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE roles_permissions (
    role_id INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission_id INTEGER NOT NULL REFERENCES permissions(id) ON DELETE CASCADE,
    creation_time DATETIME NOT NULL,
    creator_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    PRIMARY KEY (role_id, permission_id)
);
CREATE INDEX roles_permissions_permission ON roles_permissions (permission_id);

CREATE TABLE users_roles (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    creation_time DATETIME NOT NULL,
    creator_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX users_roles_role ON users_roles (role_id);

-- API keys: only a SHA-256 of the key is stored; `prefix` finds the row.
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL,
    creation_time DATETIME NOT NULL,
    expires_at DATETIME,
    last_used_at DATETIME,
    revoked_at DATETIME
);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- Refresh tokens, by `jti`: rotation marks a token used; presenting a used one revokes its family.
CREATE TABLE refresh_tokens (
    jti TEXT PRIMARY KEY,
    family TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    creation_time DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    used_at DATETIME,
    revoked_at DATETIME
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
