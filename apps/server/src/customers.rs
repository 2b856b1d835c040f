//! Customers: the example of Kwik's front page, with audit fields and an exact credit limit.

use chrono::{DateTime, Utc};
use kwik_crud::Decimal;
use poem_openapi::Object;

/// A customer.
#[derive(Debug, Clone, sqlx::FromRow, Object, kwik_macros::Entity)]
#[rustfmt::skip::attributes(kwik)]
#[kwik(table = "customers", audit,
    api(path = "/customers/", read = "customers_read", create = "customers_create", update = "customers_update", delete = "customers_delete"))]
pub struct Customer {
    #[kwik(primary_key)]
    pub id: i64,
    /// Name, 1 to 200 characters.
    #[kwik(create, update, sortable, filterable, min_length = 1, max_length = 200)]
    pub name: String,
    /// Unique email.
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
}

fn default_credit_limit() -> Decimal {
    Decimal::from_i64(5000)
}

kwik_http::module! {
    /// The Customers module (Kwik's `customers_*` permission names).
    pub Customers {
        name: "customers",
        api: CustomerApi,
        migrations: ("../../migrations/customers/sqlite", "../../migrations/customers/postgres"),
        permissions: ["customers_create", "customers_read", "customers_update", "customers_delete"],
        seed: crate::seed::customers,
    }
}
