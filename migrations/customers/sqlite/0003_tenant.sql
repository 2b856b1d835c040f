-- Customers belong to a tenant (multi-tenancy, issue 13): existing customers to the default
-- tenant; emails are unique per tenant. SQLite cannot add a column with both REFERENCES and a
-- non-NULL default: tenant_id has no foreign key here (tenants are never deleted; the framework
-- sets it from the caller's tenant).
ALTER TABLE customers ADD COLUMN tenant_id INTEGER NOT NULL DEFAULT 1;
DROP INDEX customers_email_live;
CREATE UNIQUE INDEX customers_email_live ON customers (tenant_id, email) WHERE deleted_at IS NULL;
-- Lists sort live customers by name (the example's default listing).
CREATE INDEX customers_name_live ON customers (name) WHERE deleted_at IS NULL;
