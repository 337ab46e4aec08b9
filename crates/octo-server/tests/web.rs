//! The embedded web app at `/`: the page, client routes, assets with the right
//! types and caching, and `/api/…` never swallowed by the app.

mod common;

use common::{setup, spawn_app};
use reqwest::StatusCode;

async fn fetch(app: &common::TestApp, path: &str) -> reqwest::Response {
    app.http
        .get(format!("http://{}{path}", app.addr))
        .send()
        .await
        .expect("request")
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn root_and_client_routes_serve_the_app_page() {
    let app = spawn_app().await;
    let root = fetch(&app, "/").await;
    assert_eq!(root.status(), StatusCode::OK);
    assert_eq!(header(&root, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&root, "cache-control"), "no-cache");
    let page = root.text().await.expect("body");
    assert!(page.contains("<html"), "{page}");

    // A deep link into the app reloads into the same page; the app routes itself.
    let deep = fetch(&app, "/c/01HZZZ/thread/42").await;
    assert_eq!(deep.status(), StatusCode::OK);
    assert_eq!(deep.text().await.expect("body"), page);
}

#[tokio::test]
async fn api_paths_and_missing_files_are_json_404s_not_the_app() {
    let app = spawn_app().await;
    for path in ["/api/v1/no-such-route", "/api/nothing", "/missing.js"] {
        let resp = fetch(&app, path).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    let post = app
        .http
        .post(format!("http://{}/", app.addr))
        .send()
        .await
        .expect("request");
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn built_assets_have_their_type_and_are_cached_for_good() {
    let app = spawn_app().await;
    let page = fetch(&app, "/").await.text().await.expect("body");
    let assets: Vec<&str> = page
        .split('"')
        .filter(|s| s.starts_with("/assets/"))
        .collect();
    let caps = app
        .call(reqwest::Method::GET, "/capabilities", None, None)
        .await;
    let embedded = caps.expect(200)["web"].as_bool().expect("web flag");
    // A binary built without `web/dist` has the placeholder and no assets.
    assert_eq!(embedded, !assets.is_empty(), "{page}");
    for asset in assets {
        let resp = fetch(&app, asset).await;
        assert_eq!(resp.status(), StatusCode::OK, "{asset}");
        let expected = if asset.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(header(&resp, "content-type"), expected, "{asset}");
        assert_eq!(
            header(&resp, "cache-control"),
            "public, max-age=31536000, immutable"
        );
    }
}

#[tokio::test]
async fn capabilities_say_whether_setup_is_still_to_do() {
    let app = spawn_app().await;
    let before = app
        .call(reqwest::Method::GET, "/capabilities", None, None)
        .await
        .expect(200);
    assert_eq!(before["set_up"], false);
    assert_eq!(before["features"]["agents"], true);
    assert_eq!(before["features"]["group_md"], true);
    setup(&app).await;
    let after = app
        .call(reqwest::Method::GET, "/capabilities", None, None)
        .await
        .expect(200);
    assert_eq!(after["set_up"], true);
}
