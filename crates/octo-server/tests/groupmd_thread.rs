//! A thread's group.md history: list, view and restore revisions, with the
//! channel routes' shapes and permissions.

mod common;

use common::*;
use serde_json::{Value, json};

/// PUT or POST with an If-Match.
async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    if_match: &str,
    body: Option<Value>,
) -> Answer {
    let mut req = app
        .http
        .request(method, app.url(&format!("/api/v1{path}")))
        .bearer_auth(token)
        .header("If-Match", if_match);
    if let Some(body) = body {
        req = req.json(&body);
    }
    TestApp::answer(req.send().await.expect("request")).await
}

#[tokio::test]
async fn a_threads_revisions_are_listed_viewed_and_restored() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let t = &org.owner_token;
    let root = id(&say(&app, &ch, t, "plan the open day").await);
    let md = format!("/channels/{ch}/threads/{root}/groupmd");
    for (base, text) in [("0", "one\n"), ("1", "two\n")] {
        send(
            &app,
            reqwest::Method::PUT,
            &md,
            t,
            base,
            Some(json!({"text": text})),
        )
        .await
        .expect(200);
    }

    let list = app.get(&format!("{md}/revisions"), t).await.expect(200);
    let numbers: Vec<u64> = list["revisions"]
        .as_array()
        .expect("revisions")
        .iter()
        .filter_map(|r| r["revision"].as_u64())
        .collect();
    assert_eq!(numbers, [0, 1, 2]);
    assert_eq!(list["revisions"][2]["base_revision"], 1);
    assert_eq!(list["revisions"][2]["author_id"], org.owner_id.as_str());
    assert!(
        list["revisions"][1].get("text").is_none(),
        "no texts in the list"
    );

    let second = app.get(&format!("{md}/revisions/2"), t).await.expect(200);
    assert_eq!(second["text"], "two\n");
    assert_eq!(second["diff"], "-one\n+two\n");
    let zero = app.get(&format!("{md}/revisions/0"), t).await.expect(200);
    assert!(
        zero["text"]
            .as_str()
            .is_some_and(|t| t.contains("## Decisions"))
    );

    let restore = format!("{md}/revisions/1/restore");
    send(&app, reqwest::Method::POST, &restore, t, "1", None)
        .await
        .expect_error(409, "stale_revision");
    let restored = send(&app, reqwest::Method::POST, &restore, t, "2", None)
        .await
        .expect(200);
    assert_eq!(restored["revision"], 3);
    assert_eq!(restored["text"], "one\n");
    let now = app.get(&md, t).await.expect(200);
    assert_eq!(now["text"], "one\n");

    // The channel's own history is untouched.
    let channel = app
        .get(&format!("/channels/{ch}/groupmd/revisions"), t)
        .await
        .expect(200);
    assert_eq!(channel["revisions"].as_array().map(Vec::len), Some(1));

    app.get(&format!("{md}/revisions/9"), t)
        .await
        .expect_error(404, "not_found");
    app.get(&format!("{md}/revisions/x"), t)
        .await
        .expect_error(400, "invalid_revision");
    send(&app, reqwest::Method::POST, &restore, t, "x", None)
        .await
        .expect_error(400, "invalid_if_match");
}

#[tokio::test]
async fn unknown_roots_replies_and_private_channels_are_not_found() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let t = &org.owner_token;
    let root = id(&say(&app, &ch, t, "a root").await);
    let reply = id(&app
        .post(
            &format!("/channels/{ch}/messages"),
            t,
            json!({"text": "a reply", "thread_id": root}),
        )
        .await
        .expect(201));
    for bad in ["nope", reply.as_str()] {
        let md = format!("/channels/{ch}/threads/{bad}/groupmd");
        for path in [format!("{md}/revisions"), format!("{md}/revisions/0")] {
            app.get(&path, t).await.expect_error(404, "not_found");
        }
        send(
            &app,
            reqwest::Method::POST,
            &format!("{md}/revisions/0/restore"),
            t,
            "0",
            None,
        )
        .await
        .expect_error(404, "not_found");
    }

    // A private channel the caller is not in: as if it did not exist.
    let (_, secret) = space_and_channel(&app, &org, true).await;
    let hidden_root = id(&say(&app, &secret, t, "secret plan").await);
    let (_, outsider) = add_human(&app, &org, "mia", "member").await;
    let md = format!("/channels/{secret}/threads/{hidden_root}/groupmd");
    for path in [format!("{md}/revisions"), format!("{md}/revisions/0")] {
        app.get(&path, &outsider)
            .await
            .expect_error(404, "not_found");
    }
    send(
        &app,
        reqwest::Method::POST,
        &format!("{md}/revisions/0/restore"),
        &outsider,
        "0",
        None,
    )
    .await
    .expect_error(404, "not_found");
    // Its members see it.
    app.get(&format!("{md}/revisions"), t).await.expect(200);
}
