-- Principal caches (kwik-http) keep each authenticated user's row and permission names in
-- memory. Every change to what a principal is made of notifies the channel `kwik_principals`
-- when its transaction commits, whoever makes it (any instance, the CLI, SQL by hand); every
-- instance listens and drops its cache. `last_used_at` of API keys is not such a change.
CREATE FUNCTION kwik_principals_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kwik_principals', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER kwik_principals_users AFTER UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION kwik_principals_changed();
CREATE TRIGGER kwik_principals_roles AFTER UPDATE OR DELETE OR TRUNCATE ON roles
    FOR EACH STATEMENT EXECUTE FUNCTION kwik_principals_changed();
CREATE TRIGGER kwik_principals_permissions AFTER UPDATE OR DELETE OR TRUNCATE ON permissions
    FOR EACH STATEMENT EXECUTE FUNCTION kwik_principals_changed();
CREATE TRIGGER kwik_principals_users_roles AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users_roles
    FOR EACH STATEMENT EXECUTE FUNCTION kwik_principals_changed();
CREATE TRIGGER kwik_principals_roles_permissions AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON roles_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION kwik_principals_changed();
CREATE TRIGGER kwik_principals_api_keys
    AFTER UPDATE OF user_id, prefix, key_hash, expires_at, revoked_at OR DELETE OR TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION kwik_principals_changed();
