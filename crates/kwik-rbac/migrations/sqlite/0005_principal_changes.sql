-- Principal caches (kwik-http) keep each authenticated user's row and permission names in
-- memory. Every change to what a principal is made of advances the counter below, whoever makes
-- it (this process, another one on the same file, the CLI, SQL by hand); every instance reads it
-- a few times a second and drops its cache when it moved. `last_used_at` of API keys is not such
-- a change.
CREATE TABLE kwik_principal_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    counter INTEGER NOT NULL
);
INSERT INTO kwik_principal_changes (id, counter) VALUES (1, 0);

CREATE TRIGGER kwik_principals_users_update AFTER UPDATE ON users
BEGIN
    UPDATE kwik_principal_changes SET counter = counter + 1 WHERE id = 1;
END;

CREATE TRIGGER kwik_principals_users_delete AFTER DELETE ON users
BEGIN
    UPDATE kwik_principal_changes SET counter = counter + 1 WHERE id = 1;
END;

CREATE TRIGGER kwik_principals_roles_update AFTER UPDATE ON roles
BEGIN
    UPDATE kwik_principal_changes SET counter = counter + 1 WHERE id = 1;
END;

CREATE TRIGGER kwik_principals_roles_delete AFTER DELETE ON roles
BEGIN
    UPDATE kwik_principal_changes SET counter = counter + 1 WHERE id = 1;
END;

CREATE TRIGGER kwik_principals_permissions_update AFTER UPDATE ON permissions
BEGIN
    UPDATE kwik_principal_changes SET counter = counter + 1 WHERE id = 1;
END;

CREATE TRIGGER kwik_principals_permissions_delete AFTER DELETE ON permissions
BEGIN
    UPDATE kwik_principal_changes SET counter = counter + 1 WHERE id = 1;
END;

CREATE TRIGGER kwik_principals_users_roles_insert AFTER INSERT ON users_roles
BEGIN
    UPDATE kwik_principal_changes SET counter = counter + 1 WHERE id = 1;
END;

CREATE TRIGGER kwik_principals_users_roles_update AFTER UPDATE ON users_roles
BEGIN
    UPDATE kwik_principal_changes SET counter = counter + 1 WHERE id = 1;
END;

CREATE TRIGGER kwik_principals_users_roles_delete AFTER DELETE ON users_roles
BEGIN
    UPDATE kwik_principal_changes SET counter = counter + 1 WHERE id = 1;
END;

CREATE TRIGGER kwik_principals_roles_permissions_insert AFTER INSERT ON roles_permissions
BEGIN
    UPDATE kwik_principal_changes SET counter = counter + 1 WHERE id = 1;
END;

CREATE TRIGGER kwik_principals_roles_permissions_update AFTER UPDATE ON roles_permissions
BEGIN
    UPDATE kwik_principal_changes SET counter = counter + 1 WHERE id = 1;
END;

CREATE TRIGGER kwik_principals_roles_permissions_delete AFTER DELETE ON roles_permissions
BEGIN
    UPDATE kwik_principal_changes SET counter = counter + 1 WHERE id = 1;
END;

CREATE TRIGGER kwik_principals_api_keys_update AFTER UPDATE OF user_id, prefix, key_hash, expires_at, revoked_at ON api_keys
BEGIN
    UPDATE kwik_principal_changes SET counter = counter + 1 WHERE id = 1;
END;

CREATE TRIGGER kwik_principals_api_keys_delete AFTER DELETE ON api_keys
BEGIN
    UPDATE kwik_principal_changes SET counter = counter + 1 WHERE id = 1;
END;
