-- Customers belong to a tenant (multi-tenancy, issue 13): existing customers to the default
-- tenant; emails are unique per tenant. Row-level security keeps a transaction that carries a
-- tenant (`kwik.tenant_id`, set by the framework when tenancy is on) to that tenant's rows even
-- for a query that forgot the filter; without the setting (tenancy off, system work) every row
-- is visible. Superusers and roles with BYPASSRLS skip policies: run the application as an
-- ordinary role (docs/multi-tenancy.md).
ALTER TABLE customers ADD COLUMN tenant_id BIGINT NOT NULL DEFAULT 1 REFERENCES tenants(id);
DROP INDEX customers_email_live;
CREATE UNIQUE INDEX customers_email_live ON customers (tenant_id, email) WHERE deleted_at IS NULL;
-- Lists sort live customers by name (the example's default listing).
CREATE INDEX customers_name_live ON customers (name) WHERE deleted_at IS NULL;
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
CREATE POLICY customers_tenant ON customers
    USING (NULLIF(current_setting('kwik.tenant_id', true), '') IS NULL
           OR tenant_id = NULLIF(current_setting('kwik.tenant_id', true), '')::BIGINT);
