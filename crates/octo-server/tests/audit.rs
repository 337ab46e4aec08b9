//! The org audit log records admin changes with actor, time and before/after,
//! and only admins read it.

mod common;

use common::*;
use serde_json::{Value, json};

fn entries<'a>(log: &'a Value, action: &str) -> Vec<&'a Value> {
    log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == action)
        .collect()
}

#[tokio::test]
async fn roles_overrides_and_tokens_are_audited_for_admins_only() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let owner = org.owner_token.clone();
    let (bob_id, bob) = add_human(&app, &org, "bob", "member").await;
    let (_, ch) = space_and_channel(&app, &org, false).await;

    let promoted = app
        .patch(
            &format!("/orgs/{}/members/{bob_id}", org.id),
            &owner,
            json!({"role": "admin"}),
        )
        .await
        .expect(200);
    assert_eq!(promoted["role"], "admin");
    app.put(
        &format!("/channels/{ch}/overrides"),
        &owner,
        json!({"overrides": [{"target": {"kind": "role", "id": "guest"}, "action": "post", "effect": "deny"}]}),
    )
    .await
    .expect(200);
    let token = app
        .post("/me/tokens", &owner, json!({"label": "ci"}))
        .await
        .expect(201);
    app.delete(
        &format!("/me/tokens/{}", token["info"]["id"].as_str().expect("id")),
        &owner,
    )
    .await
    .expect(204);

    let log = app
        .get(&format!("/orgs/{}/audit", org.id), &owner)
        .await
        .expect(200);
    let role = entries(&log, "member.role_changed");
    assert_eq!(role.len(), 1);
    assert_eq!(role[0]["actor_id"], json!(org.owner_id));
    assert_eq!(role[0]["target_id"], json!(bob_id));
    assert_eq!(
        (role[0]["before"].clone(), role[0]["after"].clone()),
        (json!({"role": "member"}), json!({"role": "admin"}))
    );
    assert!(role[0]["at"].as_str().is_some_and(|t| t.ends_with('Z')));
    let overrides = entries(&log, "overrides.replaced");
    assert_eq!(overrides[0]["before"], json!([]));
    assert_eq!(overrides[0]["after"][0]["effect"], "deny");
    assert_eq!(entries(&log, "token.created").len(), 1);
    assert_eq!(entries(&log, "token.revoked").len(), 1);

    // Filters.
    let only_roles = app
        .get(
            &format!("/orgs/{}/audit?action=member.role_changed", org.id),
            &owner,
        )
        .await
        .expect(200);
    assert_eq!(only_roles["items"].as_array().map(Vec::len), Some(1));
    let by_target = app
        .get(
            &format!("/orgs/{}/audit?target_id={bob_id}", org.id),
            &owner,
        )
        .await
        .expect(200);
    assert!(
        by_target["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["target_id"] == json!(bob_id))
    );

    // Bob is an admin now and may read it; a member may not.
    app.get(&format!("/orgs/{}/audit", org.id), &bob)
        .await
        .expect(200);
    let (_, carol) = add_human(&app, &org, "carol", "member").await;
    app.get(&format!("/orgs/{}/audit", org.id), &carol)
        .await
        .expect_error(403, "forbidden");
    // Only the owner makes admins.
    let (dave_id, _) = add_human(&app, &org, "dave", "member").await;
    app.patch(
        &format!("/orgs/{}/members/{dave_id}", org.id),
        &bob,
        json!({"role": "admin"}),
    )
    .await
    .expect_error(403, "forbidden");
    app.patch(
        &format!("/orgs/{}/members/{dave_id}", org.id),
        &owner,
        json!({"role": "owner"}),
    )
    .await
    .expect_error(400, "invalid_role");
}
