//! Attachments: byte-for-byte round trips, limits, safe names and headers,
//! membership, deletion with their message.

mod common;

use common::*;
use octo_server::{FilesConfig, ServerConfig};
use serde_json::{Value, json};

async fn upload(app: &TestApp, channel: &str, token: &str, name: &str, bytes: Vec<u8>) -> Answer {
    let resp = app
        .http
        .post(app.url(&format!("/api/v1/channels/{channel}/files")))
        .query(&[("name", name)])
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await
        .expect("upload");
    TestApp::answer(resp).await
}

async fn fetch(app: &TestApp, file: &str, token: &str) -> reqwest::Response {
    app.http
        .get(app.url(&format!("/api/v1/files/{file}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("fetch")
}

#[tokio::test]
async fn files_round_trip_and_are_served_safely() {
    let app = spawn_app().await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, true).await;
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let up = upload(
        &app,
        &ch,
        &org.owner_token,
        "../../etc/passwd",
        bytes.clone(),
    )
    .await
    .expect(201);
    assert_eq!(up["name"], "passwd", "path parts are dropped");
    assert_eq!(up["size"], 200_000);
    assert_eq!(up["content_type"], "application/octet-stream");
    let file_id = id(&up);

    let resp = fetch(&app, &file_id, &org.owner_token).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        h["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("attachment;")
    );
    assert_eq!(
        resp.bytes().await.expect("bytes").to_vec(),
        bytes,
        "byte for byte"
    );

    // A PNG is detected from its bytes and shown inline; a "png" that isn't one is not.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[0; 64]);
    let img = upload(&app, &ch, &org.owner_token, "pic.png", png)
        .await
        .expect(201);
    assert_eq!(img["content_type"], "image/png");
    let resp = fetch(&app, &id(&img), &org.owner_token).await;
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("inline;")
    );
    let fake = upload(
        &app,
        &ch,
        &org.owner_token,
        "evil.png",
        b"<script>alert(1)</script>".to_vec(),
    )
    .await
    .expect(201);
    assert_eq!(fake["content_type"], "text/plain; charset=utf-8");

    // Non-members of the private channel: 404, as if it did not exist.
    let (_, stranger) = add_human(&app, &org, "stranger", "member").await;
    assert_eq!(fetch(&app, &file_id, &stranger).await.status(), 404);
    upload(&app, &ch, &stranger, "x.txt", b"hi".to_vec())
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        fetch(&app, "no-such-file", &org.owner_token).await.status(),
        404
    );

    // Attached to a message, listed, and gone with it.
    let m = app
        .post(
            &format!("/channels/{ch}/messages"),
            &org.owner_token,
            json!({"text": "the dump", "attachments": [file_id]}),
        )
        .await
        .expect(201);
    assert_eq!(m["attachments"][0]["id"], json!(file_id));
    let listed = app
        .get(&format!("/channels/{ch}/files"), &org.owner_token)
        .await
        .expect(200);
    assert!(
        listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|f| f["id"] == json!(file_id))
    );
    let found = app
        .get("/search?q=dump&has_attachment=true", &org.owner_token)
        .await
        .expect(200);
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1));
    // The same file can't be sent twice, nor someone else's.
    app.post(
        &format!("/channels/{ch}/messages"),
        &org.owner_token,
        json!({"text": "again", "attachments": [file_id]}),
    )
    .await
    .expect_error(400, "unknown_attachment");
    app.delete(&format!("/messages/{}", id(&m)), &org.owner_token)
        .await
        .expect(204);
    assert_eq!(fetch(&app, &file_id, &org.owner_token).await.status(), 404);
    let listed: Value = app
        .get(&format!("/channels/{ch}/files"), &org.owner_token)
        .await
        .expect(200);
    assert!(
        !listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|f| f["id"] == json!(file_id))
    );
}

#[tokio::test]
async fn oversize_and_empty_uploads_are_refused() {
    let config = ServerConfig {
        files: FilesConfig {
            max_upload_bytes: 1024,
        },
        ..ServerConfig::default()
    };
    let app = spawn_app_with(config).await;
    let org = setup(&app).await;
    let (_, ch) = space_and_channel(&app, &org, false).await;
    upload(&app, &ch, &org.owner_token, "big.bin", vec![1; 2048])
        .await
        .expect_error(413, "body_too_large");
    upload(&app, &ch, &org.owner_token, "empty.bin", vec![])
        .await
        .expect_error(400, "empty_file");
    upload(&app, &ch, &org.owner_token, "..", b"x".to_vec())
        .await
        .expect_error(400, "invalid_name");
}
