//! Requests that race, really at the same time: each from its own task on a multi-threaded
//! runtime (eight worker threads), all released together by a barrier, against the database of
//! this run. Each test then checks the rows themselves, not only the answers: a name is taken
//! exactly once, a refresh token is spent exactly once.
//!
//! The answers alone would not do: the user and role creations look the name up before
//! inserting, so requests one after another also give one 200 and 409s, with or without the
//! unique index. The row count is what a missing index or a non-atomic spend would change.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failures should panic

use std::future::Future;
use std::sync::Arc;

use kwik_core::Queries;
use kwik_http::App;
use kwik_http::builtin::Builtin;
use kwik_testing::{ADMIN_EMAIL, ADMIN_PASSWORD, Scenario, TestApp, json_of};
use poem::test::TestResponse;
use sea_query::{Expr, ExprTrait, Func, Query, SelectStatement};
use serde_json::{Value, json};

/// Requests per race: more than the test pool's five connections, so some also queue.
const RACERS: usize = 8;

async fn app() -> Arc<TestApp> {
    Arc::new(TestApp::new(|state| App::new(state).module(Builtin)).await)
}

/// Runs `request(app, i)` for every `i` in `0..n`, each in its own task, all released at once
/// by a barrier; the answers in the order of `i`.
async fn at_once<F, Fut>(app: &Arc<TestApp>, n: usize, request: F) -> Vec<(u16, Value)>
where
    F: Fn(Arc<TestApp>, usize) -> Fut,
    Fut: Future<Output = TestResponse> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let sent = request(Arc::clone(app), i);
            tokio::spawn(async move {
                barrier.wait().await;
                let response = sent.await;
                (response.0.status().as_u16(), json_of(response).await)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("a racing request panicked"));
    }
    answers
}

async fn count(app: &TestApp, table: &'static str, filter: impl FnOnce(&mut SelectStatement)) -> i64 {
    let mut select = Query::select().expr(Func::count(Expr::cust("*"))).from(table).to_owned();
    filter(&mut select);
    app.state().db.clone().fetch_i64(&select).await.expect("count")
}

/// One 200 (its body returned), every other answer a 409 `Entity already exists`, never a 500.
fn one_winner(answers: &[(u16, Value)]) -> Value {
    let winners: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b).collect();
    assert_eq!(winners.len(), 1, "exactly one creation succeeds: {answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!((*status, &body["detail"]), (409, &json!("Entity already exists")), "{answers:?}");
    }
    winners[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn simultaneous_registrations_of_one_email_store_exactly_one_user() {
    let app = app().await;
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // The same address, its domain spelt differently: normalised to one (the local part is
    // case-sensitive, so it stays as typed).
    let spellings = ["race@example.com", "race@Example.com", "race@EXAMPLE.COM", "race@example.COM"];
    let answers = at_once(&app, RACERS, |app, i| {
        let token = token.clone();
        let body = json!({
            "name": "Race", "surname": format!("Condition {i}"),
            "email": spellings[i % spellings.len()], "password": "racing-password-1",
        });
        async move { app.with_token(&token).post("/users/").body_json(&body).send().await }
    })
    .await;
    let winner = one_winner(&answers);
    assert_eq!(winner["email"], "race@example.com", "{winner}");

    let same_email = count(&app, "users", |q| {
        q.and_where(Expr::col("email").eq("race@example.com"));
    })
    .await;
    assert_eq!(same_email, 1, "one row for the address: {answers:?}");
    assert_eq!(count(&app, "users", |_| ()).await, 2, "the bootstrap admin and the winner, nothing else");
    let winner_row = count(&app, "users", |q| {
        q.and_where(Expr::col("id").eq(winner["id"].as_i64().unwrap()))
            .and_where(Expr::col("surname").eq(winner["surname"].as_str().unwrap()));
    })
    .await;
    assert_eq!(winner_row, 1, "the stored row is the one the 200 described: {winner}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn simultaneous_creations_of_one_role_name_store_exactly_one_role() {
    let app = app().await;
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let spellings = ["racer", "Racer", " RACER ", "raCer"];
    let answers = at_once(&app, RACERS, |app, i| {
        let token = token.clone();
        let body = json!({"name": spellings[i % spellings.len()], "is_active": true});
        async move { app.with_token(&token).post("/roles/").body_json(&body).send().await }
    })
    .await;
    let winner = one_winner(&answers);
    assert_eq!(winner["name"], "racer", "{winner}");

    let racers = count(&app, "roles", |q| {
        q.and_where(Expr::col("name").eq("racer"));
    })
    .await;
    assert_eq!(racers, 1, "one row for the name: {answers:?}");
    assert_eq!(count(&app, "roles", |_| ()).await, 2, "admin and the winner, nothing else");
}

/// RFC 9700 §4.14.2: a refresh token is spent once. Presented twice at the same moment, one
/// request gets the next token and the other is a reuse: 400, and the whole family revoked —
/// including the token the winner just received. Four users race at once, each with two
/// requests carrying their own token, so that a non-atomic spend has four chances to show.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn simultaneous_refreshes_with_one_token_spend_it_once_and_revoke_the_family() {
    let app = app().await;
    let names = ["alice", "bob", "carol", "dave"];
    let world = names.iter().fold(Scenario::new(), |scenario, name| scenario.user(name, &[])).build(&app).await;
    let mut tokens = Vec::new();
    for name in names {
        let user = world.user(name);
        let form = format!("username={}&password={}", user.email.replace('@', "%40"), user.password);
        let login = app
            .anonymous()
            .post("/login/access-token")
            .content_type("application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await;
        let login = json_of(login).await;
        tokens.push(login["refresh_token"].as_str().unwrap_or_else(|| panic!("no refresh_token: {login}")).to_owned());
    }

    // Requests 2k and 2k + 1 carry the token of user k.
    let answers = at_once(&app, 2 * names.len(), |app, i| {
        let body = json!({"refresh_token": tokens[i / 2]});
        async move { app.anonymous().post("/login/refresh").body_json(&body).send().await }
    })
    .await;

    for (k, name) in names.iter().enumerate() {
        let pair = &answers[2 * k..2 * k + 2];
        let winners: Vec<&Value> = pair.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b).collect();
        assert_eq!(winners.len(), 1, "{name}'s token is spent exactly once: {pair:?}");
        let loser = pair.iter().find(|(s, _)| *s != 200).expect("a loser");
        assert_eq!((loser.0, &loser.1["detail"]), (400, &json!("Invalid token")), "{name}: {pair:?}");

        // The rows: the login's token (spent) and the one issued to the winner; both revoked by
        // the reuse.
        let user_id = world.user(name).id;
        let of_user = |q: &mut SelectStatement| {
            q.and_where(Expr::col("user_id").eq(user_id));
        };
        assert_eq!(count(&app, "refresh_tokens", of_user).await, 2, "{name}: one new token, not two: {pair:?}");
        let spent = count(&app, "refresh_tokens", |q| {
            of_user(q);
            q.and_where(Expr::col("used_at").is_not_null());
        })
        .await;
        assert_eq!(spent, 1, "{name}: only the login's token was spent");
        let revoked = count(&app, "refresh_tokens", |q| {
            of_user(q);
            q.and_where(Expr::col("revoked_at").is_not_null());
        })
        .await;
        assert_eq!(revoked, 2, "{name}: the reuse revoked the whole family, the winner's new token included");

        // And over HTTP: the winner's new refresh token is dead too.
        let next = winners[0]["refresh_token"].as_str().unwrap().to_owned();
        let again = app.anonymous().post("/login/refresh").body_json(&json!({"refresh_token": next})).send().await;
        kwik_testing::assert_detail(again, 400, "Invalid token").await;
    }
}
