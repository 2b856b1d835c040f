//! Customers: the example of Kwik's front page, with audit fields, an exact credit limit, and
//! soft delete (a deleted customer is invisible everywhere until restored).

use kwik::prelude::*;

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
