//! Everything a principal can see in its org, judged in one pass: a handful of
//! bulk queries, then [`authorize`] per space and channel. Used by the tree, the
//! real-time gateway and long-poll, which all need the whole view at once.

use crate::error::ApiResult;
use crate::state::AppState;
use octo_core::model::*;
use octo_core::perm::{ChannelScope, Scope, SpaceScope, Subject};
use octo_core::*;
use octo_store::ResourceRef;
use std::collections::HashMap;

/// The org as loaded for one principal.
pub struct Snapshot {
    subject: Subject,
    /// A turn token's one channel.
    scope: Option<ChannelId>,
    pub spaces: Vec<Space>,
    pub channels: Vec<Channel>,
    space_roles: HashMap<SpaceId, Role>,
    memberships: HashMap<ChannelId, ChannelMember>,
    overrides: HashMap<(&'static str, String), Vec<Override>>,
}

/// A channel the principal can see, with its membership if it has one.
pub struct Visible {
    pub channel: Channel,
    pub membership: Option<ChannelMember>,
}

impl Snapshot {
    pub async fn load(state: &AppState, caller: &crate::caller::Caller) -> ApiResult<Snapshot> {
        let principal = &caller.principal;
        let store = &state.store;
        let org = &principal.org_id;
        let (spaces, space_roles, memberships, channels, overrides) = tokio::try_join!(
            store.list_spaces(org),
            store.space_roles_of(&principal.id),
            store.memberships_of(&principal.id),
            store.list_channels(org),
            store.list_overrides(org),
        )?;
        let mut by_resource: HashMap<(&'static str, String), Vec<Override>> = HashMap::new();
        for (resource, o) in overrides {
            by_resource
                .entry((resource.kind(), resource.id().to_owned()))
                .or_default()
                .push(o);
        }
        Ok(Snapshot {
            subject: Subject {
                id: principal.id.clone(),
                org_role: principal.role,
            },
            scope: caller.scope.clone(),
            spaces,
            channels,
            space_roles: space_roles.into_iter().collect(),
            memberships: memberships
                .into_iter()
                .map(|m| (m.channel_id.clone(), m))
                .collect(),
            overrides: by_resource,
        })
    }

    fn overrides_of(&self, resource: ResourceRef) -> Vec<Override> {
        self.overrides
            .get(&(resource.kind(), resource.id().to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    pub fn space_scope(&self, space: &Space) -> SpaceScope {
        SpaceScope {
            visibility: space.visibility,
            member_role: self.space_roles.get(&space.id).copied(),
            overrides: self.overrides_of(ResourceRef::Space(space.id.clone())),
        }
    }

    pub fn space_role(&self, space: &SpaceId) -> Option<Role> {
        self.space_roles.get(space).copied()
    }

    pub fn can_see_space(&self, space: &Space) -> bool {
        if self.scope.is_some() {
            return false;
        }
        authorize(
            &self.subject,
            Action::Read,
            &Scope::Space(self.space_scope(space)),
        )
        .is_allowed()
    }

    /// The scope `authorize` judges this channel in, or None if its space is gone.
    pub fn channel_scope(&self, channel: &Channel) -> Option<Scope> {
        let space = match &channel.space_id {
            Some(id) => Some(self.space_scope(self.spaces.iter().find(|s| &s.id == id)?)),
            None => None,
        };
        Some(Scope::Channel {
            space,
            category_overrides: channel
                .category_id
                .as_ref()
                .map(|c| self.overrides_of(ResourceRef::Category(c.clone())))
                .unwrap_or_default(),
            channel: ChannelScope {
                kind: channel.kind,
                private: channel.private,
                is_member: self.memberships.contains_key(&channel.id),
                overrides: self.overrides_of(ResourceRef::Channel(channel.id.clone())),
            },
        })
    }

    pub fn can_see_channel(&self, channel: &Channel) -> bool {
        if self.scope.as_ref().is_some_and(|s| s != &channel.id) {
            return false;
        }
        self.channel_scope(channel)
            .is_some_and(|scope| authorize(&self.subject, Action::Read, &scope).is_allowed())
    }

    /// Every channel the principal can see, in creation order.
    pub fn visible_channels(&self) -> Vec<Visible> {
        self.channels
            .iter()
            .filter(|c| self.can_see_channel(c))
            .map(|c| Visible {
                membership: self.memberships.get(&c.id).cloned(),
                channel: c.clone(),
            })
            .collect()
    }
}
