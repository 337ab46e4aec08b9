//! The web app, embedded at build time (see `build.rs`) and served at `/`.
//!
//! Hashed build assets (`/assets/…`) are cached for a year; `index.html` is
//! revalidated every time so a new binary's app is picked up at once. Any other
//! path without a file extension is a client route and gets `index.html` (the
//! app routes itself). `/api/…` never falls through to the app.

use crate::error::ApiError;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/web_files.rs"));

/// Shown when the binary was built without `web/dist`.
const PLACEHOLDER: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Octo</title></head><body><h1>Octo</h1><p>The web app was not built into this binary. \
Run <code>./scripts/serve.sh</code> (or <code>npm ci &amp;&amp; npm run build</code> in \
<code>web/</code>, then rebuild) to include it. The API is at <code>/api/v1</code>.</p></body></html>";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// Whether this binary carries a built web app (not just the placeholder).
pub fn is_embedded() -> bool {
    find("index.html").is_some()
}

fn find(path: &str) -> Option<&'static [u8]> {
    WEB_FILES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, bytes)| *bytes)
}

/// The router's fallback: web files, the app for client routes, and the JSON
/// 404 for everything under `/api/`.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return ApiError::NotFound("route").into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return ApiError::MethodNotAllowed.into_response();
    }
    let rel = path.trim_start_matches('/');
    if !rel.is_empty()
        && let Some(bytes) = find(rel)
    {
        let cache = if rel.starts_with("assets/") {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        return file(bytes, content_type(rel), cache);
    }
    let last = rel.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return ApiError::NotFound("file").into_response();
    }
    match find("index.html") {
        Some(index) => file(index, "text/html; charset=utf-8", REVALIDATE),
        None => file(
            PLACEHOLDER.as_bytes(),
            "text/html; charset=utf-8",
            REVALIDATE,
        ),
    }
}

fn file(bytes: &'static [u8], content_type: &'static str, cache: &'static str) -> Response {
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// By extension: the build only emits these kinds of files.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
