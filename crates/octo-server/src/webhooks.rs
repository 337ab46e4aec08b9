//! Outgoing webhooks: an agent's triggers POSTed to its URL, signed, retried
//! with exponential backoff until delivered or dead-lettered.
//!
//! Each delivery is a row in the store's outbox, written when the trigger is
//! recorded, so a restart loses none. A request carries
//! `X-Octo-Event-Id` (the same on every retry: the receiver's dedupe key),
//! `X-Octo-Timestamp` (Unix seconds) and `X-Octo-Signature: v1=<hex>`, the
//! HMAC-SHA256 of `"{timestamp}.{body}"` under the webhook's secret. Receivers
//! should refuse a timestamp more than 5 minutes off. A 2xx answer is success;
//! if its body is `{"text": …}`, that text is posted as the agent's reply.
//!
//! In a cluster only the node holding the [`SENDER_LEASE`] sends, so a
//! delivery is not attempted by two nodes at once; when the holder dies its
//! lease expires and another node carries on with the pending rows (a POST
//! the dead node had in flight may be repeated: receivers dedupe by event id).

use crate::state::AppState;
use crate::turn::TurnKeys;
use hmac::{Hmac, Mac};
use octo_core::names::MessageText;
use octo_core::{ChannelId, MessageId};
use octo_store::{Attempt, Delivery, NewDelivery, Timestamp, now};
use serde::Deserialize;
use sha2::Sha256;
use std::time::Duration;

pub const EVENT_ID_HEADER: &str = "x-octo-event-id";
pub const TIMESTAMP_HEADER: &str = "x-octo-timestamp";
pub const SIGNATURE_HEADER: &str = "x-octo-signature";

/// `v1=<hex HMAC-SHA256 of "{timestamp}.{body}">`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let sig = mac.finalize().into_bytes();
    format!(
        "v1={}",
        sig.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// The wait before retry number `attempts` (1-based): base × 2^(n-1), capped.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = 1u32 << attempts.saturating_sub(1).min(16);
    (base * factor).min(Duration::from_secs(3600))
}

/// Queues a trigger frame (without its turn token) for the agent's webhook,
/// if it has one.
pub async fn enqueue(
    state: &AppState,
    trigger: &octo_core::trigger::Trigger,
    frame_without_token: String,
) -> crate::error::ApiResult<()> {
    if state.store.get_webhook(&trigger.agent_id).await?.is_none() {
        return Ok(());
    }
    state
        .store
        .enqueue_deliveries(vec![NewDelivery {
            id: octo_core::EventId::generate().to_string(),
            agent_id: trigger.agent_id.clone(),
            event_id: trigger.id.clone(),
            body: frame_without_token,
            created_at: now(),
        }])
        .await?;
    state.webhook_wake.notify_one();
    Ok(())
}

/// The lease whose holder sends the cluster's webhooks.
pub const SENDER_LEASE: &str = "webhook-sender";

/// Whether this node holds the sender's lease, claiming or renewing it when
/// due (`renew_at`: when the current hold next needs renewing).
async fn hold_sender_lease(state: &AppState, renew_at: &mut Option<std::time::Instant>) -> bool {
    let ttl = Duration::from_millis(state.config.agents.webhook_lease_ms.max(1));
    if renew_at.is_some_and(|at| std::time::Instant::now() < at) {
        return true;
    }
    match state
        .store
        .claim_lease(SENDER_LEASE, state.hub.node(), ttl)
        .await
    {
        Ok(true) => {
            if renew_at.is_none() {
                tracing::info!("this node now sends the webhooks");
            }
            *renew_at = Some(std::time::Instant::now() + ttl / 3);
            true
        }
        Ok(false) => {
            *renew_at = None;
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not claim the webhook sender's lease");
            *renew_at = None;
            false
        }
    }
}

/// Delivers due webhooks until the server stops.
pub async fn run(state: AppState) {
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_millis(
            state.config.agents.webhook_timeout_ms,
        ))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(error = %e, "webhooks disabled: no HTTP client");
            return;
        }
    };
    let mut renew_at = None;
    loop {
        if !hold_sender_lease(&state, &mut renew_at).await {
            // Another node sends; check again well within its lease.
            let wait = Duration::from_millis(state.config.agents.webhook_lease_ms / 10);
            tokio::time::sleep(wait.clamp(Duration::from_millis(50), Duration::from_secs(2))).await;
            continue;
        }
        let due = match state.store.due_deliveries(now(), 16).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the webhook outbox");
                Vec::new()
            }
        };
        if due.is_empty() {
            // Woken by a new delivery, or soon enough for retries coming due.
            let _ = tokio::time::timeout(Duration::from_millis(200), state.webhook_wake.notified())
                .await;
            continue;
        }
        let attempts = due.into_iter().map(|d| attempt(&state, &http, d));
        futures::future::join_all(attempts).await;
    }
}

#[derive(Deserialize)]
struct Reply {
    text: String,
}

async fn attempt(state: &AppState, http: &reqwest::Client, delivery: Delivery) {
    let result = send(state, http, &delivery).await;
    let tries = delivery.attempts + 1;
    let outcome = match result {
        Ok(reply) => {
            if let Some(text) = reply {
                post_reply(state, &delivery, &text).await;
            }
            Attempt::Delivered { at: now() }
        }
        Err(error) if tries >= state.config.agents.webhook_max_attempts => {
            tracing::warn!(delivery = %delivery.id, %error, "webhook delivery dead-lettered");
            Attempt::Dead { error }
        }
        Err(error) => {
            let base = Duration::from_millis(state.config.agents.webhook_retry_base_ms);
            let wait = chrono::Duration::from_std(backoff(base, tries)).unwrap_or_default();
            Attempt::Retry {
                at: now() + wait,
                error,
            }
        }
    };
    if let Err(e) = state.store.record_attempt(&delivery.id, outcome).await {
        tracing::warn!(error = %e, delivery = %delivery.id, "could not record a webhook attempt");
    }
}

/// One POST. Ok carries the reply text the receiver sent back, if any.
async fn send(
    state: &AppState,
    http: &reqwest::Client,
    delivery: &Delivery,
) -> Result<Option<String>, String> {
    let webhook = state
        .store
        .get_webhook(&delivery.agent_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the agent no longer has a webhook")?;
    let body = with_turn_token(state, &delivery.body).await?;
    let timestamp = now().timestamp();
    let response = http
        .post(&webhook.url)
        .header("content-type", "application/json")
        .header(EVENT_ID_HEADER, &delivery.event_id)
        .header(TIMESTAMP_HEADER, timestamp)
        .header(SIGNATURE_HEADER, sign(&webhook.secret, timestamp, &body))
        .body(body)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the receiver answered {status}"));
    }
    let bytes = response.bytes().await.unwrap_or_default();
    Ok(serde_json::from_slice::<Reply>(&bytes).ok().map(|r| r.text))
}

/// A fresh turn token at every attempt: a retry an hour later still gets one
/// that works.
async fn with_turn_token(state: &AppState, body: &str) -> Result<String, String> {
    let mut frame: serde_json::Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let keys: &TurnKeys = state.turn_keys().await.map_err(|e| e.to_string())?;
    let (Some(agent), Some(channel)) = (
        frame["trigger"]["agent_id"]
            .as_str()
            .map(octo_core::PrincipalId::from_string),
        frame["channel_id"].as_str().map(ChannelId::from_string),
    ) else {
        return Err("a stored delivery is missing its agent or channel".into());
    };
    let expires_at: Timestamp =
        now() + chrono::Duration::seconds(state.config.agents.turn_token_secs as i64);
    frame["trigger"]["turn_token"] = keys.mint(&agent, &channel, expires_at).into();
    frame["trigger"]["turn_expires_at"] = serde_json::json!(expires_at);
    Ok(frame.to_string())
}

/// The receiver answered with a reply: post it as the agent, in the trigger's
/// thread (or under the message that woke it), once per delivery.
async fn post_reply(state: &AppState, delivery: &Delivery, text: &str) {
    let Ok(frame) = serde_json::from_str::<serde_json::Value>(&delivery.body) else {
        return;
    };
    let Ok(text) = MessageText::parse(text) else {
        tracing::info!(delivery = %delivery.id, "a webhook reply was not valid message text");
        return;
    };
    let (Some(channel), Some(message)) = (
        frame["channel_id"].as_str().map(ChannelId::from_string),
        frame["trigger"]["message_id"]
            .as_str()
            .map(MessageId::from_string),
    ) else {
        return;
    };
    let thread = frame["trigger"]["thread_id"]
        .as_str()
        .map(MessageId::from_string)
        .unwrap_or(message);
    if let Err(e) = crate::routes::messages::post_as_agent(
        state,
        &delivery.agent_id,
        &channel,
        Some(thread),
        text,
        format!("webhook-reply-{}", delivery.event_id),
    )
    .await
    {
        tracing::info!(error = %e, delivery = %delivery.id, "could not post a webhook reply");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_timestamp_and_body() {
        let a = sign("k", 1_700_000_000, "{}");
        assert!(a.starts_with("v1=") && a.len() == 3 + 64);
        assert_ne!(a, sign("k", 1_700_000_001, "{}"));
        assert_ne!(a, sign("k", 1_700_000_000, "{ }"));
        assert_ne!(a, sign("other", 1_700_000_000, "{}"));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 1), Duration::from_millis(100));
        assert_eq!(backoff(base, 2), Duration::from_millis(200));
        assert_eq!(backoff(base, 4), Duration::from_millis(800));
        assert_eq!(backoff(base, 40), Duration::from_secs(3600));
    }
}
