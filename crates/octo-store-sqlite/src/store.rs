//! The [`Store`] trait, mapped onto writer jobs and pooled reads. Each method
//! only moves its arguments into a closure; the SQL lives in the area modules.

use crate::{
    SqliteStore, audit, channels, deliveries, events, files, groupmd, leases, members, messages,
    orgs, overrides, principals, proposals, reactions, search, secrets, spaces, streams, tokens,
    triggers, webhooks,
};
use async_trait::async_trait;
use octo_core::groupmd::{GroupmdMode, GroupmdProposal, ProposalStatus};
use octo_core::model::*;
use octo_core::trigger::Trigger;
use octo_core::*;
use octo_store::*;

#[async_trait]
impl Store for SqliteStore {
    async fn setup(&self, org: NewOrg, owner: NewPrincipal) -> Result<(Org, Principal)> {
        self.write(move |c| orgs::setup(c, org, owner)).await
    }

    async fn is_set_up(&self) -> Result<bool> {
        self.read(orgs::is_set_up).await
    }

    async fn get_org(&self, id: &OrgId) -> Result<Option<Org>> {
        let id = id.clone();
        self.read(move |c| orgs::get(c, &id)).await
    }

    async fn list_orgs(&self) -> Result<Vec<Org>> {
        self.read(orgs::list).await
    }

    async fn create_principal(&self, p: NewPrincipal) -> Result<Principal> {
        self.write(move |c| principals::create(c, p)).await
    }

    async fn get_principal(&self, id: &PrincipalId) -> Result<Option<Principal>> {
        let id = id.clone();
        self.read(move |c| principals::get(c, &id)).await
    }

    async fn find_login(&self, email: &str) -> Result<Option<(Principal, String)>> {
        let email = email.to_owned();
        self.read(move |c| principals::find_login(c, &email)).await
    }

    async fn find_principals_by_names(
        &self,
        org: &OrgId,
        names: &[String],
    ) -> Result<Vec<Principal>> {
        let (org, names) = (org.clone(), names.to_vec());
        self.read(move |c| principals::find_by_names(c, &org, &names))
            .await
    }

    async fn list_principals(&self, org: &OrgId) -> Result<Vec<Principal>> {
        let org = org.clone();
        self.read(move |c| principals::list(c, &org)).await
    }

    async fn update_profile(&self, id: &PrincipalId, patch: ProfilePatch) -> Result<Principal> {
        let id = id.clone();
        self.write(move |c| principals::update_profile(c, &id, patch))
            .await
    }

    async fn set_role(&self, id: &PrincipalId, role: Role) -> Result<Principal> {
        let id = id.clone();
        self.write(move |c| principals::set_role(c, &id, role))
            .await
    }

    async fn create_token(&self, t: NewToken) -> Result<TokenInfo> {
        self.write(move |c| tokens::create(c, t)).await
    }

    async fn find_token(&self, secret_hash: &[u8]) -> Result<Option<(TokenInfo, Principal)>> {
        let hash = secret_hash.to_vec();
        self.read(move |c| tokens::find(c, &hash)).await
    }

    async fn list_tokens(&self, principal: &PrincipalId) -> Result<Vec<TokenInfo>> {
        let principal = principal.clone();
        self.read(move |c| tokens::list(c, &principal)).await
    }

    async fn revoke_token(&self, principal: &PrincipalId, token: &TokenId) -> Result<bool> {
        let (principal, token) = (principal.clone(), token.clone());
        self.write(move |c| tokens::revoke(c, &principal, &token))
            .await
    }

    async fn touch_token(&self, token: &TokenId, at: Timestamp) -> Result<()> {
        let token = token.clone();
        self.write(move |c| tokens::touch(c, &token, at)).await
    }

    async fn create_space(&self, s: NewSpace) -> Result<Space> {
        self.write(move |c| spaces::create(c, s)).await
    }

    async fn get_space(&self, id: &SpaceId) -> Result<Option<Space>> {
        let id = id.clone();
        self.read(move |c| spaces::get(c, &id)).await
    }

    async fn list_spaces(&self, org: &OrgId) -> Result<Vec<Space>> {
        let org = org.clone();
        self.read(move |c| spaces::list(c, &org)).await
    }

    async fn put_space_member(
        &self,
        space: &SpaceId,
        principal: &PrincipalId,
        role: Role,
    ) -> Result<SpaceMember> {
        let (space, principal) = (space.clone(), principal.clone());
        self.write(move |c| spaces::put_member(c, &space, &principal, role))
            .await
    }

    async fn remove_space_member(&self, space: &SpaceId, principal: &PrincipalId) -> Result<bool> {
        let (space, principal) = (space.clone(), principal.clone());
        self.write(move |c| spaces::remove_member(c, &space, &principal))
            .await
    }

    async fn space_member_role(
        &self,
        space: &SpaceId,
        principal: &PrincipalId,
    ) -> Result<Option<Role>> {
        let (space, principal) = (space.clone(), principal.clone());
        self.read(move |c| spaces::member_role(c, &space, &principal))
            .await
    }

    async fn space_roles_of(&self, principal: &PrincipalId) -> Result<Vec<(SpaceId, Role)>> {
        let principal = principal.clone();
        self.read(move |c| spaces::roles_of(c, &principal)).await
    }

    async fn list_space_members(&self, space: &SpaceId) -> Result<Vec<SpaceMember>> {
        let space = space.clone();
        self.read(move |c| spaces::list_members(c, &space)).await
    }

    async fn create_category(&self, cat: NewCategory) -> Result<Category> {
        self.write(move |c| spaces::create_category(c, cat)).await
    }

    async fn get_category(&self, id: &CategoryId) -> Result<Option<Category>> {
        let id = id.clone();
        self.read(move |c| spaces::get_category(c, &id)).await
    }

    async fn list_categories(&self, space: &SpaceId) -> Result<Vec<Category>> {
        let space = space.clone();
        self.read(move |c| spaces::list_categories(c, &space)).await
    }

    async fn put_groupmd(&self, r: NewGroupmdRevision) -> Result<(GroupmdRevision, Event)> {
        self.write(move |c| groupmd::put(c, r)).await
    }

    async fn groupmd_revision(
        &self,
        scope: &GroupmdScope,
        revision: Option<u64>,
    ) -> Result<Option<GroupmdRevision>> {
        let scope = scope.clone();
        self.read(move |c| groupmd::get(c, &scope, revision)).await
    }

    async fn groupmd_revisions(&self, scope: &GroupmdScope) -> Result<Vec<GroupmdRevision>> {
        let scope = scope.clone();
        self.read(move |c| groupmd::list(c, &scope)).await
    }

    async fn groupmd_mode(&self, channel: &ChannelId) -> Result<GroupmdMode> {
        let channel = channel.clone();
        self.read(move |c| proposals::mode(c, &channel)).await
    }

    async fn set_groupmd_mode(
        &self,
        channel: &ChannelId,
        mode: GroupmdMode,
        actor: &PrincipalId,
    ) -> Result<()> {
        let (channel, actor) = (channel.clone(), actor.clone());
        self.write(move |c| proposals::set_mode(c, &channel, mode, &actor))
            .await
    }

    async fn propose_groupmd(&self, p: NewGroupmdProposal) -> Result<Proposed> {
        self.write(move |c| proposals::propose(c, p)).await
    }

    async fn groupmd_proposal(&self, id: &ProposalId) -> Result<Option<GroupmdProposal>> {
        let id = id.clone();
        self.read(move |c| proposals::get(c, &id)).await
    }

    async fn groupmd_proposals(
        &self,
        scope: &GroupmdScope,
        status: Option<ProposalStatus>,
        limit: u32,
    ) -> Result<Vec<GroupmdProposal>> {
        let scope = scope.clone();
        self.read(move |c| proposals::list(c, &scope, status, limit))
            .await
    }

    async fn resolve_groupmd_proposal(&self, r: ProposalResolution) -> Result<Resolved> {
        self.write(move |c| proposals::resolve(c, r)).await
    }

    async fn create_channel(&self, ch: NewChannel) -> Result<Created<Channel>> {
        self.write(move |c| channels::create(c, ch)).await
    }

    async fn get_channel(&self, id: &ChannelId) -> Result<Option<Channel>> {
        let id = id.clone();
        self.read(move |c| channels::get(c, &id)).await
    }

    async fn list_channels(&self, org: &OrgId) -> Result<Vec<Channel>> {
        let org = org.clone();
        self.read(move |c| channels::list(c, &org)).await
    }

    async fn update_channel(
        &self,
        id: &ChannelId,
        actor: &PrincipalId,
        patch: ChannelPatch,
    ) -> Result<(Channel, Event)> {
        let (id, actor) = (id.clone(), actor.clone());
        self.write(move |c| channels::update(c, &id, &actor, patch))
            .await
    }

    async fn add_channel_member(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
        trigger: TriggerPolicy,
        actor: &PrincipalId,
    ) -> Result<(ChannelMember, Option<Event>)> {
        let (channel, principal, actor) = (channel.clone(), principal.clone(), actor.clone());
        self.write(move |c| members::add(c, &channel, &principal, trigger, &actor))
            .await
    }

    async fn remove_channel_member(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
        actor: &PrincipalId,
    ) -> Result<Option<Event>> {
        let (channel, principal, actor) = (channel.clone(), principal.clone(), actor.clone());
        self.write(move |c| members::remove(c, &channel, &principal, &actor))
            .await
    }

    async fn channel_member(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
    ) -> Result<Option<ChannelMember>> {
        let (channel, principal) = (channel.clone(), principal.clone());
        self.read(move |c| members::get(c, &channel, &principal))
            .await
    }

    async fn list_channel_members(&self, channel: &ChannelId) -> Result<Vec<ChannelMember>> {
        let channel = channel.clone();
        self.read(move |c| members::list(c, &channel)).await
    }

    async fn memberships_of(&self, principal: &PrincipalId) -> Result<Vec<ChannelMember>> {
        let principal = principal.clone();
        self.read(move |c| members::memberships_of(c, &principal))
            .await
    }

    async fn ack_cursor(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
        seq: u64,
    ) -> Result<u64> {
        let (channel, principal) = (channel.clone(), principal.clone());
        self.write(move |c| members::ack_cursor(c, &channel, &principal, seq))
            .await
    }

    async fn set_cursor(
        &self,
        channel: &ChannelId,
        principal: &PrincipalId,
        seq: u64,
    ) -> Result<u64> {
        let (channel, principal) = (channel.clone(), principal.clone());
        self.write(move |c| members::set_cursor(c, &channel, &principal, seq))
            .await
    }

    async fn set_overrides(&self, resource: &ResourceRef, list: Vec<Override>) -> Result<()> {
        let resource = resource.clone();
        self.write(move |c| overrides::set(c, &resource, list))
            .await
    }

    async fn get_overrides(&self, resource: &ResourceRef) -> Result<Vec<Override>> {
        let resource = resource.clone();
        self.read(move |c| overrides::get(c, &resource)).await
    }

    async fn list_overrides(&self, org: &OrgId) -> Result<Vec<(ResourceRef, Override)>> {
        let org = org.clone();
        self.read(move |c| overrides::list_in_org(c, &org)).await
    }

    async fn post_message(&self, m: NewMessage) -> Result<Posted> {
        // Posts are the hot write: they share batches without a savepoint
        // each, and a post that fails is run again alone (hence the clone).
        self.write_rerunnable(move |c| messages::post(c, m.clone()))
            .await
    }

    /// True: `write` sends the job to the writer's queue synchronously, in
    /// the first poll, and the writer runs queued jobs in FIFO order (one
    /// batch after another, each batch's jobs in queue order).
    fn posts_commit_in_call_order(&self) -> bool {
        true
    }

    async fn get_message(&self, id: &MessageId) -> Result<Option<Message>> {
        let id = id.clone();
        self.read(move |c| messages::get(c, &id)).await
    }

    async fn edit_message(
        &self,
        id: &MessageId,
        actor: &PrincipalId,
        edit: MessageEdit,
    ) -> Result<(Message, Event)> {
        let (id, actor) = (id.clone(), actor.clone());
        self.write(move |c| messages::edit(c, &id, &actor, edit))
            .await
    }

    async fn delete_message(
        &self,
        id: &MessageId,
        actor: &PrincipalId,
    ) -> Result<(Message, Event)> {
        let (id, actor) = (id.clone(), actor.clone());
        self.write(move |c| messages::delete(c, &id, &actor)).await
    }

    async fn add_reaction(
        &self,
        id: &MessageId,
        principal: &PrincipalId,
        emoji: &str,
    ) -> Result<Option<Event>> {
        let (id, principal, emoji) = (id.clone(), principal.clone(), emoji.to_owned());
        self.write(move |c| reactions::add(c, &id, &principal, &emoji))
            .await
    }

    async fn remove_reaction(
        &self,
        id: &MessageId,
        principal: &PrincipalId,
        emoji: &str,
    ) -> Result<Option<Event>> {
        let (id, principal, emoji) = (id.clone(), principal.clone(), emoji.to_owned());
        self.write(move |c| reactions::remove(c, &id, &principal, &emoji))
            .await
    }

    async fn append_delta(
        &self,
        id: &MessageId,
        actor: &PrincipalId,
        delta: &str,
    ) -> Result<(Message, Event)> {
        let (id, actor, delta) = (id.clone(), actor.clone(), delta.to_owned());
        self.write(move |c| streams::append_delta(c, &id, &actor, &delta))
            .await
    }

    async fn finish_stream(
        &self,
        id: &MessageId,
        actor: &PrincipalId,
        text: Option<String>,
        status: StreamStatus,
    ) -> Result<(Message, Event)> {
        let (id, actor) = (id.clone(), actor.clone());
        self.write(move |c| streams::finish(c, &id, &actor, text, status))
            .await
    }

    async fn idle_streams(&self, before: Timestamp, limit: u32) -> Result<Vec<Message>> {
        self.read(move |c| streams::idle(c, before, limit)).await
    }

    async fn append_note(
        &self,
        channel: &ChannelId,
        kind: EventKind,
        actor: &PrincipalId,
        payload: serde_json::Value,
    ) -> Result<Event> {
        let (channel, actor) = (channel.clone(), actor.clone());
        self.write(move |c| events::append(c, &channel, kind, &actor, payload))
            .await
    }

    async fn took_part_in_thread(
        &self,
        principal: &PrincipalId,
        thread: &MessageId,
    ) -> Result<bool> {
        let (principal, thread) = (principal.clone(), thread.clone());
        self.read(move |c| messages::took_part_in_thread(c, &principal, &thread))
            .await
    }

    async fn record_triggers(&self, list: Vec<Trigger>) -> Result<()> {
        if list.is_empty() {
            return Ok(());
        }
        self.write(move |c| triggers::record(c, list)).await
    }

    async fn list_triggers(
        &self,
        agent: &PrincipalId,
        channel: &ChannelId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<(Trigger, Event)>> {
        let (agent, channel) = (agent.clone(), channel.clone());
        self.read(move |c| triggers::list(c, &agent, &channel, after, limit))
            .await
    }

    async fn set_webhook(&self, agent: &PrincipalId, webhook: Option<Webhook>) -> Result<()> {
        let agent = agent.clone();
        self.write(move |c| webhooks::set(c, &agent, webhook)).await
    }

    async fn get_webhook(&self, agent: &PrincipalId) -> Result<Option<Webhook>> {
        let agent = agent.clone();
        self.read(move |c| webhooks::get(c, &agent)).await
    }

    async fn enqueue_deliveries(&self, list: Vec<NewDelivery>) -> Result<()> {
        if list.is_empty() {
            return Ok(());
        }
        self.write(move |c| deliveries::enqueue(c, list)).await
    }

    async fn due_deliveries(&self, now: Timestamp, limit: u32) -> Result<Vec<Delivery>> {
        self.read(move |c| deliveries::due(c, now, limit)).await
    }

    async fn record_attempt(&self, id: &str, attempt: Attempt) -> Result<Delivery> {
        let id = id.to_owned();
        self.write(move |c| deliveries::record_attempt(c, &id, attempt))
            .await
    }

    async fn list_deliveries(
        &self,
        agent: &PrincipalId,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        let agent = agent.clone();
        self.read(move |c| deliveries::list(c, &agent, status, limit))
            .await
    }

    async fn replay_delivery(&self, agent: &PrincipalId, id: &str) -> Result<Delivery> {
        let (agent, id) = (agent.clone(), id.to_owned());
        self.write(move |c| deliveries::replay(c, &agent, &id))
            .await
    }

    async fn search(&self, request: SearchRequest) -> Result<Vec<SearchHit>> {
        if request.channels.is_empty() {
            return Ok(Vec::new());
        }
        // Whatever was posted before this search began is indexed first.
        if self.read(crate::search_index::backlog).await? > 0 {
            self.write(crate::search_index::catch_up).await?;
        }
        self.read(move |c| search::search(c, request)).await
    }

    async fn create_file(&self, file: Attachment) -> Result<Attachment> {
        self.write(move |c| files::create(c, file)).await
    }

    async fn get_file(&self, id: &str) -> Result<Option<Attachment>> {
        let id = id.to_owned();
        self.read(move |c| files::get(c, &id)).await
    }

    async fn list_files(&self, channel: &ChannelId, limit: u32) -> Result<Vec<Attachment>> {
        let channel = channel.clone();
        self.read(move |c| files::list(c, &channel, limit)).await
    }

    async fn delete_files_of(&self, message: &MessageId) -> Result<Vec<Attachment>> {
        let message = message.clone();
        self.write(move |c| files::delete_of(c, &message)).await
    }

    async fn append_audit(&self, entry: AuditEntry) -> Result<()> {
        self.write(move |c| audit::append(c, entry)).await
    }

    async fn list_audit(&self, org: &OrgId, filter: AuditFilter) -> Result<Vec<AuditEntry>> {
        let org = org.clone();
        self.read(move |c| audit::list(c, &org, filter)).await
    }

    async fn claim_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<bool> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.write(move |c| leases::claim(c, &name, &holder, ttl))
            .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.write(move |c| leases::release(c, &name, &holder))
            .await
    }

    async fn deployment_secret(&self) -> Result<Vec<u8>> {
        // Nearly always there already; only the first call needs the writer.
        if let Some(secret) = self.read(secrets::get).await? {
            return Ok(secret);
        }
        self.write(secrets::get_or_create).await
    }

    async fn list_messages(&self, channel: &ChannelId, page: MessagePage) -> Result<Vec<Message>> {
        let channel = channel.clone();
        self.read(move |c| messages::list(c, &channel, page)).await
    }

    async fn list_threads(&self, channel: &ChannelId, limit: u32) -> Result<Vec<Message>> {
        let channel = channel.clone();
        self.read(move |c| messages::list_threads(c, &channel, limit))
            .await
    }

    async fn list_events(&self, channel: &ChannelId, after: u64, limit: u32) -> Result<Vec<Event>> {
        let channel = channel.clone();
        self.read(move |c| events::list(c, &channel, after, limit))
            .await
    }

    async fn close(&self) {
        SqliteStore::close(self).await;
    }
}
