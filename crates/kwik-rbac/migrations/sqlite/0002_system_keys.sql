-- Stable markers for the rows start-up bootstrap owns. Names and emails can be changed through
-- the API; these cannot, so bootstrap never mistakes a renamed role or a claimed email for its own.
-- NULL for every row created through the API.
ALTER TABLE roles ADD COLUMN system_key TEXT;
CREATE UNIQUE INDEX roles_system_key ON roles (system_key);
ALTER TABLE users ADD COLUMN system_key TEXT;
CREATE UNIQUE INDEX users_system_key ON users (system_key);
-- Databases bootstrapped before the markers: the role then named `admin` is the administrator role.
UPDATE roles SET system_key = 'admin' WHERE name = 'admin';
-- Keys migrated from Kwik (`tbk_...`) are found by the SHA-256 of the whole key.
CREATE INDEX api_keys_key_hash ON api_keys (key_hash);
