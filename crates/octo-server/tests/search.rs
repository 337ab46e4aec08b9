//! Search finds what the caller may see, by words, phrases, prefixes and
//! filters — and nothing from anywhere else.

#[macro_use]
mod common;

use common::*;
use serde_json::{Value, json};

fn texts(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|h| h["message"]["text"].as_str().map(str::to_owned))
        .collect()
}

on_both_backends!(words_phrases_prefixes_and_filters);

async fn words_phrases_prefixes_and_filters(app: TestApp) {
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (_, other) = space_and_channel(&app, &org, false).await;
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    join(&app, &org, &ch, &bob_id).await;
    let root = say(
        &app,
        &ch,
        &org.owner_token,
        "The release train leaves on Friday",
    )
    .await;
    say(&app, &ch, &bob, "train the release managers first").await;
    app.post(
        &format!("/channels/{ch}/messages"),
        &bob,
        json!({"text": "Deployment of the release is staged", "thread_id": root["id"]}),
    )
    .await
    .expect(201);
    say(&app, &other, &org.owner_token, "unrelated release chatter").await;

    let t = &org.owner_token;
    let all = app.get("/search?q=release", t).await.expect(200);
    assert_eq!(texts(&all).len(), 4);
    let phrase = app
        .get("/search?q=%22release%20train%22", t)
        .await
        .expect(200);
    assert_eq!(texts(&phrase), ["The release train leaves on Friday"]);
    let prefix = app.get("/search?q=deploy*", t).await.expect(200);
    assert_eq!(texts(&prefix), ["Deployment of the release is staged"]);
    let by_author = app
        .get(&format!("/search?q=release&author_id={bob_id}"), t)
        .await
        .expect(200);
    assert_eq!(texts(&by_author).len(), 2);
    let in_channel = app
        .get(&format!("/search?q=release&channel_id={other}"), t)
        .await
        .expect(200);
    assert_eq!(texts(&in_channel), ["unrelated release chatter"]);
    let in_thread = app
        .get(
            &format!(
                "/search?q=release&thread_id={}",
                root["id"].as_str().expect("id")
            ),
            t,
        )
        .await
        .expect(200);
    assert_eq!(texts(&in_thread).len(), 2);
    let future = app
        .get("/search?q=release&after=2999-01-01T00:00:00Z", t)
        .await
        .expect(200);
    assert!(texts(&future).is_empty());
    let past = app
        .get("/search?q=release&before=2999-01-01T00:00:00Z", t)
        .await
        .expect(200);
    assert_eq!(texts(&past).len(), 4);

    // Highlights point at the words that matched.
    let hit = &phrase["items"][0];
    let snippet: Vec<char> = hit["snippet"].as_str().expect("snippet").chars().collect();
    let marked: Vec<String> = hit["highlights"]
        .as_array()
        .expect("highlights")
        .iter()
        .map(|h| {
            let (s, e) = (
                h[0].as_u64().expect("s") as usize,
                h[1].as_u64().expect("e") as usize,
            );
            snippet[s..e].iter().collect::<String>().to_lowercase()
        })
        .collect();
    let joined = marked.join(" ");
    assert!(
        joined.contains("release") && joined.contains("train"),
        "{marked:?}"
    );
    assert!(
        marked
            .iter()
            .all(|m| m.contains("release") || m.contains("train")),
        "{marked:?}"
    );

    // Paging.
    let first = app.get("/search?q=release&limit=2", t).await.expect(200);
    let second = app
        .get(
            &format!("/search?q=release&limit=2&offset={}", first["next"]),
            t,
        )
        .await
        .expect(200);
    let mut seen = texts(&first);
    seen.extend(texts(&second));
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4);

    // Bad input.
    app.get("/search?q=%22%20%22", t)
        .await
        .expect_error(400, "invalid_q");
    app.get("/search?q=x&limit=0", t)
        .await
        .expect_error(400, "invalid_limit");
    app.get("/search?q=x&after=yesterday", t)
        .await
        .expect_error(400, "invalid_query");
}

on_both_backends!(results_never_include_what_the_caller_cannot_see);

async fn results_never_include_what_the_caller_cannot_see(app: TestApp) {
    let org = setup(&app).await;
    let owner = org.owner_token.clone();
    let (_, open_ch) = space_and_channel(&app, &org, false).await;
    let (_, private_ch) = space_and_channel(&app, &org, true).await;
    let hidden_space = id(&app
        .post(
            &format!("/orgs/{}/spaces", org.id),
            &owner,
            json!({"name": "Hidden", "visibility": "private"}),
        )
        .await
        .expect(201));
    let hidden_ch = id(&app
        .post(
            &format!("/spaces/{hidden_space}/channels"),
            &owner,
            json!({"name": "vault"}),
        )
        .await
        .expect(201));
    for ch in [&open_ch, &private_ch, &hidden_ch] {
        say(&app, ch, &owner, &format!("quarterly numbers in {ch}")).await;
    }
    let dm_with = add_human(&app, &org, "dana", "member").await;
    let dm = app
        .post(
            &format!("/orgs/{}/dms", org.id),
            &owner,
            json!({"principal_ids": [dm_with.0]}),
        )
        .await
        .expect(201);
    say(&app, &id(&dm), &owner, "quarterly numbers in a dm").await;

    let (_, member) = add_human(&app, &org, "mem", "member").await;
    let (_, admin) = add_human(&app, &org, "adm", "admin").await;
    let (_, guest) = add_human(&app, &org, "gus", "guest").await;
    let (agent_id, agent) = add_agent(&app, &org, "bot").await;
    join(&app, &org, &private_ch, &agent_id).await;

    let found = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|h| h["message"]["channel_id"].as_str().map(str::to_owned))
            .collect()
    };
    for (who, token, expected) in [
        (
            "owner",
            &owner,
            vec![&open_ch, &private_ch, &hidden_ch, &id(&dm)],
        ),
        ("member", &member, vec![&open_ch]),
        ("admin", &admin, vec![&open_ch]),
        ("guest", &guest, vec![]),
        ("agent", &agent, vec![&open_ch, &private_ch]),
        ("dm partner", &dm_with.1, vec![&open_ch, &id(&dm)]),
    ] {
        let mut got = found(
            &app.get("/search?q=quarterly&limit=100", token)
                .await
                .expect(200),
        );
        got.sort();
        let mut want: Vec<String> = expected.into_iter().cloned().collect();
        want.sort();
        assert_eq!(got, want, "{who}");
    }
    // Naming a channel one can't see is a 404, like everywhere else.
    app.get(
        &format!("/search?q=quarterly&channel_id={hidden_ch}"),
        &member,
    )
    .await
    .expect_error(404, "not_found");
    // A turn token searches only its channel.
    let (_, scoped_ch) = space_and_channel(&app, &org, false).await;
    join(&app, &org, &scoped_ch, &agent_id).await;
    let (mut ws, _) = common::ws::Ws::hello(app.addr, &agent, None).await;
    say(&app, &scoped_ch, &owner, "@bot quarterly question").await;
    let turn = loop {
        let f = ws.frame().await;
        if f["type"] == "trigger" {
            break f["trigger"]["turn_token"]
                .as_str()
                .expect("turn")
                .to_owned();
        }
    };
    let scoped = found(
        &app.get("/search?q=quarterly&limit=100", &turn)
            .await
            .expect(200),
    );
    assert_eq!(scoped, std::slice::from_ref(&scoped_ch));
}

on_both_backends!(deleted_and_edited_messages_are_searched_as_they_are_now);

async fn deleted_and_edited_messages_are_searched_as_they_are_now(app: TestApp) {
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let m = say(&app, &ch, &org.owner_token, "the codename is bluebird").await;
    let t = &org.owner_token;
    assert_eq!(
        texts(&app.get("/search?q=bluebird", t).await.expect(200)).len(),
        1
    );
    app.patch(
        &format!("/messages/{}", id(&m)),
        t,
        json!({"text": "the codename is redwing"}),
    )
    .await
    .expect(200);
    assert!(texts(&app.get("/search?q=bluebird", t).await.expect(200)).is_empty());
    assert_eq!(
        texts(&app.get("/search?q=redwing", t).await.expect(200)).len(),
        1
    );
    app.delete(&format!("/messages/{}", id(&m)), t)
        .await
        .expect(204);
    assert!(texts(&app.get("/search?q=redwing", t).await.expect(200)).is_empty());
}
