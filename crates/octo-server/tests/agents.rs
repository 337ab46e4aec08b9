//! Agents as members: triggers and their policies, the loop guard, turn tokens
//! scoped to one channel, streaming replies, status lines, profiles.

mod common;

use common::ws::Ws;
use common::*;
use octo_server::{AgentsConfig, ServerConfig};
use serde_json::{Value, json};
use std::time::Duration;

/// The next trigger frame (skipping events and the rest).
async fn trigger(ws: &mut Ws) -> Value {
    loop {
        let f = ws.frame().await;
        if f["type"] == "trigger" {
            return f;
        }
    }
}

async fn no_trigger_within(ws: &mut Ws, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.try_frame(left).await {
            Err(common::ws::Ended::TimedOut) => return,
            Ok(f) if f["type"] == "trigger" => panic!("unexpected trigger: {f}"),
            Ok(_) => continue,
            Err(e) => panic!("connection ended: {e:?}"),
        }
    }
}

#[tokio::test]
async fn two_agents_mentioning_each_other_stop_at_the_hop_limit() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (a_id, a_token) = add_agent(&app, &org, "alpha").await;
    let (b_id, b_token) = add_agent(&app, &org, "beta").await;
    join(&app, &org, &ch, &a_id).await;
    join(&app, &org, &ch, &b_id).await;
    let (mut a_ws, _) = Ws::hello(app.addr, &a_token, None).await;
    let (mut b_ws, _) = Ws::hello(app.addr, &b_token, None).await;

    say(&app, &ch, &org.owner_token, "@alpha please ask @beta").await;
    // Each agent answers its trigger by mentioning the other, acting with the
    // trigger's turn token.
    let mut agent_messages = 0;
    let mut turn = 0;
    loop {
        let (ws, other) = if turn % 2 == 0 {
            (&mut a_ws, "beta")
        } else {
            (&mut b_ws, "alpha")
        };
        let t = match tokio::time::timeout(Duration::from_secs(2), trigger(ws)).await {
            Ok(t) => t,
            Err(_) => break,
        };
        assert_eq!(t["trigger"]["reason"], "mention");
        assert_eq!(t["channel_id"], json!(ch));
        let turn_token = t["trigger"]["turn_token"]
            .as_str()
            .expect("turn token")
            .to_owned();
        let reply = app
            .post(
                &format!("/channels/{ch}/messages"),
                &turn_token,
                json!({"text": format!("over to you @{other}")}),
            )
            .await
            .expect(201);
        agent_messages += 1;
        assert_eq!(reply["hop"], agent_messages);
        turn += 1;
        assert!(turn < 20, "the exchange must stop by itself");
    }
    assert_eq!(
        agent_messages, 4,
        "hop limit 4: four agent replies, then the guard"
    );
    let events = app
        .get(
            &format!("/channels/{ch}/events?limit=500"),
            &org.owner_token,
        )
        .await
        .expect(200);
    let items = events["items"].as_array().expect("items");
    let messages = items
        .iter()
        .filter(|e| e["kind"] == "message.created")
        .count();
    assert_eq!(messages, 5);
    let notes: Vec<&Value> = items
        .iter()
        .filter(|e| e["kind"] == "agent.loop_guard")
        .collect();
    assert_eq!(
        notes.len(),
        1,
        "a visible note says why the exchange stopped"
    );
    assert_eq!(notes[0]["payload"]["reason"], "hop_limit");
    assert_eq!(notes[0]["payload"]["agent_ids"], json!([a_id]));
}

#[tokio::test]
async fn a_turn_token_reads_only_its_channel() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, asked_in) = space_and_channel(&app, &org, false).await;
    let (_, elsewhere) = space_and_channel(&app, &org, true).await;
    let (agent_id, agent_token) = add_agent(&app, &org, "scout").await;
    join(&app, &org, &asked_in, &agent_id).await;
    join(&app, &org, &elsewhere, &agent_id).await;
    say(&app, &elsewhere, &org.owner_token, "secret plans").await;
    let (mut ws, _) = Ws::hello(app.addr, &agent_token, None).await;
    say(
        &app,
        &asked_in,
        &org.owner_token,
        "@scout what do you know?",
    )
    .await;
    let t = trigger(&mut ws).await;
    let turn = t["trigger"]["turn_token"]
        .as_str()
        .expect("turn token")
        .to_owned();

    // Its own long-lived token reads both channels; the turn token only one.
    app.get(&format!("/channels/{elsewhere}/messages"), &agent_token)
        .await
        .expect(200);
    app.get(&format!("/channels/{asked_in}/messages"), &turn)
        .await
        .expect(200);
    for path in [
        format!("/channels/{elsewhere}/messages"),
        format!("/channels/{elsewhere}/events"),
        format!("/channels/{elsewhere}"),
        format!("/orgs/{}/tree", org.id),
    ] {
        app.get(&path, &turn).await.expect_error(404, "not_found");
    }
    app.post(
        &format!("/orgs/{}/dms", org.id),
        &turn,
        json!({"principal_ids": [org.owner_id]}),
    )
    .await
    .expect_error(404, "not_found");
    // Over WebSocket too: a session on the turn token sees just that channel.
    let (_, ready) = Ws::hello(app.addr, &turn, None).await;
    let channels: Vec<&Value> = ready["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .map(|c| &c["channel_id"])
        .collect();
    assert_eq!(channels, [&json!(asked_in)]);
    // A forged or stale token is refused.
    let forged = format!("{}x", &turn[..turn.len() - 1]);
    app.get("/me", &forged)
        .await
        .expect_error(401, "invalid_token");
}

#[tokio::test]
async fn policies_decide_who_wakes() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (quiet_id, quiet) = add_agent(&app, &org, "quiet").await;
    let (eager_id, eager) = add_agent(&app, &org, "eager").await;
    join(&app, &org, &ch, &quiet_id).await;
    app.post(
        &format!("/channels/{ch}/members"),
        &org.owner_token,
        json!({"principal_id": eager_id, "trigger": "all"}),
    )
    .await
    .expect(201);
    let (mut quiet_ws, _) = Ws::hello(app.addr, &quiet, None).await;
    let (mut eager_ws, _) = Ws::hello(app.addr, &eager, None).await;

    say(&app, &ch, &org.owner_token, "just chatting, @all").await;
    assert_eq!(trigger(&mut eager_ws).await["trigger"]["reason"], "all");
    no_trigger_within(&mut quiet_ws, Duration::from_millis(300)).await;

    say(&app, &ch, &org.owner_token, "@agents roll call").await;
    assert_eq!(trigger(&mut quiet_ws).await["trigger"]["reason"], "agents");
    assert_eq!(trigger(&mut eager_ws).await["trigger"]["reason"], "agents");

    // Never by its own message.
    app.post(
        &format!("/channels/{ch}/messages"),
        &eager,
        json!({"text": "I talk to myself, @eager"}),
    )
    .await
    .expect(201);
    no_trigger_within(&mut eager_ws, Duration::from_millis(300)).await;

    // A DM to an agent always wakes it.
    let dm = app
        .post(
            &format!("/orgs/{}/dms", org.id),
            &org.owner_token,
            json!({"principal_ids": [quiet_id]}),
        )
        .await
        .expect(201);
    say(&app, &id(&dm), &org.owner_token, "psst").await;
    // The session started before the DM existed picks it up as it appears.
    let t = loop {
        let t = trigger(&mut quiet_ws).await;
        if t["channel_id"] == dm["id"] {
            break t;
        }
    };
    assert_eq!(
        (t["trigger"]["reason"].clone(), t["channel_id"].clone()),
        (json!("dm"), dm["id"].clone())
    );
}

#[tokio::test]
async fn reactions_on_an_agents_message_are_feedback_triggers() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (a_id, a) = add_agent(&app, &org, "helper").await;
    let (b_id, b) = add_agent(&app, &org, "critic").await;
    join(&app, &org, &ch, &a_id).await;
    join(&app, &org, &ch, &b_id).await;
    let answer = app
        .post(
            &format!("/channels/{ch}/messages"),
            &a,
            json!({"text": "the answer is 42"}),
        )
        .await
        .expect(201);
    let (mut ws, _) = Ws::hello(app.addr, &a, None).await;
    app.put(
        &format!("/messages/{}/reactions/👍", id(&answer)),
        &org.owner_token,
        json!(null),
    )
    .await
    .expect(200);
    let t = trigger(&mut ws).await;
    assert_eq!(t["trigger"]["reason"], "reaction");
    assert_eq!(t["kind"], "reaction.added");
    assert_eq!(t["payload"]["emoji"], "👍");
    assert_eq!(t["trigger"]["message_id"], answer["id"]);
    // Another agent's reaction is not feedback; no ping-pong with emoji.
    app.put(
        &format!("/messages/{}/reactions/👎", id(&answer)),
        &b,
        json!(null),
    )
    .await
    .expect(200);
    no_trigger_within(&mut ws, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn triggers_wait_for_an_agent_that_was_offline() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (a_id, a) = add_agent(&app, &org, "sleepy").await;
    join(&app, &org, &ch, &a_id).await;
    let m = say(&app, &ch, &org.owner_token, "@sleepy wake up when you can").await;
    // Over long-poll…
    let polled = app.get("/events", &a).await.expect(200);
    let items = polled["items"].as_array().expect("items");
    let t = items
        .iter()
        .find(|f| f["type"] == "trigger")
        .expect("a trigger frame");
    assert_eq!(t["seq"], m["seq"]);
    // …and over WebSocket, from the server-side cursor, until acked.
    let (mut ws, _) = Ws::hello(app.addr, &a, None).await;
    let t = trigger(&mut ws).await;
    assert_eq!(t["payload"]["message"]["id"], m["id"]);
    ws.send(json!({"type": "ack", "cursors": { ch.clone(): m["seq"] }}))
        .await;
    ws.send(json!({"type": "ping"})).await;
    loop {
        if ws.frame().await["type"] == "pong" {
            break;
        }
    }
    drop(ws);
    let (mut ws, _) = Ws::hello(app.addr, &a, None).await;
    no_trigger_within(&mut ws, Duration::from_millis(300)).await;
    let after_ack = app.get("/events", &a).await.expect(200);
    assert_eq!(after_ack["items"], json!([]));
}

#[tokio::test]
async fn the_trigger_rate_limit_holds_a_chatty_channel_back() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (a_id, a) = add_agent(&app, &org, "busy").await;
    join(&app, &org, &ch, &a_id).await;
    app.patch(
        &format!("/channels/{ch}"),
        &org.owner_token,
        json!({"agent_triggers_per_minute": 2}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/channels/{ch}"),
        &org.owner_token,
        json!({"agent_hop_limit": 0}),
    )
    .await
    .expect_error(400, "invalid_agent_hop_limit");
    let (mut ws, _) = Ws::hello(app.addr, &a, None).await;
    for n in 0..3 {
        say(&app, &ch, &org.owner_token, &format!("@busy task {n}")).await;
    }
    trigger(&mut ws).await;
    trigger(&mut ws).await;
    no_trigger_within(&mut ws, Duration::from_millis(300)).await;
    let events = app
        .get(
            &format!("/channels/{ch}/events?limit=500"),
            &org.owner_token,
        )
        .await
        .expect(200);
    let note = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["kind"] == "agent.loop_guard")
        .cloned()
        .expect("a note");
    assert_eq!(note["payload"]["reason"], "rate_limit");
}

#[tokio::test]
async fn a_streamed_reply_arrives_as_ordered_deltas_and_ends_whole() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (a_id, a) = add_agent(&app, &org, "writer").await;
    join(&app, &org, &ch, &a_id).await;
    let last = app
        .get(&format!("/channels/{ch}"), &org.owner_token)
        .await
        .expect(200)["last_seq"]
        .clone();
    let (mut ws, _) = Ws::hello(
        app.addr,
        &org.owner_token,
        Some(json!({ ch.clone(): last })),
    )
    .await;

    let opened = app
        .post(
            &format!("/channels/{ch}/messages"),
            &a,
            json!({"text": "", "stream": true}),
        )
        .await
        .expect(201);
    assert_eq!(opened["stream"], "open");
    let mid = id(&opened);
    for part in ["Once ", "upon ", "a time."] {
        app.post(
            &format!("/messages/{mid}/deltas"),
            &a,
            json!({"text": part}),
        )
        .await
        .expect(200);
    }
    // Only the author writes into the stream.
    app.post(
        &format!("/messages/{mid}/deltas"),
        &org.owner_token,
        json!({"text": "x"}),
    )
    .await
    .expect_error(403, "forbidden");
    let done = app
        .post(&format!("/messages/{mid}/finish"), &a, json!({}))
        .await
        .expect(200);
    assert_eq!(
        (done["text"].clone(), done["stream"].clone()),
        (json!("Once upon a time."), json!("finished"))
    );
    app.post(
        &format!("/messages/{mid}/deltas"),
        &a,
        json!({"text": "more"}),
    )
    .await
    .expect_error(409, "conflict");

    let seen = ws.events_until("message.finished").await;
    let kinds: Vec<&str> = seen.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "message.created",
            "message.delta",
            "message.delta",
            "message.delta",
            "message.finished"
        ]
    );
    let deltas: Vec<&str> = seen
        .iter()
        .filter_map(|e| e["payload"]["delta"].as_str())
        .collect();
    assert_eq!(deltas.concat(), "Once upon a time.");
    let history = app
        .get(&format!("/channels/{ch}/messages"), &org.owner_token)
        .await
        .expect(200);
    let last_msg = history["items"]
        .as_array()
        .and_then(|i| i.last())
        .cloned()
        .expect("a message");
    assert_eq!(last_msg["text"], "Once upon a time.");
}

#[tokio::test]
async fn an_abandoned_stream_is_closed_as_interrupted() {
    let config = ServerConfig {
        agents: AgentsConfig {
            stream_idle_secs: 1,
            ..AgentsConfig::default()
        },
        ..ServerConfig::default()
    };
    let app = spawn_app_with(config).await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (a_id, a) = add_agent(&app, &org, "flaky").await;
    join(&app, &org, &ch, &a_id).await;
    let opened = app
        .post(
            &format!("/channels/{ch}/messages"),
            &a,
            json!({"text": "Thinking", "stream": true}),
        )
        .await
        .expect(201);
    let (mut ws, _) = Ws::hello(app.addr, &org.owner_token, None).await;
    let finished = ws
        .events_until("message.finished")
        .await
        .pop()
        .expect("finished");
    assert_eq!(finished["payload"]["message_id"], opened["id"]);
    assert_eq!(finished["payload"]["stream"], "interrupted");
    let m = app
        .get(&format!("/messages/{}", id(&opened)), &org.owner_token)
        .await
        .expect(200);
    assert_eq!(
        (m["stream"].clone(), m["text"].clone()),
        (json!("interrupted"), json!("Thinking"))
    );
}

#[tokio::test]
async fn status_lines_and_profiles() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (a_id, a) = add_agent(&app, &org, "reader").await;
    join(&app, &org, &ch, &a_id).await;
    let (mut ws, _) = Ws::hello(app.addr, &org.owner_token, None).await;
    app.put(
        &format!("/channels/{ch}/status"),
        &a,
        json!({"text": "reading the thread…"}),
    )
    .await
    .expect(200);
    let status = ws.events_until("agent.status").await.pop().expect("status");
    assert_eq!(
        status["payload"],
        json!({"principal_id": a_id, "text": "reading the thread…"})
    );

    let updated = app
        .patch(
            &format!("/agents/{a_id}"),
            &org.owner_token,
            json!({"skills": ["search", "summaries"], "avatar_url": "https://example.com/a.png", "description": "reads"}),
        )
        .await
        .expect(200);
    assert_eq!(updated["skills"], json!(["search", "summaries"]));
    let fetched = app.get(&format!("/agents/{a_id}"), &a).await.expect(200);
    assert_eq!(fetched["avatar_url"], "https://example.com/a.png");
    let listed = app
        .get(&format!("/orgs/{}/agents", org.id), &a)
        .await
        .expect(200);
    // The agent and the org's built-in scribe.
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2));
    let (_, member) = add_human(&app, &org, "meg", "member").await;
    app.patch(
        &format!("/agents/{a_id}"),
        &member,
        json!({"description": "hijacked"}),
    )
    .await
    .expect_error(403, "forbidden");
    app.patch(
        &format!("/agents/{a_id}"),
        &org.owner_token,
        json!({"avatar_url": "javascript:alert(1)"}),
    )
    .await
    .expect_error(400, "invalid_avatar_url");
}

/// The built-in scribe: every org has it, every new channel (not DMs) gets it
/// reading all messages, and anyone who manages members can remove it.
#[tokio::test]
async fn every_org_has_a_scribe_that_joins_new_channels_but_not_dms() {
    let app = spawn_app_with(ServerConfig {
        scribe_joins_channels: true,
        ..ServerConfig::default()
    })
    .await;
    let org = setup(&app).await;
    let members = app
        .get(&format!("/orgs/{}/members", org.id), &org.owner_token)
        .await
        .expect(200);
    let scribe = members["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|p| p["name"] == "scribe")
        .expect("the org has a scribe")
        .clone();
    assert_eq!(scribe["kind"], "agent");
    assert!(
        scribe["description"]
            .as_str()
            .expect("a description")
            .contains("group.md")
    );
    let scribe_id = id(&scribe);

    let (_, channel) = space_and_channel(&app, &org, false).await;
    let in_channel = app
        .get(&format!("/channels/{channel}/members"), &org.owner_token)
        .await
        .expect(200);
    let entry = in_channel["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|m| m["principal_id"] == scribe_id.as_str())
        .expect("the scribe joined the new channel")
        .clone();
    assert_eq!(entry["trigger"], "all");

    let (other, _) = add_human(&app, &org, "bob", "member").await;
    let dm = id(&app
        .post(
            &format!("/orgs/{}/dms", org.id),
            &org.owner_token,
            json!({"principal_ids": [other]}),
        )
        .await
        .expect(201));
    let dm_members = app
        .get(&format!("/channels/{dm}/members"), &org.owner_token)
        .await
        .expect(200);
    assert!(
        dm_members["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|m| m["principal_id"] != scribe_id.as_str()),
        "a DM never gets the scribe"
    );

    app.delete(
        &format!("/channels/{channel}/members/{scribe_id}"),
        &org.owner_token,
    )
    .await
    .expect(204);
    let after = app
        .get(&format!("/channels/{channel}/members"), &org.owner_token)
        .await
        .expect(200);
    assert!(
        after["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|m| m["principal_id"] != scribe_id.as_str())
    );
}

/// An agent's profile lists the channels it is in, as far as the asker can
/// see them: a private channel stays hidden from a non-member.
#[tokio::test]
async fn an_agents_channels_are_listed_as_far_as_the_caller_sees() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (space, public) = space_and_channel(&app, &org, false).await;
    let private = id(&app
        .post(
            &format!("/spaces/{space}/channels"),
            &org.owner_token,
            json!({"name": "hidden", "private": true}),
        )
        .await
        .expect(201));
    let (a_id, _) = add_agent(&app, &org, "helper").await;
    join(&app, &org, &public, &a_id).await;
    join(&app, &org, &private, &a_id).await;
    let (_, meg) = add_human(&app, &org, "meg", "member").await;

    let owner_view = app
        .get(&format!("/agents/{a_id}/channels"), &org.owner_token)
        .await
        .expect(200);
    let names: Vec<_> = owner_view["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| {
            (
                c["name"].clone(),
                c["with_you"].clone(),
                c["trigger"].clone(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            (json!("general"), json!(true), json!("mention")),
            (json!("hidden"), json!(true), json!("mention")),
        ]
    );

    let meg_view = app
        .get(&format!("/agents/{a_id}/channels"), &meg)
        .await
        .expect(200);
    let items = meg_view["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{meg_view}");
    assert_eq!(items[0]["channel_id"], json!(public));
    assert_eq!(items[0]["with_you"], json!(false));

    // A person is not an agent, and an unknown id is simply not found.
    app.get(&format!("/agents/{}/channels", org.owner_id), &meg)
        .await
        .expect_error(404, "not_found");
    app.get("/agents/nope/channels", &meg)
        .await
        .expect_error(404, "not_found");
}
