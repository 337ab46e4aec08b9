//! The [`Store`] trait, mapped onto pooled connections: writes run in one
//! transaction each (posts in one shared with the posts queued beside them,
//! see `post_batch`), answered after commit; reads run on a connection as
//! they are. The SQL lives in the area modules.

use crate::error::Error;
use crate::{
    PgStore, audit, channels, deliveries, events, files, groupmd, leases, members, messages, orgs,
    overrides, principals, proposals, reactions, search, secrets, spaces, streams, tokens,
    triggers, webhooks,
};
use async_trait::async_trait;
use octo_core::groupmd::{GroupmdMode, GroupmdProposal, ProposalStatus};
use octo_core::model::*;
use octo_core::trigger::Trigger;
use octo_core::*;
use octo_store::*;

/// Runs `$body` (with `$c` bound to a fresh transaction) and commits. On any
/// error the transaction is dropped, which rolls it back.
macro_rules! in_tx {
    ($self:ident, |$c:ident| $body:expr) => {{
        let mut client = $self.client().await?;
        let tx = client.transaction().await.map_err(Error::from)?;
        let out = {
            let $c = &tx;
            $body
        }
        .await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(out)
    }};
}

/// Runs `$body` (with `$c` bound to a pooled connection, autocommit).
macro_rules! on_conn {
    ($self:ident, |$c:ident| $body:expr) => {{
        let client = $self.client().await?;
        let $c = &client;
        Ok($body.await?)
    }};
}

#[async_trait]
impl Store for PgStore {
    async fn setup(&self, org: NewOrg, owner: NewPrincipal) -> Result<(Org, Principal)> {
        in_tx!(self, |c| orgs::setup(c, org, owner))
    }

    async fn is_set_up(&self) -> Result<bool> {
        on_conn!(self, |c| orgs::is_set_up(c))
    }

    async fn get_org(&self, id: &OrgId) -> Result<Option<Org>> {
        let id = id.clone();
        on_conn!(self, |c| orgs::get(c, &id))
    }

    async fn list_orgs(&self) -> Result<Vec<Org>> {
        on_conn!(self, |c| orgs::list(c))
    }

    async fn create_principal(&self, p: NewPrincipal) -> Result<Principal> {
        in_tx!(self, |c| principals::create(c, p))
    }

    async fn get_principal(&self, id: &PrincipalId) -> Result<Option<Principal>> {
        let id = id.clone();
        on_conn!(self, |c| principals::get(c, &id))
    }

    async fn find_login(&self, email: &str) -> Result<Option<(Principal, String)>> {
        let email = email.to_owned();
        on_conn!(self, |c| principals::find_login(c, &email))
    }

    async fn find_principals_by_names(
        &self,
        org: &OrgId,
        names: &[String],
    ) -> Result<Vec<Principal>> {
        let (org, names) = (org.clone(), names.to_vec());
        on_conn!(self, |c| principals::find_by_names(c, &org, &names))
    }

    async fn list_principals(&self, org: &OrgId) -> Result<Vec<Principal>> {
        let org = org.clone();
        on_conn!(self, |c| principals::list(c, &org))
    }

    async fn update_profile(&self, id: &PrincipalId, patch: ProfilePatch) -> Result<Principal> {
        let id = id.clone();
        in_tx!(self, |c| principals::update_profile(c, &id, patch))
    }

    async fn set_role(&self, id: &PrincipalId, role: Role) -> Result<Principal> {
        let id = id.clone();
        in_tx!(self, |c| principals::set_role(c, &id, role))
    }

    async fn create_token(&self, t: NewToken) -> Result<TokenInfo> {
        in_tx!(self, |c| tokens::create(c, t))
    }

    async fn find_token(&self, secret_hash: &[u8]) -> Result<Option<(TokenInfo, Principal)>> {
        let hash = secret_hash.to_vec();
        on_conn!(self, |c| tokens::find(c, &hash))
    }

    async fn list_tokens(&self, principal: &PrincipalId) -> Result<Vec<TokenInfo>> {
        let principal = principal.clone();
        on_conn!(self, |c| tokens::list(c, &principal))
    }

    async fn revoke_token(&self, principal: &PrincipalId, token: &TokenId) -> Result<bool> {
        let (principal, token) = (principal.clone(), token.clone());
        in_tx!(self, |c| tokens::revoke(c, &principal, &token))
    }

    async fn touch_token(&self, token: &TokenId, at: Timestamp) -> Result<()> {
        let token = token.clone();
        in_tx!(self, |c| tokens::touch(c, &token, at))
    }

    async fn create_space(&self, s: NewSpace) -> Result<Space> {
        in_tx!(self, |c| spaces::create(c, s))
    }

    async fn get_space(&self, id: &SpaceId) -> Result<Option<Space>> {
        let id = id.clone();
        on_conn!(self, |c| spaces::get(c, &id))
    }

    async fn list_spaces(&self, org: &OrgId) -> Result<Vec<Space>> {
        let org = org.clone();
        on_conn!(self, |c| spaces::list(c, &org))
    }

    async fn put_space_member(
        &self,
        space: &SpaceId,
        principal: &PrincipalId,
        role: Role,
    ) -> Result<SpaceMember> {
        let (space, principal) = (space.clone(), principal.clone());
        in_tx!(self, |c| spaces::put_member(c, &space, &principal, role))
    }

    async fn remove_space_member(&self, space: &SpaceId, principal: &PrincipalId) -> Result<bool> {
        let (space, principal) = (space.clone(), principal.clone());
        in_tx!(self, |c| spaces::remove_member(c, &space, &principal))
    }

    async fn space_member_role(
        &self,
        space: &SpaceId,
        principal: &PrincipalId,
    ) -> Result<Option<Role>> {
        let (space, principal) = (space.clone(), principal.clone());
        on_conn!(self, |c| spaces::member_role(c, &space, &principal))
    }

    async fn space_roles_of(&self, principal: &PrincipalId) -> Result<Vec<(SpaceId, Role)>> {
        let principal = principal.clone();
        on_conn!(self, |c| spaces::roles_of(c, &principal))
    }

    async fn list_space_members(&self, space: &SpaceId) -> Result<Vec<SpaceMember>> {
        let space = space.clone();
        on_conn!(self, |c| spaces::list_members(c, &space))
    }

    async fn create_category(&self, cat: NewCategory) -> Result<Category> {
        in_tx!(self, |c| spaces::create_category(c, cat))
    }

    async fn get_category(&self, id: &CategoryId) -> Result<Option<Category>> {
        let id = id.clone();
        on_conn!(self, |c| spaces::get_category(c, &id))
    }

    async fn list_categories(&self, space: &SpaceId) -> Result<Vec<Category>> {
        let space = space.clone();
        on_conn!(self, |c| spaces::list_categories(c, &space))
    }

    async fn put_groupmd(&self, r: NewGroupmdRevision) -> Result<(GroupmdRevision, Event)> {
        in_tx!(self, |c| groupmd::put(c, r))
    }

    async fn groupmd_revision(
        &self,
        scope: &GroupmdScope,
        revision: Option<u64>,
    ) -> Result<Option<GroupmdRevision>> {
        let scope = scope.clone();
        on_conn!(self, |c| groupmd::get(c, &scope, revision))
    }

    async fn groupmd_revisions(&self, scope: &GroupmdScope) -> Result<Vec<GroupmdRevision>> {
        let scope = scope.clone();
        on_conn!(self, |c| groupmd::list(c, &scope))
    }

    async fn groupmd_mode(&self, channel: &ChannelId) -> Result<GroupmdMode> {
        let channel = channel.clone();
        on_conn!(self, |c| proposals::mode(c, &channel))
    }

    async fn set_groupmd_mode(
        &self,
        channel: &ChannelId,
        mode: GroupmdMode,
        actor: &PrincipalId,
    ) -> Result<()> {
        let (channel, actor) = (channel.clone(), actor.clone());
        in_tx!(self, |c| proposals::set_mode(c, &channel, mode, &actor))
    }

    async fn propose_groupmd(&self, p: NewGroupmdProposal) -> Result<Proposed> {
        in_tx!(self, |c| proposals::propose(c, p))
    }

    async fn groupmd_proposal(&self, id: &ProposalId) -> Result<Option<GroupmdProposal>> {
        let id = id.clone();
        on_conn!(self, |c| proposals::get(c, &id))
    }

    async fn groupmd_proposals(
        &self,
        scope: &GroupmdScope,
        status: Option<ProposalStatus>,
        limit: u32,
    ) -> Result<Vec<GroupmdProposal>> {
        let scope = scope.clone();
        on_conn!(self, |c| proposals::list(c, &scope, status, limit))
    }

    async fn resolve_groupmd_proposal(&self, r: ProposalResolution) -> Result<Resolved> {
        in_tx!(self, |c| proposals::resolve(c, r))
    }

    async fn create_channel(&self, ch: NewChannel) -> Result<Created<Channel>> {
        in_tx!(self, |c| channels::create(c, ch))
    }

    async fn get_channel(&self, id: &ChannelId) -> Result<Option<Channel>> {
        let id = id.clone();
        on_conn!(self, |c| channels::get(c, &id))
    }

    async fn list_channels(&self, org: &OrgId) -> Result<Vec<Channel>> {
        let org = org.clone();
        on_conn!(self, |c| channels::list(c, &org))
    }

    async fn update_channel(
        &self,
        id: &ChannelId,
        actor: &PrincipalId,
        patch: ChannelPatch,
    ) -> Result<(Channel, Event)> {
        let (id, actor) = (id.clone(), actor.clone());
        in_tx!(self, |c| channels::update(c, &id, &actor, patch))
    }

    async fn add_channel_member(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
        trigger: TriggerPolicy,
        actor: &PrincipalId,
    ) -> Result<(ChannelMember, Option<Event>)> {
        let (channel, principal, actor) = (channel.clone(), principal.clone(), actor.clone());
        in_tx!(self, |c| members::add(
            c, &channel, &principal, trigger, &actor
        ))
    }

    async fn remove_channel_member(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
        actor: &PrincipalId,
    ) -> Result<Option<Event>> {
        let (channel, principal, actor) = (channel.clone(), principal.clone(), actor.clone());
        in_tx!(self, |c| members::remove(c, &channel, &principal, &actor))
    }

    async fn channel_member(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
    ) -> Result<Option<ChannelMember>> {
        let (channel, principal) = (channel.clone(), principal.clone());
        on_conn!(self, |c| members::get(c, &channel, &principal))
    }

    async fn list_channel_members(&self, channel: &ChannelId) -> Result<Vec<ChannelMember>> {
        let channel = channel.clone();
        on_conn!(self, |c| members::list(c, &channel))
    }

    async fn memberships_of(&self, principal: &PrincipalId) -> Result<Vec<ChannelMember>> {
        let principal = principal.clone();
        on_conn!(self, |c| members::memberships_of(c, &principal))
    }

    async fn ack_cursor(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
        seq: u64,
    ) -> Result<u64> {
        let (channel, principal) = (channel.clone(), principal.clone());
        in_tx!(self, |c| members::ack_cursor(c, &channel, &principal, seq))
    }

    async fn set_cursor(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
        seq: u64,
    ) -> Result<u64> {
        let (channel, principal) = (channel.clone(), principal.clone());
        in_tx!(self, |c| members::set_cursor(c, &channel, &principal, seq))
    }

    async fn set_overrides(&self, resource: &ResourceRef, list: Vec<Override>) -> Result<()> {
        let resource = resource.clone();
        in_tx!(self, |c| overrides::set(c, &resource, list))
    }

    async fn get_overrides(&self, resource: &ResourceRef) -> Result<Vec<Override>> {
        let resource = resource.clone();
        on_conn!(self, |c| overrides::get(c, &resource))
    }

    async fn list_overrides(&self, org: &OrgId) -> Result<Vec<(ResourceRef, Override)>> {
        let org = org.clone();
        on_conn!(self, |c| overrides::list_in_org(c, &org))
    }

    async fn post_message(&self, m: NewMessage) -> Result<Posted> {
        self.posts.post(m).await
    }

    /// True: a post is queued for its group commit in its first poll, and
    /// the node's batches commit one after another, each in queue order (see
    /// `post_batch`).
    fn posts_commit_in_call_order(&self) -> bool {
        true
    }

    async fn get_message(&self, id: &MessageId) -> Result<Option<Message>> {
        let id = id.clone();
        on_conn!(self, |c| messages::get(c, &id))
    }

    async fn edit_message(
        &self,
        id: &MessageId,
        actor: &PrincipalId,
        edit: MessageEdit,
    ) -> Result<(Message, Event)> {
        let (id, actor) = (id.clone(), actor.clone());
        in_tx!(self, |c| messages::edit(c, &id, &actor, edit))
    }

    async fn delete_message(
        &self,
        id: &MessageId,
        actor: &PrincipalId,
    ) -> Result<(Message, Event)> {
        let (id, actor) = (id.clone(), actor.clone());
        in_tx!(self, |c| messages::delete(c, &id, &actor))
    }

    async fn add_reaction(
        &self,
        id: &MessageId,
        principal: &PrincipalId,
        emoji: &str,
    ) -> Result<Option<Event>> {
        let (id, principal, emoji) = (id.clone(), principal.clone(), emoji.to_owned());
        in_tx!(self, |c| reactions::add(c, &id, &principal, &emoji))
    }

    async fn remove_reaction(
        &self,
        id: &MessageId,
        principal: &PrincipalId,
        emoji: &str,
    ) -> Result<Option<Event>> {
        let (id, principal, emoji) = (id.clone(), principal.clone(), emoji.to_owned());
        in_tx!(self, |c| reactions::remove(c, &id, &principal, &emoji))
    }

    async fn append_delta(
        &self,
        id: &MessageId,
        actor: &PrincipalId,
        delta: &str,
    ) -> Result<(Message, Event)> {
        let (id, actor, delta) = (id.clone(), actor.clone(), delta.to_owned());
        in_tx!(self, |c| streams::append_delta(c, &id, &actor, &delta))
    }

    async fn finish_stream(
        &self,
        id: &MessageId,
        actor: &PrincipalId,
        text: Option<String>,
        status: StreamStatus,
    ) -> Result<(Message, Event)> {
        let (id, actor) = (id.clone(), actor.clone());
        in_tx!(self, |c| streams::finish(c, &id, &actor, text, status))
    }

    async fn idle_streams(&self, before: Timestamp, limit: u32) -> Result<Vec<Message>> {
        on_conn!(self, |c| streams::idle(c, before, limit))
    }

    async fn append_note(
        &self,
        channel: &ChannelId,
        kind: EventKind,
        actor: &PrincipalId,
        payload: serde_json::Value,
    ) -> Result<Event> {
        let (channel, actor) = (channel.clone(), actor.clone());
        in_tx!(self, |c| events::append(c, &channel, kind, &actor, payload))
    }

    async fn took_part_in_thread(
        &self,
        principal: &PrincipalId,
        thread: &MessageId,
    ) -> Result<bool> {
        let (principal, thread) = (principal.clone(), thread.clone());
        on_conn!(self, |c| messages::took_part_in_thread(
            c, &principal, &thread
        ))
    }

    async fn record_triggers(&self, list: Vec<Trigger>) -> Result<()> {
        if list.is_empty() {
            return Ok(());
        }
        in_tx!(self, |c| triggers::record(c, list))
    }

    async fn list_triggers(
        &self,
        agent: &PrincipalId,
        channel: &ChannelId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<(Trigger, Event)>> {
        let (agent, channel) = (agent.clone(), channel.clone());
        on_conn!(self, |c| triggers::list(c, &agent, &channel, after, limit))
    }

    async fn set_webhook(&self, agent: &PrincipalId, webhook: Option<Webhook>) -> Result<()> {
        let agent = agent.clone();
        in_tx!(self, |c| webhooks::set(c, &agent, webhook))
    }

    async fn get_webhook(&self, agent: &PrincipalId) -> Result<Option<Webhook>> {
        let agent = agent.clone();
        on_conn!(self, |c| webhooks::get(c, &agent))
    }

    async fn enqueue_deliveries(&self, list: Vec<NewDelivery>) -> Result<()> {
        if list.is_empty() {
            return Ok(());
        }
        in_tx!(self, |c| deliveries::enqueue(c, list))
    }

    async fn due_deliveries(&self, now: Timestamp, limit: u32) -> Result<Vec<Delivery>> {
        on_conn!(self, |c| deliveries::due(c, now, limit))
    }

    async fn record_attempt(&self, id: &str, attempt: Attempt) -> Result<Delivery> {
        let id = id.to_owned();
        in_tx!(self, |c| deliveries::record_attempt(c, &id, attempt))
    }

    async fn list_deliveries(
        &self,
        agent: &PrincipalId,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        let agent = agent.clone();
        on_conn!(self, |c| deliveries::list(c, &agent, status, limit))
    }

    async fn replay_delivery(&self, agent: &PrincipalId, id: &str) -> Result<Delivery> {
        let (agent, id) = (agent.clone(), id.to_owned());
        in_tx!(self, |c| deliveries::replay(c, &agent, &id))
    }

    async fn search(&self, request: SearchRequest) -> Result<Vec<SearchHit>> {
        if request.channels.is_empty() {
            return Ok(Vec::new());
        }
        on_conn!(self, |c| search::search(c, request))
    }

    async fn create_file(&self, file: Attachment) -> Result<Attachment> {
        in_tx!(self, |c| files::create(c, file))
    }

    async fn get_file(&self, id: &str) -> Result<Option<Attachment>> {
        let id = id.to_owned();
        on_conn!(self, |c| files::get(c, &id))
    }

    async fn list_files(&self, channel: &ChannelId, limit: u32) -> Result<Vec<Attachment>> {
        let channel = channel.clone();
        on_conn!(self, |c| files::list(c, &channel, limit))
    }

    async fn delete_files_of(&self, message: &MessageId) -> Result<Vec<Attachment>> {
        let message = message.clone();
        in_tx!(self, |c| files::delete_of(c, &message))
    }

    async fn append_audit(&self, entry: AuditEntry) -> Result<()> {
        in_tx!(self, |c| audit::append(c, entry))
    }

    async fn list_audit(&self, org: &OrgId, filter: AuditFilter) -> Result<Vec<AuditEntry>> {
        let org = org.clone();
        on_conn!(self, |c| audit::list(c, &org, filter))
    }

    async fn claim_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<bool> {
        on_conn!(self, |c| leases::claim(c, name, holder, ttl))
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        on_conn!(self, |c| leases::release(c, name, holder))
    }

    async fn deployment_secret(&self) -> Result<Vec<u8>> {
        // Nearly always there already; only the first call writes.
        let found = secrets::get(&self.client().await?).await?;
        if let Some(secret) = found {
            return Ok(secret);
        }
        in_tx!(self, |c| secrets::get_or_create(c))
    }

    async fn list_messages(&self, channel: &ChannelId, page: MessagePage) -> Result<Vec<Message>> {
        let channel = channel.clone();
        on_conn!(self, |c| messages::list(c, &channel, page))
    }

    async fn list_threads(&self, channel: &ChannelId, limit: u32) -> Result<Vec<Message>> {
        let channel = channel.clone();
        on_conn!(self, |c| messages::list_threads(c, &channel, limit))
    }

    async fn list_events(&self, channel: &ChannelId, after: u64, limit: u32) -> Result<Vec<Event>> {
        let channel = channel.clone();
        on_conn!(self, |c| events::list(c, &channel, after, limit))
    }

    async fn close(&self) {
        PgStore::close(self);
        self.posts.stopped().await;
    }
}
