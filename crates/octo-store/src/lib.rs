//! The storage boundary of Octo.
//!
//! [`Store`] is everything the server asks of a database. Each backend lives in
//! its own crate (`octo-store-sqlite`, later `octo-store-postgres`) and must pass
//! the one [`conformance`] suite, so the server never needs to know which it has.
//!
//! Every write that changes a channel appends an [`Event`] with the channel's
//! next gapless `seq` **in the same transaction** as the read-model change, and
//! returns it only after commit: the caller may publish what it gets back.
#![forbid(unsafe_code)]

#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
mod proposals;
mod records;

pub use error::StoreError;
pub use proposals::*;
pub use records::*;

use async_trait::async_trait;
use octo_core::model::*;
use octo_core::trigger::Trigger;
use octo_core::*;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- first run -------------------------------------------------------

    /// Creates the org and its owner in one transaction. Fails with
    /// [`StoreError::AlreadySetUp`] once any org exists, even under a race.
    async fn setup(&self, org: NewOrg, owner: NewPrincipal) -> Result<(Org, Principal)>;
    async fn is_set_up(&self) -> Result<bool>;
    async fn get_org(&self, id: &OrgId) -> Result<Option<Org>>;
    /// Every org, oldest first (built-in agents run once per org).
    async fn list_orgs(&self) -> Result<Vec<Org>>;

    // ---- principals --------------------------------------------------------

    /// Fails with [`StoreError::Conflict`] if the handle (ignoring case) or the
    /// email is taken in the org.
    async fn create_principal(&self, p: NewPrincipal) -> Result<Principal>;
    async fn get_principal(&self, id: &PrincipalId) -> Result<Option<Principal>>;
    /// The principal and its password hash, for login. Email is matched exactly
    /// (callers pass the parsed, lower-cased form).
    async fn find_login(&self, email: &str) -> Result<Option<(Principal, String)>>;
    /// Principals of the org whose handles match `names` (compared lower-cased).
    async fn find_principals_by_names(
        &self,
        org: &OrgId,
        names: &[String],
    ) -> Result<Vec<Principal>>;
    async fn list_principals(&self, org: &OrgId) -> Result<Vec<Principal>>;
    async fn update_profile(&self, id: &PrincipalId, patch: ProfilePatch) -> Result<Principal>;
    /// Changes a principal's org role. NotFound if missing.
    async fn set_role(&self, id: &PrincipalId, role: Role) -> Result<Principal>;

    // ---- tokens ------------------------------------------------------------

    async fn create_token(&self, t: NewToken) -> Result<TokenInfo>;
    /// Looks a token up by the SHA-256 of its secret. Revoked and expired tokens
    /// are returned too; the caller decides (and says why).
    async fn find_token(&self, secret_hash: &[u8]) -> Result<Option<(TokenInfo, Principal)>>;
    async fn list_tokens(&self, principal: &PrincipalId) -> Result<Vec<TokenInfo>>;
    /// Returns false when the principal has no such (unrevoked) token.
    async fn revoke_token(&self, principal: &PrincipalId, token: &TokenId) -> Result<bool>;
    async fn touch_token(&self, token: &TokenId, at: Timestamp) -> Result<()>;

    // ---- spaces and categories -------------------------------------------

    /// Creates the space and makes its creator a member with `creator_role`.
    /// Conflict if the org has a space of that name (ignoring case).
    async fn create_space(&self, s: NewSpace) -> Result<Space>;
    async fn get_space(&self, id: &SpaceId) -> Result<Option<Space>>;
    async fn list_spaces(&self, org: &OrgId) -> Result<Vec<Space>>;
    /// Adds or updates a space membership.
    async fn put_space_member(
        &self,
        space: &SpaceId,
        principal: &PrincipalId,
        role: Role,
    ) -> Result<SpaceMember>;
    async fn remove_space_member(&self, space: &SpaceId, principal: &PrincipalId) -> Result<bool>;
    async fn space_member_role(
        &self,
        space: &SpaceId,
        principal: &PrincipalId,
    ) -> Result<Option<Role>>;
    /// The spaces `principal` is a member of, with its role in each.
    async fn space_roles_of(&self, principal: &PrincipalId) -> Result<Vec<(SpaceId, Role)>>;
    async fn list_space_members(&self, space: &SpaceId) -> Result<Vec<SpaceMember>>;

    /// Conflict if the space has a category of that name (ignoring case).
    async fn create_category(&self, c: NewCategory) -> Result<Category>;
    async fn get_category(&self, id: &CategoryId) -> Result<Option<Category>>;
    async fn list_categories(&self, space: &SpaceId) -> Result<Vec<Category>>;

    // ---- group.md ----------------------------------------------------------

    /// Stores the next revision of a channel's or thread's group.md and appends
    /// `groupmd.updated` to the channel's log, in one transaction. Conflict when
    /// `base_revision` is not the latest (0 while none is stored): the caller
    /// reads the current one and tells the writer. NotFound if the channel (or
    /// the thread's root, in that channel) does not exist.
    async fn put_groupmd(&self, r: NewGroupmdRevision) -> Result<(GroupmdRevision, Event)>;
    /// One revision, or the latest with `revision = None`; `None` when there is
    /// no such revision (a scope with none stored is at revision 0, the template).
    async fn groupmd_revision(
        &self,
        scope: &GroupmdScope,
        revision: Option<u64>,
    ) -> Result<Option<GroupmdRevision>>;
    /// Every stored revision of the scope, oldest first.
    async fn groupmd_revisions(&self, scope: &GroupmdScope) -> Result<Vec<GroupmdRevision>>;

    // ---- group.md review mode ----------------------------------------------

    /// The channel's mode; `auto` unless set. NotFound if no such channel.
    async fn groupmd_mode(&self, channel: &ChannelId) -> Result<octo_core::groupmd::GroupmdMode>;
    /// Sets the channel's mode. NotFound if no such channel.
    async fn set_groupmd_mode(
        &self,
        channel: &ChannelId,
        mode: octo_core::groupmd::GroupmdMode,
        actor: &PrincipalId,
    ) -> Result<()>;
    /// Records a pending proposal and appends `groupmd.proposed`, in one
    /// transaction. The author's older pending proposals in the same scope are
    /// superseded (each with `groupmd.proposal_resolved`); if one of them has
    /// the very same text it is returned instead and nothing changes. NotFound
    /// if the channel (or the thread's root, in that channel) does not exist.
    async fn propose_groupmd(&self, p: NewGroupmdProposal) -> Result<Proposed>;
    async fn groupmd_proposal(
        &self,
        id: &ProposalId,
    ) -> Result<Option<octo_core::groupmd::GroupmdProposal>>;
    /// A scope's proposals, newest first, optionally of one status.
    async fn groupmd_proposals(
        &self,
        scope: &GroupmdScope,
        status: Option<octo_core::groupmd::ProposalStatus>,
        limit: u32,
    ) -> Result<Vec<octo_core::groupmd::GroupmdProposal>>;
    /// Accepts (storing the given revision, compare-and-swap as in
    /// [`Store::put_groupmd`]) or rejects a pending proposal, appending the
    /// events in the same transaction. NotFound if there is no such proposal;
    /// Conflict if it is no longer pending or the revision's base is stale.
    async fn resolve_groupmd_proposal(&self, r: ProposalResolution) -> Result<Resolved>;

    // ---- channels ----------------------------------------------------------

    /// Creates a channel with its first members (each gets a `member.joined`
    /// event, so a new channel's log starts at seq 1 with them). Conflict if the
    /// space has a channel of that name. For DMs (`dm_key` set) an existing
    /// channel with the same key is returned instead, with `created = false`.
    async fn create_channel(&self, c: NewChannel) -> Result<Created<Channel>>;
    async fn get_channel(&self, id: &ChannelId) -> Result<Option<Channel>>;
    /// Every channel of the org, DMs included, in creation order.
    async fn list_channels(&self, org: &OrgId) -> Result<Vec<Channel>>;
    /// Changes name and/or topic; appends `channel.updated`.
    async fn update_channel(
        &self,
        id: &ChannelId,
        actor: &PrincipalId,
        patch: ChannelPatch,
    ) -> Result<(Channel, Event)>;

    /// Adds a member (appending `member.joined`), or updates the trigger policy of
    /// an existing one (no event).
    async fn add_channel_member(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
        trigger: TriggerPolicy,
        actor: &PrincipalId,
    ) -> Result<(ChannelMember, Option<Event>)>;
    /// Removes a member, appending `member.left`; `None` if it was not a member.
    async fn remove_channel_member(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
        actor: &PrincipalId,
    ) -> Result<Option<Event>>;
    async fn channel_member(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
    ) -> Result<Option<ChannelMember>>;
    async fn list_channel_members(&self, channel: &ChannelId) -> Result<Vec<ChannelMember>>;
    /// Every channel membership of `principal` (with its cursors).
    async fn memberships_of(&self, principal: &PrincipalId) -> Result<Vec<ChannelMember>>;
    /// Moves the member's read cursor (backwards too: "mark unread"), clamped to
    /// the channel's last seq. Returns the stored value; NotFound if not a member.
    async fn set_cursor(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
        seq: u64,
    ) -> Result<u64>;
    /// Moves the member's delivery cursor forward to `seq` (clamped to the
    /// channel's last seq; never backwards). Returns the stored value; NotFound
    /// if not a member.
    async fn ack_cursor(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
        seq: u64,
    ) -> Result<u64>;

    // ---- overrides -----------------------------------------------------------

    /// Replaces every override on the resource.
    async fn set_overrides(&self, resource: &ResourceRef, overrides: Vec<Override>) -> Result<()>;
    async fn get_overrides(&self, resource: &ResourceRef) -> Result<Vec<Override>>;
    /// Every override on any space, category or channel of the org, so that a
    /// principal's whole view can be judged with one query.
    async fn list_overrides(&self, org: &OrgId) -> Result<Vec<(ResourceRef, Override)>>;

    // ---- messages and the log -------------------------------------------------

    /// Appends a message. If the author already sent one with the same
    /// `client_msg_id`, returns that message and no event (an idempotent retry).
    /// Attachments must be files the author uploaded into this channel that no
    /// message has yet (else Conflict); they become the message's.
    /// `hop` is computed here, inside the transaction, from the previous message
    /// of the same thread (or top level): see [`next_hop`].
    async fn post_message(&self, m: NewMessage) -> Result<Posted>;
    /// Whether concurrent [`Store::post_message`] calls are committed in the
    /// order of their futures' first polls: each queues its write when first
    /// polled, and queued writes commit in queue order. When true a caller
    /// may keep several posts in flight and still get a channel's seqs in the
    /// order it started them; when false (the default) it must wait for one
    /// to commit before starting the next to keep that order.
    fn posts_commit_in_call_order(&self) -> bool {
        false
    }
    async fn get_message(&self, id: &MessageId) -> Result<Option<Message>>;
    async fn edit_message(
        &self,
        id: &MessageId,
        actor: &PrincipalId,
        edit: MessageEdit,
    ) -> Result<(Message, Event)>;
    /// Tombstones the message (text and data cleared, reactions dropped);
    /// NotFound if already deleted.
    async fn delete_message(&self, id: &MessageId, actor: &PrincipalId)
    -> Result<(Message, Event)>;
    /// `None` if the principal had already reacted with that emoji.
    async fn add_reaction(
        &self,
        id: &MessageId,
        principal: &PrincipalId,
        emoji: &str,
    ) -> Result<Option<Event>>;
    /// `None` if there was no such reaction.
    async fn remove_reaction(
        &self,
        id: &MessageId,
        principal: &PrincipalId,
        emoji: &str,
    ) -> Result<Option<Event>>;
    /// Appends text to an open stream (author's own message); appends
    /// `message.delta`. Conflict if the message is not an open stream.
    async fn append_delta(
        &self,
        id: &MessageId,
        actor: &PrincipalId,
        delta: &str,
    ) -> Result<(Message, Event)>;
    /// Closes an open stream as `status` (finished or interrupted), optionally
    /// replacing its text; appends `message.finished`. Conflict if not open.
    async fn finish_stream(
        &self,
        id: &MessageId,
        actor: &PrincipalId,
        text: Option<String>,
        status: StreamStatus,
    ) -> Result<(Message, Event)>;
    /// Open streams with no delta since `before`, oldest first.
    async fn idle_streams(&self, before: Timestamp, limit: u32) -> Result<Vec<Message>>;
    /// Appends an event that changes no read model (an agent's status, a loop
    /// guard note).
    async fn append_note(
        &self,
        channel: &ChannelId,
        kind: EventKind,
        actor: &PrincipalId,
        payload: serde_json::Value,
    ) -> Result<Event>;
    /// Whether `principal` wrote the thread's root or a reply in it.
    async fn took_part_in_thread(
        &self,
        principal: &PrincipalId,
        thread: &MessageId,
    ) -> Result<bool>;

    /// Records agents woken by events (idempotent per agent and event seq).
    async fn record_triggers(&self, triggers: Vec<Trigger>) -> Result<()>;
    /// An agent's triggers in a channel with `seq > after`, with their events,
    /// oldest first.
    async fn list_triggers(
        &self,
        agent: &PrincipalId,
        channel: &ChannelId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<(Trigger, Event)>>;

    /// Sets (or with None removes) an agent's webhook.
    async fn set_webhook(&self, agent: &PrincipalId, webhook: Option<Webhook>) -> Result<()>;
    async fn get_webhook(&self, agent: &PrincipalId) -> Result<Option<Webhook>>;
    /// Adds deliveries to the outbox, due now; one per (agent, event_id) — a
    /// second enqueue of the same is ignored.
    async fn enqueue_deliveries(&self, deliveries: Vec<NewDelivery>) -> Result<()>;
    /// Pending deliveries due at `now`, oldest first.
    async fn due_deliveries(&self, now: Timestamp, limit: u32) -> Result<Vec<Delivery>>;
    /// Records an attempt (and counts it). NotFound if no such delivery.
    async fn record_attempt(&self, id: &str, attempt: Attempt) -> Result<Delivery>;
    /// An agent's deliveries, newest first, optionally of one status.
    async fn list_deliveries(
        &self,
        agent: &PrincipalId,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>>;
    /// Makes one of the agent's dead (or delivered) deliveries pending again,
    /// due now, with its attempts reset. NotFound if it isn't the agent's.
    async fn replay_delivery(&self, agent: &PrincipalId, id: &str) -> Result<Delivery>;

    // ---- search, files, audit ---------------------------------------------

    /// Messages matching every term, in the request's channels only; deleted
    /// messages never match. Best matches first.
    async fn search(&self, request: SearchRequest) -> Result<Vec<SearchHit>>;

    /// Records an uploaded file (its bytes are already in the object store).
    async fn create_file(&self, file: Attachment) -> Result<Attachment>;
    async fn get_file(&self, id: &str) -> Result<Option<Attachment>>;
    /// A channel's files, newest first (files of deleted messages are gone).
    async fn list_files(&self, channel: &ChannelId, limit: u32) -> Result<Vec<Attachment>>;
    /// Forgets the files of a deleted message; returns them so their bytes can
    /// be removed too.
    async fn delete_files_of(&self, message: &MessageId) -> Result<Vec<Attachment>>;

    async fn append_audit(&self, entry: AuditEntry) -> Result<()>;
    /// An org's audit entries, newest first.
    async fn list_audit(&self, org: &OrgId, filter: AuditFilter) -> Result<Vec<AuditEntry>>;

    // ---- leases: work done once per cluster ------------------------------

    /// Claims the lease `name` for `holder` for `ttl` from now, if it is free,
    /// expired, or already `holder`'s (then this renews it). Returns whether
    /// `holder` holds it now. Whoever holds a lease does its work (the
    /// webhook sender, …); a dead holder's lease expires and another takes
    /// over. Expiry is judged by the database's clock where there is one.
    async fn claim_lease(&self, name: &str, holder: &str, ttl: std::time::Duration)
    -> Result<bool>;
    /// Gives the lease up if `holder` holds it (a clean shutdown hands the
    /// work over at once instead of after the ttl).
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()>;

    /// A random secret of this deployment (created on first use, then stable),
    /// shared by every node: it signs short-lived turn tokens.
    async fn deployment_secret(&self) -> Result<Vec<u8>>;

    /// Messages in seq order (oldest first) within the page's bounds.
    async fn list_messages(&self, channel: &ChannelId, page: MessagePage) -> Result<Vec<Message>>;
    /// Thread roots with at least one reply, most recently active first.
    async fn list_threads(&self, channel: &ChannelId, limit: u32) -> Result<Vec<Message>>;
    /// Raw log entries with `seq > after`, oldest first.
    async fn list_events(&self, channel: &ChannelId, after: u64, limit: u32) -> Result<Vec<Event>>;

    /// Finishes every write already accepted and refuses new ones (graceful
    /// shutdown). Backends with nothing to drain keep the default.
    async fn close(&self) {}
}
