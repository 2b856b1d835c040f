//! Optimistic concurrency (issue 13): entity responses carry an `ETag`; `If-None-Match` reads
//! answer 304; `If-Match` writes answer 412 when the entity changed since it was read, and two
//! clients holding the same version cannot both write. Without the headers nothing changes.

use kwik_testing::TestClient;
use poem::test::TestResponse;
use serde_json::{Value, json};

use crate::common::{app, create_project, id, ok, sent};

fn etag(response: &TestResponse) -> String {
    response.0.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no ETag")).to_owned()
}

async fn read(client: &TestClient<'_>, path: &str) -> (String, Value) {
    let response = client.get(path).send().await;
    let tag = etag(&response);
    (tag, ok(response).await)
}

#[tokio::test]
async fn reads_carry_a_version_and_answer_304_while_it_is_current() {
    let app = app().await;
    let admin = app.as_admin().await;
    let created = admin.post("/projects/").body_json(&json!({"name": "Versioned"})).send().await;
    let created_tag = etag(&created);
    let project = ok(created).await;
    let path = format!("/projects/{}", id(&project));
    let (tag, body) = read(&admin, &path).await;
    assert_eq!((tag.clone(), body), (created_tag, project), "the same entity, the same version");

    let response = admin.get(&path).header("If-None-Match", &tag).send().await;
    assert_eq!(response.0.status().as_u16(), 304);
    assert_eq!(etag(&response), tag);
    assert!(response.0.into_body().into_bytes().await.unwrap().is_empty(), "no body");
    let weak = admin.get(&path).header("If-None-Match", format!("\"other\", W/{tag}")).send().await;
    assert_eq!(weak.0.status().as_u16(), 304, "weak comparison, lists");

    let updated = admin.put(&path).body_json(&json!({"description": "changed"})).send().await;
    let new_tag = etag(&updated);
    assert_ne!(new_tag, tag, "every write changes the version");
    let (status, _) = sent(admin.get(&path).header("If-None-Match", &tag).send().await).await;
    assert_eq!(status, 200, "an old version is not current");
}

#[tokio::test]
async fn writes_with_a_stale_version_are_412_and_change_nothing() {
    let app = app().await;
    let admin = app.as_admin().await;
    let project = create_project(&admin, &json!({"name": "Contested"})).await;
    let path = format!("/projects/{}", id(&project));
    let (seen, _) = read(&admin, &path).await;
    // Someone else changes it.
    let (_, theirs) = sent(admin.put(&path).body_json(&json!({"description": "theirs"})).send().await).await;

    let (status, body) =
        sent(admin.put(&path).header("If-Match", &seen).body_json(&json!({"description": "mine"})).send().await).await;
    assert_eq!((status, &body["code"]), (412, &json!("precondition_failed")), "{body}");
    let (status, _) = sent(admin.delete(&path).header("If-Match", &seen).send().await).await;
    assert_eq!(status, 412);
    let (current_tag, current) = read(&admin, &path).await;
    assert_eq!(current, theirs, "nothing written, nothing deleted");

    // The current version (or `*`) goes through; a weak tag never matches If-Match.
    let (status, _) = sent(
        admin
            .put(&path)
            .header("If-Match", format!("W/{current_tag}"))
            .body_json(&json!({"description": "w"}))
            .send()
            .await,
    )
    .await;
    assert_eq!(status, 412);
    let mine = ok(admin
        .put(&path)
        .header("If-Match", format!("\"stale\", {current_tag}"))
        .body_json(&json!({"description": "mine"}))
        .send()
        .await)
    .await;
    assert_eq!(mine["description"], "mine");
    ok(admin.put(&path).header("If-Match", "*").body_json(&json!({"description": "any"})).send().await).await;
    let (tag, _) = read(&admin, &path).await;
    ok(admin.delete(&path).header("If-Match", &tag).send().await).await;
    let (status, _) = sent(admin.get(&path).send().await).await;
    assert_eq!(status, 404);
    // Without the header, Kwik's behaviour: last write wins.
    let other = create_project(&admin, &json!({"name": "Unconditional"})).await;
    ok(admin.put(&format!("/projects/{}", id(&other))).body_json(&json!({"description": "x"})).send().await).await;
}

#[tokio::test]
async fn two_clients_with_the_same_version_cannot_both_write() {
    let app = app().await;
    let admin = app.as_admin().await;
    for round in 0..8 {
        let project = create_project(&admin, &json!({"name": format!("Race {round}")})).await;
        let path = format!("/projects/{}", id(&project));
        let (seen, _) = read(&admin, &path).await;
        let attempts = (0..4).map(|n| {
            let (admin, path, seen) = (&admin, &path, &seen);
            async move {
                let body = json!({"description": format!("writer {n}")});
                sent(admin.put(path).header("If-Match", seen).body_json(&body).send().await).await
            }
        });
        let outcomes = futures_util::future::join_all(attempts).await;
        let statuses: Vec<u16> = outcomes.iter().map(|(status, _)| *status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "round {round}: {statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 412).count(), 3, "round {round}: {statuses:?}");
        let winner = outcomes.iter().find(|(status, _)| *status == 200).map(|(_, body)| body.clone()).unwrap();
        let (_, stored) = read(&admin, &path).await;
        assert_eq!(stored["description"], winner["description"], "the stored write is the one that was accepted");
    }
}

#[tokio::test]
async fn the_document_states_etag_if_match_and_304() {
    let app = app().await;
    let spec = ok(app.anonymous().get("/openapi.json").send().await).await;
    let item = &spec["paths"]["/projects/{id}"];
    assert!(item["get"]["responses"]["304"].is_object(), "{}", item["get"]["responses"]);
    assert!(item["get"]["responses"]["200"]["headers"]["ETag"].is_object(), "{}", item["get"]["responses"]["200"]);
    for method in ["put", "delete"] {
        let params = item[method]["parameters"].as_array().unwrap();
        assert!(params.iter().any(|p| p["name"] == "If-Match" && p["in"] == "header"), "{method}: {params:?}");
    }
}
