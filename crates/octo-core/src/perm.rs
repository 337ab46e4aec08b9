//! Who may do what, decided by one pure function.
//!
//! The rule (ARCHITECTURE.md has the full table):
//! 1. **Visibility.** A principal sees a space if it is open and the principal is
//!    an org member other than a guest, or if it is a member of the space. It sees
//!    a channel if it sees the channel's space and, for a private channel, DM or
//!    group DM, is a member of the channel; guests must be channel members
//!    everywhere. Anything unseen is [`Decision::Invisible`] (answered 404).
//! 2. **Role.** The role that applies inside a space is the org role for org
//!    owners and admins, else the space membership's role, else the org role.
//! 3. **Defaults.** Each role has a default allow/deny per action
//!    ([`Role::default_allows`]).
//! 4. **Overrides.** Walking space → category → channel, the nearest level with an
//!    override matching the action and the principal (by id or by role) decides;
//!    at one level a deny beats an allow. The org owner is never overridden, so an
//!    org can't lock itself out.
//! 5. A `read` that ends denied makes the resource invisible, not forbidden.

use crate::id::PrincipalId;
use crate::model::{ChannelKind, Visibility};
use serde::{Deserialize, Serialize};

/// A principal's role in an org (or, via a space membership, in a space).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
    Guest,
    Agent,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Member,
        Role::Guest,
        Role::Agent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Guest => "guest",
            Role::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Owners and admins administer the whole org.
    pub fn is_org_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// What this role may do before any override applies.
    pub fn default_allows(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Owner | Role::Admin => true,
            Role::Member => !matches!(
                action,
                ManageChannel | ManageAgents | ManageOrg | CreateSpace
            ),
            Role::Guest => matches!(action, Read | Post | React | Upload | CreateThread),
            Role::Agent => matches!(
                action,
                Read | Post | React | Upload | CreateThread | EditGroupmd
            ),
        }
    }
}

/// Something a principal may try to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See the resource and its history.
    Read,
    /// Send messages.
    Post,
    /// Add and remove reactions.
    React,
    /// Attach files.
    Upload,
    /// Use `@all` / `@agents`.
    MentionAll,
    /// Reply in a thread.
    CreateThread,
    /// Edit the channel's group.md.
    EditGroupmd,
    /// Create channels and categories in a space.
    CreateChannel,
    /// Add and remove members.
    ManageMembers,
    /// Rename, change topic, set overrides, delete others' messages.
    ManageChannel,
    /// Manage agents owned by others.
    ManageAgents,
    /// Create spaces (org level).
    CreateSpace,
    /// Create agents, which the creator then owns (org level).
    CreateAgent,
    /// Add humans, change org roles (org level).
    ManageOrg,
}

impl Action {
    pub const ALL: [Action; 14] = [
        Action::Read,
        Action::Post,
        Action::React,
        Action::Upload,
        Action::MentionAll,
        Action::CreateThread,
        Action::EditGroupmd,
        Action::CreateChannel,
        Action::ManageMembers,
        Action::ManageChannel,
        Action::ManageAgents,
        Action::CreateSpace,
        Action::CreateAgent,
        Action::ManageOrg,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Post => "post",
            Action::React => "react",
            Action::Upload => "upload",
            Action::MentionAll => "mention_all",
            Action::CreateThread => "create_thread",
            Action::EditGroupmd => "edit_groupmd",
            Action::CreateChannel => "create_channel",
            Action::ManageMembers => "manage_members",
            Action::ManageChannel => "manage_channel",
            Action::ManageAgents => "manage_agents",
            Action::CreateSpace => "create_space",
            Action::CreateAgent => "create_agent",
            Action::ManageOrg => "manage_org",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Allow,
    Deny,
}

/// Whom an override applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum OverrideTarget {
    Role(Role),
    Principal(PrincipalId),
}

/// One explicit allow or deny on a space, category or channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Override {
    pub target: OverrideTarget,
    pub action: Action,
    pub effect: Effect,
}

/// The principal asking.
#[derive(Debug, Clone)]
pub struct Subject {
    pub id: PrincipalId,
    pub org_role: Role,
}

/// The space a resource lives in, as seen by the subject.
#[derive(Debug, Clone)]
pub struct SpaceScope {
    pub visibility: Visibility,
    /// The subject's space membership role, if it is a member.
    pub member_role: Option<Role>,
    pub overrides: Vec<Override>,
}

/// The channel, as seen by the subject.
#[derive(Debug, Clone)]
pub struct ChannelScope {
    pub kind: ChannelKind,
    pub private: bool,
    pub is_member: bool,
    pub overrides: Vec<Override>,
}

/// Where an action is attempted: the org itself, a space, or a channel (with the
/// space and category above it; DMs have neither).
#[derive(Debug, Clone)]
pub enum Scope {
    Org,
    Space(SpaceScope),
    Category {
        space: SpaceScope,
        category_overrides: Vec<Override>,
    },
    Channel {
        space: Option<SpaceScope>,
        category_overrides: Vec<Override>,
        channel: ChannelScope,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Visible, but this action is not allowed (403).
    Forbidden,
    /// Not visible at all (404): the caller must not learn it exists.
    Invisible,
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }
}

fn space_visible(subject: &Subject, space: &SpaceScope) -> bool {
    space.member_role.is_some()
        || (space.visibility == Visibility::Open && subject.org_role != Role::Guest)
}

fn effective_role(subject: &Subject, space: Option<&SpaceScope>) -> Role {
    if subject.org_role.is_org_admin() {
        return subject.org_role;
    }
    space
        .and_then(|s| s.member_role)
        .unwrap_or(subject.org_role)
}

/// The decision of one level's overrides for this action, if they say anything.
fn level_decision(
    overrides: &[Override],
    subject: &Subject,
    role: Role,
    action: Action,
) -> Option<bool> {
    let mut allowed = None;
    for o in overrides.iter().filter(|o| o.action == action) {
        let matches = match &o.target {
            OverrideTarget::Role(r) => *r == role,
            OverrideTarget::Principal(p) => *p == subject.id,
        };
        if matches {
            match o.effect {
                Effect::Deny => return Some(false),
                Effect::Allow => allowed = Some(true),
            }
        }
    }
    allowed
}

fn capability(subject: &Subject, role: Role, action: Action, levels: &[&[Override]]) -> bool {
    if subject.org_role == Role::Owner {
        return true;
    }
    levels
        .iter()
        .rev()
        .find_map(|level| level_decision(level, subject, role, action))
        .unwrap_or_else(|| role.default_allows(action))
}

/// Decides whether `subject` may do `action` at `scope`. Pure: the caller loads
/// the scope; this function only applies the rule in the module docs.
pub fn authorize(subject: &Subject, action: Action, scope: &Scope) -> Decision {
    let (visible, role, levels): (bool, Role, Vec<&[Override]>) = match scope {
        Scope::Org => (true, subject.org_role, vec![]),
        Scope::Space(space) => (
            space_visible(subject, space),
            effective_role(subject, Some(space)),
            vec![&space.overrides],
        ),
        Scope::Category {
            space,
            category_overrides,
        } => (
            space_visible(subject, space),
            effective_role(subject, Some(space)),
            vec![&space.overrides, category_overrides],
        ),
        Scope::Channel {
            space,
            category_overrides,
            channel,
        } => {
            let space_ok = space.as_ref().is_none_or(|s| space_visible(subject, s));
            let needs_membership = channel.private
                || channel.kind != ChannelKind::Channel
                || subject.org_role == Role::Guest;
            let visible = space_ok && (channel.is_member || !needs_membership);
            let mut levels: Vec<&[Override]> = Vec::with_capacity(3);
            if let Some(s) = space {
                levels.push(&s.overrides);
            }
            levels.push(category_overrides);
            levels.push(&channel.overrides);
            (visible, effective_role(subject, space.as_ref()), levels)
        }
    };
    if !visible || !capability(subject, role, Action::Read, &levels) {
        return Decision::Invisible;
    }
    if capability(subject, role, action, &levels) {
        Decision::Allow
    } else {
        Decision::Forbidden
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(role: Role) -> Subject {
        Subject {
            id: PrincipalId::from_string(format!("p-{}", role.as_str())),
            org_role: role,
        }
    }

    fn open_space(member_role: Option<Role>, overrides: Vec<Override>) -> SpaceScope {
        SpaceScope {
            visibility: Visibility::Open,
            member_role,
            overrides,
        }
    }

    fn channel(private: bool, is_member: bool, overrides: Vec<Override>) -> ChannelScope {
        ChannelScope {
            kind: ChannelKind::Channel,
            private,
            is_member,
            overrides,
        }
    }

    fn deny(role: Role, action: Action) -> Override {
        Override {
            target: OverrideTarget::Role(role),
            action,
            effect: Effect::Deny,
        }
    }

    fn allow(role: Role, action: Action) -> Override {
        Override {
            target: OverrideTarget::Role(role),
            action,
            effect: Effect::Allow,
        }
    }

    /// Where in the tree the override of the matrix is placed.
    #[derive(Clone, Copy, Debug)]
    enum Level {
        None,
        Space,
        Category,
        Channel,
    }

    /// A public channel the subject is a member of, in an open space it joined.
    fn scope_with(role: Role, level: Level, o: Vec<Override>) -> Scope {
        let (s, c, ch) = match level {
            Level::None => (vec![], vec![], vec![]),
            Level::Space => (o, vec![], vec![]),
            Level::Category => (vec![], o, vec![]),
            Level::Channel => (vec![], vec![], o),
        };
        Scope::Channel {
            space: Some(open_space(Some(role), s)),
            category_overrides: c,
            channel: channel(false, true, ch),
        }
    }

    /// The documented matrix: role × level of a deny override × action.
    #[test]
    fn deny_override_matrix() {
        let actions = [
            Action::Read,
            Action::Post,
            Action::React,
            Action::ManageMembers,
            Action::ManageChannel,
            Action::EditGroupmd,
        ];
        for role in Role::ALL {
            for level in [Level::None, Level::Space, Level::Category, Level::Channel] {
                for action in actions {
                    let s = subject(role);
                    let overrides = vec![deny(role, action)];
                    let got = authorize(&s, action, &scope_with(role, level, overrides));
                    let expected = match level {
                        Level::None if role.default_allows(action) => Decision::Allow,
                        Level::None => Decision::Forbidden,
                        _ if role == Role::Owner => Decision::Allow,
                        _ if action == Action::Read => Decision::Invisible,
                        _ => Decision::Forbidden,
                    };
                    assert_eq!(got, expected, "{role:?} {level:?} {action:?}");
                }
            }
        }
    }

    #[test]
    fn nearest_level_wins_and_deny_beats_allow_at_one_level() {
        let s = subject(Role::Member);
        // Space denies posting, channel allows: the channel is nearer.
        let scope = Scope::Channel {
            space: Some(open_space(None, vec![deny(Role::Member, Action::Post)])),
            category_overrides: vec![],
            channel: channel(false, true, vec![allow(Role::Member, Action::Post)]),
        };
        assert_eq!(authorize(&s, Action::Post, &scope), Decision::Allow);
        // Same level: allow for the role, deny for the principal → deny.
        let scope = Scope::Channel {
            space: Some(open_space(None, vec![])),
            category_overrides: vec![],
            channel: channel(
                false,
                true,
                vec![
                    allow(Role::Member, Action::Post),
                    Override {
                        target: OverrideTarget::Principal(s.id.clone()),
                        action: Action::Post,
                        effect: Effect::Deny,
                    },
                ],
            ),
        };
        assert_eq!(authorize(&s, Action::Post, &scope), Decision::Forbidden);
    }

    #[test]
    fn allow_override_grants_what_the_role_lacks() {
        let s = subject(Role::Guest);
        let scope = Scope::Channel {
            space: Some(open_space(Some(Role::Guest), vec![])),
            category_overrides: vec![allow(Role::Guest, Action::EditGroupmd)],
            channel: channel(false, true, vec![]),
        };
        assert_eq!(authorize(&s, Action::EditGroupmd, &scope), Decision::Allow);
        assert_eq!(
            authorize(&s, Action::ManageChannel, &scope),
            Decision::Forbidden
        );
    }

    #[test]
    fn private_things_are_invisible_to_non_members() {
        for role in Role::ALL {
            let s = subject(role);
            let private_space = Scope::Space(SpaceScope {
                visibility: Visibility::Private,
                member_role: None,
                overrides: vec![],
            });
            assert_eq!(
                authorize(&s, Action::Read, &private_space),
                Decision::Invisible,
                "{role:?}"
            );
            let private_channel = Scope::Channel {
                space: Some(open_space(None, vec![])),
                category_overrides: vec![],
                channel: channel(true, false, vec![]),
            };
            assert_eq!(
                authorize(&s, Action::Read, &private_channel),
                Decision::Invisible,
                "{role:?}"
            );
            let dm = Scope::Channel {
                space: None,
                category_overrides: vec![],
                channel: ChannelScope {
                    kind: ChannelKind::Dm,
                    private: true,
                    is_member: false,
                    overrides: vec![],
                },
            };
            assert_eq!(
                authorize(&s, Action::Read, &dm),
                Decision::Invisible,
                "{role:?}"
            );
        }
    }

    #[test]
    fn guests_see_only_channels_they_are_in() {
        let s = subject(Role::Guest);
        let not_in = Scope::Channel {
            space: Some(open_space(Some(Role::Guest), vec![])),
            category_overrides: vec![],
            channel: channel(false, false, vec![]),
        };
        assert_eq!(authorize(&s, Action::Read, &not_in), Decision::Invisible);
        let open_space_not_member = Scope::Space(open_space(None, vec![]));
        assert_eq!(
            authorize(&s, Action::Read, &open_space_not_member),
            Decision::Invisible
        );
        // Members and agents see public channels of open spaces without joining.
        for role in [Role::Member, Role::Agent] {
            let scope = Scope::Channel {
                space: Some(open_space(None, vec![])),
                category_overrides: vec![],
                channel: channel(false, false, vec![]),
            };
            assert_eq!(
                authorize(&subject(role), Action::Read, &scope),
                Decision::Allow
            );
        }
    }

    #[test]
    fn space_role_raises_a_member_but_never_lowers_an_admin() {
        let member = subject(Role::Member);
        let scope = Scope::Space(open_space(Some(Role::Admin), vec![]));
        assert_eq!(
            authorize(&member, Action::ManageChannel, &scope),
            Decision::Allow
        );
        let admin = subject(Role::Admin);
        let scope = Scope::Space(open_space(Some(Role::Guest), vec![]));
        assert_eq!(
            authorize(&admin, Action::ManageChannel, &scope),
            Decision::Allow
        );
    }
}
