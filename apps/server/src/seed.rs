//! Demo data for `kwik-server seed`: a few thousand projects and customers, idempotently.

use kwik_core::{Context, Error, Queries, Result};
use kwik_http::AppState;
use sea_query::{Expr, OnConflict, Query};

/// How many rows each seed creates.
pub const SEED_ROWS: usize = 3000;
const BATCH: usize = 500;

/// Inserts `Demo project 0001` ... (skipping existing names).
///
/// # Errors
/// Database errors.
pub async fn projects(state: &AppState) -> Result<()> {
    let words = ["Apollo", "Borealis", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Helix", "Iris", "Juniper"];
    insert_batches(state, "projects", &["name", "description", "archived"], "name", |i| {
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
    insert_batches(state, "customers", &["name", "email", "credit_limit"], "email", |i| {
        let limit: kwik_crud::Decimal =
            format!("{}.{:02}", 1000 + (i * 37) % 9000, i % 100).parse().unwrap_or_default();
        vec![Expr::val(format!("Customer {i:04}")), Expr::val(format!("customer{i:04}@example.com")), Expr::val(limit)]
    })
    .await
}

async fn insert_batches(
    state: &AppState,
    table: &'static str,
    columns: &[&'static str],
    unique: &'static str,
    row: impl Fn(usize) -> Vec<Expr>,
) -> Result<()> {
    let mut ctx = Context::begin(&state.db, None).await?;
    let now = kwik_core::now();
    for start in (1..=SEED_ROWS).step_by(BATCH) {
        let mut all_columns = columns.to_vec();
        all_columns.extend(["creation_time", "last_modification_time"]);
        let mut insert = Query::insert()
            .into_table(table)
            .columns(all_columns)
            .on_conflict(OnConflict::column(unique).do_nothing().to_owned())
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
