//! The context window API: a thread or a channel's tail rendered for an LLM
//! within a token budget, roles relative to the asking agent.

mod common;

use common::*;
use octo_server::{RateLimit, ServerConfig};
use serde_json::{Value, json};

async fn fast_app() -> TestApp {
    spawn_app_with(ServerConfig {
        rate_limit: RateLimit {
            burst: 100_000,
            per_second: 100_000.0,
        },
        ..Default::default()
    })
    .await
}

/// Every message of a thread, oldest first (root included).
async fn whole_thread(app: &TestApp, token: &str, ch: &str, root: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut before: Option<u64> = None;
    loop {
        let path = match before {
            Some(b) => format!("/channels/{ch}/threads/{root}/messages?limit=500&before={b}"),
            None => format!("/channels/{ch}/threads/{root}/messages?limit=500"),
        };
        let page = app.get(&path, token).await.expect(200);
        let mut items = page["items"].as_array().expect("items").clone();
        items.extend(all);
        all = items;
        match page["next"].as_u64() {
            Some(n) => before = Some(n),
            None => return all,
        }
    }
}

fn roles(context: &Value) -> Vec<&str> {
    context["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().expect("role"))
        .collect()
}

#[tokio::test]
async fn a_long_thread_keeps_its_root_and_newest_replies_within_the_budget() {
    let app = fast_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (agent_id, agent) = add_agent(&app, &org, "scout").await;
    let (human_id, human) = add_human(&app, &org, "hana", "member").await;
    join(&app, &org, &ch, &agent_id).await;
    join(&app, &org, &ch, &human_id).await;
    let root = id(&say(
        &app,
        &ch,
        &org.owner_token,
        "Why did last night's deploy fail?",
    )
    .await);

    // 2,000 replies from three authors, eight posters at a time.
    let posters = [
        &org.owner_token,
        &human,
        &agent,
        &org.owner_token,
        &human,
        &agent,
        &human,
        &org.owner_token,
    ];
    let per_poster = 250;
    futures::future::join_all(posters.iter().enumerate().map(|(p, token)| {
        let (app, ch, root) = (&app, &ch, &root);
        async move {
            for i in 0..per_poster {
                app.post(
                    &format!("/channels/{ch}/messages"),
                    token,
                    json!({"text": format!("reply {p}-{i}: the migration step timed out again, retrying with a longer lock wait"), "thread_id": root}),
                )
                .await
                .expect(201);
            }
        }
    }))
    .await;
    let thread = whole_thread(&app, &agent, &ch, &root).await;
    assert_eq!(thread.len(), 2001);
    let replies = &thread[1..];

    // text: exactly within the budget by the tokenizer's own count.
    let c = app
        .get(
            &format!("/channels/{ch}/context?thread_id={root}&max_tokens=4000&format=text"),
            &agent,
        )
        .await
        .expect(200);
    assert_eq!(c["format"], "text");
    assert_eq!(c["max_tokens"], 4000);
    assert_eq!(c["truncated_root"], false);
    assert_eq!(c["groupmd"], Value::Null);
    let body = c["context"].as_str().expect("a text context");
    let tokens = c["tokens"].as_u64().expect("tokens") as usize;
    assert_eq!(tokens, octo_context::count_tokens(body));
    assert!(tokens <= 4000 && tokens > 3800, "{tokens}");
    let kept = c["kept"].as_u64().expect("kept") as usize;
    let dropped = c["dropped"].as_u64().expect("dropped") as usize;
    assert_eq!(kept + dropped, 2001);
    assert!(kept > 50, "{kept}");
    let lines: Vec<&str> = body.lines().collect();
    assert!(
        lines[0].starts_with("@olivia (")
            && lines[0].ends_with("): Why did last night's deploy fail?"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], octo_context::OMITTED_NOTE);
    // The kept replies are exactly the newest, oldest of them first: the first
    // kept is newer than every dropped one.
    let newest = &replies[replies.len() - (kept - 1)..];
    assert_eq!(lines.len() - 2, newest.len());
    for (line, m) in lines[2..].iter().zip(newest) {
        assert!(
            line.ends_with(&format!("): {}", m["text"].as_str().expect("text"))),
            "{line} vs {m}"
        );
    }
    let first_kept_seq = newest[0]["seq"].as_u64().expect("seq");
    assert!(
        replies[..replies.len() - newest.len()]
            .iter()
            .all(|m| m["seq"].as_u64().expect("seq") < first_kept_seq)
    );

    // openai: the agent's own messages are `assistant`, others' named `user`.
    let c = app
        .get(
            &format!("/channels/{ch}/context?thread_id={root}&max_tokens=4000"),
            &agent,
        )
        .await
        .expect(200);
    assert_eq!(c["format"], "openai");
    assert!(c["tokens"].as_u64().expect("tokens") <= 4000);
    let messages = c["context"]["messages"].as_array().expect("messages");
    assert_eq!(messages.len() as u64, c["kept"].as_u64().expect("kept"));
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[0]["name"], "olivia");
    assert_eq!(
        messages[0]["content"],
        "@olivia: Why did last night's deploy fail?"
    );
    let kept = messages.len();
    for (m, original) in messages[1..]
        .iter()
        .zip(&replies[replies.len() - (kept - 1)..])
    {
        let text = original["text"].as_str().expect("text");
        if original["author_id"] == json!(agent_id) {
            assert_eq!(m, &json!({"role": "assistant", "content": text}));
        } else {
            assert_eq!(m["role"], "user");
            let handle = if original["author_id"] == json!(human_id) {
                "hana"
            } else {
                "olivia"
            };
            assert_eq!(m["name"], handle);
            assert_eq!(m["content"], format!("@{handle}: {text}"));
        }
    }
    assert!(roles(&c["context"]).contains(&"assistant"));

    // anthropic: alternating, user first, no names.
    let c = app
        .get(
            &format!("/channels/{ch}/context?thread_id={root}&max_tokens=4000&format=anthropic"),
            &agent,
        )
        .await
        .expect(200);
    assert!(c["tokens"].as_u64().expect("tokens") <= 4000);
    let r = roles(&c["context"]);
    assert_eq!(r[0], "user");
    assert!(r.windows(2).all(|w| w[0] != w[1]), "{r:?}");
    assert!(
        c["context"]["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .all(|m| m.get("name").is_none())
    );
    assert!(c["context"].get("system").is_none(), "no group.md yet");
}

#[tokio::test]
async fn roles_follow_whoever_asks() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (agent_id, agent) = add_agent(&app, &org, "scout").await;
    join(&app, &org, &ch, &agent_id).await;
    say(&app, &ch, &org.owner_token, "@scout status?").await;
    say(&app, &ch, &agent, "All green.").await;
    say(&app, &ch, &agent, "Deploy at 5.").await;
    say(&app, &ch, &org.owner_token, "thanks").await;

    // Without a thread: the channel's recent top level, oldest first.
    let c = app
        .get(&format!("/channels/{ch}/context"), &agent)
        .await
        .expect(200);
    assert_eq!(
        c["context"],
        json!({"messages": [
            {"role": "user", "name": "olivia", "content": "@olivia: @scout status?"},
            {"role": "assistant", "content": "All green."},
            {"role": "assistant", "content": "Deploy at 5."},
            {"role": "user", "name": "olivia", "content": "@olivia: thanks"},
        ]})
    );
    assert_eq!(
        (
            c["kept"].as_u64(),
            c["dropped"].as_u64(),
            c["max_tokens"].as_u64()
        ),
        (Some(4), Some(0), Some(4000))
    );

    // Asked by the owner, the agent is the other party; Anthropic must start
    // with `user`, so the owner's own opening gets a user turn before it.
    let c = app
        .get(
            &format!("/channels/{ch}/context?format=anthropic"),
            &org.owner_token,
        )
        .await
        .expect(200);
    assert_eq!(
        c["context"],
        json!({"messages": [
            {"role": "user", "content": octo_context::ANTHROPIC_OPENER},
            {"role": "assistant", "content": "@scout status?"},
            {"role": "user", "content": "@scout: All green.\n\n@scout: Deploy at 5."},
            {"role": "assistant", "content": "thanks"},
        ]})
    );

    let c = app
        .get(&format!("/channels/{ch}/context?format=text"), &agent)
        .await
        .expect(200);
    let body = c["context"].as_str().expect("text");
    assert_eq!(body.lines().count(), 4);
    assert!(body.lines().nth(1).expect("line").starts_with("@scout ("));
    assert_eq!(
        c["tokens"].as_u64().expect("tokens") as usize,
        octo_context::count_tokens(body)
    );
}

#[tokio::test]
async fn an_agent_outside_a_private_channel_gets_404() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, private) = space_and_channel(&app, &org, true).await;
    let (_, outsider) = add_agent(&app, &org, "outsider").await;
    let root = id(&say(&app, &private, &org.owner_token, "secret plans").await);
    app.get(&format!("/channels/{private}/context"), &outsider)
        .await
        .expect_error(404, "not_found");
    app.get(
        &format!("/channels/{private}/context?thread_id={root}"),
        &outsider,
    )
    .await
    .expect_error(404, "not_found");
    app.get(
        &format!("/channels/{private}/context?thread_id={root}"),
        &org.owner_token,
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn bad_parameters_are_refused_with_codes() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (_, other) = space_and_channel(&app, &org, false).await;
    let root = id(&say(&app, &ch, &org.owner_token, "root").await);
    let reply = id(&app
        .post(
            &format!("/channels/{ch}/messages"),
            &org.owner_token,
            json!({"text": "reply", "thread_id": root}),
        )
        .await
        .expect(201));
    let elsewhere = id(&say(&app, &other, &org.owner_token, "elsewhere").await);
    let t = &org.owner_token;
    for bad in ["99", "200001", "0", "-5", "lots", ""] {
        app.get(&format!("/channels/{ch}/context?max_tokens={bad}"), t)
            .await
            .expect_error(400, "invalid_max_tokens");
    }
    for ok in ["100", "200000"] {
        let c = app
            .get(&format!("/channels/{ch}/context?max_tokens={ok}"), t)
            .await
            .expect(200);
        assert_eq!(c["max_tokens"].to_string(), ok);
    }
    for bad in ["xml", "OpenAI", ""] {
        app.get(&format!("/channels/{ch}/context?format={bad}"), t)
            .await
            .expect_error(400, "invalid_format");
    }
    for bad in ["nope".to_owned(), reply, elsewhere] {
        app.get(&format!("/channels/{ch}/context?thread_id={bad}"), t)
            .await
            .expect_error(404, "not_found");
    }
    app.get(&format!("/channels/{ch}/context?limit=5"), t)
        .await
        .expect_error(400, "invalid_query");
    app.get("/channels/nope/context", t)
        .await
        .expect_error(404, "not_found");
    let c = app
        .get(
            &format!("/channels/{ch}/context?thread_id={root}&format=text"),
            t,
        )
        .await
        .expect(200);
    assert_eq!(c["kept"], 2);
}
