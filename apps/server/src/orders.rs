//! Orders: products, orders of customers and their lines, a `confirm` action, and "sales reps
//! see only their own orders" — all on the generated endpoints (no hand-written list or count).

use kwik::crud::Entity as _;
use kwik::prelude::*;
use kwik::sql::{Expr, ExprTrait, Query};

use crate::customers::{Customer, CustomerCrud};

/// A product on sale.
#[derive(Debug, Clone, FromRow, Object, Entity)]
#[rustfmt::skip::attributes(kwik)]
#[kwik(table = "products", audit, tenant_scoped, audit_log,
    api(path = "/products/", read = "product_read", create = "product_manage", update = "product_manage", delete = "product_manage"))]
pub struct Product {
    #[kwik(primary_key)]
    pub id: i64,
    /// Unique stock-keeping unit: letters, digits, `.`, `_` and `-`.
    #[kwik(create, update, sortable, filterable, max_length = 64, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    pub sku: String,
    /// Name, 1 to 200 characters.
    #[kwik(create, update, sortable, filterable, min_length = 1, max_length = 200)]
    pub name: String,
    /// Exact price of one unit, at least 0.
    #[kwik(create, update, sortable, filterable, minimum = 0)]
    pub unit_price: Decimal,
    /// Inactive products cannot be added to orders (default true).
    #[kwik(create, update, sortable, filterable, default = true)]
    pub active: bool,
    /// `"<sku> <name>"`, computed.
    #[sqlx(skip)]
    #[kwik(computed = "product_label")]
    pub label: String,
    #[kwik(sortable, filterable)]
    pub creation_time: DateTime<Utc>,
    pub last_modification_time: DateTime<Utc>,
    pub creator_user_id: Option<i64>,
    pub last_modifier_user_id: Option<i64>,
    /// The tenant (multi-tenancy): set by the server from the caller's tenant, never shown.
    #[oai(skip)]
    pub tenant_id: i64,
}

fn product_label(product: &Product) -> String {
    format!("{} {}", product.sku, product.name)
}

/// Where an order stands. Only `POST /orders/{id}/confirm` confirms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum, TextEnum)]
#[oai(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Being written; lines may change.
    #[default]
    Draft,
    /// Confirmed: its total is final and it cannot change.
    Confirmed,
    /// Cancelled.
    Cancelled,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // validators receive a reference
fn not_confirmed(status: &OrderStatus) -> Result<(), String> {
    let refused = *status == OrderStatus::Confirmed;
    if refused { Err("orders are confirmed with POST /orders/{id}/confirm".to_owned()) } else { Ok(()) }
}

/// An order of a customer. Holders of `order_read` see every order, holders of `order_read_own`
/// only those they created (likewise `order_update[_own]`, `order_delete[_own]`).
#[derive(Debug, Clone, FromRow, Object, Entity)]
#[rustfmt::skip::attributes(kwik)]
#[kwik(table = "orders", audit, tenant_scoped, audit_log, crud = "OrderCrud",
    api(path = "/orders/", read = "order_read | order_read_own", create = "order_create",
        update = "order_update | order_update_own", delete = "order_delete | order_delete_own"))]
pub struct Order {
    #[kwik(primary_key)]
    pub id: i64,
    /// The customer ordering.
    #[kwik(create, sortable, filterable, references = "Customer",
        nested(path = "/customers/", list = "order_read | order_read_own", create = "order_create"))]
    pub customer_id: i64,
    /// `draft` (default), `confirmed` (only through `confirm`) or `cancelled`.
    #[kwik(create, update, sortable, filterable, text_enum, default = "OrderStatus::default", validate = "not_confirmed")]
    pub status: OrderStatus,
    /// Free text.
    #[kwik(create, update, max_length = 2000)]
    pub note: Option<String>,
    /// Sum of the lines, exact; kept by the server.
    #[kwik(sortable, filterable)]
    pub total: Decimal,
    #[kwik(sortable, filterable)]
    pub creation_time: DateTime<Utc>,
    pub last_modification_time: DateTime<Utc>,
    pub creator_user_id: Option<i64>,
    pub last_modifier_user_id: Option<i64>,
    /// The tenant (multi-tenancy): set by the server from the caller's tenant, never shown.
    #[oai(skip)]
    pub tenant_id: i64,
}

/// Orders: ownership scoping, and confirmed orders are final.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderCrud;

impl AutoCrud for OrderCrud {
    type Entity = Order;

    fn base_query(&self, ctx: &Context, op: Operation) -> Result<Condition> {
        let everyone = op.choose("order_read", "order_update", "order_delete");
        Ok(own_rows_unless::<Order>(ctx, everyone, "creator_user_id"))
    }

    async fn before_create(&self, _: &mut Context, _: &mut OrderCreate, values: &mut Values) -> Result<()> {
        values.set("total", Decimal::ZERO);
        Ok(())
    }

    async fn before_update(&self, _: &mut Context, order: &Order, _: &mut OrderUpdate, _: &mut Values) -> Result<()> {
        still_draft(order)
    }

    async fn before_delete(&self, _: &mut Context, order: &Order) -> Result<()> {
        still_draft(order)
    }
}

fn still_draft(order: &Order) -> Result<()> {
    let confirmed = order.status == OrderStatus::Confirmed;
    if confirmed { Err(Error::rule("order_confirmed", "A confirmed order cannot change")) } else { Ok(()) }
}

/// A line of an order: a quantity of a product at the product's price when it was added.
#[derive(Debug, Clone, FromRow, Object, Entity)]
#[rustfmt::skip::attributes(kwik)]
#[kwik(table = "order_lines", audit, audit_log, crud = "OrderLineCrud",
    api(path = "/order-lines/", get = "order_read | order_read_own", delete = "order_update | order_update_own"))]
pub struct OrderLine {
    #[kwik(primary_key)]
    pub id: i64,
    /// The order (from the path of `POST /orders/{id}/lines/`).
    #[kwik(sortable, filterable, references = "Order", nested(path = "/orders/", name = "lines",
        list = "order_read | order_read_own", create = "order_update | order_update_own"))]
    pub order_id: i64,
    /// The product (active).
    #[kwik(create, sortable, filterable, references = "Product")]
    pub product_id: i64,
    /// How many, at least 1.
    #[kwik(create, sortable, filterable, exclusive_minimum = 0, maximum = 1_000_000)]
    pub quantity: i64,
    /// The product's price when the line was added; set by the server.
    #[kwik(sortable)]
    pub unit_price: Decimal,
    pub creation_time: DateTime<Utc>,
    pub last_modification_time: DateTime<Utc>,
    pub creator_user_id: Option<i64>,
    pub last_modifier_user_id: Option<i64>,
}

/// Order lines: in the scope of their order; changing them changes the (draft) order.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderLineCrud;

impl AutoCrud for OrderLineCrud {
    type Entity = OrderLine;

    fn base_query(&self, ctx: &Context, op: Operation) -> Result<Condition> {
        let orders = ids_in_scope::<Order>(ctx, op.choose(Operation::Read, Operation::Update, Operation::Update))?;
        Ok(Condition::all().add(Expr::col((OrderLine::TABLE, "order_id")).in_subquery(orders)))
    }

    /// The order before the line: an order's delete locks the order, then (cascading) its lines.
    async fn lock_first(&self, ctx: &mut Context, id: i64, _: Operation) -> Result<()> {
        let query =
            Query::select().column("order_id").from(OrderLine::TABLE).and_where(Expr::col("id").eq(id)).to_owned();
        let Some((order_id,)) = ctx.tx.fetch_optional::<(i64,), _>(&query).await? else { return Ok(()) };
        match OrderCrud.get_for_update(ctx, order_id, Operation::Update).await {
            Ok(_) | Err(Error::NotFound(_)) => Ok(()),
            Err(other) => Err(other),
        }
    }

    async fn before_create(&self, ctx: &mut Context, input: &mut OrderLineCreate, values: &mut Values) -> Result<()> {
        let order_id = values.get_i64("order_id").ok_or_else(|| Error::Internal("no order_id".to_owned()))?;
        still_draft(&OrderCrud.get_for_update(ctx, order_id, Operation::Update).await?)?;
        let product = ProductCrud.get_if_exist(ctx, input.product_id).await?;
        if !product.active {
            return Err(Error::rule("product_inactive", "An inactive product cannot be ordered"));
        }
        values.set("unit_price", product.unit_price);
        Ok(())
    }

    async fn after_create(&self, ctx: &mut Context, line: &OrderLine) -> Result<()> {
        refresh_total(ctx, line.order_id).await.map(drop)
    }

    async fn before_delete(&self, ctx: &mut Context, line: &OrderLine) -> Result<()> {
        still_draft(&OrderCrud.get_for_update(ctx, line.order_id, Operation::Update).await?)
    }

    async fn after_delete(&self, ctx: &mut Context, line: &OrderLine) -> Result<()> {
        refresh_total(ctx, line.order_id).await.map(drop)
    }
}

/// Stores the exact sum of the order's lines as its total.
async fn refresh_total(ctx: &mut Context, order_id: i64) -> Result<Order> {
    let (total, _) = lines_total(ctx, order_id).await?;
    OrderCrud.set(ctx, order_id, Values::from(vec![("total", total.into())])).await
}

/// The exact sum of the order's lines, and how many there are.
async fn lines_total(ctx: &mut Context, order_id: i64) -> Result<(Decimal, usize)> {
    let mut query = Query::select().columns(["quantity", "unit_price"]).from(OrderLine::TABLE).to_owned();
    let lines: Vec<(i64, Decimal)> = ctx.tx.fetch_all(query.and_where(Expr::col("order_id").eq(order_id))).await?;
    let total = lines.iter().try_fold(Decimal::ZERO, |sum, (n, price)| sum.checked_add(price.checked_mul_int(*n)?));
    Ok((total.ok_or_else(|| Error::rule("total_too_large", "The order's total is too large"))?, lines.len()))
}

permission!(/** Change orders (all, or one's own). */ pub OrderWrite = "order_update" | "order_update_own");
permission!(/** Confirm orders. */ pub OrderConfirm = "order_confirm");

/// `POST /orders/{id}/confirm`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderActions;

#[OpenApi(tag = "OrderTag::Resource")]
impl OrderActions {
    /// Confirm an order
    ///
    /// Requires: `order_confirm` and `order_update` (or `order_update_own` for one's own orders).
    /// With the order locked, computes its total exactly from its lines; 409 `order_empty` without
    /// lines, `credit_limit_exceeded` above the customer's credit limit, `order_confirmed` when it is
    /// not a draft.
    #[oai(path = "/orders/:id/confirm", method = "post")]
    async fn confirm(
        &self,
        state: Data<&AppState>,
        auth: Auth<(OrderWrite, OrderConfirm)>,
        id: Path<i64>,
    ) -> ApiResult<Tagged<Order>> {
        let mut ctx = auth.write_scope(&state.db).await?;
        let order = OrderCrud.get_for_update(&mut ctx, id.0, Operation::Update).await?;
        if order.status != OrderStatus::Draft {
            return Err(Error::rule("order_confirmed", "Only a draft order can be confirmed").into());
        }
        let (total, lines) = lines_total(&mut ctx, order.id).await?;
        if lines == 0 {
            return Err(Error::rule("order_empty", "An order without lines cannot be confirmed").into());
        }
        let customer: Customer = CustomerCrud.get_if_exist(&mut ctx, order.customer_id).await?;
        if total > customer.credit_limit {
            return Err(
                Error::rule("credit_limit_exceeded", "The order's total exceeds the customer's credit limit").into()
            );
        }
        let values = Values::from(vec![("status", OrderStatus::Confirmed.into()), ("total", total.into())]);
        let confirmed = OrderCrud.act(&mut ctx, order.id, "confirm", values).await?;
        ctx.commit().await?;
        Ok(Tagged::new(confirmed))
    }
}

/// The module's tables, written once for both databases: the SQL files under `migrations/orders/`
/// are generated from these, and a test fails when they drift apart.
pub fn migrations() -> Vec<Migration> {
    let record = |table: Table| table.record_info();
    vec![
        Migration::new(1, "orders")
            .comment("Orders: products, orders of customers, and their lines.")
            // The hand-written texts this version had before it was generated.
            .replaces_checksum(
                Dialect::Sqlite,
                "7cd1f29c1edcfebdd6da17b72336ac590634a8c80a1eb817ac7f6e59958eab030260952cd94ce1b92fa5246b4af0bafd",
            )
            .replaces_checksum(
                Dialect::Postgres,
                "31197507599234bc610ec1e360da53f5a152c3bc5a0ec6cd09c7ec6fa7dae252445544a73b3e901d1c2cb056cb041601",
            )
            .create_table(record(
                Table::new("products")
                    .id()
                    .column(Column::text("sku").unique())
                    .column(Column::text("name"))
                    .column(Column::decimal("unit_price"))
                    .column(Column::bool("active")),
            ))
            .create_table(record(
                Table::new("orders")
                    .id()
                    .column(Column::big_int("customer_id").references("customers", "id"))
                    .column(Column::text("status").check(Expr::col("status").is_in([
                        "draft",
                        "confirmed",
                        "cancelled",
                    ])))
                    .column(Column::text("note").nullable())
                    .column(Column::decimal("total")),
            ))
            .create_index(Index::new("orders_customer_id", "orders", ["customer_id"]))
            .create_index(Index::new("orders_creator_user_id", "orders", ["creator_user_id"]))
            .create_table(record(
                Table::new("order_lines")
                    .id()
                    .column(
                        Column::big_int("order_id")
                            .references("orders", "id")
                            .on_delete(kwik::sql::ForeignKeyAction::Cascade),
                    )
                    .column(Column::big_int("product_id").references("products", "id"))
                    .column(Column::big_int("quantity").check(Expr::col("quantity").gt(0)))
                    .column(Column::decimal("unit_price")),
            ))
            .create_index(Index::new("order_lines_order_id", "order_lines", ["order_id"]))
            .create_index(Index::new("order_lines_product_id", "order_lines", ["product_id"])),
        Migration::new(2, "tenant")
            .comment("Products and orders belong to a tenant (multi-tenancy, issue 13); order lines follow their")
            .comment("order. Existing rows go to the default tenant; SKUs are unique per tenant; row-level")
            .comment("security on PostgreSQL as for customers.")
            .replaces_checksum(
                Dialect::Sqlite,
                "df84650d5a03f6af94b444c841f1293ba7f540d4160440cca49fd99e0d2707677e6776c501095ee7010252b4b642eaf4",
            )
            .replaces_checksum(
                Dialect::Postgres,
                "8b853902aeda74b40e456041ed9154c6a6333e825f06636da8f35ef64cdba7b067fe6cefd27e67b87fd87871603048cd",
            )
            .add_column("products", Column::big_int("tenant_id").default(1).references("tenants", "id"))
            .drop_unique("products", "sku")
            .create_index(Index::new("products_sku", "products", ["tenant_id", "sku"]).unique())
            .add_column("orders", Column::big_int("tenant_id").default(1).references("tenants", "id"))
            .create_index(Index::new("orders_tenant", "orders", ["tenant_id"]))
            .sql(Dialect::Postgres, crate::customers::tenant_policy("products"))
            .sql(Dialect::Postgres, crate::customers::tenant_policy("orders")),
    ]
}

kwik::module! {
    /// The Orders module: products, orders, order lines.
    pub Orders {
        name: "orders",
        api: (ProductApi, OrderApi, OrderLineApi, OrderActions),
        migrations: ("../../migrations/orders/sqlite", "../../migrations/orders/postgres"),
        permissions: ["product_read", "product_manage", "order_create", "order_read", "order_read_own", "order_update",
            "order_update_own", "order_delete", "order_delete_own", "order_confirm"],
        seed: crate::seed::orders,
    }
}
