//! The Orders module (issue 12's acceptance surface): products, orders, lines, confirm, scoping.

use kwik_testing::{Scenario, assert_validation};
use serde_json::{Value, json};

use crate::common::{app, create_customer, id, ids, list, ok, sent, total};

#[tokio::test]
async fn smoke_order_flow() {
    let app = app().await;
    let admin = app.as_admin().await;
    let customer =
        create_customer(&admin, &json!({"name": "Acme", "email": "acme@example.com", "credit_limit": "100"})).await;
    let product = ok(admin
        .post("/products/")
        .body_json(&json!({"sku": "KB-1", "name": "Keyboard", "unit_price": "12.50"}))
        .send()
        .await)
    .await;
    assert_eq!(product["label"], "KB-1 Keyboard");
    let order = ok(admin.post("/orders/").body_json(&json!({"customer_id": id(&customer)})).send().await).await;
    assert_eq!((order["status"].clone(), order["total"].clone()), (json!("draft"), json!("0")));
    let line = ok(admin
        .post(&format!("/orders/{}/lines/", id(&order)))
        .body_json(&json!({"product_id": id(&product), "quantity": 3}))
        .send()
        .await)
    .await;
    assert_eq!(line["unit_price"], "12.5");
    let fetched = ok(admin.get(&format!("/orders/{}", id(&order))).send().await).await;
    assert_eq!(fetched["total"], "37.5");
    let lines = list(&admin, &format!("/orders/{}/lines", id(&order)), &[]).await;
    assert_eq!(ids(&lines), [id(&line)]);
    let nested = list(&admin, &format!("/customers/{}/orders/", id(&customer)), &[]).await;
    assert_eq!((ids(&nested), total(&nested)), (vec![id(&order)], 1));
    let confirmed = ok(admin.post(&format!("/orders/{}/confirm", id(&order))).send().await).await;
    assert_eq!(confirmed["status"], "confirmed");
    let (status, body): (u16, Value) = sent(admin.delete(&format!("/customers/{}", id(&customer))).send().await).await;
    assert_eq!((status, body["code"].clone()), (409, json!("still_referenced")), "{body}");
    assert_eq!(body["detail"], format!("Entity [customers] with id={} is still referenced by [orders]", id(&customer)));
    let response = admin.post("/orders/").body_json(&json!({"customer_id": 999_999})).send().await;
    assert_validation(response, &["body", "customer_id"]).await;
    let response = admin
        .post(&format!("/orders/{}/lines/", id(&order)))
        .body_json(&json!({"product_id": id(&product), "quantity": 0}))
        .send()
        .await;
    assert_validation(response, &["body", "quantity"]).await;
    let (status, _) = sent(admin.put(&format!("/order-lines/{}", id(&line))).body_json(&json!({})).send().await).await;
    assert_eq!(status, 405);

    let world = Scenario::new()
        .role("rep", &["order_read_own", "order_create", "order_update_own", "customers_read"])
        .user("rep", &["rep"])
        .build(&app)
        .await;
    let rep = app.as_user(world.user("rep"));
    let mine = ok(rep.post("/orders/").body_json(&json!({"customer_id": id(&customer)})).send().await).await;
    let page = list(&rep, "/orders/", &[]).await;
    assert_eq!((ids(&page), total(&page)), (vec![id(&mine)], 1));
    let (status, _) = sent(rep.get(&format!("/orders/{}", id(&order))).send().await).await;
    assert_eq!(status, 404);
}
