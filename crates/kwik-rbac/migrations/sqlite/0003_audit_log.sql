-- The audit log: one row per change, written in the change's transaction. No foreign keys: an
-- entry outlives the user and the row it names.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at DATETIME NOT NULL,
    user_id INTEGER,
    impersonator_id INTEGER,
    -- The tenant the change was made in (multi-tenancy on); NULL otherwise.
    tenant_id INTEGER,
    request_id TEXT,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    resource_id INTEGER,
    -- JSON text: {"field": {"before": ..., "after": ...}}
    changes TEXT NOT NULL
);
CREATE INDEX audit_log_resource ON audit_log (resource, resource_id);
CREATE INDEX audit_log_user ON audit_log (user_id);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id);
CREATE INDEX audit_log_created_at ON audit_log (created_at);
