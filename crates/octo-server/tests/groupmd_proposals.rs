//! group.md review mode over HTTP: the channel's mode, proposals from anyone
//! who may post, accept/reject by members with `edit_groupmd`, replaying a
//! proposal on a document that moved on, and the events in the channel log.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const TEMPLATE: &str = octo_groupmd::TEMPLATE;

fn with_decisions(lines: &str) -> String {
    TEMPLATE.replace("## Decisions\n", &format!("## Decisions\n{lines}"))
}

fn with_purpose(text: &str) -> String {
    TEMPLATE.replace("## Purpose\n", &format!("## Purpose\n{text}"))
}

async fn put_md(app: &TestApp, ch: &str, token: &str, base: u64, text: &str) -> Answer {
    let req = app
        .http
        .put(app.url(&format!("/api/v1/channels/{ch}/groupmd")))
        .bearer_auth(token)
        .header("If-Match", format!("\"{base}\""))
        .json(&json!({ "text": text }));
    TestApp::answer(req.send().await.expect("request")).await
}

async fn propose(app: &TestApp, ch: &str, token: &str, base: u64, text: &str) -> Answer {
    app.post(
        &format!("/channels/{ch}/groupmd/proposals"),
        token,
        json!({ "text": text, "base_revision": base, "summary": "a change" }),
    )
    .await
}

async fn resolve(app: &TestApp, ch: &str, token: &str, pid: &str, verb: &str) -> Answer {
    app.call(
        Method::POST,
        &format!("/channels/{ch}/groupmd/proposals/{pid}/{verb}"),
        Some(token),
        None,
    )
    .await
}

async fn pending(app: &TestApp, ch: &str, token: &str) -> Vec<Value> {
    app.get(&format!("/channels/{ch}/groupmd/proposals"), token)
        .await
        .expect(200)["proposals"]
        .as_array()
        .expect("proposals")
        .clone()
}

async fn events_of(app: &TestApp, ch: &str, token: &str, kind: &str) -> Vec<Value> {
    app.get(&format!("/channels/{ch}/events?limit=500"), token)
        .await
        .expect(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

async fn doc(app: &TestApp, ch: &str, token: &str) -> Value {
    app.get(&format!("/channels/{ch}/groupmd"), token)
        .await
        .expect(200)
}

/// An org with a channel, a member (mia) and an agent (bot) in it.
struct World {
    app: TestApp,
    org: Org,
    ch: String,
    mia_id: String,
    mia: String,
    bot_id: String,
    bot: String,
}

async fn world() -> World {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    let (mia_id, mia) = add_human(&app, &org, "mia", "member").await;
    let (bot_id, bot) = add_agent(&app, &org, "bot").await;
    join(&app, &org, &ch, &mia_id).await;
    join(&app, &org, &ch, &bot_id).await;
    World {
        app,
        org,
        ch,
        mia_id,
        mia,
        bot_id,
        bot,
    }
}

#[tokio::test]
async fn the_mode_is_auto_by_default_and_channel_managers_set_it() {
    let w = world().await;
    let path = format!("/channels/{}/groupmd/settings", w.ch);
    assert_eq!(w.app.get(&path, &w.mia).await.expect(200)["mode"], "auto");

    // A member may not manage the channel, so may not change its mode.
    w.app
        .put(&path, &w.mia, json!({"mode": "review"}))
        .await
        .expect_error(403, "forbidden");
    w.app
        .put(&path, &w.org.owner_token, json!({"mode": "sometimes"}))
        .await
        .expect_error(400, "invalid_body");
    w.app
        .put(&path, &w.org.owner_token, json!({"mode": "review", "x": 1}))
        .await
        .expect_error(400, "invalid_body");
    let set = w
        .app
        .put(&path, &w.org.owner_token, json!({"mode": "review"}))
        .await
        .expect(200);
    assert_eq!(set["mode"], "review");
    assert_eq!(w.app.get(&path, &w.mia).await.expect(200)["mode"], "review");

    let audit = w
        .app
        .get(
            &format!("/orgs/{}/audit?action=groupmd.mode_changed", w.org.id),
            &w.org.owner_token,
        )
        .await
        .expect(200);
    let items = audit["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(items[0]["target_id"], w.ch.as_str());
    assert_eq!(items[0]["before"]["mode"], "auto");
    assert_eq!(items[0]["after"]["mode"], "review");
    assert_eq!(items[0]["actor_id"], w.org.owner_id.as_str());

    // A channel the caller cannot see is not found, whatever the route.
    let (_, private) = space_and_channel(&w.app, &w.org, true).await;
    w.app
        .get(&format!("/channels/{private}/groupmd/settings"), &w.mia)
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn anyone_who_may_post_proposes_and_the_list_shows_it_with_a_diff() {
    let w = world().await;
    let text = with_decisions("- Water at dawn\n");
    let created = propose(&w.app, &w.ch, &w.bot, 0, &text).await.expect(201);
    assert_eq!(created["status"], "pending");
    assert_eq!(created["channel_id"], w.ch.as_str());
    assert_eq!(created["thread_root_id"], Value::Null);
    assert_eq!(created["base_revision"], 0);
    assert_eq!(created["author_id"], w.bot_id.as_str());
    assert_eq!(created["summary"], "a change");
    assert_eq!(created["text"], text.as_str());
    for field in ["resolved_by", "resolved_at", "revision"] {
        assert_eq!(created[field], Value::Null, "{field}");
    }
    assert!(created["created_at"].is_string());

    let from_mia = propose(&w.app, &w.ch, &w.mia, 0, &with_purpose("Grow food.\n"))
        .await
        .expect(201);
    let list = pending(&w.app, &w.ch, &w.mia).await;
    assert_eq!(
        list.iter().map(|p| p["id"].clone()).collect::<Vec<_>>(),
        [from_mia["id"].clone(), created["id"].clone()],
        "newest first"
    );
    let bots = &list[1];
    assert!(
        bots["diff"]
            .as_str()
            .is_some_and(|d| d.contains("\n+- Water at dawn\n")),
        "{bots}"
    );
    assert_eq!(bots["applies_cleanly"], true);

    // Nothing became a revision: proposing is not writing.
    assert_eq!(doc(&w.app, &w.ch, &w.mia).await["revision"], 0);
    let proposed = events_of(&w.app, &w.ch, &w.mia, "groupmd.proposed").await;
    assert_eq!(proposed.len(), 2);
    assert_eq!(proposed[0]["payload"]["proposal_id"], created["id"]);
    assert_eq!(proposed[0]["actor"], w.bot_id.as_str());

    // `status=all` and one proposal by id.
    let all = w
        .app
        .get(
            &format!("/channels/{}/groupmd/proposals?status=all", w.ch),
            &w.mia,
        )
        .await
        .expect(200);
    assert_eq!(all["proposals"].as_array().map(Vec::len), Some(2));
    let one = w
        .app
        .get(
            &format!("/channels/{}/groupmd/proposals/{}", w.ch, id(&created)),
            &w.mia,
        )
        .await
        .expect(200);
    assert_eq!(one["text"], text.as_str());
}

#[tokio::test]
async fn bad_proposals_get_clear_4xx_errors() {
    let w = world().await;
    let path = format!("/channels/{}/groupmd/proposals", w.ch);
    let huge = "x".repeat(64 * 1024 + 1);
    propose(&w.app, &w.ch, &w.mia, 0, &huge)
        .await
        .expect_error(413, "groupmd_too_large");
    propose(&w.app, &w.ch, &w.mia, 3, "new\n")
        .await
        .expect_error(400, "invalid_base_revision");
    propose(&w.app, &w.ch, &w.mia, 0, TEMPLATE)
        .await
        .expect_error(400, "unchanged");
    w.app
        .post(
            &path,
            &w.mia,
            json!({"text": "x", "base_revision": 0, "summary": "s".repeat(201)}),
        )
        .await
        .expect_error(400, "invalid_summary");
    w.app
        .post(&path, &w.mia, json!({"text": "x"}))
        .await
        .expect_error(400, "invalid_body");
    w.app
        .post(&path, &w.mia, json!({"text": "x", "base_revision": -1}))
        .await
        .expect_error(400, "invalid_body");
    w.app
        .get(&format!("{path}?status=maybe"), &w.mia)
        .await
        .expect_error(400, "invalid_status");
    w.app
        .get(&format!("{path}?limit=0"), &w.mia)
        .await
        .expect_error(400, "invalid_limit");
    resolve(&w.app, &w.ch, &w.org.owner_token, "no-such-id", "accept")
        .await
        .expect_error(404, "not_found");

    // Without the right to post, no proposing (reading stays allowed).
    w.app
        .put(
            &format!("/channels/{}/overrides", w.ch),
            &w.org.owner_token,
            json!({"overrides": [{"target": {"kind": "role", "id": "member"},
                                  "action": "post", "effect": "deny"}]}),
        )
        .await
        .expect(200);
    propose(&w.app, &w.ch, &w.mia, 0, "mine\n")
        .await
        .expect_error(403, "forbidden");
    assert!(pending(&w.app, &w.ch, &w.mia).await.is_empty());
}

#[tokio::test]
async fn accepting_makes_the_proposers_revision_and_resolves_it_once() {
    let w = world().await;
    let text = with_decisions("- Water at dawn\n");
    let p = propose(&w.app, &w.ch, &w.bot, 0, &text).await.expect(201);
    let pid = id(&p);

    let accepted = resolve(&w.app, &w.ch, &w.mia, &pid, "accept").await;
    assert_eq!(accepted.headers["etag"], "\"1\"");
    let accepted = accepted.expect(200);
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["revision"], 1);
    assert_eq!(accepted["resolved_by"], w.mia_id.as_str());
    assert!(accepted["resolved_at"].is_string());

    let now = doc(&w.app, &w.ch, &w.mia).await;
    assert_eq!(now["revision"], 1);
    assert_eq!(now["text"], text.as_str());
    assert_eq!(now["author_id"], w.bot_id.as_str(), "the proposer wrote it");

    let updated = events_of(&w.app, &w.ch, &w.mia, "groupmd.updated").await;
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0]["actor"], w.mia_id.as_str(), "the accepter acted");
    assert_eq!(updated[0]["payload"]["author_id"], w.bot_id.as_str());
    assert_eq!(updated[0]["payload"]["accepted_by"], w.mia_id.as_str());
    assert_eq!(updated[0]["payload"]["proposal_id"], pid.as_str());
    let resolved = events_of(&w.app, &w.ch, &w.mia, "groupmd.proposal_resolved").await;
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["payload"]["status"], "accepted");
    assert_eq!(resolved[0]["payload"]["revision"], 1);
    assert!(pending(&w.app, &w.ch, &w.mia).await.is_empty());

    // Resolving it again is a clear conflict, and changes nothing.
    let again = resolve(&w.app, &w.ch, &w.org.owner_token, &pid, "accept").await;
    again.expect_error(409, "proposal_resolved");
    assert_eq!(again.body["proposal"]["status"], "accepted");
    resolve(&w.app, &w.ch, &w.org.owner_token, &pid, "reject")
        .await
        .expect_error(409, "proposal_resolved");
    assert_eq!(doc(&w.app, &w.ch, &w.mia).await["revision"], 1);

    let audit = w
        .app
        .get(
            &format!("/orgs/{}/audit?action=groupmd.proposal_accepted", w.org.id),
            &w.org.owner_token,
        )
        .await
        .expect(200);
    let items = audit["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(items[0]["actor_id"], w.mia_id.as_str());
    assert_eq!(items[0]["target_id"], pid.as_str());
    assert_eq!(items[0]["after"]["author_id"], w.bot_id.as_str());
}

#[tokio::test]
async fn rejecting_leaves_the_document_alone() {
    let w = world().await;
    let p = propose(&w.app, &w.ch, &w.bot, 0, &with_purpose("Spam.\n"))
        .await
        .expect(201);
    let rejected = resolve(&w.app, &w.ch, &w.org.owner_token, &id(&p), "reject")
        .await
        .expect(200);
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["revision"], Value::Null);
    assert_eq!(rejected["resolved_by"], w.org.owner_id.as_str());
    assert_eq!(doc(&w.app, &w.ch, &w.mia).await["revision"], 0);
    let resolved = events_of(&w.app, &w.ch, &w.mia, "groupmd.proposal_resolved").await;
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["payload"]["status"], "rejected");
    assert!(
        events_of(&w.app, &w.ch, &w.mia, "groupmd.updated")
            .await
            .is_empty()
    );
    let listed = w
        .app
        .get(
            &format!("/channels/{}/groupmd/proposals?status=rejected", w.ch),
            &w.mia,
        )
        .await
        .expect(200);
    assert_eq!(listed["proposals"][0]["id"], p["id"]);
    assert_eq!(listed["proposals"][0]["applies_cleanly"], Value::Null);
    resolve(&w.app, &w.ch, &w.mia, &id(&p), "accept")
        .await
        .expect_error(409, "proposal_resolved");
}

#[tokio::test]
async fn only_members_with_edit_groupmd_accept_or_reject() {
    let w = world().await;
    let p = propose(&w.app, &w.ch, &w.bot, 0, &with_purpose("Grow.\n"))
        .await
        .expect(201);
    w.app
        .put(
            &format!("/channels/{}/overrides", w.ch),
            &w.org.owner_token,
            json!({"overrides": [{"target": {"kind": "role", "id": "member"},
                                  "action": "edit_groupmd", "effect": "deny"}]}),
        )
        .await
        .expect(200);
    resolve(&w.app, &w.ch, &w.mia, &id(&p), "accept")
        .await
        .expect_error(403, "forbidden");
    resolve(&w.app, &w.ch, &w.mia, &id(&p), "reject")
        .await
        .expect_error(403, "forbidden");
    // She still proposes: posting is all it takes.
    propose(&w.app, &w.ch, &w.mia, 0, &with_purpose("Mine.\n"))
        .await
        .expect(201);
    assert_eq!(pending(&w.app, &w.ch, &w.mia).await.len(), 2);
    // Outside a private channel she sees none of its proposals.
    let (_, private) = space_and_channel(&w.app, &w.org, true).await;
    let secret = propose(&w.app, &private, &w.org.owner_token, 0, "secret\n")
        .await
        .expect(201);
    resolve(&w.app, &private, &w.mia, &id(&secret), "accept")
        .await
        .expect_error(404, "not_found");
    w.app
        .get(&format!("/channels/{private}/groupmd/proposals"), &w.mia)
        .await
        .expect_error(404, "not_found");
    // A proposal is found only under its own channel.
    resolve(&w.app, &w.ch, &w.org.owner_token, &id(&secret), "accept")
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn a_proposal_on_an_older_revision_is_replayed_or_refused_as_stale() {
    let w = world().await;
    // Two proposals on revision 0; a person then writes revision 1.
    let adds = propose(
        &w.app,
        &w.ch,
        &w.bot,
        0,
        &with_decisions("- from the bot\n"),
    )
    .await
    .expect(201);
    let clashes = propose(&w.app, &w.ch, &w.mia, 0, &with_purpose("Grow beans.\n"))
        .await
        .expect(201);
    let person = with_purpose("Grow tomatoes.\n")
        .replace("## Decisions\n", "## Decisions\n- from a person\n");
    put_md(&w.app, &w.ch, &w.org.owner_token, 0, &person)
        .await
        .expect(200);

    let list = pending(&w.app, &w.ch, &w.mia).await;
    let judged = |pid: &Value| {
        list.iter()
            .find(|p| p["id"] == *pid)
            .map(|p| p["applies_cleanly"].clone())
    };
    assert_eq!(judged(&adds["id"]), Some(Value::Bool(true)));
    assert_eq!(judged(&clashes["id"]), Some(Value::Bool(false)));

    // Item lines added at one spot are both kept.
    let accepted = resolve(&w.app, &w.ch, &w.mia, &id(&adds), "accept")
        .await
        .expect(200);
    assert_eq!(accepted["revision"], 2);
    let now = doc(&w.app, &w.ch, &w.mia).await;
    let text = now["text"].as_str().expect("text");
    assert!(text.contains("- from a person\n- from the bot\n"), "{text}");
    assert!(text.contains("Grow tomatoes."), "{text}");

    // Prose changed on both sides: refused with the current document.
    let stale = resolve(&w.app, &w.ch, &w.mia, &id(&clashes), "accept").await;
    stale.expect_error(409, "stale_revision");
    assert_eq!(stale.body["current"]["revision"], 2);
    assert_eq!(stale.headers["etag"], "\"2\"");
    let still = pending(&w.app, &w.ch, &w.mia).await;
    assert_eq!(still.len(), 1, "the refused proposal waits");
    assert_eq!(still[0]["id"], clashes["id"]);
    assert_eq!(doc(&w.app, &w.ch, &w.mia).await["revision"], 2);
}

#[tokio::test]
async fn an_authors_new_proposal_supersedes_their_older_one() {
    let w = world().await;
    let first = propose(&w.app, &w.ch, &w.bot, 0, &with_decisions("- a\n"))
        .await
        .expect(201);
    let second = propose(&w.app, &w.ch, &w.bot, 0, &with_decisions("- a\n- b\n"))
        .await
        .expect(201);
    let list = pending(&w.app, &w.ch, &w.mia).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], second["id"]);
    let old = w
        .app
        .get(
            &format!("/channels/{}/groupmd/proposals/{}", w.ch, id(&first)),
            &w.mia,
        )
        .await
        .expect(200);
    assert_eq!(old["status"], "superseded");
    let resolved = events_of(&w.app, &w.ch, &w.mia, "groupmd.proposal_resolved").await;
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["payload"]["status"], "superseded");

    // The same text again is the pending one (200, nothing new).
    let again = propose(&w.app, &w.ch, &w.bot, 0, &with_decisions("- a\n- b\n"))
        .await
        .expect(200);
    assert_eq!(again["id"], second["id"]);
    assert_eq!(
        events_of(&w.app, &w.ch, &w.mia, "groupmd.proposed")
            .await
            .len(),
        2
    );
    resolve(&w.app, &w.ch, &w.mia, &id(&first), "accept")
        .await
        .expect_error(409, "proposal_resolved");
}

#[tokio::test]
async fn a_thread_has_its_own_proposals() {
    let w = world().await;
    let root = say(&w.app, &w.ch, &w.mia, "plan the garden").await;
    let root_id = id(&root);
    let reply = w
        .app
        .post(
            &format!("/channels/{}/messages", w.ch),
            &w.mia,
            json!({"text": "a reply", "thread_id": root_id}),
        )
        .await
        .expect(201);
    let base = format!("/channels/{}/threads/{root_id}/groupmd", w.ch);
    let p = w
        .app
        .post(
            &format!("{base}/proposals"),
            &w.bot,
            json!({"text": "# thread plan\n", "base_revision": 0}),
        )
        .await
        .expect(201);
    assert_eq!(p["thread_root_id"], root_id.as_str());
    assert_eq!(p["summary"], Value::Null);
    assert!(
        pending(&w.app, &w.ch, &w.mia).await.is_empty(),
        "not the channel's"
    );
    let listed = w
        .app
        .get(&format!("{base}/proposals"), &w.mia)
        .await
        .expect(200);
    assert_eq!(listed["proposals"][0]["id"], p["id"]);
    // Under the channel's routes the thread's proposal is not found.
    resolve(&w.app, &w.ch, &w.mia, &id(&p), "accept")
        .await
        .expect_error(404, "not_found");
    w.app
        .call(
            Method::POST,
            &format!("{base}/proposals/{}/accept", id(&p)),
            Some(&w.mia),
            None,
        )
        .await
        .expect(200);
    let thread_doc = w.app.get(&base, &w.mia).await.expect(200);
    assert_eq!(thread_doc["text"], "# thread plan\n");
    assert_eq!(doc(&w.app, &w.ch, &w.mia).await["revision"], 0);
    // A reply is no thread root.
    w.app
        .post(
            &format!(
                "/channels/{}/threads/{}/groupmd/proposals",
                w.ch,
                id(&reply)
            ),
            &w.mia,
            json!({"text": "x\n", "base_revision": 0}),
        )
        .await
        .expect_error(404, "not_found");
}
