-- Multi-tenancy (opt-in, KWIK_TENANCY_ENABLED): tenants, and the tenant of each user. Every
-- existing and new row belongs to the `default` tenant (id 1) unless told otherwise, so with
-- tenancy off nothing changes. SQLite cannot add a column with both a REFERENCES clause and a
-- non-NULL default, so users.tenant_id has no foreign key here; tenants are never deleted and
-- the API checks the tenant exists before assigning it.
CREATE TABLE tenants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    creation_time DATETIME NOT NULL,
    last_modification_time DATETIME NOT NULL,
    creator_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    last_modifier_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL
);
INSERT INTO tenants (id, name, creation_time, last_modification_time)
    VALUES (1, 'default', strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));
ALTER TABLE users ADD COLUMN tenant_id INTEGER NOT NULL DEFAULT 1;
CREATE INDEX users_tenant ON users (tenant_id);
