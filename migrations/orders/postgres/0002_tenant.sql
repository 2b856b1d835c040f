-- Products and orders belong to a tenant (multi-tenancy, issue 13); order lines follow their
-- order. Existing rows go to the default tenant; SKUs are unique per tenant. Row-level security
-- as for customers (see migrations/customers/postgres/0003_tenant.sql).
ALTER TABLE products ADD COLUMN tenant_id BIGINT NOT NULL DEFAULT 1 REFERENCES tenants(id);
ALTER TABLE products DROP CONSTRAINT products_sku_key;
CREATE UNIQUE INDEX products_sku ON products (tenant_id, sku);
ALTER TABLE orders ADD COLUMN tenant_id BIGINT NOT NULL DEFAULT 1 REFERENCES tenants(id);
CREATE INDEX orders_tenant ON orders (tenant_id);
ALTER TABLE products ENABLE ROW LEVEL SECURITY;
ALTER TABLE products FORCE ROW LEVEL SECURITY;
CREATE POLICY products_tenant ON products
    USING (NULLIF(current_setting('kwik.tenant_id', true), '') IS NULL
           OR tenant_id = NULLIF(current_setting('kwik.tenant_id', true), '')::BIGINT);
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE orders FORCE ROW LEVEL SECURITY;
CREATE POLICY orders_tenant ON orders
    USING (NULLIF(current_setting('kwik.tenant_id', true), '') IS NULL
           OR tenant_id = NULLIF(current_setting('kwik.tenant_id', true), '')::BIGINT);
