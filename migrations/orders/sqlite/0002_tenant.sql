-- no-transaction
-- Products and orders belong to a tenant (multi-tenancy, issue 13); order lines follow their
-- order. Existing rows go to the default tenant; SKUs are unique per tenant. SQLite cannot drop
-- the UNIQUE column constraint on sku, so products is rebuilt (SQLite's documented procedure, as
-- in migrations/customers/sqlite/0002_soft_delete.sql, keeping the AUTOINCREMENT counter).
-- orders.tenant_id is added without a foreign key (SQLite refuses REFERENCES with a non-NULL
-- default on ALTER TABLE); tenants are never deleted.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE products_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    unit_price TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    creation_time DATETIME NOT NULL,
    last_modification_time DATETIME NOT NULL,
    creator_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    last_modifier_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    tenant_id INTEGER NOT NULL DEFAULT 1 REFERENCES tenants(id)
);
INSERT INTO products_rebuilt (id, sku, name, unit_price, active, creation_time, last_modification_time,
                              creator_user_id, last_modifier_user_id)
    SELECT id, sku, name, unit_price, active, creation_time, last_modification_time, creator_user_id,
           last_modifier_user_id
    FROM products;
UPDATE sqlite_sequence
    SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'products'), 0))
    WHERE name = 'products_rebuilt';
DROP TABLE products;
ALTER TABLE products_rebuilt RENAME TO products;
CREATE UNIQUE INDEX products_sku ON products (tenant_id, sku);
ALTER TABLE orders ADD COLUMN tenant_id INTEGER NOT NULL DEFAULT 1;
CREATE INDEX orders_tenant ON orders (tenant_id);
COMMIT;
PRAGMA foreign_keys = ON;
