//! Attachments: upload into a channel, fetch, list. Bytes live in an
//! `object_store` (a local directory by default, S3-compatible by
//! configuration) under a key made from the file's id — never from anything
//! the uploader sent.

use crate::access::authorize_channel;
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiBytes, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use octo_core::model::Attachment;
use octo_core::{Action, ChannelId};
use octo_store::now;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// Where a file's bytes are kept.
pub fn object_path(id: &str) -> object_store::path::Path {
    object_store::path::Path::from(format!("files/{id}"))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file's name, for display (1–255 characters; path parts are dropped).
    pub name: String,
}

/// A display name: the last path segment, without control characters.
fn clean_name(raw: &str) -> ApiResult<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() || cleaned.chars().count() > 255 {
        return Err(ApiError::bad_request(
            "invalid_name",
            "a file needs a name of 1 to 255 characters",
        ));
    }
    Ok(cleaned)
}

/// The type from the bytes themselves; an uploader's claim is not trusted.
/// Markup a browser would run (HTML, SVG, XML) is served as plain text.
fn detect_type(bytes: &[u8]) -> String {
    let active =
        |mime: &str| mime.contains("html") || mime.contains("xml") || mime.contains("javascript");
    match infer::get(bytes) {
        Some(kind) if !active(kind.mime_type()) => kind.mime_type().to_owned(),
        _ if std::str::from_utf8(bytes).is_ok() => "text/plain; charset=utf-8".into(),
        _ => "application/octet-stream".into(),
    }
}

/// Images safe to show inline (SVG is not: it can carry script).
fn is_inline_image(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// Uploads a file into a channel; attach it by sending a message with its id in
/// `attachments`.
#[utoipa::path(post, path = "/api/v1/channels/{id}/files", tag = "files", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Attachment), (status = 413, body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    ApiBytes(body): ApiBytes,
) -> ApiResult<(StatusCode, Json<Attachment>)> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Upload).await?;
    let name = clean_name(&q.name)?;
    if body.is_empty() {
        return Err(ApiError::bad_request("empty_file", "the file is empty"));
    }
    let file = Attachment {
        id: octo_core::EventId::generate().to_string(),
        channel_id: view.channel.id,
        uploader_id: caller.principal.id.clone(),
        name,
        content_type: detect_type(&body),
        size: body.len() as u64,
        sha256: format!("{:x}", Sha256::digest(&body)),
        message_id: None,
        created_at: now(),
    };
    state
        .files
        .put(&object_path(&file.id), body.into())
        .await
        .map_err(|e| ApiError::Internal(format!("storing a file: {e}")))?;
    let file = state.store.create_file(file).await?;
    Ok((StatusCode::CREATED, Json(file)))
}

/// The file's bytes, for whoever can read its channel.
#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "files",
    responses((status = 200, description = "the bytes"), (status = 404, body = ErrorBody)))]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let file = state
        .store
        .get_file(&id)
        .await?
        .ok_or(ApiError::NotFound("file"))?;
    authorize_channel(&state, &caller, &file.channel_id, Action::Read)
        .await
        .map_err(|_| ApiError::NotFound("file"))?;
    let bytes = state
        .files
        .get(&object_path(&file.id))
        .await
        .map_err(|e| match e {
            object_store::Error::NotFound { .. } => ApiError::NotFound("file"),
            e => ApiError::Internal(format!("reading a file: {e}")),
        })?
        .bytes()
        .await
        .map_err(|e| ApiError::Internal(format!("reading a file: {e}")))?;
    let disposition = if is_inline_image(&file.content_type) {
        "inline"
    } else {
        "attachment"
    };
    let encoded: String = file
        .name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    let value =
        |s: &str| HeaderValue::from_str(s).map_err(|_| ApiError::Internal("bad header".into()));
    headers.insert(header::CONTENT_TYPE, value(&file.content_type)?);
    headers.insert(
        header::CONTENT_DISPOSITION,
        value(&format!("{disposition}; filename*=UTF-8''{encoded}"))?,
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(response)
}

#[derive(Serialize, ToSchema)]
pub struct FileList {
    pub items: Vec<Attachment>,
    pub next: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FilesQuery {
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/channels/{id}/files", tag = "files", params(FilesQuery),
    responses((status = 200, body = FileList)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<FilesQuery>,
) -> ApiResult<Json<FileList>> {
    let view =
        authorize_channel(&state, &caller, &ChannelId::from_string(id), Action::Read).await?;
    let limit = super::messages::page_limit(q.limit)?;
    let items = state.store.list_files(&view.channel.id, limit).await?;
    Ok(Json(FileList { items, next: None }))
}

/// A deleted message takes its files with it.
pub async fn delete_files_of(state: &AppState, message: &octo_core::MessageId) -> ApiResult<()> {
    for file in state.store.delete_files_of(message).await? {
        if let Err(e) = state.files.delete(&object_path(&file.id)).await {
            tracing::warn!(error = %e, file = %file.id, "could not remove a deleted file's bytes");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_paths_and_types_come_from_content() {
        assert_eq!(
            clean_name("../../etc/passwd").ok().as_deref(),
            Some("passwd")
        );
        assert_eq!(
            clean_name("C:\\\\x\\\\report.pdf").ok().as_deref(),
            Some("report.pdf")
        );
        assert!(clean_name("../").is_err());
        assert!(clean_name(".").is_err());
        assert_eq!(detect_type(b"\x89PNG\r\n\x1a\n0000"), "image/png");
        assert_eq!(detect_type(b"plain words"), "text/plain; charset=utf-8");
        assert_eq!(
            detect_type(&[0xff, 0xfe, 0x00, 0x01]),
            "application/octet-stream"
        );
        assert!(!is_inline_image("image/svg+xml"));
        assert_eq!(
            detect_type(b"<html><script>alert(1)</script></html>"),
            "text/plain; charset=utf-8"
        );
    }
}
