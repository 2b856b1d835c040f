//! Turning a [`ListSpec`] into WHERE / ORDER BY / LIMIT / OFFSET clauses with sea-query.
//! The portability choices are documented in the crate docs ("Portability").

use sea_query::{BinOper, Expr, ExprTrait, Func, LikeExpr, NullOrdering, Order, SelectStatement, Value};

use crate::schema::{FieldSpec, FieldType, ListSchema};
use crate::spec::{Filter, ListSpec, Page, Predicate, SortDirection, SortKey};
use crate::value::KeyValue;

/// The escape character of LIKE patterns.
const LIKE_ESCAPE: char = '\\';

impl ListSpec {
    /// Adds the list query to a `SELECT ... FROM <table>`: the filters and, on cursor pages, the
    /// keyset condition (WHERE), the order (ORDER BY), `LIMIT` and, on offset pages, `OFFSET`.
    /// The statement should have no ORDER BY of its own.
    pub fn apply(&self, select: &mut SelectStatement) {
        self.apply_filters(select);
        if let Page::Cursor { after: Some(values) } = &self.page {
            select.and_where(self.keyset_condition(&self.cursor_keys(), values));
        }
        for key in self.order_keys() {
            let expr = operand(self.schema, key.field);
            let order = match key.direction {
                SortDirection::Asc => Order::Asc,
                SortDirection::Desc => Order::Desc,
            };
            if key.field.name == self.primary_key.name {
                select.order_by_expr(expr, order);
            } else {
                let nulls = match key.direction {
                    SortDirection::Asc => NullOrdering::Last,
                    SortDirection::Desc => NullOrdering::First,
                };
                select.order_by_expr_with_nulls(expr, order, nulls);
            }
        }
        select.limit(self.limit);
        if let Page::Offset { skip } = self.page
            && skip > 0
        {
            select.offset(skip);
        }
    }

    /// Adds only the filters (WHERE), for the `total` count: rows matching the filters, regardless of
    /// skip, limit and cursor.
    pub fn apply_filters(&self, select: &mut SelectStatement) {
        if let Some(condition) = balanced_and(self.filters.iter().map(|f| filter_expr(self.schema, f)).collect()) {
            select.and_where(condition);
        }
    }

    /// Rows strictly after the cursor position in the order of `keys`, NULLs sorting last ascending
    /// and first descending:
    /// `after(k0) OR (k0 = v0 AND (after(k1) OR (k1 = v1 AND ... after(pk))))`.
    fn keyset_condition(&self, keys: &[SortKey], values: &[KeyValue]) -> Expr {
        let mut rest: Option<Expr> = None;
        for (key, value) in keys.iter().zip(values).rev() {
            let is_pk = key.field.name == self.primary_key.name;
            let after = after_expr(self.schema, key, value, is_pk);
            rest = match (after, rest) {
                (after, None) => after,
                (Some(after), Some(rest)) => Some(after.or(equal_expr(self.schema, key.field, value).and(rest))),
                (None, Some(rest)) => Some(equal_expr(self.schema, key.field, value).and(rest)),
            };
        }
        // Unreachable: the primary key is last and never null, so `after(pk)` always exists.
        rest.unwrap_or_else(|| Expr::cust("1 = 0"))
    }
}

/// `exprs` ANDed as a balanced tree, built without recursion. A chain `a AND b AND c ...` is a tree
/// as deep as it is long, in sea-query's renderer and in the database's parser (SQLite refuses
/// depths over 1000); a balanced tree is only logarithmically deep.
fn balanced_and(mut exprs: Vec<Expr>) -> Option<Expr> {
    while exprs.len() > 1 {
        let mut paired = Vec::with_capacity(exprs.len().div_ceil(2));
        let mut rest = exprs.into_iter();
        while let Some(left) = rest.next() {
            paired.push(match rest.next() {
                Some(right) => left.and(right),
                None => left,
            });
        }
        exprs = paired;
    }
    exprs.pop()
}

fn column(schema: &ListSchema, field: &FieldSpec) -> Expr {
    Expr::col((schema.table, field.column))
}

/// The column as compared and sorted: decimals through `CAST(.. AS NUMERIC)`.
fn operand(schema: &ListSchema, field: &FieldSpec) -> Expr {
    let col = column(schema, field);
    if field.ty == FieldType::Decimal { Func::cast_as(col, "NUMERIC").into() } else { col }
}

/// A bound value as compared: decimals through `CAST(? AS NUMERIC)`.
fn bound(field: &FieldSpec, value: &Value) -> Expr {
    let value = Expr::val(value.clone());
    if field.ty == FieldType::Decimal { Func::cast_as(value, "NUMERIC").into() } else { value }
}

/// `s` as a literal LIKE pattern fragment.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push(LIKE_ESCAPE);
        }
        out.push(c);
    }
    out
}

fn like(left: Expr, pattern: String) -> Expr {
    left.like(LikeExpr::new(pattern).escape(LIKE_ESCAPE))
}

fn filter_expr(schema: &ListSchema, filter: &Filter) -> Expr {
    let field = filter.field;
    let lhs = || operand(schema, field);
    match &filter.predicate {
        Predicate::Eq(v) => lhs().eq(bound(field, v)),
        Predicate::Ne(v) => lhs().ne(bound(field, v)),
        Predicate::Lt(v) => lhs().lt(bound(field, v)),
        Predicate::Lte(v) => lhs().lte(bound(field, v)),
        Predicate::Gt(v) => lhs().gt(bound(field, v)),
        Predicate::Gte(v) => lhs().gte(bound(field, v)),
        Predicate::In(values) => lhs().is_in(values.iter().map(|v| bound(field, v))),
        Predicate::IsNull(true) => column(schema, field).is_null(),
        Predicate::IsNull(false) => column(schema, field).is_not_null(),
        Predicate::Contains(needle) => {
            let col = || column(schema, field);
            let matches = like(col(), format!("%{}%", like_escape(needle)));
            if needle.is_empty() {
                matches
            } else {
                let replaced = Func::cust("REPLACE").args([col(), Expr::val(needle.as_str()), Expr::val("")]);
                matches.and(Expr::from(replaced).ne(col()))
            }
        }
        Predicate::StartsWith(prefix) => {
            let col = || column(schema, field);
            let matches = like(col(), format!("{}%", like_escape(prefix)));
            if prefix.is_empty() {
                matches
            } else {
                let length = Func::cust("LENGTH").arg(Expr::val(prefix.as_str()));
                let head = Func::cust("SUBSTR").args([col(), Expr::Constant(Value::Int(Some(1))), length.into()]);
                matches.and(Expr::from(head).eq(Expr::val(prefix.as_str())))
            }
        }
        Predicate::IContains(needle) => {
            let pattern = Expr::Binary(
                Box::new(Func::lower(Expr::val(format!("%{}%", like_escape(needle)))).into()),
                BinOper::Escape,
                Box::new(Expr::Constant(Value::Char(Some(LIKE_ESCAPE)))),
            );
            Expr::from(Func::lower(column(schema, field))).binary(BinOper::Like, pattern)
        }
    }
}

fn equal_expr(schema: &ListSchema, field: &FieldSpec, value: &KeyValue) -> Expr {
    match value {
        KeyValue::Null => column(schema, field).is_null(),
        KeyValue::Value(v) => operand(schema, field).eq(bound(field, v)),
    }
}

/// Rows after `value` on this key alone; `None` when there are none (ascending after NULL).
fn after_expr(schema: &ListSchema, key: &SortKey, value: &KeyValue, never_null: bool) -> Option<Expr> {
    let field = key.field;
    match (key.direction, value) {
        (SortDirection::Asc, KeyValue::Null) => None,
        (SortDirection::Desc, KeyValue::Null) => Some(column(schema, field).is_not_null()),
        (SortDirection::Asc, KeyValue::Value(v)) => {
            let greater = operand(schema, field).gt(bound(field, v));
            Some(if never_null { greater } else { greater.or(column(schema, field).is_null()) })
        }
        (SortDirection::Desc, KeyValue::Value(v)) => Some(operand(schema, field).lt(bound(field, v))),
    }
}
