//! Customers: the example of Kwik's front page, with audit fields, an exact credit limit, and
//! soft delete (a deleted customer is invisible everywhere until restored).

use kwik::prelude::*;
use kwik::sql::{Expr, ExprTrait};

/// A customer.
#[derive(Debug, Clone, FromRow, Object, Entity)]
#[rustfmt::skip::attributes(kwik)]
#[kwik(table = "customers", audit, tenant_scoped, soft_delete, audit_log,
    api(path = "/customers/", read = "customers_read", create = "customers_create", update = "customers_update",
        delete = "customers_delete", restore = "customers_restore"))]
pub struct Customer {
    #[kwik(primary_key)]
    pub id: i64,
    /// Name, 1 to 200 characters.
    #[kwik(create, update, sortable, filterable, min_length = 1, max_length = 200)]
    pub name: String,
    /// Email, unique among customers that are not deleted.
    #[kwik(create, update, sortable, filterable, email)]
    pub email: String,
    /// Exact decimal, default 5000; sorts and filters numerically on both databases.
    #[kwik(create, update, sortable, filterable, default = "default_credit_limit")]
    pub credit_limit: Decimal,
    #[kwik(sortable, filterable)]
    pub creation_time: DateTime<Utc>,
    pub last_modification_time: DateTime<Utc>,
    pub creator_user_id: Option<i64>,
    pub last_modifier_user_id: Option<i64>,
    /// When the customer was deleted (`DELETE` keeps the row; `POST /customers/{id}/restore`
    /// brings it back); `null` while live.
    #[kwik(sortable, filterable)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// Who deleted it.
    pub deleter_user_id: Option<i64>,
    /// The tenant (multi-tenancy): set by the server from the caller's tenant, never shown.
    #[oai(skip)]
    pub tenant_id: i64,
}

fn default_credit_limit() -> Decimal {
    Decimal::from_i64(5000)
}

/// Row-level security on PostgreSQL (docs/multi-tenancy.md): a transaction that carries a tenant
/// (`kwik.tenant_id`, set by the framework when tenancy is on) sees that tenant's rows only, even
/// through a query that forgot the filter; without the setting every row is visible.
pub(crate) fn tenant_policy(table: &str) -> String {
    format!(
        "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY {table}_tenant ON {table}
    USING (NULLIF(current_setting('kwik.tenant_id', true), '') IS NULL
           OR tenant_id = NULLIF(current_setting('kwik.tenant_id', true), '')::BIGINT);"
    )
}

/// The module's tables, written once for both databases: the SQL files under
/// `migrations/customers/` are generated from these, and a test fails when they drift apart.
pub fn migrations() -> Vec<Migration> {
    let live = || Expr::col("deleted_at").is_null();
    vec![
        Migration::new(1, "customers")
            .comment("Customers (Kwik's front-page example). Decimals are TEXT on SQLite, so they stay exact;")
            .comment("listing compares them through CAST(.. AS NUMERIC).")
            // The hand-written texts this version had before it was generated.
            .replaces_checksum(
                Dialect::Sqlite,
                "ae4502ae9923647cf0563782c9b0eba14ee8de1b4b8a7ad964a910f6a61a2fb04797715a9547ac6137aabc50d6eb9730",
            )
            .replaces_checksum(
                Dialect::Postgres,
                "afd3276e22fcc87ee56901b1c2279bbc7906c560c6ba3e4c1cb59be1b45132dd77a0bbd18724715fabc6189a001f9d23",
            )
            .create_table(
                Table::new("customers")
                    .id()
                    .column(Column::text("name"))
                    .column(Column::text("email").unique())
                    .column(Column::decimal("credit_limit"))
                    .record_info(),
            ),
        Migration::new(2, "soft_delete")
            .comment("Customers are soft-deletable (issue 13): who deleted them and when; emails are unique among")
            .comment("live customers only, so a deleted customer's email can be used again.")
            .replaces_checksum(
                Dialect::Sqlite,
                "ff9daa0288aa0da6ecf4e2a5a23ad5b57ff537f66571203817707af0e320d08cca61cfc7a72ba4b2a3e6d1ee8fd1fbff",
            )
            .replaces_checksum(
                Dialect::Postgres,
                "dbc2341f0a046e4a4341d14ad6a9dbbbd6064be517ffc108f5bc33814098c2dd023e3507f2d6fc1000afac4757e7fc44",
            )
            .add_column("customers", Column::timestamp("deleted_at").nullable())
            .add_column("customers", user_reference("deleter_user_id"))
            .drop_unique("customers", "email")
            .create_index(Index::new("customers_email_live", "customers", ["email"]).unique().partial(live())),
        Migration::new(3, "tenant")
            .comment("Customers belong to a tenant (multi-tenancy, issue 13): existing customers to the default")
            .comment("tenant; emails are unique per tenant; row-level security on PostgreSQL.")
            .replaces_checksum(
                Dialect::Sqlite,
                "983809e0ebafb95284f9f40af4152358a394abb614613490f13a3323399e406ace1612e087de1d4fbf7abcbad6835d47",
            )
            .replaces_checksum(
                Dialect::Postgres,
                "0c585dbcf4bdba711f07fe428f332284e4637c6d61e822c7cfb3637a43cb0605c0b2b12c5ebdfdba7d7e6535b023db15",
            )
            .drop_index("customers_email_live")
            .add_column("customers", Column::big_int("tenant_id").default(1).references("tenants", "id"))
            .create_index(
                Index::new("customers_email_live", "customers", ["tenant_id", "email"]).unique().partial(live()),
            )
            // Lists sort live customers by name (the example's default listing).
            .create_index(Index::new("customers_name_live", "customers", ["name"]).partial(live()))
            .sql(Dialect::Postgres, tenant_policy("customers")),
    ]
}

/// A nullable reference to a user, cleared when the user is deleted.
pub(crate) fn user_reference(name: &str) -> Column {
    Column::big_int(name).nullable().references("users", "id").on_delete(kwik::sql::ForeignKeyAction::SetNull)
}

kwik::module! {
    /// The Customers module (Kwik's `customers_*` permission names).
    pub Customers {
        name: "customers",
        api: CustomerApi,
        migrations: ("../../migrations/customers/sqlite", "../../migrations/customers/postgres"),
        permissions: ["customers_create", "customers_read", "customers_update", "customers_delete", "customers_restore"],
        seed: crate::seed::customers,
    }
}
