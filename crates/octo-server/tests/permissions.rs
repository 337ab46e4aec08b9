//! The permission matrix over HTTP: role × level of an override × action, and
//! the invisibility of what a principal may not see.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const ROLES: [&str; 5] = ["owner", "admin", "member", "guest", "agent"];
const ACTIONS: [&str; 6] = [
    "read",
    "post",
    "react",
    "manage_members",
    "manage_channel",
    "edit_groupmd",
];

/// The documented defaults (ARCHITECTURE.md, "Permissions").
fn default_allows(role: &str, action: &str) -> bool {
    match role {
        "owner" | "admin" => true,
        "member" => action != "manage_channel",
        "guest" => matches!(action, "read" | "post" | "react"),
        "agent" => matches!(action, "read" | "post" | "react" | "edit_groupmd"),
        _ => unreachable!(),
    }
}

struct World {
    app: TestApp,
    org: Org,
    space: String,
    category: String,
    channel: String,
    /// role → (principal id, token)
    people: Vec<(&'static str, String, String)>,
    seed_message: String,
}

async fn world() -> World {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let owner = org.owner_token.clone();
    let space = id(&app
        .post(
            &format!("/orgs/{}/spaces", org.id),
            &owner,
            json!({"name": "S", "visibility": "open"}),
        )
        .await
        .expect(201));
    let category = id(&app
        .post(
            &format!("/spaces/{space}/categories"),
            &owner,
            json!({"name": "C"}),
        )
        .await
        .expect(201));
    let channel = id(&app
        .post(
            &format!("/spaces/{space}/channels"),
            &owner,
            json!({"name": "ch", "category_id": category}),
        )
        .await
        .expect(201));
    let mut people = vec![("owner", org.owner_id.clone(), owner.clone())];
    for role in ["admin", "member", "guest"] {
        let (pid, token) = add_human(&app, &org, &format!("{role}1"), role).await;
        people.push((role, pid, token));
    }
    let (agent_id, agent_token) = add_agent(&app, &org, "agent1").await;
    people.push(("agent", agent_id, agent_token));
    for (_, pid, _) in people.iter().skip(1) {
        app.post(
            &format!("/spaces/{space}/members"),
            &owner,
            json!({"principal_id": pid}),
        )
        .await
        .expect(200);
        app.post(
            &format!("/channels/{channel}/members"),
            &owner,
            json!({"principal_id": pid}),
        )
        .await
        .expect(201);
    }
    let seed_message = id(&app
        .post(
            &format!("/channels/{channel}/messages"),
            &owner,
            json!({"text": "seed"}),
        )
        .await
        .expect(201));
    World {
        app,
        org,
        space,
        category,
        channel,
        people,
        seed_message,
    }
}

impl World {
    async fn set_overrides(&self, level: &str, overrides: Value) {
        let path = match level {
            "space" => format!("/spaces/{}/overrides", self.space),
            "category" => format!("/categories/{}/overrides", self.category),
            "channel" => format!("/channels/{}/overrides", self.channel),
            _ => return,
        };
        self.app
            .put(
                &path,
                &self.org.owner_token,
                json!({"overrides": overrides}),
            )
            .await
            .expect(200);
    }

    async fn clear(&self) {
        for level in ["space", "category", "channel"] {
            self.set_overrides(level, json!([])).await;
        }
    }

    /// What the permissions endpoint says, or None when the channel is invisible.
    async fn allowed(&self, token: &str) -> Option<Vec<String>> {
        let answer = self
            .app
            .get(&format!("/channels/{}/permissions", self.channel), token)
            .await;
        if answer.status == 404 {
            return None;
        }
        let body = answer.expect(200);
        Some(
            body["allowed"]
                .as_array()
                .expect("allowed")
                .iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect(),
        )
    }

    /// Tries the action through its real endpoint, where one exists; returns the
    /// status.
    async fn attempt(&self, action: &str, token: &str, own_id: &str) -> Option<u16> {
        let app = &self.app;
        let ch = &self.channel;
        let answer = match action {
            "read" => app.get(&format!("/channels/{ch}/messages"), token).await,
            "post" => {
                app.post(
                    &format!("/channels/{ch}/messages"),
                    token,
                    json!({"text": "try"}),
                )
                .await
            }
            "react" => {
                app.put(
                    &format!("/messages/{}/reactions/eyes", self.seed_message),
                    token,
                    json!(null),
                )
                .await
            }
            "manage_members" => {
                app.post(
                    &format!("/channels/{ch}/members"),
                    token,
                    json!({"principal_id": own_id}),
                )
                .await
            }
            "manage_channel" => {
                app.patch(&format!("/channels/{ch}"), token, json!({"topic": "t"}))
                    .await
            }
            _ => return None,
        };
        Some(answer.status.as_u16())
    }
}

fn expected_status(action: &str, allowed: bool) -> u16 {
    match (action, allowed) {
        ("read" | "manage_channel" | "react", true) => 200,
        ("post", true) => 201,
        ("manage_members", true) => 200, // already a member: idempotent
        ("read", false) => 404,
        (_, false) => 403,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn deny_overrides_at_every_level_match_the_documented_rule() {
    let w = world().await;
    for level in ["none", "space", "category", "channel"] {
        for action in ACTIONS {
            w.clear().await;
            let denies: Vec<Value> = ROLES
                .iter()
                .filter(|r| **r != "owner")
                .map(|r| json!({"target": {"kind": "role", "id": r}, "action": action, "effect": "deny"}))
                .collect();
            w.set_overrides(level, json!(denies)).await;
            for (role, pid, token) in &w.people {
                let expected = if level == "none" {
                    default_allows(role, action)
                } else {
                    *role == "owner"
                };
                let seen = w.allowed(token).await;
                if action == "read" && !expected {
                    assert_eq!(
                        seen, None,
                        "{role} at {level}: a read deny hides the channel"
                    );
                } else {
                    let seen = seen
                        .unwrap_or_else(|| panic!("{role} at {level}/{action}: channel vanished"));
                    assert_eq!(
                        seen.iter().any(|a| a == action),
                        expected,
                        "{role} × {level} × {action}: permissions endpoint"
                    );
                }
                if let Some(status) = w.attempt(action, token, pid).await {
                    let want = if action != "read" && !expected && seen_hidden(&w, token).await {
                        404
                    } else {
                        expected_status(action, expected)
                    };
                    assert_eq!(status, want, "{role} × {level} × {action}: real endpoint");
                }
            }
        }
    }
}

async fn seen_hidden(w: &World, token: &str) -> bool {
    w.allowed(token).await.is_none()
}

#[tokio::test]
async fn allow_overrides_grant_and_the_nearest_level_wins() {
    let w = world().await;
    let guest = &w.people[3];
    let agent = &w.people[4];
    // A guest may not manage the channel by default; a category allow grants it.
    w.set_overrides(
        "category",
        json!([{"target": {"kind": "role", "id": "guest"}, "action": "manage_channel", "effect": "allow"}]),
    )
    .await;
    assert_eq!(
        w.attempt("manage_channel", &guest.2, &guest.1).await,
        Some(200)
    );
    // The channel is nearer than the category: its deny wins.
    w.set_overrides(
        "channel",
        json!([{"target": {"kind": "role", "id": "guest"}, "action": "manage_channel", "effect": "deny"}]),
    )
    .await;
    assert_eq!(
        w.attempt("manage_channel", &guest.2, &guest.1).await,
        Some(403)
    );
    // At one level, a principal deny beats a role allow.
    w.set_overrides(
        "channel",
        json!([
            {"target": {"kind": "role", "id": "agent"}, "action": "post", "effect": "allow"},
            {"target": {"kind": "principal", "id": agent.1}, "action": "post", "effect": "deny"}
        ]),
    )
    .await;
    assert_eq!(w.attempt("post", &agent.2, &agent.1).await, Some(403));
    // The owner can't be targeted.
    w.app
        .put(
            &format!("/channels/{}/overrides", w.channel),
            &w.org.owner_token,
            json!({"overrides": [{"target": {"kind": "role", "id": "owner"}, "action": "read", "effect": "deny"}]}),
        )
        .await
        .expect_error(400, "invalid_overrides");
}

#[tokio::test]
async fn non_members_cannot_read_post_list_or_learn_of_private_things() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let owner = org.owner_token.clone();
    let (_, outsider) = add_human(&app, &org, "outsider", "member").await;
    let (_, admin) = add_human(&app, &org, "boss", "admin").await;

    let open = id(&app
        .post(
            &format!("/orgs/{}/spaces", org.id),
            &owner,
            json!({"name": "Open", "visibility": "open"}),
        )
        .await
        .expect(201));
    let secret_channel = app
        .post(
            &format!("/spaces/{open}/channels"),
            &owner,
            json!({"name": "secret", "private": true}),
        )
        .await
        .expect(201);
    let private_space = id(&app
        .post(
            &format!("/orgs/{}/spaces", org.id),
            &owner,
            json!({"name": "Hidden", "visibility": "private"}),
        )
        .await
        .expect(201));
    let hidden_channel = app
        .post(
            &format!("/spaces/{private_space}/channels"),
            &owner,
            json!({"name": "plans"}),
        )
        .await
        .expect(201);
    let msg = app
        .post(
            &format!("/channels/{}/messages", id(&secret_channel)),
            &owner,
            json!({"text": "the secret"}),
        )
        .await
        .expect(201);

    for token in [&outsider, &admin] {
        for ch in [id(&secret_channel), id(&hidden_channel)] {
            app.get(&format!("/channels/{ch}"), token)
                .await
                .expect_error(404, "not_found");
            app.get(&format!("/channels/{ch}/messages"), token)
                .await
                .expect_error(404, "not_found");
            app.get(&format!("/channels/{ch}/events"), token)
                .await
                .expect_error(404, "not_found");
            app.get(&format!("/channels/{ch}/members"), token)
                .await
                .expect_error(404, "not_found");
            app.post(
                &format!("/channels/{ch}/messages"),
                token,
                json!({"text": "hi"}),
            )
            .await
            .expect_error(404, "not_found");
            app.post(
                &format!("/channels/{ch}/members"),
                token,
                json!({"principal_id": org.owner_id}),
            )
            .await
            .expect_error(404, "not_found");
        }
        app.get(&format!("/spaces/{private_space}"), token)
            .await
            .expect_error(404, "not_found");
        app.get(&format!("/messages/{}", id(&msg)), token)
            .await
            .expect_error(404, "not_found");
        app.put(
            &format!("/messages/{}/reactions/eyes", id(&msg)),
            token,
            json!(null),
        )
        .await
        .expect_error(404, "not_found");
        // The tree does not mention them at all.
        let tree = app
            .get(&format!("/orgs/{}/tree", org.id), token)
            .await
            .expect(200);
        let text = tree.to_string();
        assert!(
            !text.contains("secret") && !text.contains("Hidden") && !text.contains("plans"),
            "{text}"
        );
        // An unknown id looks exactly like a hidden one.
        let unknown = app
            .get("/channels/0192e1f0-0000-7000-8000-000000000000", token)
            .await;
        let hidden = app
            .get(&format!("/channels/{}", id(&hidden_channel)), token)
            .await;
        assert_eq!(unknown.body, hidden.body);
    }
}

#[tokio::test]
async fn dms_are_seen_only_by_their_members() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    let (_, carol) = add_human(&app, &org, "carol", "admin").await;
    let dm = app
        .post(
            &format!("/orgs/{}/dms", org.id),
            &org.owner_token,
            json!({"principal_ids": [bob_id]}),
        )
        .await
        .expect(201);
    assert_eq!(dm["kind"], "dm");
    // Opening it again, from the other side, finds the same DM.
    let again = app
        .post(
            &format!("/orgs/{}/dms", org.id),
            &bob,
            json!({"principal_ids": [org.owner_id]}),
        )
        .await
        .expect(200);
    assert_eq!(again["id"], dm["id"]);
    app.post(
        &format!("/channels/{}/messages", id(&dm)),
        &bob,
        json!({"text": "psst"}),
    )
    .await
    .expect(201);
    app.get(&format!("/channels/{}/messages", id(&dm)), &carol)
        .await
        .expect_error(404, "not_found");
    let group = app
        .post(
            &format!("/orgs/{}/dms", org.id),
            &org.owner_token,
            json!({"principal_ids": [bob_id, bob_id]}),
        )
        .await;
    assert_eq!(
        group.body["id"], dm["id"],
        "duplicates collapse to the same DM"
    );
    let _ = app
        .call(Method::GET, "/me", Some(&carol), None)
        .await
        .expect(200);
}

#[tokio::test]
async fn guests_and_agents_have_narrow_org_rights() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, guest) = add_human(&app, &org, "gus", "guest").await;
    let (_, agent) = add_agent(&app, &org, "bot").await;
    let (_, member) = add_human(&app, &org, "mem", "member").await;
    for token in [&guest, &agent, &member] {
        app.post(
            &format!("/orgs/{}/spaces", org.id),
            token,
            json!({"name": "X", "visibility": "open"}),
        )
        .await
        .expect_error(403, "forbidden");
        app.post(
            &format!("/orgs/{}/members", org.id),
            token,
            json!({"name": "z", "email": "z@acme.test", "password": "12345678"}),
        )
        .await
        .expect_error(403, "forbidden");
    }
    for token in [&guest, &agent] {
        app.post(
            &format!("/orgs/{}/agents", org.id),
            token,
            json!({"name": "sub"}),
        )
        .await
        .expect_error(403, "forbidden");
    }
    // A member may create an agent and then owns it.
    let created = app
        .post(
            &format!("/orgs/{}/agents", org.id),
            &member,
            json!({"name": "helper"}),
        )
        .await
        .expect(201);
    let agent_id = created["principal"]["id"].as_str().expect("id");
    app.get(&format!("/agents/{agent_id}/tokens"), &member)
        .await
        .expect(200);
    app.get(&format!("/agents/{agent_id}/tokens"), &guest)
        .await
        .expect_error(403, "forbidden");
}
