//! A channel's group.md over HTTP: the template at revision 0, compare-and-swap
//! writes with If-Match, 409 with the current revision, history and restore.

mod common;

use common::*;
use serde_json::{Value, json};

/// PUT (or POST for restore) with an optional If-Match.
async fn write(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> Answer {
    let mut req = app
        .http
        .request(method, app.url(&format!("/api/v1{path}")))
        .bearer_auth(token);
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    TestApp::answer(req.send().await.expect("request")).await
}

async fn put_md(
    app: &TestApp,
    ch: &str,
    token: &str,
    if_match: Option<&str>,
    text: &str,
) -> Answer {
    let path = format!("/channels/{ch}/groupmd");
    write(
        app,
        reqwest::Method::PUT,
        &path,
        token,
        if_match,
        Some(json!({"text": text})),
    )
    .await
}

#[tokio::test]
async fn two_writers_on_one_base_one_wins_the_other_gets_409_and_nothing_is_lost() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (member_id, member) = add_human(&app, &org, "mia", "member").await;
    join(&app, &org, &ch, &member_id).await;

    let first = app.get(&format!("/channels/{ch}/groupmd"), &member).await;
    assert_eq!(first.headers["etag"], "\"0\"");
    let body = first.expect(200);
    assert_eq!(body["revision"], 0);
    assert!(
        body["text"]
            .as_str()
            .is_some_and(|t| t.contains("## Decisions"))
    );

    let owner_text = "# group.md\n\n## Decisions\n- Water at dawn\n";
    let won = put_md(&app, &ch, &org.owner_token, Some("\"0\""), owner_text).await;
    assert_eq!(won.headers["etag"], "\"1\"");
    assert_eq!(won.expect(200)["revision"], 1);

    let lost = put_md(&app, &ch, &member, Some("\"0\""), "# mine\n").await;
    lost.expect_error(409, "stale_revision");
    assert_eq!(lost.body["current"]["revision"], 1);
    assert_eq!(
        lost.body["current"]["text"], owner_text,
        "the winner's text is kept"
    );
    assert_eq!(lost.headers["etag"], "\"1\"");

    // The loser merges and retries with the bare revision number.
    let merged = format!("{owner_text}- Mulch in May\n");
    let retried = put_md(&app, &ch, &member, Some("1"), &merged)
        .await
        .expect(200);
    assert_eq!(retried["revision"], 2);
    assert_eq!(
        retried["diff"],
        format!(" # group.md\n \n ## Decisions\n - Water at dawn\n+- Mulch in May\n")
    );
    let now = app
        .get(&format!("/channels/{ch}/groupmd"), &member)
        .await
        .expect(200);
    assert_eq!(now["text"], merged);

    let events = app
        .get(&format!("/channels/{ch}/events?limit=500"), &member)
        .await
        .expect(200);
    let updates: Vec<&Value> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["kind"] == "groupmd.updated")
        .collect();
    assert_eq!(updates.len(), 2, "one event per stored revision");
    assert_eq!(updates[1]["payload"]["revision"], 2);
}

#[tokio::test]
async fn bad_writes_get_clear_4xx_errors() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let t = &org.owner_token;
    put_md(&app, &ch, t, None, "x")
        .await
        .expect_error(400, "if_match_required");
    put_md(&app, &ch, t, Some("\"abc\""), "x")
        .await
        .expect_error(400, "invalid_if_match");
    let huge = "x".repeat(64 * 1024 + 1);
    put_md(&app, &ch, t, Some("0"), &huge)
        .await
        .expect_error(413, "groupmd_too_large");
    app.get(&format!("/channels/{ch}/groupmd/revisions/9"), t)
        .await
        .expect_error(404, "not_found");
    app.get(&format!("/channels/{ch}/groupmd/revisions/x"), t)
        .await
        .expect_error(400, "invalid_revision");
}

#[tokio::test]
async fn revisions_are_listed_viewed_with_diffs_and_restored() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let t = &org.owner_token;
    put_md(&app, &ch, t, Some("0"), "one\n").await.expect(200);
    put_md(&app, &ch, t, Some("1"), "two\n").await.expect(200);

    let list = app
        .get(&format!("/channels/{ch}/groupmd/revisions"), t)
        .await
        .expect(200);
    let numbers: Vec<u64> = list["revisions"]
        .as_array()
        .expect("revisions")
        .iter()
        .filter_map(|r| r["revision"].as_u64())
        .collect();
    assert_eq!(numbers, [0, 1, 2]);
    assert_eq!(list["revisions"][2]["base_revision"], 1);
    assert_eq!(list["revisions"][2]["author_id"], org.owner_id.as_str());

    let second = app
        .get(&format!("/channels/{ch}/groupmd/revisions/2"), t)
        .await
        .expect(200);
    assert_eq!(second["text"], "two\n");
    assert_eq!(second["diff"], "-one\n+two\n");

    let path = format!("/channels/{ch}/groupmd/revisions/1/restore");
    write(&app, reqwest::Method::POST, &path, t, Some("1"), None)
        .await
        .expect_error(409, "stale_revision");
    let restored = write(&app, reqwest::Method::POST, &path, t, Some("2"), None)
        .await
        .expect(200);
    assert_eq!(restored["revision"], 3);
    assert_eq!(restored["text"], "one\n");
}

#[tokio::test]
async fn the_channels_groupmd_heads_the_context_window() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let t = &org.owner_token;
    say(&app, &ch, t, "hello there").await;
    let empty = app
        .get(&format!("/channels/{ch}/context"), t)
        .await
        .expect(200);
    assert_eq!(
        empty["groupmd"],
        Value::Null,
        "the empty template costs no tokens"
    );

    let text = "# group.md\n\n## Decisions\n- Water at dawn\n";
    put_md(&app, &ch, t, Some("0"), text).await.expect(200);
    let ctx = app
        .get(&format!("/channels/{ch}/context"), t)
        .await
        .expect(200);
    assert_eq!(ctx["groupmd"], text);
    assert_eq!(
        ctx["context"]["messages"][0],
        json!({"role": "system", "content": text})
    );
}

#[tokio::test]
async fn a_thread_has_its_own_groupmd() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let t = &org.owner_token;
    let root = id(&say(&app, &ch, t, "plan the open day").await);
    let path = format!("/channels/{ch}/threads/{root}/groupmd");
    let first = app.get(&path, t).await.expect(200);
    assert_eq!(first["revision"], 0);
    let body = Some(json!({"text": "thread notes\n"}));
    let stored = write(
        &app,
        reqwest::Method::PUT,
        &path,
        t,
        Some("0"),
        body.clone(),
    )
    .await
    .expect(200);
    assert_eq!(stored["revision"], 1);
    write(&app, reqwest::Method::PUT, &path, t, Some("0"), body)
        .await
        .expect_error(409, "stale_revision");
    // The channel's own document is untouched.
    let channel_doc = app
        .get(&format!("/channels/{ch}/groupmd"), t)
        .await
        .expect(200);
    assert_eq!(channel_doc["revision"], 0);
    app.get(&format!("/channels/{ch}/threads/nope/groupmd"), t)
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn edit_groupmd_is_a_members_right_that_overrides_change() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (member_id, member) = add_human(&app, &org, "mia", "member").await;
    join(&app, &org, &ch, &member_id).await;
    let perms = app
        .get(&format!("/channels/{ch}/permissions"), &member)
        .await
        .expect(200);
    assert!(perms.to_string().contains("edit_groupmd"), "{perms}");
    put_md(&app, &ch, &member, Some("0"), "mine\n")
        .await
        .expect(200);

    app.put(
        &format!("/channels/{ch}/overrides"),
        &org.owner_token,
        json!({"overrides": [{"target": {"kind": "role", "id": "member"},
                              "action": "edit_groupmd", "effect": "deny"}]}),
    )
    .await
    .expect(200);
    put_md(&app, &ch, &member, Some("1"), "again\n")
        .await
        .expect_error(403, "forbidden");
    // Reading stays allowed.
    let now = app
        .get(&format!("/channels/{ch}/groupmd"), &member)
        .await
        .expect(200);
    assert_eq!(now["text"], "mine\n");
}
