//! The org audit log: who changed what, when, from what to what.
//!
//! Recorded right after the change it describes. A failure to record is
//! logged, not returned: the change itself has happened, and refusing to say
//! so would mislead the caller.

use crate::caller::Caller;
use crate::state::AppState;
use octo_core::model::AuditEntry;
use serde_json::Value;

pub async fn record(
    state: &AppState,
    caller: &Caller,
    action: &str,
    target_kind: &str,
    target_id: impl ToString,
    before: Option<Value>,
    after: Option<Value>,
) {
    let entry = AuditEntry {
        id: octo_core::EventId::generate().to_string(),
        org_id: caller.principal.org_id.clone(),
        actor_id: caller.principal.id.clone(),
        action: action.to_owned(),
        target_kind: target_kind.to_owned(),
        target_id: target_id.to_string(),
        before,
        after,
        at: octo_store::now(),
    };
    if let Err(e) = state.store.append_audit(entry).await {
        tracing::error!(error = %e, action, "could not record an audit entry");
    }
}
