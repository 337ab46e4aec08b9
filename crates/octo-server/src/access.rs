//! Loads what [`octo_core::authorize`] needs to know about a resource and turns
//! its decision into an answer: invisible → 404, forbidden → 403.
//!
//! Every handler that touches an org, space, category or channel goes through
//! one of these functions; none decides on its own.

use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use octo_core::model::*;
use octo_core::perm::{ChannelScope, Scope, SpaceScope};
use octo_core::*;
use octo_store::ResourceRef;

/// Turns a decision into a result; `what` names the resource in the 404.
pub fn require(decision: Decision, what: &'static str, action: Action) -> ApiResult<()> {
    match decision {
        Decision::Allow => Ok(()),
        Decision::Forbidden => Err(ApiError::Forbidden(action.as_str())),
        Decision::Invisible => Err(ApiError::NotFound(what)),
    }
}

/// Org-level actions. Another org's id answers 404 like an unknown one.
pub fn authorize_org(caller: &Caller, org: &OrgId, action: Action) -> ApiResult<()> {
    // A turn token is for its one channel, not for the org around it.
    if &caller.principal.org_id != org || caller.scope.is_some() {
        return Err(ApiError::NotFound("org"));
    }
    require(
        authorize(&caller.subject(), action, &Scope::Org),
        "org",
        action,
    )
}

pub async fn space_scope(
    state: &AppState,
    caller: &Caller,
    space: &Space,
) -> ApiResult<SpaceScope> {
    let resource = ResourceRef::Space(space.id.clone());
    let (member_role, overrides) = tokio::try_join!(
        state
            .store
            .space_member_role(&space.id, &caller.principal.id),
        state.store.get_overrides(&resource),
    )?;
    Ok(SpaceScope {
        visibility: space.visibility,
        member_role,
        overrides,
    })
}

pub async fn authorize_space(
    state: &AppState,
    caller: &Caller,
    id: &SpaceId,
    action: Action,
) -> ApiResult<Space> {
    let space = state
        .store
        .get_space(id)
        .await?
        .filter(|s| s.org_id == caller.principal.org_id && caller.scope.is_none())
        .ok_or(ApiError::NotFound("space"))?;
    let scope = Scope::Space(space_scope(state, caller, &space).await?);
    require(
        authorize(&caller.subject(), action, &scope),
        "space",
        action,
    )?;
    Ok(space)
}

pub async fn authorize_category(
    state: &AppState,
    caller: &Caller,
    id: &CategoryId,
    action: Action,
) -> ApiResult<(Category, Space)> {
    let category = state
        .store
        .get_category(id)
        .await?
        .filter(|_| caller.scope.is_none())
        .ok_or(ApiError::NotFound("category"))?;
    let space = state
        .store
        .get_space(&category.space_id)
        .await?
        .filter(|s| s.org_id == caller.principal.org_id)
        .ok_or(ApiError::NotFound("category"))?;
    let (space_scope, category_overrides) =
        tokio::try_join!(space_scope(state, caller, &space), async {
            Ok(state
                .store
                .get_overrides(&ResourceRef::Category(category.id.clone()))
                .await?)
        },)?;
    let scope = Scope::Category {
        space: space_scope,
        category_overrides,
    };
    require(
        authorize(&caller.subject(), action, &scope),
        "category",
        action,
    )?;
    Ok((category, space))
}

/// A channel the caller can see, with the scope it was judged in, so further
/// actions on the same request can be checked without reloading.
pub struct ChannelView {
    pub channel: Channel,
    pub membership: Option<ChannelMember>,
    scope: Scope,
}

impl ChannelView {
    pub fn check(&self, caller: &Caller, action: Action) -> ApiResult<()> {
        require(
            authorize(&caller.subject(), action, &self.scope),
            "channel",
            action,
        )
    }

    pub fn allows(&self, caller: &Caller, action: Action) -> bool {
        authorize(&caller.subject(), action, &self.scope).is_allowed()
    }
}

/// The org and turn-token bounds, checked before anything is loaded.
fn within_reach(caller: &Caller, channel: &Channel) -> ApiResult<()> {
    let out_of_scope = caller.scope.as_ref().is_some_and(|s| s != &channel.id);
    if channel.org_id != caller.principal.org_id || out_of_scope {
        return Err(ApiError::NotFound("channel"));
    }
    Ok(())
}

pub async fn load_channel_view(
    state: &AppState,
    caller: &Caller,
    channel: Channel,
) -> ApiResult<ChannelView> {
    within_reach(caller, &channel)?;
    let store = &state.store;
    let space = async {
        match &channel.space_id {
            Some(id) => match store.get_space(id).await? {
                Some(space) => Ok::<_, ApiError>(Some(space_scope(state, caller, &space).await?)),
                None => Ok(None),
            },
            None => Ok(None),
        }
    };
    let category_overrides = async {
        match &channel.category_id {
            Some(id) => Ok::<_, ApiError>(
                store
                    .get_overrides(&ResourceRef::Category(id.clone()))
                    .await?,
            ),
            None => Ok(vec![]),
        }
    };
    let channel_overrides = async {
        Ok::<_, ApiError>(
            store
                .get_overrides(&ResourceRef::Channel(channel.id.clone()))
                .await?,
        )
    };
    let membership = async {
        Ok::<_, ApiError>(
            store
                .channel_member(&channel.id, &caller.principal.id)
                .await?,
        )
    };
    let (space, category_overrides, channel_overrides, membership) =
        tokio::try_join!(space, category_overrides, channel_overrides, membership)?;
    let scope = Scope::Channel {
        space,
        category_overrides,
        channel: ChannelScope {
            kind: channel.kind,
            private: channel.private,
            is_member: membership.is_some(),
            overrides: channel_overrides,
        },
    };
    Ok(ChannelView {
        channel,
        membership,
        scope,
    })
}

pub async fn authorize_channel(
    state: &AppState,
    caller: &Caller,
    id: &ChannelId,
    action: Action,
) -> ApiResult<ChannelView> {
    let view = read_channel_view(state, caller, id).await?;
    view.check(caller, action)?;
    Ok(view)
}

/// The channel and the caller's permission inputs in it, from the store.
async fn read_channel_view(
    state: &AppState,
    caller: &Caller,
    id: &ChannelId,
) -> ApiResult<ChannelView> {
    let channel = state
        .store
        .get_channel(id)
        .await?
        .ok_or(ApiError::NotFound("channel"))?;
    load_channel_view(state, caller, channel).await
}

/// [`authorize_channel`] from this node's cache (see `crate::cache`), for the
/// send path. The channel it returns may lag in `last_seq`: callers must not
/// answer with it.
///
/// Only an allowance comes from the cache alone: a refusal read from a cached
/// entry is checked again against the store, because the change that allows
/// it (a member added, an override granted) may have been made on another
/// node a moment ago, before that node's signal reached this one.
pub async fn authorize_channel_cached(
    state: &AppState,
    caller: &Caller,
    id: &ChannelId,
    action: Action,
) -> ApiResult<ChannelView> {
    match state.cache.channel(id, &caller.principal.id) {
        Some(inputs) => {
            let view = ChannelView {
                channel: inputs.channel.clone(),
                membership: inputs.membership.clone(),
                scope: inputs.scope.clone(),
            };
            let allowed =
                within_reach(caller, &inputs.channel).and_then(|()| view.check(caller, action));
            match allowed {
                Ok(()) => Ok(view),
                Err(_) => fresh_channel_view(state, caller, id, action).await,
            }
        }
        None => fresh_channel_view(state, caller, id, action).await,
    }
}

/// The channel's permission inputs read from the store (and cached for the
/// next send), then checked.
async fn fresh_channel_view(
    state: &AppState,
    caller: &Caller,
    id: &ChannelId,
    action: Action,
) -> ApiResult<ChannelView> {
    let epoch = state.cache.epoch();
    let view = read_channel_view(state, caller, id).await?;
    let inputs = crate::cache::ChannelInputs {
        channel: view.channel.clone(),
        membership: view.membership.clone(),
        scope: view.scope.clone(),
    };
    state
        .cache
        .put_channel(&caller.principal.id, epoch, std::sync::Arc::new(inputs));
    view.check(caller, action)?;
    Ok(view)
}
