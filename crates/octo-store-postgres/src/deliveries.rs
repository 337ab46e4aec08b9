//! The webhook outbox: one row per (agent, event) to POST, pending until it is
//! delivered or given up on (dead), retried in place.
//!
//! Invariant: `next_attempt_at` is set exactly while pending, and
//! `delivered_at` exactly while delivered.

use crate::db::{self, Db};
use crate::error::Res;
use crate::rows::{self, DELIVERY_COLS, ms};
use octo_core::*;
use octo_store::{Attempt, Delivery, DeliveryStatus, NewDelivery, StoreError, Timestamp, now};

/// Inserts pending deliveries due at their creation. One already enqueued for
/// the same agent and event is left as it was, whatever its status (a retry,
/// or a second node seeing the same trigger).
pub(crate) async fn enqueue(c: &impl Db, deliveries: Vec<NewDelivery>) -> Res<()> {
    for d in deliveries {
        db::execute(
            c,
            "INSERT INTO deliveries (id, agent_id, event_id, body, status, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5, $5) ON CONFLICT DO NOTHING",
            &[
                &d.id,
                &d.agent_id.as_str(),
                &d.event_id,
                &d.body,
                &ms(d.created_at),
            ],
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn due(c: &impl Db, at: Timestamp, limit: u32) -> Res<Vec<Delivery>> {
    // Served by the partial index on pending rows; pos breaks ties in
    // enqueue order.
    let sql = format!(
        "SELECT {DELIVERY_COLS} FROM deliveries \
         WHERE status = 'pending' AND next_attempt_at <= $1 \
         ORDER BY next_attempt_at, created_at, pos LIMIT $2"
    );
    db::query_map(c, &sql, &[&ms(at), &i64::from(limit)], rows::delivery).await
}

/// Counts the attempt and moves the row to what it came to, whatever it was
/// before (the sender is the only caller and knows what it sent).
pub(crate) async fn record_attempt(c: &impl Db, id: &str, attempt: Attempt) -> Res<Delivery> {
    let (status, next_at, error, delivered_at) = match attempt {
        Attempt::Delivered { at } => (DeliveryStatus::Delivered, None, None, Some(ms(at))),
        Attempt::Retry { at, error } => (DeliveryStatus::Pending, Some(ms(at)), Some(error), None),
        Attempt::Dead { error } => (DeliveryStatus::Dead, None, Some(error), None),
    };
    let sql = format!(
        "UPDATE deliveries SET attempts = attempts + 1, status = $2, next_attempt_at = $3, \
         last_error = $4, delivered_at = $5 WHERE id = $1 RETURNING {DELIVERY_COLS}"
    );
    db::query_opt_map(
        c,
        &sql,
        &[&id, &status.as_str(), &next_at, &error, &delivered_at],
        rows::delivery,
    )
    .await?
    .ok_or_else(|| StoreError::NotFound.into())
}

pub(crate) async fn list(
    c: &impl Db,
    agent: &PrincipalId,
    status: Option<DeliveryStatus>,
    limit: u32,
) -> Res<Vec<Delivery>> {
    let sql = format!(
        "SELECT {DELIVERY_COLS} FROM deliveries WHERE agent_id = $1 AND ($2::text IS NULL OR status = $2) \
         ORDER BY created_at DESC, pos DESC LIMIT $3"
    );
    db::query_map(
        c,
        &sql,
        &[
            &agent.as_str(),
            &status.map(|s| s.as_str()),
            &i64::from(limit),
        ],
        rows::delivery,
    )
    .await
}

/// Makes the agent's delivery pending again, due now, as if never tried.
/// NotFound if there is no such delivery or it is another agent's.
pub(crate) async fn replay(c: &impl Db, agent: &PrincipalId, id: &str) -> Res<Delivery> {
    let sql = format!(
        "UPDATE deliveries SET status = 'pending', attempts = 0, last_error = NULL, \
         next_attempt_at = $3, delivered_at = NULL WHERE id = $1 AND agent_id = $2 \
         RETURNING {DELIVERY_COLS}"
    );
    db::query_opt_map(c, &sql, &[&id, &agent.as_str(), &ms(now())], rows::delivery)
        .await?
        .ok_or_else(|| StoreError::NotFound.into())
}
