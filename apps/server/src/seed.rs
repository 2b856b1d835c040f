//! Demo data for `kwik-server seed`: a few thousand projects and customers, idempotently.

use kwik::prelude::*;
use kwik::sql::{Expr, ExprTrait, OnConflict, Query};

/// How many rows each seed creates.
pub const SEED_ROWS: usize = 3000;
const BATCH: usize = 500;

/// Inserts `Demo project 0001` ... (skipping existing names).
///
/// # Errors
/// Database errors.
pub async fn projects(state: &AppState) -> Result<()> {
    let words = ["Apollo", "Borealis", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Helix", "Iris", "Juniper"];
    insert_batches(state, "projects", &["name", "description", "archived"], (&["name"], None), |i| {
        vec![
            Expr::val(format!("Demo project {i:04} {}", words[i % words.len()])),
            Expr::val(Some(format!("Seeded demo project number {i}"))),
            Expr::val(i % 7 == 0),
        ]
    })
    .await
}

/// Inserts `customer0001@example.com` ... with varied credit limits (skipping existing emails).
///
/// # Errors
/// Database errors.
pub async fn customers(state: &AppState) -> Result<()> {
    // Emails are unique per tenant among live customers (a partial index): the conflict target
    // says so. Seeded customers are the default tenant's.
    let live = Expr::col("deleted_at").is_null();
    let target: &[&'static str] = &["tenant_id", "email"];
    insert_batches(state, "customers", &["name", "email", "credit_limit"], (target, Some(live)), |i| {
        let limit: kwik::crud::Decimal =
            format!("{}.{:02}", 1000 + (i * 37) % 9000, i % 100).parse().unwrap_or_default();
        vec![Expr::val(format!("Customer {i:04}")), Expr::val(format!("customer{i:04}@example.com")), Expr::val(limit)]
    })
    .await
}

/// Adds a few products (skipping existing SKUs) and, when there are no orders yet, a few draft
/// orders with lines for the first customers.
///
/// # Errors
/// Database errors.
pub async fn orders(state: &AppState) -> Result<()> {
    use crate::orders::{
        OrderCreate, OrderCrud, OrderLineCreate, OrderLineCrud, OrderStatus, ProductCreate, ProductCrud,
    };
    use kwik::crud::{AutoCrud, Values};
    let mut ctx = Context::begin(&state.db, None).await?;
    let mut products = Vec::new();
    for (sku, name, price) in
        [("KB-01", "Keyboard", "49.90"), ("MS-02", "Mouse", "19.99"), ("SC-27", "Screen 27\"", "229.00")]
    {
        let input = ProductCreate {
            sku: sku.to_owned(),
            name: name.to_owned(),
            unit_price: price.parse().unwrap_or_default(),
            active: true,
        };
        let (product, _) = ProductCrud.create_if_not_exist(&mut ctx, input, vec![("sku", sku.into())]).await?;
        products.push(product.id);
    }
    let any_order = Query::select().expr(Expr::val(1_i64)).from("orders").limit(1).to_owned();
    let customers =
        Query::select().column("id").from("customers").order_by("id", kwik::sql::Order::Asc).limit(3).to_owned();
    if ctx.tx.fetch_optional::<(i64,), _>(&any_order).await?.is_none() {
        let customers: Vec<(i64,)> = ctx.tx.fetch_all(&customers).await?;
        for (n, (customer_id,)) in customers.into_iter().enumerate() {
            let order = OrderCrud
                .create(
                    &mut ctx,
                    OrderCreate { customer_id, status: OrderStatus::Draft, note: Some(format!("Seeded order {n}")) },
                )
                .await?;
            for (k, product_id) in products.iter().enumerate().take(n + 1) {
                let mut parent = Values::new();
                parent.set("order_id", order.id);
                let quantity = i64::try_from(k).unwrap_or_default() + 1;
                OrderLineCrud
                    .create_with(&mut ctx, OrderLineCreate { product_id: *product_id, quantity }, parent)
                    .await?;
            }
        }
    }
    ctx.commit().await?;
    tracing::info!("seeded products and orders");
    Ok(())
}

async fn insert_batches(
    state: &AppState,
    table: &'static str,
    columns: &[&'static str],
    unique: (&[&'static str], Option<Expr>),
    row: impl Fn(usize) -> Vec<Expr>,
) -> Result<()> {
    let mut ctx = Context::begin(&state.db, None).await?;
    let now = kwik::core::now();
    for start in (1..=SEED_ROWS).step_by(BATCH) {
        let mut all_columns = columns.to_vec();
        all_columns.extend(["creation_time", "last_modification_time"]);
        let mut insert = Query::insert()
            .into_table(table)
            .columns(all_columns)
            .on_conflict(
                OnConflict::columns(unique.0.iter().copied())
                    .target_and_where_option(unique.1.clone())
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        for i in start..(start + BATCH).min(SEED_ROWS + 1) {
            let mut values = row(i);
            values.extend([Expr::val(now), Expr::val(now)]);
            insert.values(values).map_err(|e| Error::Internal(e.to_string()))?;
        }
        ctx.tx.execute(&insert).await?;
    }
    ctx.commit().await?;
    tracing::info!(table, rows = SEED_ROWS, "seeded");
    Ok(())
}
