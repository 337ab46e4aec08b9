//! Messages as a log: ordering under concurrency, idempotent sends, history
//! paging, threads, edits, deletes, reactions and cursors.

#[macro_use]
mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::HashSet;

fn seqs(page: &Value) -> Vec<u64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["seq"].as_u64())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_sends_from_ten_clients_get_gapless_seqs() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let mut tokens = Vec::new();
    for i in 0..10 {
        let (pid, token) = add_human(&app, &org, &format!("sender{i}"), "member").await;
        app.post(
            &format!("/channels/{ch}/members"),
            &org.owner_token,
            json!({"principal_id": pid}),
        )
        .await
        .expect(201);
        tokens.push(token);
    }
    let base = app
        .get(&format!("/channels/{ch}"), &org.owner_token)
        .await
        .expect(200)["last_seq"]
        .as_u64()
        .expect("last_seq");

    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let app = app.clone();
        let ch = ch.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for n in 0..100 {
                let body = app
                    .post(
                        &format!("/channels/{ch}/messages"),
                        &token,
                        json!({"text": format!("{i}-{n}")}),
                    )
                    .await
                    .expect(201);
                seqs.push(body["seq"].as_u64().expect("seq"));
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("sender"));
    }
    all.sort_unstable();
    assert_eq!(
        all,
        (base + 1..=base + 1000).collect::<Vec<_>>(),
        "seq has no gap and no duplicate"
    );

    // Reading the history back gives the same 1000, in order.
    let mut read = Vec::new();
    let mut after = base;
    loop {
        let page = app
            .get(
                &format!("/channels/{ch}/messages?after={after}&limit=500"),
                &org.owner_token,
            )
            .await
            .expect(200);
        read.extend(seqs(&page));
        match page["next"].as_u64() {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(read, (base + 1..=base + 1000).collect::<Vec<_>>());
}

on_both_backends!(multi_thread the_same_client_msg_id_gives_one_message_and_the_same_answer);

async fn the_same_client_msg_id_gives_one_message_and_the_same_answer(app: TestApp) {
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let path = format!("/channels/{ch}/messages");
    let body = json!({"text": "only once", "client_msg_id": "retry-1"});
    let first = app.post(&path, &org.owner_token, body.clone()).await;
    let second = app.post(&path, &org.owner_token, body.clone()).await;
    assert_eq!(first.status, 201);
    assert_eq!(second.status, 201);
    assert_eq!(
        first.body, second.body,
        "the retry answers exactly what the first send did"
    );
    assert_eq!(
        second
            .headers
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );

    // Racing retries also collapse into one.
    let app = std::sync::Arc::new(app);
    let mut racers = Vec::new();
    for _ in 0..8 {
        let (app, path, token) = (app.clone(), path.clone(), org.owner_token.clone());
        racers.push(tokio::spawn(async move {
            app.post(
                &path,
                &token,
                json!({"text": "race", "client_msg_id": "retry-2"}),
            )
            .await
            .expect(201)["id"]
                .as_str()
                .map(str::to_owned)
        }));
    }
    let mut ids = HashSet::new();
    for r in racers {
        ids.insert(r.await.expect("racer"));
    }
    assert_eq!(ids.len(), 1);
    let page = app.get(&path, &org.owner_token).await.expect(200);
    let texts: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, ["only once", "race"]);
}

on_both_backends!(history_pages_backwards_and_forwards);

async fn history_pages_backwards_and_forwards(app: TestApp) {
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let mut sent = Vec::new();
    for n in 0..25 {
        let m = app
            .post(
                &format!("/channels/{ch}/messages"),
                &org.owner_token,
                json!({"text": format!("m{n}")}),
            )
            .await
            .expect(201);
        sent.push(m["seq"].as_u64().expect("seq"));
    }
    // Newest first page, then scroll back with `before`.
    let newest = app
        .get(
            &format!("/channels/{ch}/messages?limit=10"),
            &org.owner_token,
        )
        .await
        .expect(200);
    assert_eq!(seqs(&newest), sent[15..].to_vec());
    let older = app
        .get(
            &format!("/channels/{ch}/messages?limit=10&before={}", newest["next"]),
            &org.owner_token,
        )
        .await
        .expect(200);
    assert_eq!(seqs(&older), sent[5..15].to_vec());
    let oldest = app
        .get(
            &format!("/channels/{ch}/messages?limit=10&before={}", older["next"]),
            &org.owner_token,
        )
        .await
        .expect(200);
    assert_eq!(seqs(&oldest), sent[..5].to_vec());
    assert_eq!(oldest["next"], Value::Null);
    // Forward from a point.
    let forward = app
        .get(
            &format!("/channels/{ch}/messages?after={}&limit=3", sent[20]),
            &org.owner_token,
        )
        .await
        .expect(200);
    assert_eq!(seqs(&forward), sent[21..24].to_vec());
    for bad in [
        "limit=0",
        "limit=501",
        "after=1&before=5",
        "after=-1",
        "limit=abc",
        "bogus=1",
    ] {
        let answer = app
            .get(&format!("/channels/{ch}/messages?{bad}"), &org.owner_token)
            .await;
        assert_eq!(answer.status, 400, "{bad}: {}", answer.body);
    }
}

on_both_backends!(edits_deletes_and_reactions_change_the_message_and_the_log);

async fn edits_deletes_and_reactions_change_the_message_and_the_log(app: TestApp) {
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    app.post(
        &format!("/channels/{ch}/members"),
        &org.owner_token,
        json!({"principal_id": bob_id}),
    )
    .await
    .expect(201);
    let m = app
        .post(
            &format!("/channels/{ch}/messages"),
            &bob,
            json!({"text": "teh plan"}),
        )
        .await
        .expect(201);
    let mid = id(&m);

    // Only the author edits.
    app.patch(
        &format!("/messages/{mid}"),
        &org.owner_token,
        json!({"text": "hijack"}),
    )
    .await
    .expect_error(403, "forbidden");
    let edited = app
        .patch(
            &format!("/messages/{mid}"),
            &bob,
            json!({"text": "the plan, @olivia"}),
        )
        .await
        .expect(200);
    assert_eq!(edited["text"], "the plan, @olivia");
    assert!(edited["edited_at"].is_string());
    assert_eq!(edited["mentions"]["principal_ids"], json!([org.owner_id]));

    // Reactions aggregate per emoji and are idempotent per person.
    app.put(&format!("/messages/{mid}/reactions/👍"), &bob, json!(null))
        .await
        .expect(200);
    app.put(&format!("/messages/{mid}/reactions/👍"), &bob, json!(null))
        .await
        .expect(200);
    let reacted = app
        .put(
            &format!("/messages/{mid}/reactions/👍"),
            &org.owner_token,
            json!(null),
        )
        .await
        .expect(200);
    assert_eq!(
        reacted["reactions"],
        json!([{"emoji": "👍", "count": 2, "principal_ids": [bob_id, org.owner_id]}])
    );
    let unreacted = app
        .delete(&format!("/messages/{mid}/reactions/👍"), &bob)
        .await
        .expect(200);
    assert_eq!(unreacted["reactions"][0]["count"], 1);
    app.delete(&format!("/messages/{mid}/reactions/👍"), &bob)
        .await
        .expect_error(404, "not_found");

    // A channel manager (the owner) may delete another's message; it leaves a
    // tombstone in history.
    app.delete(&format!("/messages/{mid}"), &org.owner_token)
        .await
        .expect(204);
    app.delete(&format!("/messages/{mid}"), &bob)
        .await
        .expect_error(404, "not_found");
    let page = app
        .get(&format!("/channels/{ch}/messages"), &bob)
        .await
        .expect(200);
    let tomb = &page["items"][0];
    assert_eq!(
        (tomb["deleted"].clone(), tomb["text"].clone()),
        (json!(true), json!(""))
    );

    let events = app
        .get(&format!("/channels/{ch}/events"), &bob)
        .await
        .expect(200);
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "member.joined",
            "member.joined",
            "message.created",
            "message.edited",
            "reaction.added",
            "reaction.added",
            "reaction.removed",
            "message.deleted"
        ]
    );
    assert!(
        events["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["type"] == "event")
    );
}

#[tokio::test]
async fn threads_are_listed_by_activity_and_replies_follow_the_root() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let post = |text: &'static str, thread: Option<String>| {
        let app = &app;
        let token = org.owner_token.clone();
        let ch = ch.clone();
        async move {
            app.post(
                &format!("/channels/{ch}/messages"),
                &token,
                json!({"text": text, "thread_id": thread}),
            )
            .await
            .expect(201)
        }
    };
    let a = post("topic A", None).await;
    let b = post("topic B", None).await;
    post("reply to A", Some(id(&a))).await;
    let reply_b = post("reply to B", Some(id(&b))).await;
    // Replying to a reply lands in the root's thread.
    let nested = post("reply to the reply", Some(id(&reply_b))).await;
    assert_eq!(nested["thread_id"], json!(id(&b)));
    let threads = app
        .get(&format!("/channels/{ch}/threads"), &org.owner_token)
        .await
        .expect(200);
    let roots: Vec<&str> = threads["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(roots, ["topic B", "topic A"], "most recently active first");
    assert_eq!(threads["items"][0]["reply_count"], 2);
    app.get(
        &format!("/channels/{ch}/threads/{}/messages", id(&reply_b)),
        &org.owner_token,
    )
    .await
    .expect_error(404, "not_found");
    app.post(
        &format!("/channels/{ch}/messages"),
        &org.owner_token,
        json!({"text": "x", "thread_id": "no-such-message"}),
    )
    .await
    .expect_error(400, "unknown_thread");
}

#[tokio::test]
async fn cursors_give_unread_counts_and_lag() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    app.post(
        &format!("/channels/{ch}/members"),
        &org.owner_token,
        json!({"principal_id": bob_id}),
    )
    .await
    .expect(201);
    for n in 0..5 {
        app.post(
            &format!("/channels/{ch}/messages"),
            &org.owner_token,
            json!({"text": format!("{n}")}),
        )
        .await
        .expect(201);
    }
    let last = app.get(&format!("/channels/{ch}"), &bob).await.expect(200)["last_seq"]
        .as_u64()
        .expect("seq");
    let cursor = app
        .put(
            &format!("/channels/{ch}/cursor"),
            &bob,
            json!({"seq": last - 2}),
        )
        .await
        .expect(200);
    assert_eq!(cursor["unread"], 2);
    let members = app
        .get(&format!("/channels/{ch}/members"), &org.owner_token)
        .await
        .expect(200);
    let bob_entry = members["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|m| m["principal_id"] == json!(bob_id))
        .cloned()
        .expect("bob listed");
    assert_eq!(bob_entry["lag"], 2);
    let tree = app
        .get(&format!("/orgs/{}/tree", org.id), &bob)
        .await
        .expect(200);
    assert_eq!(tree["spaces"][0]["channels"][0]["unread"], 2);
    // Past the end is clamped.
    let clamped = app
        .put(
            &format!("/channels/{ch}/cursor"),
            &bob,
            json!({"seq": 10_000}),
        )
        .await
        .expect(200);
    assert_eq!(
        (clamped["read_seq"].as_u64(), clamped["unread"].as_u64()),
        (Some(last), Some(0))
    );
    // A visible channel one has not joined keeps no cursor.
    let (_, carol) = add_human(&app, &org, "carol", "member").await;
    app.put(&format!("/channels/{ch}/cursor"), &carol, json!({"seq": 1}))
        .await
        .expect_error(400, "not_a_member");
}

#[tokio::test]
async fn mentions_of_everyone_need_the_right_and_agents_get_hop_counts() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (a1, a1_token) = add_agent(&app, &org, "alpha").await;
    let (a2, a2_token) = add_agent(&app, &org, "beta").await;
    for p in [&a1, &a2] {
        app.post(
            &format!("/channels/{ch}/members"),
            &org.owner_token,
            json!({"principal_id": p}),
        )
        .await
        .expect(201);
    }
    let path = format!("/channels/{ch}/messages");
    app.post(&path, &a1_token, json!({"text": "@all wake up"}))
        .await
        .expect_error(403, "forbidden");
    let human = app
        .post(
            &path,
            &org.owner_token,
            json!({"text": "@agents go, @alpha first"}),
        )
        .await
        .expect(201);
    assert_eq!(
        human["mentions"],
        json!({"principal_ids": [a1], "all": false, "agents": true})
    );
    let mut hops = Vec::new();
    for (i, token) in [&a1_token, &a2_token, &a1_token].into_iter().enumerate() {
        let m = app
            .post(&path, token, json!({"text": format!("agent says {i}")}))
            .await
            .expect(201);
        hops.push(m["hop"].as_u64().expect("hop"));
    }
    assert_eq!(hops, [1, 2, 3]);
    let back = app
        .post(&path, &org.owner_token, json!({"text": "enough"}))
        .await
        .expect(201);
    assert_eq!(back["hop"], 0);
    // A thread keeps its own count.
    let in_thread = app
        .post(
            &path,
            &a2_token,
            json!({"text": "thread reply", "thread_id": id(&back)}),
        )
        .await
        .expect(201);
    assert_eq!(in_thread["hop"], 1);
}
