//! The webhook outbox: one row per (agent, event) to POST, pending until it is
//! delivered or given up on (dead), retried in place.
//!
//! Invariant: `next_attempt_at` is set exactly while pending, and
//! `delivered_at` exactly while delivered.

use crate::error::Res;
use crate::rows::{self, DELIVERY_COLS, ms};
use octo_core::*;
use octo_store::{Attempt, Delivery, DeliveryStatus, NewDelivery, StoreError, Timestamp, now};
use rusqlite::{Connection, OptionalExtension, params};

/// Inserts pending deliveries due at their creation. One already enqueued for
/// the same agent and event is left as it was, whatever its status (a retry,
/// or a second node seeing the same trigger). No conflict target: a retry may
/// collide on the id as well as on the event.
pub(crate) fn enqueue(conn: &Connection, deliveries: Vec<NewDelivery>) -> Res<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO deliveries (id, agent_id, event_id, body, status, next_attempt_at, created_at) \
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5) ON CONFLICT DO NOTHING",
    )?;
    for d in deliveries {
        stmt.execute(params![
            d.id,
            d.agent_id.as_str(),
            d.event_id,
            d.body,
            ms(d.created_at),
        ])?;
    }
    Ok(())
}

pub(crate) fn due(conn: &Connection, at: Timestamp, limit: u32) -> Res<Vec<Delivery>> {
    // Served by the partial index on pending rows; rowid breaks ties in
    // enqueue order.
    let sql = format!(
        "SELECT {DELIVERY_COLS} FROM deliveries \
         WHERE status = 'pending' AND next_attempt_at <= ?1 \
         ORDER BY next_attempt_at, created_at, rowid LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![ms(at), i64::from(limit)], rows::delivery)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Counts the attempt and moves the row to what it came to, whatever it was
/// before (the sender is the only caller and knows what it sent).
pub(crate) fn record_attempt(conn: &Connection, id: &str, attempt: Attempt) -> Res<Delivery> {
    let (status, next_at, error, delivered_at) = match attempt {
        Attempt::Delivered { at } => (DeliveryStatus::Delivered, None, None, Some(ms(at))),
        Attempt::Retry { at, error } => (DeliveryStatus::Pending, Some(ms(at)), Some(error), None),
        Attempt::Dead { error } => (DeliveryStatus::Dead, None, Some(error), None),
    };
    let sql = format!(
        "UPDATE deliveries SET attempts = attempts + 1, status = ?2, next_attempt_at = ?3, \
         last_error = ?4, delivered_at = ?5 WHERE id = ?1 RETURNING {DELIVERY_COLS}"
    );
    conn.prepare_cached(&sql)?
        .query_row(
            params![id, status.as_str(), next_at, error, delivered_at],
            rows::delivery,
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound.into())
}

pub(crate) fn list(
    conn: &Connection,
    agent: &PrincipalId,
    status: Option<DeliveryStatus>,
    limit: u32,
) -> Res<Vec<Delivery>> {
    let sql = format!(
        "SELECT {DELIVERY_COLS} FROM deliveries WHERE agent_id = ?1 AND (?2 IS NULL OR status = ?2) \
         ORDER BY created_at DESC, rowid DESC LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![agent.as_str(), status.map(|s| s.as_str()), i64::from(limit)],
        rows::delivery,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Makes the agent's delivery pending again, due now, as if never tried.
/// NotFound if there is no such delivery or it is another agent's.
pub(crate) fn replay(conn: &Connection, agent: &PrincipalId, id: &str) -> Res<Delivery> {
    let sql = format!(
        "UPDATE deliveries SET status = 'pending', attempts = 0, last_error = NULL, \
         next_attempt_at = ?3, delivered_at = NULL WHERE id = ?1 AND agent_id = ?2 \
         RETURNING {DELIVERY_COLS}"
    );
    conn.prepare_cached(&sql)?
        .query_row(params![id, agent.as_str(), ms(now())], rows::delivery)
        .optional()?
        .ok_or_else(|| StoreError::NotFound.into())
}

#[cfg(test)]
mod tests {
    use crate::migrate::migrate;
    use rusqlite::Connection;

    fn plan(conn: &Connection, sql: &str) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(3)).unwrap();
        rows.collect::<Result<Vec<_>, _>>().unwrap().join("; ")
    }

    /// The sender polls the outbox often: it must read only pending rows, and
    /// the owner's listing only the agent's.
    #[test]
    fn outbox_queries_use_their_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let due = plan(
            &conn,
            "SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= 1 \
             ORDER BY next_attempt_at, created_at, rowid LIMIT 10",
        );
        assert!(due.contains("deliveries_due"), "{due}");
        let list = plan(
            &conn,
            "SELECT id FROM deliveries WHERE agent_id = 'a' AND ('x' IS NULL OR status = 'x') \
             ORDER BY created_at DESC, rowid DESC LIMIT 10",
        );
        assert!(list.contains("deliveries_by_agent"), "{list}");
    }
}
