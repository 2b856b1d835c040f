//! Soft delete (issue 13) on the example app's customers: `DELETE` keeps the row and hides it
//! everywhere, `include_deleted` and `restore` need `customers_restore`, unique emails cover live
//! customers only, and a customer others reference still cannot be deleted.

use kwik_testing::{Scenario, assert_validation};
use serde_json::{Value, json};

use crate::common::{app, create_customer, id, ids, list, list_raw, ok, sent, total, walk_cursor};

async fn customer(admin: &kwik_testing::TestClient<'_>, email: &str) -> Value {
    create_customer(admin, &json!({"name": email, "email": email})).await
}

#[tokio::test]
async fn a_deleted_customer_is_kept_but_invisible_everywhere() {
    let app = app().await;
    let admin = app.as_admin().await;
    let gone = customer(&admin, "gone@example.com").await;
    let kept = customer(&admin, "kept@example.com").await;
    let path = format!("/customers/{}", id(&gone));

    let deleted = ok(admin.delete(&path).send().await).await;
    assert_eq!(deleted["id"], gone["id"]);
    assert!(deleted["deleted_at"].is_string(), "{deleted}");
    let me = ok(admin.get("/users/me").send().await).await;
    assert_eq!(deleted["deleter_user_id"], me["id"], "who deleted it");
    assert_eq!(gone["deleted_at"], Value::Null, "live customers have no deleted_at");

    let (status, body) = sent(admin.get(&path).send().await).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (404, Some(format!("Entity [customers] with id={} does not exist", id(&gone)).as_str()))
    );
    let page = list(&admin, "/customers/", &[]).await;
    assert_eq!((ids(&page), total(&page)), (vec![id(&kept)], 1));
    assert_eq!(walk_cursor(&admin, "/customers/", &[], 1).await, [id(&kept)]);
    let filtered = list(&admin, "/customers/", &[("filter", "email:eq:gone@example.com")]).await;
    assert_eq!(total(&filtered), 0);
    for (method, target) in [("PUT", path.clone()), ("DELETE", path.clone()), ("GET", format!("{path}/orders"))] {
        let response = crate::common::call(&admin, method, &target, Some(&json!({"name": "again"}))).await;
        assert_eq!(response.0.status().as_u16(), 404, "{method} {target}");
    }
    // Foreign keys treat it as missing: no new order can reference it.
    let response = admin.post("/orders/").body_json(&json!({"customer_id": id(&gone)})).send().await;
    assert_validation(response, &["body", "customer_id"]).await;
    let (status, _) = sent(admin.post(&format!("{path}/orders")).body_json(&json!({})).send().await).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn include_deleted_and_restore_need_the_restore_permission() {
    let app = app().await;
    let admin = app.as_admin().await;
    let gone = customer(&admin, "gone@example.com").await;
    let live = customer(&admin, "live@example.com").await;
    ok(admin.delete(&format!("/customers/{}", id(&gone))).send().await).await;
    let world = Scenario::new()
        .role("clerk", &["customers_read", "customers_delete"])
        .role("keeper", &["customers_read", "customers_restore"])
        .user("clerk", &["clerk"])
        .user("keeper", &["keeper"])
        .build(&app)
        .await;
    let clerk = app.as_user(world.user("clerk"));
    let keeper = app.as_user(world.user("keeper"));

    let (status, body) = list_raw(&clerk, "/customers/", &[("include_deleted", "true")]).await;
    assert_eq!((status, &body["detail"]), (403, &json!("Not enough privileges")));
    assert_eq!(ids(&list(&clerk, "/customers/", &[("include_deleted", "false")]).await), [id(&live)]);
    let everything = list(&keeper, "/customers/", &[("include_deleted", "true")]).await;
    assert_eq!((ids(&everything), total(&everything)), (vec![id(&gone), id(&live)], 2));
    let only_deleted =
        list(&keeper, "/customers/", &[("include_deleted", "true"), ("filter", "deleted_at:isnull:false")]).await;
    assert_eq!(ids(&only_deleted), [id(&gone)]);

    let restore = format!("/customers/{}/restore", id(&gone));
    let (status, _) = sent(clerk.post(&restore).send().await).await;
    assert_eq!(status, 403, "customers_delete does not restore");
    let restored = ok(keeper.post(&restore).send().await).await;
    assert_eq!((restored["deleted_at"].clone(), restored["deleter_user_id"].clone()), (Value::Null, Value::Null));
    assert_eq!(ok(keeper.get(&format!("/customers/{}", id(&gone))).send().await).await, restored);
    // Restoring a live customer is a 409 without its content (the restore permission alone does
    // not read live rows); an unknown one is a 404.
    let (status, body) = sent(keeper.post(&restore).send().await).await;
    assert_eq!((status, &body["code"]), (409, &json!("not_deleted")), "{body}");
    assert!(body.get("email").is_none() && body.get("id").is_none(), "{body}");
    let (status, _) = sent(keeper.post("/customers/999999/restore").send().await).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_deleted_customers_email_can_be_used_again_and_restoring_it_then_is_409() {
    let app = app().await;
    let admin = app.as_admin().await;
    let first = customer(&admin, "shared@example.com").await;
    let (status, body) =
        sent(admin.post("/customers/").body_json(&json!({"name": "Twin", "email": "shared@example.com"})).send().await)
            .await;
    assert_eq!((status, &body["code"]), (409, &json!("duplicated_entity")), "live emails stay unique");
    ok(admin.delete(&format!("/customers/{}", id(&first))).send().await).await;
    let second = customer(&admin, "shared@example.com").await;
    assert_ne!(id(&first), id(&second));

    let (status, body) = sent(admin.post(&format!("/customers/{}/restore", id(&first))).send().await).await;
    assert_eq!((status, &body["code"]), (409, &json!("duplicated_entity")), "{body}");
    let everything = list(&admin, "/customers/", &[("include_deleted", "true")]).await;
    let first_now = everything["data"].as_array().unwrap().iter().find(|c| c["id"] == first["id"]).unwrap().clone();
    assert!(first_now["deleted_at"].is_string(), "still deleted after the refused restore: {first_now}");
    // Once the email is free again, the restore goes through.
    ok(admin.delete(&format!("/customers/{}", id(&second))).send().await).await;
    ok(admin.post(&format!("/customers/{}/restore", id(&first))).send().await).await;
    assert_eq!(ids(&list(&admin, "/customers/", &[]).await), [id(&first)]);
}

#[tokio::test]
async fn a_customer_with_orders_cannot_be_deleted_soft_or_not() {
    let app = app().await;
    let admin = app.as_admin().await;
    let busy = customer(&admin, "busy@example.com").await;
    ok(admin.post("/orders/").body_json(&json!({"customer_id": id(&busy)})).send().await).await;
    let (status, body) = sent(admin.delete(&format!("/customers/{}", id(&busy))).send().await).await;
    assert_eq!((status, &body["code"]), (409, &json!("still_referenced")));
    assert_eq!(body["detail"], format!("Entity [customers] with id={} is still referenced by [orders]", id(&busy)));
    let fetched = ok(admin.get(&format!("/customers/{}", id(&busy))).send().await).await;
    assert_eq!(fetched["deleted_at"], Value::Null, "nothing changed");
}

#[tokio::test]
async fn the_document_shows_restore_and_include_deleted() {
    let app = app().await;
    let spec = ok(app.anonymous().get("/openapi.json").send().await).await;
    let restore = &spec["paths"]["/customers/{id}/restore"]["post"];
    assert!(restore["description"].as_str().is_some_and(|d| d.contains("`customers_restore`")), "{restore}");
    let params = spec["paths"]["/customers/"]["get"]["parameters"].as_array().unwrap();
    assert!(params.iter().any(|p| p["name"] == "include_deleted"), "{params:?}");
    let projects = spec["paths"]["/projects/"]["get"]["parameters"].as_array().unwrap();
    assert!(!projects.iter().any(|p| p["name"] == "include_deleted"), "only soft-deletable resources");
}
