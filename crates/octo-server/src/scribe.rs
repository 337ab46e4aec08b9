//! The built-in `scribe` agent's membership: every org gets it at setup, and
//! every new channel (not DMs) gets it as a member that sees all messages. The
//! agent itself runs elsewhere (crate `octo-scribe`) and only uses the public API.

use crate::error::ApiResult;
use crate::state::AppState;
use octo_core::model::*;
use octo_core::*;
use octo_store::{NewPrincipal, now};

/// The scribe's handle in every org.
pub const SCRIBE_NAME: &str = "scribe";

const SCRIBE_DESCRIPTION: &str = "Keeps this channel's group.md current: reads decisions, \
action items and open questions from the conversation (after 20 messages, when the \
channel goes quiet, or on /groupmd) and answers @scribe with what was decided and \
who owes what.";

/// Creates the org's scribe, owned by the org's owner. An owner who took the
/// handle `scribe` keeps it: the org then has no scribe.
pub async fn create_for_org(state: &AppState, owner: &Principal) -> ApiResult<Option<Principal>> {
    if owner.name.eq_ignore_ascii_case(SCRIBE_NAME) {
        return Ok(None);
    }
    let scribe = state
        .store
        .create_principal(NewPrincipal {
            id: PrincipalId::generate(),
            org_id: owner.org_id.clone(),
            kind: PrincipalKind::Agent,
            name: SCRIBE_NAME.to_owned(),
            display_name: Some("Scribe".to_owned()),
            email: None,
            password_hash: None,
            role: Role::Agent,
            owner_id: Some(owner.id.clone()),
            description: Some(SCRIBE_DESCRIPTION.to_owned()),
            skills: vec!["group.md".to_owned()],
            avatar_url: None,
            created_at: now(),
        })
        .await?;
    Ok(Some(scribe))
}

/// The org's scribe, when it has one (an agent named `scribe`, still active).
pub async fn find(state: &AppState, org: &OrgId) -> ApiResult<Option<Principal>> {
    let found = state
        .store
        .find_principals_by_names(org, &[SCRIBE_NAME.to_owned()])
        .await?;
    Ok(found
        .into_iter()
        .find(|p| p.kind == PrincipalKind::Agent && !p.deactivated))
}

/// Adds the scribe to a new channel with trigger `all`, so it reads every
/// message, when this server runs the scribe. DMs are private conversations:
/// the scribe is never added to them.
pub async fn join_new_channel(state: &AppState, channel: &Channel) -> ApiResult<()> {
    if !state.config.scribe_joins_channels || channel.kind != ChannelKind::Channel {
        return Ok(());
    }
    let Some(scribe) = find(state, &channel.org_id).await? else {
        return Ok(());
    };
    state
        .store
        .add_channel_member(
            &channel.id,
            &scribe.id,
            TriggerPolicy::All,
            &channel.created_by,
        )
        .await?;
    // A private channel is not announced to everyone: tell the scribe's live
    // connection that it can now see this one.
    state.access_changed(Some(scribe.id)).await;
    Ok(())
}
