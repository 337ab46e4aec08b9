//! The conformance suite: what every [`Store`] backend must do, as tests.
//!
//! Each test is a `pub async fn(Arc<dyn Store>)` run against a fresh, empty
//! store. A backend runs them all with one line in its `tests/` folder:
//!
//! ```ignore
//! octo_store::conformance_tests!(my_backend_fixture());
//! ```
//!
//! where the expression is a future yielding a [`Fixture`]. The macro makes
//! one `#[tokio::test]` per test, so test runners list each by name; the
//! backend crate needs `tokio` (with `macros` and `rt-multi-thread`) as a
//! dependency.
// Test code: a failing call is a failing test, so unwrapping is the point.
#![allow(clippy::unwrap_used)]

use crate::*;
use octo_core::model::*;
use octo_core::trigger::{Trigger, TriggerReason};
use octo_core::*;
use serde_json::json;
use std::any::Any;
use std::collections::HashSet;
use std::sync::Arc;

mod proposals;
pub use proposals::*;

/// A fresh store for one test, plus whatever must live as long as it does
/// (a temp directory, a database schema to drop).
pub struct Fixture {
    pub store: Arc<dyn Store>,
    _guard: Box<dyn Any + Send>,
}

impl Fixture {
    pub fn new(store: Arc<dyn Store>, guard: impl Any + Send) -> Self {
        Fixture {
            store,
            _guard: Box::new(guard),
        }
    }
}

/// Expands to one test per conformance check, each on a fresh store from
/// `$fixture` (an expression evaluating to a future of [`Fixture`]).
#[macro_export]
macro_rules! conformance_tests {
    ($fixture:expr) => {
        $crate::__conformance_each!($fixture;
            setup_happens_once,
            concurrent_setups_have_one_winner,
            principals_round_trip,
            principal_names_are_case_insensitive,
            principal_emails_are_unique,
            find_login_returns_the_password_hash,
            tokens_lifecycle,
            spaces_and_their_members,
            space_names_are_unique_ignoring_case,
            categories_keep_their_order,
            new_channel_log_starts_with_member_events,
            channel_names_are_unique_per_space,
            dms_are_get_or_create,
            update_channel_appends_an_event,
            channel_members_join_and_leave,
            cursors_clamp_and_need_membership,
            delivery_cursors_only_move_forward,
            overrides_replace_and_read_back,
            overrides_are_listed_per_org,
            post_and_get_message,
            concurrent_posts_get_gapless_seqs,
            client_msg_id_makes_posts_idempotent,
            concurrent_retries_create_one_message,
            hop_counts_agent_chains_per_thread,
            threads_replies_and_listing,
            message_paging,
            edit_message_changes_text_and_mentions,
            delete_message_leaves_a_tombstone,
            deleting_a_message_redacts_its_words_from_the_log,
            reactions_add_remove_and_aggregate,
            event_log_is_exact,
            writes_to_missing_things_are_not_found,
            profiles_update_and_read_back,
            channel_loop_guard_defaults_and_patch,
            streams_open_grow_and_finish,
            idle_streams_are_open_and_quiet,
            notes_append_events_and_nothing_else,
            taking_part_in_a_thread,
            triggers_are_recorded_once_and_listed,
            deployment_secret_is_made_once,
            concurrent_first_secrets_agree,
            webhooks_set_replace_and_remove,
            deliveries_are_enqueued_once_per_agent_and_event,
            due_deliveries_are_oldest_first_up_to_now,
            retries_stay_pending_and_move_their_due_time,
            delivered_and_dead_leave_the_due_list,
            deliveries_are_listed_newest_first_by_status,
            replaying_a_dead_delivery_makes_it_due_again,
            replaying_another_agents_delivery_is_not_found,
            concurrent_enqueues_of_one_event_leave_one_row,
            search_matches_words_prefixes_and_phrases,
            search_keeps_to_the_given_channels,
            search_ranks_better_matches_first,
            search_filters_by_author_thread_attachment_and_time,
            search_follows_edits_deletes_and_streams,
            search_highlights_the_matches_in_the_snippet,
            search_pages_with_limit_and_offset,
            files_are_recorded_and_attached_on_post,
            attaching_refuses_files_that_are_not_the_authors_to_give,
            files_of_deleted_messages_go,
            set_role_changes_the_org_role,
            audit_entries_are_listed_newest_first_with_filters,
            a_lease_has_one_holder_until_released,
            an_expired_lease_is_taken_over,
            concurrent_claims_have_one_winner,
            groupmd_revisions_chain_and_log_an_event,
            groupmd_stale_writes_conflict_and_lose_nothing,
            groupmd_of_a_thread_is_its_own,
            groupmd_mode_defaults_to_auto_and_is_set,
            groupmd_proposals_are_recorded_listed_and_logged,
            a_new_proposal_supersedes_the_authors_older_pending_one,
            accepting_a_proposal_stores_a_revision_and_resolves_it,
            rejecting_and_stale_accepts_store_no_revision,
            concurrent_resolutions_have_one_winner,
            posting_marks_the_channel_read_for_the_author,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_each {
    ($fixture:expr; $($name:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture: $crate::conformance::Fixture = $fixture.await;
                $crate::conformance::$name(fixture.store.clone()).await;
                drop(fixture);
            }
        )*
    };
}

// ---- helpers ----------------------------------------------------------------

fn new_org(name: &str) -> NewOrg {
    NewOrg {
        id: OrgId::generate(),
        name: name.into(),
        created_at: now(),
    }
}

fn human(org: &OrgId, name: &str, role: Role) -> NewPrincipal {
    NewPrincipal {
        id: PrincipalId::generate(),
        org_id: org.clone(),
        kind: PrincipalKind::Human,
        name: name.into(),
        display_name: Some(format!("{name} (display)")),
        email: Some(format!("{}@example.com", name.to_lowercase())),
        password_hash: Some(format!("$argon2id$fake${name}")),
        role,
        owner_id: None,
        description: None,
        skills: Vec::new(),
        avatar_url: None,
        created_at: now(),
    }
}

fn agent(org: &OrgId, name: &str, owner: &PrincipalId) -> NewPrincipal {
    NewPrincipal {
        id: PrincipalId::generate(),
        org_id: org.clone(),
        kind: PrincipalKind::Agent,
        name: name.into(),
        display_name: None,
        email: None,
        password_hash: None,
        role: Role::Agent,
        owner_id: Some(owner.clone()),
        description: Some("summarizes things".into()),
        skills: vec!["summaries".into(), "triage".into()],
        avatar_url: Some(format!("https://example.com/{name}.png")),
        created_at: now(),
    }
}

/// An org with an owner, a member, two agents and an open space. Public, with
/// [`world`], [`channel`] and [`msg`], for a backend's own tests.
pub struct World {
    pub org: Org,
    pub owner: Principal,
    pub alice: Principal,
    pub bot: Principal,
    pub bot2: Principal,
    pub space: Space,
}

pub async fn world(store: &dyn Store) -> World {
    let org = new_org("Acme");
    let (org, owner) = store
        .setup(org.clone(), human(&org.id, "Owner", Role::Owner))
        .await
        .unwrap();
    let alice = store
        .create_principal(human(&org.id, "Alice", Role::Member))
        .await
        .unwrap();
    let bot = store
        .create_principal(agent(&org.id, "bot", &alice.id))
        .await
        .unwrap();
    let bot2 = store
        .create_principal(agent(&org.id, "bot2", &alice.id))
        .await
        .unwrap();
    let space = store
        .create_space(new_space(&org.id, "Engineering", &owner.id))
        .await
        .unwrap();
    World {
        org,
        owner,
        alice,
        bot,
        bot2,
        space,
    }
}

fn new_space(org: &OrgId, name: &str, creator: &PrincipalId) -> NewSpace {
    NewSpace {
        id: SpaceId::generate(),
        org_id: org.clone(),
        name: name.into(),
        visibility: Visibility::Open,
        created_by: creator.clone(),
        creator_role: Role::Admin,
        created_at: now(),
    }
}

fn new_channel(w: &World, name: &str, members: &[&Principal]) -> NewChannel {
    NewChannel {
        id: ChannelId::generate(),
        org_id: w.org.id.clone(),
        space_id: Some(w.space.id.clone()),
        category_id: None,
        kind: ChannelKind::Channel,
        name: Some(name.into()),
        topic: Some("talk".into()),
        private: false,
        created_by: w.owner.id.clone(),
        created_at: now(),
        members: members.iter().map(|p| p.id.clone()).collect(),
        dm_key: None,
    }
}

/// An open channel in the world's space with its four principals as members
/// (so its log starts with their four joins).
pub async fn channel(store: &dyn Store, w: &World, name: &str) -> Channel {
    let c = new_channel(w, name, &[&w.owner, &w.alice, &w.bot, &w.bot2]);
    store.create_channel(c).await.unwrap().value
}

/// A plain top-level message, not yet posted.
pub fn msg(channel: &ChannelId, author: &Principal, text: &str) -> NewMessage {
    NewMessage {
        id: MessageId::generate(),
        channel_id: channel.clone(),
        thread_id: None,
        author_id: author.id.clone(),
        author_kind: author.kind,
        text: text.into(),
        data: None,
        mentions: Mentions::default(),
        client_msg_id: None,
        stream: false,
        attachments: Vec::new(),
        created_at: now(),
    }
}

fn reply(channel: &ChannelId, root: &MessageId, author: &Principal, text: &str) -> NewMessage {
    NewMessage {
        thread_id: Some(root.clone()),
        ..msg(channel, author, text)
    }
}

async fn post(store: &dyn Store, m: NewMessage) -> Message {
    store.post_message(m).await.unwrap().message
}

fn page(filter: ThreadFilter, after: Option<u64>, before: Option<u64>, limit: u32) -> MessagePage {
    MessagePage {
        filter,
        after,
        before,
        limit,
    }
}

fn ids(messages: &[Message]) -> Vec<MessageId> {
    messages.iter().map(|m| m.id.clone()).collect()
}

fn assert_conflict<T: std::fmt::Debug>(r: Result<T>) {
    match r {
        Err(StoreError::Conflict(text)) => assert!(!text.is_empty(), "a conflict names its rule"),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn assert_not_found<T: std::fmt::Debug>(r: Result<T>) {
    assert!(
        matches!(r, Err(StoreError::NotFound)),
        "expected NotFound, got {r:?}"
    );
}

// ---- first run --------------------------------------------------------------

pub async fn setup_happens_once(store: Arc<dyn Store>) {
    assert!(!store.is_set_up().await.unwrap());
    let org = new_org("Acme");
    let owner = human(&org.id, "Owner", Role::Owner);
    let (got_org, got_owner) = store.setup(org.clone(), owner.clone()).await.unwrap();
    assert_eq!(got_org.id, org.id);
    assert_eq!(got_org.name, "Acme");
    assert_eq!(got_owner.id, owner.id);
    assert_eq!(got_owner.role, Role::Owner);
    assert!(store.is_set_up().await.unwrap());
    assert_eq!(store.list_orgs().await.unwrap(), vec![got_org.clone()]);
    assert_eq!(store.get_org(&org.id).await.unwrap(), Some(got_org));
    assert_eq!(
        store.get_principal(&owner.id).await.unwrap(),
        Some(got_owner)
    );
    assert_eq!(store.get_org(&OrgId::generate()).await.unwrap(), None);

    let again = new_org("Other");
    let r = store
        .setup(again.clone(), human(&again.id, "Other", Role::Owner))
        .await;
    assert!(matches!(r, Err(StoreError::AlreadySetUp)), "{r:?}");
    assert_eq!(store.get_org(&again.id).await.unwrap(), None);
}

pub async fn concurrent_setups_have_one_winner(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let org = new_org(&format!("Org{i}"));
                let owner = human(&org.id, &format!("Owner{i}"), Role::Owner);
                store.setup(org, owner).await
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::AlreadySetUp) => {}
            Err(e) => panic!("unexpected setup error: {e:?}"),
        }
    }
    assert_eq!(wins, 1);
}

// ---- principals -------------------------------------------------------------

pub async fn principals_round_trip(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let got = store.get_principal(&w.bot.id).await.unwrap().unwrap();
    assert_eq!(got, w.bot);
    assert_eq!(got.kind, PrincipalKind::Agent);
    assert_eq!(got.owner_id.as_ref(), Some(&w.alice.id));
    assert_eq!(got.description.as_deref(), Some("summarizes things"));
    assert!(!got.deactivated);
    let alice = store.get_principal(&w.alice.id).await.unwrap().unwrap();
    assert_eq!(alice, w.alice);
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert_eq!(
        store.get_principal(&PrincipalId::generate()).await.unwrap(),
        None
    );

    let all = store.list_principals(&w.org.id).await.unwrap();
    let listed: HashSet<_> = all.iter().map(|p| p.id.clone()).collect();
    let expected: HashSet<_> = [&w.owner, &w.alice, &w.bot, &w.bot2]
        .iter()
        .map(|p| p.id.clone())
        .collect();
    assert_eq!(listed, expected);
}

pub async fn principal_names_are_case_insensitive(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let found = store
        .find_principals_by_names(&w.org.id, &["ALICE".into(), "Bot".into(), "nobody".into()])
        .await
        .unwrap();
    let found: HashSet<_> = found.into_iter().map(|p| p.id).collect();
    assert_eq!(found, HashSet::from([w.alice.id.clone(), w.bot.id.clone()]));
    assert!(
        store
            .find_principals_by_names(&w.org.id, &[])
            .await
            .unwrap()
            .is_empty()
    );

    let mut dup = human(&w.org.id, "aLiCe", Role::Member);
    dup.email = Some("other-alice@example.com".into());
    assert_conflict(store.create_principal(dup).await);
    assert_conflict(
        store
            .create_principal(agent(&w.org.id, "BOT", &w.owner.id))
            .await,
    );
}

pub async fn principal_emails_are_unique(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let mut p = human(&w.org.id, "alice2", Role::Member);
    p.email = Some("alice@example.com".into());
    assert_conflict(store.create_principal(p).await);
    // Principals without email (agents) never collide on it.
    store
        .create_principal(agent(&w.org.id, "bot3", &w.owner.id))
        .await
        .unwrap();
}

pub async fn find_login_returns_the_password_hash(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let (p, hash) = store
        .find_login("alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p, w.alice);
    assert_eq!(hash, "$argon2id$fake$Alice");
    assert!(
        store
            .find_login("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

// ---- tokens -------------------------------------------------------------------

pub async fn tokens_lifecycle(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let expires = now() + chrono::Duration::days(30);
    let new = |label: &str, byte: u8| NewToken {
        id: TokenId::generate(),
        principal_id: w.alice.id.clone(),
        secret_hash: vec![byte; 32],
        label: label.into(),
        created_at: now(),
        expires_at: Some(expires),
    };
    let t1 = store.create_token(new("laptop", 1)).await.unwrap();
    let t2 = store.create_token(new("ci", 2)).await.unwrap();
    assert_eq!(t1.label, "laptop");
    assert_eq!(t1.expires_at, Some(expires));
    assert_eq!((t1.last_used_at, t1.revoked_at), (None, None));

    let (found, who) = store.find_token(&[1; 32]).await.unwrap().unwrap();
    assert_eq!(found, t1);
    assert_eq!(who, w.alice);
    assert!(store.find_token(&[9; 32]).await.unwrap().is_none());
    assert_eq!(
        store.list_tokens(&w.alice.id).await.unwrap(),
        vec![t1.clone(), t2.clone()]
    );
    assert!(store.list_tokens(&w.bot.id).await.unwrap().is_empty());

    let used = now();
    store.touch_token(&t1.id, used).await.unwrap();
    let (found, _) = store.find_token(&[1; 32]).await.unwrap().unwrap();
    assert_eq!(found.last_used_at, Some(used));

    // Only the owner revokes, and only once.
    assert!(!store.revoke_token(&w.bot.id, &t1.id).await.unwrap());
    assert!(store.revoke_token(&w.alice.id, &t1.id).await.unwrap());
    assert!(!store.revoke_token(&w.alice.id, &t1.id).await.unwrap());
    assert!(
        !store
            .revoke_token(&w.alice.id, &TokenId::generate())
            .await
            .unwrap()
    );
    let (found, _) = store.find_token(&[1; 32]).await.unwrap().unwrap();
    assert!(
        found.revoked_at.is_some(),
        "revoked tokens are still found, marked"
    );
    let listed = store.list_tokens(&w.alice.id).await.unwrap();
    assert!(listed[0].revoked_at.is_some());
    assert!(listed[1].revoked_at.is_none());
}

// ---- spaces and categories ----------------------------------------------------

pub async fn spaces_and_their_members(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    assert_eq!(
        store.get_space(&w.space.id).await.unwrap(),
        Some(w.space.clone())
    );
    assert_eq!(store.get_space(&SpaceId::generate()).await.unwrap(), None);
    let mut private = new_space(&w.org.id, "Secret", &w.alice.id);
    private.visibility = Visibility::Private;
    private.creator_role = Role::Member;
    let private = store.create_space(private).await.unwrap();
    assert_eq!(private.visibility, Visibility::Private);
    assert_eq!(
        store.list_spaces(&w.org.id).await.unwrap(),
        vec![w.space.clone(), private.clone()]
    );

    // The creator is a member with the creator role.
    assert_eq!(
        store
            .space_member_role(&w.space.id, &w.owner.id)
            .await
            .unwrap(),
        Some(Role::Admin)
    );
    assert_eq!(
        store
            .space_member_role(&private.id, &w.alice.id)
            .await
            .unwrap(),
        Some(Role::Member)
    );
    assert_eq!(
        store
            .space_member_role(&w.space.id, &w.alice.id)
            .await
            .unwrap(),
        None
    );

    let m = store
        .put_space_member(&w.space.id, &w.alice.id, Role::Guest)
        .await
        .unwrap();
    assert_eq!(
        m,
        SpaceMember {
            space_id: w.space.id.clone(),
            principal_id: w.alice.id.clone(),
            role: Role::Guest
        }
    );
    store
        .put_space_member(&w.space.id, &w.alice.id, Role::Admin)
        .await
        .unwrap();
    assert_eq!(
        store
            .space_member_role(&w.space.id, &w.alice.id)
            .await
            .unwrap(),
        Some(Role::Admin)
    );
    let members = store.list_space_members(&w.space.id).await.unwrap();
    assert_eq!(
        members.len(),
        2,
        "updating a role does not add a member: {members:?}"
    );

    let roles: HashSet<_> = store
        .space_roles_of(&w.alice.id)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        roles,
        HashSet::from([
            (w.space.id.clone(), Role::Admin),
            (private.id.clone(), Role::Member)
        ])
    );

    assert!(
        store
            .remove_space_member(&w.space.id, &w.alice.id)
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_space_member(&w.space.id, &w.alice.id)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .space_member_role(&w.space.id, &w.alice.id)
            .await
            .unwrap(),
        None
    );
    assert_not_found(
        store
            .put_space_member(&SpaceId::generate(), &w.alice.id, Role::Member)
            .await,
    );
}

pub async fn space_names_are_unique_ignoring_case(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    assert_conflict(
        store
            .create_space(new_space(&w.org.id, "ENGINEERING", &w.owner.id))
            .await,
    );
    store
        .create_space(new_space(&w.org.id, "Design", &w.owner.id))
        .await
        .unwrap();
}

pub async fn categories_keep_their_order(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let new = |name: &str| NewCategory {
        id: CategoryId::generate(),
        space_id: w.space.id.clone(),
        name: name.into(),
        created_at: now(),
    };
    let a = store.create_category(new("Projects")).await.unwrap();
    let b = store.create_category(new("Social")).await.unwrap();
    assert_eq!((a.position, b.position), (0, 1));
    assert_conflict(store.create_category(new("projects")).await);
    assert_eq!(
        store.list_categories(&w.space.id).await.unwrap(),
        vec![a.clone(), b]
    );
    assert_eq!(store.get_category(&a.id).await.unwrap(), Some(a));
    assert_eq!(
        store.get_category(&CategoryId::generate()).await.unwrap(),
        None
    );
    let orphan = NewCategory {
        space_id: SpaceId::generate(),
        ..new("Orphan")
    };
    assert_not_found(store.create_category(orphan).await);
}

// ---- channels ---------------------------------------------------------------------

pub async fn new_channel_log_starts_with_member_events(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let cat = store
        .create_category(NewCategory {
            id: CategoryId::generate(),
            space_id: w.space.id.clone(),
            name: "Projects".into(),
            created_at: now(),
        })
        .await
        .unwrap();
    let mut new = new_channel(&w, "general", &[&w.owner, &w.alice, &w.bot]);
    new.category_id = Some(cat.id.clone());
    let created = store.create_channel(new.clone()).await.unwrap();
    assert!(created.created);
    let c = created.value;
    assert_eq!(c.id, new.id);
    assert_eq!(c.name.as_deref(), Some("general"));
    assert_eq!(c.topic.as_deref(), Some("talk"));
    assert_eq!(c.category_id, Some(cat.id));
    assert_eq!(c.kind, ChannelKind::Channel);
    assert_eq!(c.last_seq, 3);
    assert_eq!(store.get_channel(&c.id).await.unwrap(), Some(c.clone()));

    let events = store.list_events(&c.id, 0, 100).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    for (e, p) in events.iter().zip([&w.owner, &w.alice, &w.bot]) {
        assert_eq!(e.kind, EventKind::MemberJoined);
        assert_eq!(e.channel_id, c.id);
        assert_eq!(e.actor, w.owner.id);
        assert_eq!(e.payload, payload::member(&p.id));
    }
    let ids: HashSet<_> = events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), 3, "event ids are distinct");

    let members = store.list_channel_members(&c.id).await.unwrap();
    assert_eq!(
        members
            .iter()
            .map(|m| m.principal_id.clone())
            .collect::<Vec<_>>(),
        vec![w.owner.id.clone(), w.alice.id.clone(), w.bot.id.clone()]
    );
    let alice_in = store.memberships_of(&w.alice.id).await.unwrap();
    assert!(alice_in.iter().any(|m| m.channel_id == c.id));
    assert!(store.memberships_of(&w.bot2.id).await.unwrap().is_empty());
    assert_eq!(
        store.get_channel(&ChannelId::generate()).await.unwrap(),
        None
    );
}

pub async fn channel_names_are_unique_per_space(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let general = channel(&*store, &w, "general").await;
    assert_conflict(
        store
            .create_channel(new_channel(&w, "GENERAL", &[&w.owner]))
            .await,
    );
    // A failed create leaves nothing behind.
    assert_eq!(store.list_channels(&w.org.id).await.unwrap().len(), 1);

    let other = store
        .create_space(new_space(&w.org.id, "Design", &w.owner.id))
        .await
        .unwrap();
    let mut elsewhere = new_channel(&w, "general", &[&w.owner]);
    elsewhere.space_id = Some(other.id);
    store.create_channel(elsewhere).await.unwrap();

    let random = store
        .create_channel(new_channel(&w, "random", &[&w.owner]))
        .await
        .unwrap()
        .value;
    let rename = ChannelPatch {
        name: Some("General".into()),
        topic: None,
        ..ChannelPatch::default()
    };
    assert_conflict(store.update_channel(&random.id, &w.owner.id, rename).await);
    // Renaming a channel to a new casing of its own name is fine.
    let recase = ChannelPatch {
        name: Some("GENERAL".into()),
        topic: None,
        ..ChannelPatch::default()
    };
    store
        .update_channel(&general.id, &w.owner.id, recase)
        .await
        .unwrap();
}

pub async fn dms_are_get_or_create(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let general = channel(&*store, &w, "general").await;
    let dm = |key: &str, kind: ChannelKind, members: Vec<PrincipalId>| NewChannel {
        id: ChannelId::generate(),
        org_id: w.org.id.clone(),
        space_id: None,
        category_id: None,
        kind,
        name: None,
        topic: None,
        private: true,
        created_by: w.alice.id.clone(),
        created_at: now(),
        members,
        dm_key: Some(key.into()),
    };
    let first = store
        .create_channel(dm(
            "alice:bot",
            ChannelKind::Dm,
            vec![w.alice.id.clone(), w.bot.id.clone()],
        ))
        .await
        .unwrap();
    assert!(first.created);
    assert_eq!(first.value.last_seq, 2);
    assert_eq!(first.value.space_id, None);
    let again = store
        .create_channel(dm(
            "alice:bot",
            ChannelKind::Dm,
            vec![w.alice.id.clone(), w.bot.id.clone()],
        ))
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.value, first.value);
    assert_eq!(
        store
            .list_events(&first.value.id, 0, 10)
            .await
            .unwrap()
            .len(),
        2
    );

    let group = store
        .create_channel(dm(
            "alice:bot:bot2",
            ChannelKind::GroupDm,
            vec![w.alice.id.clone(), w.bot.id.clone(), w.bot2.id.clone()],
        ))
        .await
        .unwrap();
    assert!(group.created);
    assert_eq!(group.value.kind, ChannelKind::GroupDm);

    let all = store.list_channels(&w.org.id).await.unwrap();
    assert_eq!(
        all.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        vec![general.id, first.value.id, group.value.id],
        "every channel, DMs included, in creation order"
    );
}

pub async fn update_channel_appends_an_event(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let patch = ChannelPatch {
        name: Some("lobby".into()),
        topic: Some(Some("all hands".into())),
        ..ChannelPatch::default()
    };
    let (updated, event) = store
        .update_channel(&c.id, &w.alice.id, patch)
        .await
        .unwrap();
    assert_eq!(updated.name.as_deref(), Some("lobby"));
    assert_eq!(updated.topic.as_deref(), Some("all hands"));
    assert_eq!(event.kind, EventKind::ChannelUpdated);
    assert_eq!(event.seq, c.last_seq + 1);
    assert_eq!(updated.last_seq, event.seq);
    assert_eq!(event.actor, w.alice.id);
    assert_eq!(
        event.payload,
        json!({
            "name": "lobby",
            "topic": "all hands",
            "agent_hop_limit": DEFAULT_AGENT_HOP_LIMIT,
            "agent_triggers_per_minute": DEFAULT_AGENT_TRIGGERS_PER_MINUTE,
        })
    );
    assert_eq!(
        store.get_channel(&c.id).await.unwrap(),
        Some(updated.clone())
    );

    let clear = ChannelPatch {
        name: None,
        topic: Some(None),
        ..ChannelPatch::default()
    };
    let (cleared, event) = store
        .update_channel(&c.id, &w.alice.id, clear)
        .await
        .unwrap();
    assert_eq!(cleared.name.as_deref(), Some("lobby"));
    assert_eq!(cleared.topic, None);
    assert_eq!(event.payload, payload::channel_updated(&cleared));
    assert_not_found(
        store
            .update_channel(&ChannelId::generate(), &w.alice.id, ChannelPatch::default())
            .await,
    );
}

pub async fn channel_members_join_and_leave(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = store
        .create_channel(new_channel(&w, "general", &[&w.owner]))
        .await
        .unwrap()
        .value;

    let (m, event) = store
        .add_channel_member(&c.id, &w.bot.id, TriggerPolicy::Mention, &w.owner.id)
        .await
        .unwrap();
    let event = event.unwrap();
    assert_eq!(
        (m.channel_id.clone(), m.principal_id.clone()),
        (c.id.clone(), w.bot.id.clone())
    );
    assert_eq!(m.trigger, TriggerPolicy::Mention);
    assert_eq!(event.kind, EventKind::MemberJoined);
    assert_eq!(event.seq, 2);
    assert_eq!(event.actor, w.owner.id);
    assert_eq!(event.payload, payload::member(&w.bot.id));
    assert_eq!(
        store.channel_member(&c.id, &w.bot.id).await.unwrap(),
        Some(m.clone())
    );

    // Adding again only changes the trigger, without an event.
    let (m2, none) = store
        .add_channel_member(&c.id, &w.bot.id, TriggerPolicy::All, &w.owner.id)
        .await
        .unwrap();
    assert!(none.is_none());
    assert_eq!(m2.trigger, TriggerPolicy::All);
    assert_eq!(m2.read_seq, m.read_seq);
    assert_eq!(
        store.channel_member(&c.id, &w.bot.id).await.unwrap(),
        Some(m2)
    );
    assert_eq!(store.get_channel(&c.id).await.unwrap().unwrap().last_seq, 2);

    let left = store
        .remove_channel_member(&c.id, &w.bot.id, &w.alice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left.kind, EventKind::MemberLeft);
    assert_eq!(left.seq, 3);
    assert_eq!(left.actor, w.alice.id);
    assert_eq!(left.payload, payload::member(&w.bot.id));
    assert!(
        store
            .remove_channel_member(&c.id, &w.bot.id, &w.alice.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.channel_member(&c.id, &w.bot.id).await.unwrap(), None);
    assert!(
        !store
            .memberships_of(&w.bot.id)
            .await
            .unwrap()
            .iter()
            .any(|m| m.channel_id == c.id)
    );
    assert_eq!(store.list_channel_members(&c.id).await.unwrap().len(), 1);

    assert_not_found(
        store
            .add_channel_member(
                &ChannelId::generate(),
                &w.bot.id,
                TriggerPolicy::All,
                &w.owner.id,
            )
            .await,
    );
    assert_not_found(
        store
            .add_channel_member(
                &c.id,
                &PrincipalId::generate(),
                TriggerPolicy::All,
                &w.owner.id,
            )
            .await,
    );
    // The refused joins left no trace in the log.
    assert_eq!(store.list_events(&c.id, 0, 100).await.unwrap().len(), 3);
}

pub async fn cursors_clamp_and_need_membership(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = store
        .create_channel(new_channel(&w, "general", &[&w.owner, &w.alice]))
        .await
        .unwrap()
        .value;
    for i in 0..3 {
        post(&*store, msg(&c.id, &w.owner, &format!("m{i}"))).await;
    }
    let last = store.get_channel(&c.id).await.unwrap().unwrap().last_seq;
    assert_eq!(last, 5);
    assert_eq!(store.set_cursor(&c.id, &w.alice.id, 4).await.unwrap(), 4);
    assert_eq!(
        store
            .channel_member(&c.id, &w.alice.id)
            .await
            .unwrap()
            .unwrap()
            .read_seq,
        4
    );
    assert_eq!(
        store.set_cursor(&c.id, &w.alice.id, 1_000).await.unwrap(),
        last
    );
    assert_eq!(
        store
            .set_cursor(&c.id, &w.alice.id, u64::MAX)
            .await
            .unwrap(),
        last
    );
    // Backwards is allowed: "mark unread".
    assert_eq!(store.set_cursor(&c.id, &w.alice.id, 1).await.unwrap(), 1);
    assert_eq!(
        store
            .channel_member(&c.id, &w.alice.id)
            .await
            .unwrap()
            .unwrap()
            .read_seq,
        1
    );
    assert_not_found(store.set_cursor(&c.id, &w.bot.id, 1).await);
    assert_not_found(
        store
            .set_cursor(&ChannelId::generate(), &w.alice.id, 1)
            .await,
    );
}

pub async fn delivery_cursors_only_move_forward(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = store
        .create_channel(new_channel(&w, "general", &[&w.owner, &w.alice]))
        .await
        .unwrap()
        .value;
    // A new member's delivery cursor starts at its own join event.
    let joined = store
        .channel_member(&c.id, &w.alice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(joined.acked_seq, 2);
    assert_eq!(joined.acked_seq, joined.read_seq);
    for i in 0..4 {
        post(&*store, msg(&c.id, &w.owner, &format!("m{i}"))).await;
    }
    assert_eq!(store.ack_cursor(&c.id, &w.alice.id, 4).await.unwrap(), 4);
    assert_eq!(
        store.ack_cursor(&c.id, &w.alice.id, 3).await.unwrap(),
        4,
        "never backwards"
    );
    assert_eq!(
        store.ack_cursor(&c.id, &w.alice.id, 1_000).await.unwrap(),
        6,
        "clamped"
    );
    // The read cursor is a separate thing.
    let m = store
        .channel_member(&c.id, &w.alice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m.acked_seq, m.read_seq), (6, 2));
    let listed = store.memberships_of(&w.alice.id).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .find(|m| m.channel_id == c.id)
            .map(|m| m.acked_seq),
        Some(6)
    );
    assert_not_found(store.ack_cursor(&c.id, &w.bot.id, 1).await);
    assert_not_found(
        store
            .ack_cursor(&ChannelId::generate(), &w.alice.id, 1)
            .await,
    );
}

// ---- overrides ------------------------------------------------------------------

pub async fn overrides_are_listed_per_org(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let cat = store
        .create_category(NewCategory {
            id: CategoryId::generate(),
            space_id: w.space.id.clone(),
            name: "Projects".into(),
            created_at: now(),
        })
        .await
        .unwrap();
    let c = channel(&*store, &w, "general").await;
    let deny = |role| Override {
        target: OverrideTarget::Role(role),
        action: Action::Post,
        effect: Effect::Deny,
    };
    let placed = [
        (ResourceRef::Space(w.space.id.clone()), deny(Role::Guest)),
        (ResourceRef::Category(cat.id.clone()), deny(Role::Agent)),
        (ResourceRef::Channel(c.id.clone()), deny(Role::Member)),
    ];
    for (r, o) in &placed {
        store.set_overrides(r, vec![o.clone()]).await.unwrap();
    }
    let mut listed = store.list_overrides(&w.org.id).await.unwrap();
    listed.sort_by_key(|(r, _)| r.kind());
    let mut expected = placed.to_vec();
    expected.sort_by_key(|(r, _)| r.kind());
    assert_eq!(listed, expected);
    assert!(
        store
            .list_overrides(&OrgId::generate())
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn overrides_replace_and_read_back(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let cat = store
        .create_category(NewCategory {
            id: CategoryId::generate(),
            space_id: w.space.id.clone(),
            name: "Projects".into(),
            created_at: now(),
        })
        .await
        .unwrap();
    let c = channel(&*store, &w, "general").await;
    let resources = [
        ResourceRef::Space(w.space.id.clone()),
        ResourceRef::Category(cat.id),
        ResourceRef::Channel(c.id),
    ];
    let two = vec![
        Override {
            target: OverrideTarget::Role(Role::Guest),
            action: Action::Post,
            effect: Effect::Deny,
        },
        Override {
            target: OverrideTarget::Principal(w.bot.id.clone()),
            action: Action::MentionAll,
            effect: Effect::Allow,
        },
    ];
    for r in &resources {
        assert!(store.get_overrides(r).await.unwrap().is_empty());
        store.set_overrides(r, two.clone()).await.unwrap();
        assert_eq!(store.get_overrides(r).await.unwrap(), two);
    }
    let one = vec![Override {
        target: OverrideTarget::Role(Role::Agent),
        action: Action::EditGroupmd,
        effect: Effect::Deny,
    }];
    store
        .set_overrides(&resources[1], one.clone())
        .await
        .unwrap();
    assert_eq!(store.get_overrides(&resources[1]).await.unwrap(), one);
    // Other resources keep theirs.
    assert_eq!(store.get_overrides(&resources[0]).await.unwrap(), two);
    assert_eq!(store.get_overrides(&resources[2]).await.unwrap(), two);
    store.set_overrides(&resources[2], vec![]).await.unwrap();
    assert!(store.get_overrides(&resources[2]).await.unwrap().is_empty());
}

// ---- messages ---------------------------------------------------------------------

pub async fn post_and_get_message(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let mut new = msg(&c.id, &w.alice, "hello @bot");
    new.data = Some(json!({ "card": { "title": "Hi", "n": 3 } }));
    new.mentions = Mentions {
        principal_ids: vec![w.bot.id.clone()],
        all: false,
        agents: true,
    };
    new.client_msg_id = Some("c-1".into());
    let posted = store.post_message(new.clone()).await.unwrap();
    let m = posted.message;
    let event = posted.event.unwrap();
    assert_eq!(m.id, new.id);
    assert_eq!(m.seq, c.last_seq + 1);
    assert_eq!(m.text, "hello @bot");
    assert_eq!(m.data, new.data);
    assert_eq!(m.mentions, new.mentions);
    assert_eq!(m.client_msg_id.as_deref(), Some("c-1"));
    assert_eq!(m.created_at, new.created_at);
    assert_eq!((m.hop, m.deleted, m.reply_count), (0, false, 0));
    assert_eq!(
        (m.edited_at, m.last_reply_at, m.thread_id.clone()),
        (None, None, None)
    );
    assert!(m.reactions.is_empty());
    assert_eq!(event.kind, EventKind::MessageCreated);
    assert_eq!(event.seq, m.seq);
    assert_eq!(event.actor, w.alice.id);
    assert_eq!(event.channel_id, c.id);
    assert_eq!(event.payload, payload::message_created(&m));
    assert_eq!(store.get_message(&m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(
        store.get_channel(&c.id).await.unwrap().unwrap().last_seq,
        m.seq
    );
    assert_eq!(
        store.get_message(&MessageId::generate()).await.unwrap(),
        None
    );
}

pub async fn concurrent_posts_get_gapless_seqs(store: Arc<dyn Store>) {
    const TASKS: usize = 10;
    const EACH: usize = 100;
    let w = world(&*store).await;
    let c = store
        .create_channel(new_channel(&w, "busy", &[&w.owner, &w.alice]))
        .await
        .unwrap()
        .value;
    let authors = [w.owner.clone(), w.alice.clone()];
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let store = store.clone();
            let channel = c.id.clone();
            let author = authors[t % 2].clone();
            tokio::spawn(async move {
                let mut seqs = Vec::with_capacity(EACH);
                for i in 0..EACH {
                    let posted = store
                        .post_message(msg(&channel, &author, &format!("{t}-{i}")))
                        .await
                        .unwrap();
                    let event = posted.event.unwrap();
                    assert_eq!(event.seq, posted.message.seq);
                    seqs.push(event.seq);
                }
                seqs
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for t in tasks {
        let mine = t.await.unwrap();
        assert!(
            mine.windows(2).all(|p| p[0] < p[1]),
            "one sender's posts are ordered"
        );
        seqs.extend(mine);
    }
    seqs.sort_unstable();
    let total = (TASKS * EACH) as u64;
    assert_eq!(
        seqs,
        (3..3 + total).collect::<Vec<_>>(),
        "seqs 3..=N+2 with no gap or duplicate"
    );

    let events = store.list_events(&c.id, 0, 5_000).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..3 + total).collect::<Vec<_>>()
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == EventKind::MessageCreated)
            .count() as u64,
        total
    );
    assert_eq!(
        store.get_channel(&c.id).await.unwrap().unwrap().last_seq,
        total + 2
    );
}

pub async fn client_msg_id_makes_posts_idempotent(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let mut first = msg(&c.id, &w.alice, "once");
    first.client_msg_id = Some("retry-me".into());
    let a = store.post_message(first.clone()).await.unwrap();
    assert!(a.event.is_some());
    // The retry has a new server-side id and time; the first message wins.
    let retry = NewMessage {
        id: MessageId::generate(),
        text: "twice?".into(),
        created_at: now(),
        ..first.clone()
    };
    let b = store.post_message(retry).await.unwrap();
    assert!(b.event.is_none());
    assert_eq!(b.message, a.message);
    assert_eq!(
        store.get_channel(&c.id).await.unwrap().unwrap().last_seq,
        a.message.seq
    );

    // The same client id from another author is a different message.
    let mut other = msg(&c.id, &w.bot, "mine");
    other.client_msg_id = Some("retry-me".into());
    let o = store.post_message(other).await.unwrap();
    assert!(o.event.is_some());
    assert_ne!(o.message.id, a.message.id);
}

pub async fn concurrent_retries_create_one_message(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            let mut m = msg(&c.id, &w.alice, "racing");
            m.client_msg_id = Some("same".into());
            tokio::spawn(async move { store.post_message(m).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    let mut ids = HashSet::new();
    for t in tasks {
        let posted = t.await.unwrap();
        created += usize::from(posted.event.is_some());
        ids.insert(posted.message.id);
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
    let events = store.list_events(&c.id, c.last_seq, 100).await.unwrap();
    assert_eq!(events.len(), 1);
}

pub async fn hop_counts_agent_chains_per_thread(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let top = |author: &Principal| msg(&c.id, author, "top");
    let t1 = post(&*store, top(&w.alice)).await;
    let t2 = post(&*store, top(&w.bot)).await;
    let t3 = post(&*store, top(&w.bot2)).await;
    let t4 = post(&*store, top(&w.bot)).await;
    assert_eq!([t1.hop, t2.hop, t3.hop, t4.hop], [0, 1, 2, 3]);

    // A thread counts from its own messages, starting at its root.
    let r1 = post(&*store, reply(&c.id, &t1.id, &w.bot, "r")).await;
    let r2 = post(&*store, reply(&c.id, &t1.id, &w.bot2, "r")).await;
    assert_eq!([r1.hop, r2.hop], [1, 2]);
    // Replies do not move the top-level chain.
    let t5 = post(&*store, top(&w.bot)).await;
    assert_eq!(t5.hop, 4);
    let r3 = post(&*store, reply(&c.id, &t1.id, &w.alice, "r")).await;
    let r4 = post(&*store, reply(&c.id, &t1.id, &w.bot, "r")).await;
    assert_eq!([r3.hop, r4.hop], [0, 1]);
    let on_agent_root = post(&*store, reply(&c.id, &t4.id, &w.bot2, "r")).await;
    assert_eq!(on_agent_root.hop, 4);
    let t6 = post(&*store, top(&w.alice)).await;
    let t7 = post(&*store, top(&w.bot2)).await;
    assert_eq!([t6.hop, t7.hop], [0, 1]);

    // Another channel has its own chain.
    let other = channel(&*store, &w, "other").await;
    assert_eq!(post(&*store, msg(&other.id, &w.bot, "x")).await.hop, 1);
}

pub async fn threads_replies_and_listing(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let a = post(&*store, msg(&c.id, &w.alice, "A")).await;
    let b = post(&*store, msg(&c.id, &w.alice, "B")).await;
    let lonely = post(&*store, msg(&c.id, &w.alice, "C")).await;
    let a1 = post(&*store, reply(&c.id, &a.id, &w.bot, "a1")).await;
    let b1 = post(&*store, reply(&c.id, &b.id, &w.bot, "b1")).await;
    let a2 = post(&*store, reply(&c.id, &a.id, &w.owner, "a2")).await;
    assert_eq!(a1.thread_id.as_ref(), Some(&a.id));

    let a_now = store.get_message(&a.id).await.unwrap().unwrap();
    assert_eq!(a_now.reply_count, 2);
    assert_eq!(a_now.last_reply_at, Some(a2.created_at));
    let b_now = store.get_message(&b.id).await.unwrap().unwrap();
    assert_eq!(
        (b_now.reply_count, b_now.last_reply_at),
        (1, Some(b1.created_at))
    );

    let threads = store.list_threads(&c.id, 10).await.unwrap();
    assert_eq!(
        ids(&threads),
        vec![a.id.clone(), b.id.clone()],
        "most recently active first"
    );
    assert_eq!(threads[0], a_now);
    assert_eq!(
        ids(&store.list_threads(&c.id, 1).await.unwrap()),
        vec![a.id.clone()]
    );
    let b2 = post(&*store, reply(&c.id, &b.id, &w.bot, "b2")).await;
    assert_eq!(
        ids(&store.list_threads(&c.id, 10).await.unwrap()),
        vec![b.id.clone(), a.id.clone()]
    );

    let top = store
        .list_messages(&c.id, page(ThreadFilter::TopLevel, None, None, 50))
        .await
        .unwrap();
    assert_eq!(
        ids(&top),
        vec![a.id.clone(), b.id.clone(), lonely.id.clone()]
    );
    let thread = store
        .list_messages(
            &c.id,
            page(ThreadFilter::Thread(a.id.clone()), None, None, 50),
        )
        .await
        .unwrap();
    assert_eq!(
        ids(&thread),
        vec![a.id.clone(), a1.id.clone(), a2.id.clone()]
    );
    let thread_b = store
        .list_messages(
            &c.id,
            page(ThreadFilter::Thread(b.id.clone()), Some(b.seq), None, 50),
        )
        .await
        .unwrap();
    assert_eq!(ids(&thread_b), vec![b1.id, b2.id]);

    // Replies must hang off a top-level message of the same channel.
    assert_not_found(
        store
            .post_message(reply(&c.id, &a1.id, &w.bot, "nested"))
            .await,
    );
    let other = channel(&*store, &w, "other").await;
    assert_not_found(
        store
            .post_message(reply(&other.id, &a.id, &w.bot, "cross"))
            .await,
    );
}

pub async fn message_paging(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let mut all = Vec::new();
    for i in 0..10 {
        let m = post(&*store, msg(&c.id, &w.alice, &format!("m{i}"))).await;
        if i == 4 {
            // A reply in between must not appear at top level.
            post(&*store, reply(&c.id, &m.id, &w.bot, "reply")).await;
        }
        all.push(m);
    }
    let top = |after, before, limit| page(ThreadFilter::TopLevel, after, before, limit);
    let list = |p| {
        let store = store.clone();
        let id = c.id.clone();
        async move { ids(&store.list_messages(&id, p).await.unwrap()) }
    };
    assert_eq!(
        list(top(None, None, 3)).await,
        ids(&all[7..]),
        "newest page, oldest first"
    );
    assert_eq!(list(top(None, None, 100)).await, ids(&all));
    assert_eq!(list(top(Some(all[2].seq), None, 3)).await, ids(&all[3..6]));
    assert_eq!(list(top(Some(all[8].seq), None, 3)).await, ids(&all[9..]));
    assert_eq!(
        list(top(Some(all[9].seq), None, 3)).await,
        Vec::<MessageId>::new()
    );
    assert_eq!(list(top(Some(0), None, 2)).await, ids(&all[..2]));
    assert_eq!(list(top(None, Some(all[5].seq), 2)).await, ids(&all[3..5]));
    assert_eq!(list(top(None, Some(all[2].seq), 10)).await, ids(&all[..2]));
    assert_eq!(
        list(top(None, Some(all[0].seq), 10)).await,
        Vec::<MessageId>::new()
    );
    // `after` wins over `before`.
    assert_eq!(
        list(top(Some(all[6].seq), Some(all[2].seq), 2)).await,
        ids(&all[7..9])
    );
    let seqs: Vec<u64> = all.iter().map(|m| m.seq).collect();
    assert!(seqs.windows(2).all(|p| p[0] < p[1]));
}

pub async fn edit_message_changes_text_and_mentions(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let mut new = msg(&c.id, &w.alice, "helo");
    new.data = Some(json!({ "keep": true }));
    let m = post(&*store, new).await;
    let edit = MessageEdit {
        text: "hello @bot".into(),
        mentions: Mentions {
            principal_ids: vec![w.bot.id.clone()],
            all: false,
            agents: false,
        },
        edited_at: now(),
    };
    let (edited, event) = store
        .edit_message(&m.id, &w.alice.id, edit.clone())
        .await
        .unwrap();
    assert_eq!(edited.text, "hello @bot");
    assert_eq!(edited.mentions, edit.mentions);
    assert_eq!(edited.edited_at, Some(edit.edited_at));
    assert_eq!(
        (edited.seq, edited.hop, edited.data.clone()),
        (m.seq, m.hop, m.data.clone())
    );
    assert_eq!(event.kind, EventKind::MessageEdited);
    assert_eq!(event.seq, m.seq + 1);
    assert_eq!(event.actor, w.alice.id);
    assert_eq!(event.payload, payload::message_edited(&edited));
    assert_eq!(store.get_message(&m.id).await.unwrap(), Some(edited));
    assert_not_found(
        store
            .edit_message(&MessageId::generate(), &w.alice.id, edit)
            .await,
    );
}

pub async fn deleting_a_message_redacts_its_words_from_the_log(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let mut new = msg(&c.id, &w.alice, "my password is hunter2");
    new.data = Some(json!({ "secret": true }));
    let m = post(&*store, new).await;
    let edit = MessageEdit {
        text: "oops, hunter2 again".into(),
        mentions: Mentions::default(),
        edited_at: now(),
    };
    store.edit_message(&m.id, &w.alice.id, edit).await.unwrap();
    let mut streamed = msg(&c.id, &w.bot, "");
    streamed.stream = true;
    let s = post(&*store, streamed).await;
    store
        .append_delta(&s.id, &w.bot.id, "leaked ")
        .await
        .unwrap();
    store
        .finish_stream(
            &s.id,
            &w.bot.id,
            Some("leaked words".into()),
            StreamStatus::Finished,
        )
        .await
        .unwrap();
    let kept = post(&*store, msg(&c.id, &w.owner, "unrelated")).await;
    store.delete_message(&m.id, &w.alice.id).await.unwrap();
    store.delete_message(&s.id, &w.bot.id).await.unwrap();

    let log = store.list_events(&c.id, 0, 100).await.unwrap();
    let text = serde_json::to_string(&log).unwrap();
    assert!(
        !text.contains("hunter2") && !text.contains("leaked"),
        "{text}"
    );
    assert!(!text.contains("\"secret\""), "{text}");
    let created = log.iter().find(|e| e.seq == m.seq).unwrap();
    assert_eq!(created.payload["message"]["deleted"], json!(true));
    assert_eq!(created.payload["message"]["id"], json!(m.id));
    // Every event keeps its place, and other messages keep their words.
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    let other = log.iter().find(|e| e.seq == kept.seq).unwrap();
    assert_eq!(other.payload["message"]["text"], json!("unrelated"));
}

pub async fn delete_message_leaves_a_tombstone(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let mut new = msg(&c.id, &w.alice, "secret @bot");
    new.data = Some(json!({ "x": 1 }));
    new.mentions.principal_ids = vec![w.bot.id.clone()];
    let root = post(&*store, new).await;
    let r = post(&*store, reply(&c.id, &root.id, &w.bot, "reply")).await;
    store
        .add_reaction(&root.id, &w.bot.id, "eyes")
        .await
        .unwrap();

    let (gone, event) = store.delete_message(&root.id, &w.owner.id).await.unwrap();
    assert!(gone.deleted);
    assert_eq!(gone.text, "");
    assert_eq!(gone.data, None);
    assert_eq!(gone.mentions, Mentions::default());
    assert!(gone.reactions.is_empty());
    assert_eq!((gone.seq, gone.reply_count), (root.seq, 1));
    assert_eq!(event.kind, EventKind::MessageDeleted);
    assert_eq!(event.actor, w.owner.id);
    assert_eq!(event.payload, payload::message_deleted(&gone));
    assert_eq!(
        store.get_message(&root.id).await.unwrap(),
        Some(gone.clone())
    );

    // The tombstone keeps its place; its thread still reads.
    let top = store
        .list_messages(&c.id, page(ThreadFilter::TopLevel, None, None, 10))
        .await
        .unwrap();
    assert_eq!(top, vec![gone.clone()]);
    let thread = store
        .list_messages(
            &c.id,
            page(ThreadFilter::Thread(root.id.clone()), None, None, 10),
        )
        .await
        .unwrap();
    assert_eq!(ids(&thread), vec![root.id.clone(), r.id.clone()]);

    assert_not_found(store.delete_message(&root.id, &w.owner.id).await);
    let edit = MessageEdit {
        text: "back".into(),
        mentions: Mentions::default(),
        edited_at: now(),
    };
    assert_not_found(store.edit_message(&root.id, &w.alice.id, edit).await);
    assert_not_found(store.add_reaction(&root.id, &w.bot.id, "eyes").await);
    assert_not_found(
        store
            .delete_message(&MessageId::generate(), &w.owner.id)
            .await,
    );

    // Deleting a reply leaves the root's reply count alone.
    let (reply_gone, event) = store.delete_message(&r.id, &w.bot.id).await.unwrap();
    assert_eq!(reply_gone.thread_id.as_ref(), Some(&root.id));
    assert_eq!(
        event.payload,
        json!({ "message_id": r.id, "thread_id": root.id })
    );
    assert_eq!(
        store
            .get_message(&root.id)
            .await
            .unwrap()
            .unwrap()
            .reply_count,
        1
    );
}

pub async fn reactions_add_remove_and_aggregate(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let m = post(&*store, msg(&c.id, &w.alice, "ship it")).await;

    let e = store
        .add_reaction(&m.id, &w.alice.id, "+1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.kind, EventKind::ReactionAdded);
    assert_eq!(e.actor, w.alice.id);
    assert_eq!(
        e.payload,
        payload::reaction(&m.id, &m.author_id, &w.alice.id, "+1")
    );
    assert_eq!(e.seq, m.seq + 1);
    let by_bot = store
        .add_reaction(&m.id, &w.bot.id, "tada")
        .await
        .unwrap()
        .unwrap();
    // The payload names the message's author, not only who reacted.
    assert_eq!(by_bot.payload["message_author_id"], json!(w.alice.id));
    assert_eq!(by_bot.payload["principal_id"], json!(w.bot.id));
    store
        .add_reaction(&m.id, &w.bot.id, "+1")
        .await
        .unwrap()
        .unwrap();
    store
        .add_reaction(&m.id, &w.owner.id, "tada")
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .add_reaction(&m.id, &w.alice.id, "+1")
            .await
            .unwrap()
            .is_none(),
        "duplicate"
    );

    let got = store.get_message(&m.id).await.unwrap().unwrap();
    assert_eq!(
        got.reactions,
        vec![
            Reaction {
                emoji: "+1".into(),
                count: 2,
                principal_ids: vec![w.alice.id.clone(), w.bot.id.clone()],
            },
            Reaction {
                emoji: "tada".into(),
                count: 2,
                principal_ids: vec![w.bot.id.clone(), w.owner.id.clone()],
            },
        ]
    );

    let e = store
        .remove_reaction(&m.id, &w.alice.id, "+1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.kind, EventKind::ReactionRemoved);
    assert_eq!(
        e.payload,
        payload::reaction(&m.id, &m.author_id, &w.alice.id, "+1")
    );
    assert!(
        store
            .remove_reaction(&m.id, &w.alice.id, "+1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .remove_reaction(&m.id, &w.alice.id, "nope")
            .await
            .unwrap()
            .is_none()
    );
    // "+1" now dates from the bot's reaction, after its "tada".
    let got = store.get_message(&m.id).await.unwrap().unwrap();
    let summary: Vec<_> = got
        .reactions
        .iter()
        .map(|r| (r.emoji.as_str(), r.count))
        .collect();
    assert_eq!(summary, vec![("tada", 2), ("+1", 1)]);
    let listed = store
        .list_messages(&c.id, page(ThreadFilter::TopLevel, None, None, 10))
        .await
        .unwrap();
    assert_eq!(listed[0].reactions, got.reactions);
    assert_not_found(
        store
            .add_reaction(&MessageId::generate(), &w.alice.id, "+1")
            .await,
    );
}

pub async fn event_log_is_exact(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = store
        .create_channel(new_channel(&w, "general", &[&w.owner, &w.alice]))
        .await
        .unwrap()
        .value;
    let mut expected = store.list_events(&c.id, 0, 10).await.unwrap();
    assert_eq!(expected.len(), 2);

    let posted = store
        .post_message(msg(&c.id, &w.alice, "hi"))
        .await
        .unwrap();
    let m = posted.message;
    expected.push(posted.event.unwrap());
    let edit = MessageEdit {
        text: "hi all".into(),
        mentions: Mentions::default(),
        edited_at: now(),
    };
    expected.push(
        store
            .edit_message(&m.id, &w.alice.id, edit)
            .await
            .unwrap()
            .1,
    );
    expected.push(
        store
            .add_reaction(&m.id, &w.owner.id, "wave")
            .await
            .unwrap()
            .unwrap(),
    );
    expected.push(
        store
            .remove_reaction(&m.id, &w.owner.id, "wave")
            .await
            .unwrap()
            .unwrap(),
    );
    expected.push(store.delete_message(&m.id, &w.alice.id).await.unwrap().1);
    let (_, joined) = store
        .add_channel_member(&c.id, &w.bot.id, TriggerPolicy::Mention, &w.owner.id)
        .await
        .unwrap();
    expected.push(joined.unwrap());
    expected.push(
        store
            .remove_channel_member(&c.id, &w.bot.id, &w.owner.id)
            .await
            .unwrap()
            .unwrap(),
    );
    let patch = ChannelPatch {
        name: None,
        topic: Some(Some("new topic".into())),
        ..ChannelPatch::default()
    };
    expected.push(
        store
            .update_channel(&c.id, &w.owner.id, patch)
            .await
            .unwrap()
            .1,
    );

    let kinds: Vec<_> = expected.iter().map(|e| e.kind).collect();
    use EventKind::*;
    assert_eq!(
        kinds,
        vec![
            MemberJoined,
            MemberJoined,
            MessageCreated,
            MessageEdited,
            ReactionAdded,
            ReactionRemoved,
            MessageDeleted,
            MemberJoined,
            MemberLeft,
            ChannelUpdated
        ]
    );
    // The deleted message's words were redacted from the events that carried
    // them (see deleting_a_message_redacts_its_words_from_the_log).
    let created = &mut expected[2].payload["message"];
    created["text"] = json!("");
    created["deleted"] = json!(true);
    expected[3].payload["text"] = json!("");
    let log = store.list_events(&c.id, 0, 100).await.unwrap();
    assert_eq!(
        log, expected,
        "the log holds exactly what the writes returned, less deleted words"
    );
    assert_eq!(
        log.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(
        store.list_events(&c.id, 5, 2).await.unwrap(),
        expected[5..7].to_vec()
    );
    assert!(store.list_events(&c.id, 10, 100).await.unwrap().is_empty());
    assert!(
        store
            .list_events(&ChannelId::generate(), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let ids: HashSet<_> = log.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), log.len());
}

pub async fn writes_to_missing_things_are_not_found(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let nowhere = ChannelId::generate();
    assert_not_found(store.post_message(msg(&nowhere, &w.alice, "hello?")).await);
    let c = channel(&*store, &w, "general").await;
    assert_not_found(
        store
            .post_message(reply(&c.id, &MessageId::generate(), &w.alice, "hm"))
            .await,
    );
    assert_not_found(
        store
            .remove_reaction(&MessageId::generate(), &w.alice.id, "x")
            .await,
    );
    assert_not_found(
        store
            .remove_channel_member(&nowhere, &w.alice.id, &w.owner.id)
            .await,
    );
    // Nothing was appended by the refusals.
    assert_eq!(
        store.get_channel(&c.id).await.unwrap().unwrap().last_seq,
        c.last_seq
    );
}

// ---- agents -----------------------------------------------------------------

fn stream(channel: &ChannelId, author: &Principal, text: &str) -> NewMessage {
    NewMessage {
        stream: true,
        ..msg(channel, author, text)
    }
}

fn trigger(agent: &Principal, event: &Event, message: &Message, reason: TriggerReason) -> Trigger {
    Trigger {
        id: MessageId::generate().to_string(),
        agent_id: agent.id.clone(),
        channel_id: event.channel_id.clone(),
        seq: event.seq,
        message_id: message.id.clone(),
        thread_id: message.thread_id.clone(),
        reason,
        hop: message.hop,
        created_at: now(),
    }
}

pub async fn profiles_update_and_read_back(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let got = store.get_principal(&w.bot.id).await.unwrap().unwrap();
    assert_eq!(got.skills, vec!["summaries", "triage"]);
    assert_eq!(
        got.avatar_url.as_deref(),
        Some("https://example.com/bot.png")
    );
    assert!(w.alice.skills.is_empty());

    let patch = ProfilePatch {
        display_name: Some(Some("Summary Bot".into())),
        skills: Some(vec!["triage".into(), "release notes".into()]),
        avatar_url: Some(Some("https://example.com/new.png".into())),
        description: None,
    };
    let updated = store.update_profile(&w.bot.id, patch).await.unwrap();
    let expected = Principal {
        display_name: Some("Summary Bot".into()),
        skills: vec!["triage".into(), "release notes".into()],
        avatar_url: Some("https://example.com/new.png".into()),
        ..w.bot.clone()
    };
    assert_eq!(updated, expected, "only the patched fields change");
    assert_eq!(
        store.get_principal(&w.bot.id).await.unwrap(),
        Some(expected)
    );

    let clear = ProfilePatch {
        description: Some(None),
        avatar_url: Some(None),
        skills: Some(Vec::new()),
        ..ProfilePatch::default()
    };
    let cleared = store.update_profile(&w.bot.id, clear).await.unwrap();
    assert_eq!(cleared.display_name.as_deref(), Some("Summary Bot"));
    assert_eq!(cleared.description, None);
    assert_eq!(cleared.avatar_url, None);
    assert!(cleared.skills.is_empty());
    let listed = store.list_principals(&w.org.id).await.unwrap();
    assert!(listed.contains(&cleared));
    assert_eq!(
        store
            .update_profile(&w.alice.id, ProfilePatch::default())
            .await
            .unwrap(),
        w.alice,
        "an empty patch changes nothing"
    );
    assert_not_found(
        store
            .update_profile(&PrincipalId::generate(), ProfilePatch::default())
            .await,
    );
}

pub async fn channel_loop_guard_defaults_and_patch(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    assert_eq!(c.agent_hop_limit, DEFAULT_AGENT_HOP_LIMIT);
    assert_eq!(
        c.agent_triggers_per_minute,
        DEFAULT_AGENT_TRIGGERS_PER_MINUTE
    );

    let patch = ChannelPatch {
        agent_hop_limit: Some(2),
        ..ChannelPatch::default()
    };
    let (updated, event) = store
        .update_channel(&c.id, &w.owner.id, patch)
        .await
        .unwrap();
    assert_eq!(updated.agent_hop_limit, 2);
    assert_eq!(
        updated.agent_triggers_per_minute,
        DEFAULT_AGENT_TRIGGERS_PER_MINUTE
    );
    assert_eq!(updated.name, c.name);
    assert_eq!(updated.topic, c.topic);
    assert_eq!(
        event.payload,
        json!({
            "name": "general",
            "topic": "talk",
            "agent_hop_limit": 2,
            "agent_triggers_per_minute": DEFAULT_AGENT_TRIGGERS_PER_MINUTE,
        })
    );

    let patch = ChannelPatch {
        agent_triggers_per_minute: Some(5),
        ..ChannelPatch::default()
    };
    let (updated, event) = store
        .update_channel(&c.id, &w.owner.id, patch)
        .await
        .unwrap();
    assert_eq!(
        (updated.agent_hop_limit, updated.agent_triggers_per_minute),
        (2, 5)
    );
    assert_eq!(event.payload, payload::channel_updated(&updated));
    assert_eq!(
        store.get_channel(&c.id).await.unwrap(),
        Some(updated.clone())
    );
    let listed = store.list_channels(&w.org.id).await.unwrap();
    assert!(listed.contains(&updated));
}

pub async fn streams_open_grow_and_finish(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let opened = store.post_message(stream(&c.id, &w.bot, "")).await.unwrap();
    let m = opened.message;
    assert_eq!(m.stream, Some(StreamStatus::Open));
    assert_eq!(m.text, "");
    let created = opened.event.unwrap();
    assert_eq!(created.payload, payload::message_created(&m));
    assert_eq!(store.get_message(&m.id).await.unwrap(), Some(m.clone()));

    let (grown, first) = store.append_delta(&m.id, &w.bot.id, "Hello").await.unwrap();
    assert_eq!(grown.text, "Hello");
    assert_eq!(first.kind, EventKind::MessageDelta);
    assert_eq!(first.seq, m.seq + 1);
    assert_eq!(first.actor, w.bot.id);
    assert_eq!(first.payload, payload::message_delta(&grown, "Hello"));
    assert_eq!(first.payload["delta"], json!("Hello"));
    let (grown, second) = store
        .append_delta(&m.id, &w.bot.id, ", world")
        .await
        .unwrap();
    assert_eq!(grown.text, "Hello, world");
    assert_eq!(grown.stream, Some(StreamStatus::Open));
    assert_eq!(second.payload, payload::message_delta(&grown, ", world"));
    assert_eq!(store.get_message(&m.id).await.unwrap(), Some(grown.clone()));

    let (done, finished) = store
        .finish_stream(&m.id, &w.bot.id, None, StreamStatus::Finished)
        .await
        .unwrap();
    assert_eq!(done.text, "Hello, world");
    assert_eq!(done.stream, Some(StreamStatus::Finished));
    assert_eq!(finished.kind, EventKind::MessageFinished);
    assert_eq!(finished.payload, payload::message_finished(&done));
    assert_eq!(finished.payload["stream"], json!("finished"));
    assert_eq!(store.get_message(&m.id).await.unwrap(), Some(done.clone()));
    assert_eq!(
        store.list_events(&c.id, m.seq - 1, 10).await.unwrap(),
        vec![created, first, second, finished.clone()],
        "created, two deltas, finished: in order, as returned"
    );
    assert_conflict(
        store
            .finish_stream(&m.id, &w.bot.id, None, StreamStatus::Finished)
            .await,
    );
    assert_conflict(store.append_delta(&m.id, &w.bot.id, "more").await);

    // A plain message is no stream.
    let plain = post(&*store, msg(&c.id, &w.alice, "plain")).await;
    assert_eq!(plain.stream, None);
    assert_conflict(store.append_delta(&plain.id, &w.alice.id, "x").await);
    assert_conflict(
        store
            .finish_stream(&plain.id, &w.alice.id, None, StreamStatus::Finished)
            .await,
    );

    // A stream in a thread, closed as interrupted with replacement text.
    let s = post(
        &*store,
        NewMessage {
            thread_id: Some(m.id.clone()),
            ..stream(&c.id, &w.bot2, "Thinking")
        },
    )
    .await;
    store
        .append_delta(&s.id, &w.bot2.id, " hard")
        .await
        .unwrap();
    assert_conflict(
        store
            .finish_stream(&s.id, &w.bot2.id, None, StreamStatus::Open)
            .await,
    );
    let (cut, event) = store
        .finish_stream(
            &s.id,
            &w.bot2.id,
            Some("Sorry, I was cut off.".into()),
            StreamStatus::Interrupted,
        )
        .await
        .unwrap();
    assert_eq!(cut.text, "Sorry, I was cut off.");
    assert_eq!(cut.stream, Some(StreamStatus::Interrupted));
    assert_eq!(event.payload, payload::message_finished(&cut));
    assert_eq!(event.payload["thread_id"], json!(m.id));
    assert_eq!(store.get_message(&s.id).await.unwrap(), Some(cut));

    // Missing or deleted streams are not found.
    let gone = post(&*store, stream(&c.id, &w.bot, "soon gone")).await;
    store.delete_message(&gone.id, &w.bot.id).await.unwrap();
    for id in [MessageId::generate(), gone.id] {
        assert_not_found(store.append_delta(&id, &w.bot.id, "x").await);
        assert_not_found(
            store
                .finish_stream(&id, &w.bot.id, None, StreamStatus::Finished)
                .await,
        );
    }
    let last = store.get_channel(&c.id).await.unwrap().unwrap().last_seq;
    assert_eq!(
        store.list_events(&c.id, 0, 100).await.unwrap().len() as u64,
        last,
        "refusals appended nothing"
    );
}

pub async fn idle_streams_are_open_and_quiet(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let start = now();
    let a = post(&*store, stream(&c.id, &w.bot, "a")).await;
    let b = post(&*store, stream(&c.id, &w.bot2, "b")).await;
    let done = post(&*store, stream(&c.id, &w.bot, "done")).await;
    store
        .finish_stream(&done.id, &w.bot.id, None, StreamStatus::Finished)
        .await
        .unwrap();
    // Deleting an open stream closes it: nothing could finish it any more.
    let gone = post(&*store, stream(&c.id, &w.bot, "gone")).await;
    let (gone, _) = store.delete_message(&gone.id, &w.bot.id).await.unwrap();
    assert_eq!(gone.stream, Some(StreamStatus::Interrupted));
    post(&*store, msg(&c.id, &w.alice, "plain")).await;
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let cutoff = now();
    let late = post(&*store, stream(&c.id, &w.bot2, "late")).await;

    let idle = store.idle_streams(cutoff, 10).await.unwrap();
    assert_eq!(ids(&idle), vec![a.id.clone(), b.id.clone()]);
    assert_eq!(idle[0], a);
    assert_eq!(
        ids(&store.idle_streams(cutoff, 1).await.unwrap()),
        vec![a.id.clone()]
    );
    assert!(store.idle_streams(start, 10).await.unwrap().is_empty());

    // A delta makes a stream active again.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store.append_delta(&a.id, &w.bot.id, "!").await.unwrap();
    assert_eq!(
        ids(&store.idle_streams(cutoff, 10).await.unwrap()),
        vec![b.id.clone()]
    );
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let everything = store.idle_streams(now(), 10).await.unwrap();
    assert_eq!(
        ids(&everything),
        vec![b.id, late.id, a.id],
        "least recently active first"
    );
}

pub async fn notes_append_events_and_nothing_else(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let m = post(&*store, msg(&c.id, &w.alice, "hi @bot")).await;
    let status = json!({ "agent_id": w.bot.id, "status": "reading the thread…" });
    let note = store
        .append_note(&c.id, EventKind::AgentStatus, &w.bot.id, status.clone())
        .await
        .unwrap();
    assert_eq!(note.seq, m.seq + 1);
    assert_eq!(note.kind, EventKind::AgentStatus);
    assert_eq!(note.actor, w.bot.id);
    assert_eq!(note.payload, status);
    let guard = store
        .append_note(
            &c.id,
            EventKind::AgentLoopGuard,
            &w.owner.id,
            json!({ "held": [w.bot2.id] }),
        )
        .await
        .unwrap();
    assert_eq!(guard.seq, m.seq + 2);
    assert_eq!(
        store.list_events(&c.id, m.seq, 10).await.unwrap(),
        vec![note, guard]
    );
    assert_eq!(
        store.get_channel(&c.id).await.unwrap().unwrap().last_seq,
        m.seq + 2
    );
    assert_eq!(store.get_message(&m.id).await.unwrap(), Some(m.clone()));
    let listed = store
        .list_messages(&c.id, page(ThreadFilter::TopLevel, None, None, 10))
        .await
        .unwrap();
    assert_eq!(listed, vec![m.clone()]);
    let next = post(&*store, msg(&c.id, &w.alice, "next")).await;
    assert_eq!(next.seq, m.seq + 3);
    assert_not_found(
        store
            .append_note(
                &ChannelId::generate(),
                EventKind::AgentStatus,
                &w.bot.id,
                json!({}),
            )
            .await,
    );
}

pub async fn taking_part_in_a_thread(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let root = post(&*store, msg(&c.id, &w.alice, "question")).await;
    let answer = post(&*store, reply(&c.id, &root.id, &w.bot, "answer")).await;
    let lonely = post(&*store, msg(&c.id, &w.owner, "nobody replies")).await;
    let took_part = |p: &Principal, t: &MessageId| {
        let (store, p, t) = (store.clone(), p.id.clone(), t.clone());
        async move { store.took_part_in_thread(&p, &t).await.unwrap() }
    };
    assert!(took_part(&w.alice, &root.id).await, "the root's author");
    assert!(took_part(&w.bot, &root.id).await, "a reply's author");
    assert!(!took_part(&w.bot2, &root.id).await);
    assert!(!took_part(&w.owner, &root.id).await);
    assert!(took_part(&w.owner, &lonely.id).await);
    assert!(!took_part(&w.bot, &lonely.id).await);
    assert!(!took_part(&w.bot, &answer.id).await, "a reply is no thread");
    assert!(!took_part(&w.alice, &MessageId::generate()).await);
}

pub async fn triggers_are_recorded_once_and_listed(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let other = channel(&*store, &w, "random").await;
    let mut posted = Vec::new();
    for (ch, text) in [
        (&c, "one"),
        (&c, "two"),
        (&c, "three"),
        (&other, "elsewhere"),
    ] {
        let p = store
            .post_message(msg(&ch.id, &w.alice, text))
            .await
            .unwrap();
        posted.push((p.message, p.event.unwrap()));
    }
    let reacted = store
        .add_reaction(&posted[0].0.id, &w.owner.id, "+1")
        .await
        .unwrap()
        .unwrap();
    let [(m1, e1), (m2, e2), (m3, e3), (m4, e4)] = <[_; 4]>::try_from(posted).unwrap();
    let t1 = trigger(&w.bot, &e1, &m1, TriggerReason::Mention);
    let t2 = trigger(&w.bot, &e2, &m2, TriggerReason::All);
    let t3 = trigger(&w.bot, &e3, &m3, TriggerReason::All);
    let t4 = trigger(&w.bot, &e4, &m4, TriggerReason::All);
    let tr = trigger(&w.bot, &reacted, &m1, TriggerReason::Reaction);
    let other_agent = trigger(&w.bot2, &e1, &m1, TriggerReason::Agents);
    store
        .record_triggers(vec![
            t1.clone(),
            t2.clone(),
            t4.clone(),
            other_agent.clone(),
        ])
        .await
        .unwrap();
    store
        .record_triggers(vec![t3.clone(), tr.clone()])
        .await
        .unwrap();
    // A retry, and another node recording the same wake-up with its own id.
    store.record_triggers(vec![t1.clone()]).await.unwrap();
    let again = Trigger {
        id: MessageId::generate().to_string(),
        reason: TriggerReason::All,
        ..t2.clone()
    };
    store.record_triggers(vec![again]).await.unwrap();
    store.record_triggers(Vec::new()).await.unwrap();

    let all = store.list_triggers(&w.bot.id, &c.id, 0, 10).await.unwrap();
    assert_eq!(
        all,
        vec![
            (t1.clone(), e1.clone()),
            (t2.clone(), e2.clone()),
            (t3.clone(), e3.clone()),
            (tr.clone(), reacted.clone()),
        ],
        "oldest first, first record kept, each with its event"
    );
    assert_eq!(
        store
            .list_triggers(&w.bot.id, &c.id, e1.seq, 10)
            .await
            .unwrap(),
        all[1..].to_vec()
    );
    assert_eq!(
        store.list_triggers(&w.bot.id, &c.id, 0, 2).await.unwrap(),
        all[..2].to_vec()
    );
    assert!(
        store
            .list_triggers(&w.bot.id, &c.id, reacted.seq, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.list_triggers(&w.bot2.id, &c.id, 0, 10).await.unwrap(),
        vec![(other_agent, e1)]
    );
    assert_eq!(
        store
            .list_triggers(&w.bot.id, &other.id, 0, 10)
            .await
            .unwrap(),
        vec![(t4, e4)]
    );
    assert!(
        store
            .list_triggers(&w.alice.id, &c.id, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn deployment_secret_is_made_once(store: Arc<dyn Store>) {
    let first = store.deployment_secret().await.unwrap();
    assert_eq!(first.len(), 32);
    assert!(first.iter().any(|&b| b != 0), "random, not zeroed");
    assert_eq!(store.deployment_secret().await.unwrap(), first);
}

pub async fn concurrent_first_secrets_agree(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.deployment_secret().await.unwrap() })
        })
        .collect();
    let mut secrets = HashSet::new();
    for t in tasks {
        secrets.insert(t.await.unwrap());
    }
    assert_eq!(secrets.len(), 1, "every first call got the same secret");
    let secret = secrets.into_iter().next().unwrap();
    assert_eq!(secret.len(), 32);
    assert_eq!(store.deployment_secret().await.unwrap(), secret);
}

// ---- webhooks and their outbox -------------------------------------------------

fn webhook(agent: &Principal, url: &str) -> Webhook {
    Webhook {
        agent_id: agent.id.clone(),
        url: url.into(),
        secret: format!("secret for {url}"),
        created_at: now(),
    }
}

fn delivery(agent: &Principal, event_id: &str, created_at: Timestamp) -> NewDelivery {
    NewDelivery {
        id: MessageId::generate().to_string(),
        agent_id: agent.id.clone(),
        event_id: event_id.into(),
        body: format!(r#"{{"event_id":"{event_id}"}}"#),
        created_at,
    }
}

/// An hour ago: deliveries made at `ago(s)` are due now, in a known order.
fn ago(seconds: i64) -> Timestamp {
    now() - chrono::Duration::hours(1) + chrono::Duration::seconds(seconds)
}

fn delivery_ids(list: &[Delivery]) -> Vec<String> {
    list.iter().map(|d| d.id.clone()).collect()
}

async fn enqueue(store: &dyn Store, list: &[NewDelivery]) {
    store.enqueue_deliveries(list.to_vec()).await.unwrap();
}

async fn only_delivery(store: &dyn Store, agent: &Principal) -> Delivery {
    let list = store.list_deliveries(&agent.id, None, 10).await.unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    list.into_iter().next().unwrap()
}

fn retry(at: Timestamp, error: &str) -> Attempt {
    Attempt::Retry {
        at,
        error: error.into(),
    }
}

fn dead(error: &str) -> Attempt {
    Attempt::Dead {
        error: error.into(),
    }
}

pub async fn webhooks_set_replace_and_remove(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    assert_eq!(store.get_webhook(&w.bot.id).await.unwrap(), None);
    let first = webhook(&w.bot, "https://bot.example.com/hook");
    store
        .set_webhook(&w.bot.id, Some(first.clone()))
        .await
        .unwrap();
    assert_eq!(store.get_webhook(&w.bot.id).await.unwrap(), Some(first));

    let second = webhook(&w.bot, "https://bot.example.com/v2");
    store
        .set_webhook(&w.bot.id, Some(second.clone()))
        .await
        .unwrap();
    assert_eq!(
        store.get_webhook(&w.bot.id).await.unwrap(),
        Some(second.clone()),
        "replaced, url and secret alike"
    );
    let other = webhook(&w.bot2, "https://bot2.example.com/hook");
    store
        .set_webhook(&w.bot2.id, Some(other.clone()))
        .await
        .unwrap();
    assert_eq!(store.get_webhook(&w.bot.id).await.unwrap(), Some(second));

    store.set_webhook(&w.bot.id, None).await.unwrap();
    assert_eq!(store.get_webhook(&w.bot.id).await.unwrap(), None);
    store.set_webhook(&w.bot.id, None).await.unwrap();
    assert_eq!(store.get_webhook(&w.bot2.id).await.unwrap(), Some(other));

    let nobody = PrincipalId::generate();
    let mut stray = webhook(&w.bot, "https://nowhere.example.com");
    stray.agent_id = nobody.clone();
    assert_not_found(store.set_webhook(&nobody, Some(stray)).await);
}

pub async fn deliveries_are_enqueued_once_per_agent_and_event(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let first = delivery(&w.bot, "t1", ago(0));
    let second = delivery(&w.bot, "t2", ago(1));
    // The same event for another agent is another delivery.
    let other = delivery(&w.bot2, "t1", ago(0));
    enqueue(&*store, &[first.clone(), second.clone(), other.clone()]).await;
    store.enqueue_deliveries(Vec::new()).await.unwrap();

    let list = store.list_deliveries(&w.bot.id, None, 10).await.unwrap();
    assert_eq!(
        delivery_ids(&list),
        vec![second.id.clone(), first.id.clone()]
    );
    assert_eq!(
        list[1],
        Delivery {
            id: first.id.clone(),
            agent_id: w.bot.id.clone(),
            event_id: "t1".into(),
            body: first.body.clone(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_error: None,
            next_attempt_at: Some(first.created_at),
            created_at: first.created_at,
            delivered_at: None,
        },
        "pending, due when made"
    );

    // A retry with the same id, and another node's enqueue with its own.
    let again = NewDelivery {
        id: MessageId::generate().to_string(),
        body: "a different body".into(),
        created_at: ago(5),
        ..first.clone()
    };
    enqueue(&*store, &[first.clone(), again.clone()]).await;
    assert_eq!(
        store.list_deliveries(&w.bot.id, None, 10).await.unwrap(),
        list,
        "the first enqueue is kept as it was"
    );

    // Still ignored once the first one is done with.
    store
        .record_attempt(&first.id, Attempt::Delivered { at: now() })
        .await
        .unwrap();
    enqueue(&*store, &[again]).await;
    let list = store.list_deliveries(&w.bot.id, None, 10).await.unwrap();
    assert_eq!(
        delivery_ids(&list),
        vec![second.id.clone(), first.id.clone()]
    );
    assert_eq!(list[1].status, DeliveryStatus::Delivered);
    assert_eq!(only_delivery(&*store, &w.bot2).await.id, other.id);
}

pub async fn due_deliveries_are_oldest_first_up_to_now(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    assert!(store.due_deliveries(now(), 10).await.unwrap().is_empty());
    let base = ago(0);
    let at = |s: i64| base + chrono::Duration::seconds(s);
    let a = delivery(&w.bot, "a", at(2));
    let b = delivery(&w.bot2, "b", at(0));
    let c = delivery(&w.bot, "c", at(1));
    let late = delivery(&w.bot, "late", at(10));
    enqueue(&*store, &[a.clone(), b.clone()]).await;
    enqueue(&*store, &[late.clone(), c.clone()]).await;

    let due = |t: Timestamp, limit: u32| {
        let store = store.clone();
        async move { delivery_ids(&store.due_deliveries(t, limit).await.unwrap()) }
    };
    let (a, b, c, late) = (a.id, b.id, c.id, late.id);
    assert_eq!(due(at(5), 10).await, vec![b.clone(), c.clone(), a.clone()]);
    assert_eq!(due(at(5), 2).await, vec![b.clone(), c.clone()]);
    assert_eq!(due(at(0), 10).await, vec![b.clone()], "due at is due");
    assert!(due(at(-1), 10).await.is_empty());
    assert_eq!(
        due(now(), 10).await,
        vec![b.clone(), c.clone(), a.clone(), late.clone()]
    );

    // Due at the same time: the one made first goes first.
    let retry_at = at(3);
    store
        .record_attempt(&a, retry(retry_at, "timeout"))
        .await
        .unwrap();
    store
        .record_attempt(&b, retry(retry_at, "timeout"))
        .await
        .unwrap();
    assert_eq!(due(at(2), 10).await, vec![c.clone()]);
    assert_eq!(due(at(5), 10).await, vec![c, b, a]);
}

pub async fn retries_stay_pending_and_move_their_due_time(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let d = delivery(&w.bot, "t1", ago(0));
    enqueue(&*store, std::slice::from_ref(&d)).await;
    let later = now() + chrono::Duration::minutes(5);
    let after = store
        .record_attempt(&d.id, retry(later, "HTTP 503"))
        .await
        .unwrap();
    assert_eq!(after.status, DeliveryStatus::Pending);
    assert_eq!(after.attempts, 1);
    assert_eq!(after.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(after.next_attempt_at, Some(later));
    assert_eq!(after.delivered_at, None);
    assert_eq!(after.created_at, d.created_at);
    assert_eq!(after.body, d.body);
    assert_eq!(only_delivery(&*store, &w.bot).await, after);

    assert!(store.due_deliveries(now(), 10).await.unwrap().is_empty());
    assert_eq!(
        store.due_deliveries(later, 10).await.unwrap(),
        vec![after.clone()]
    );

    let even_later = later + chrono::Duration::minutes(10);
    let again = store
        .record_attempt(&d.id, retry(even_later, "connection refused"))
        .await
        .unwrap();
    assert_eq!(again.attempts, 2);
    assert_eq!(again.last_error.as_deref(), Some("connection refused"));
    assert!(store.due_deliveries(later, 10).await.unwrap().is_empty());
    assert_eq!(
        store.due_deliveries(even_later, 10).await.unwrap(),
        vec![again]
    );

    assert_not_found(store.record_attempt("no-such-delivery", dead("x")).await);
}

pub async fn delivered_and_dead_leave_the_due_list(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let ok = delivery(&w.bot, "ok", ago(0));
    let gone = delivery(&w.bot, "gone", ago(1));
    let waiting = delivery(&w.bot, "waiting", ago(2));
    enqueue(&*store, &[ok.clone(), gone.clone(), waiting.clone()]).await;
    store
        .record_attempt(&ok.id, retry(ago(3), "HTTP 500"))
        .await
        .unwrap();
    let at = now();
    let delivered = store
        .record_attempt(&ok.id, Attempt::Delivered { at })
        .await
        .unwrap();
    assert_eq!(delivered.status, DeliveryStatus::Delivered);
    assert_eq!(delivered.attempts, 2);
    assert_eq!(delivered.delivered_at, Some(at));
    assert_eq!(delivered.next_attempt_at, None);
    assert_eq!(
        delivered.last_error, None,
        "a success clears the last error"
    );

    let died = store
        .record_attempt(&gone.id, dead("HTTP 410"))
        .await
        .unwrap();
    assert_eq!(died.status, DeliveryStatus::Dead);
    assert_eq!(died.attempts, 1);
    assert_eq!(died.next_attempt_at, None);
    assert_eq!(died.delivered_at, None);
    assert_eq!(died.last_error.as_deref(), Some("HTTP 410"));

    let far = now() + chrono::Duration::days(365);
    assert_eq!(
        delivery_ids(&store.due_deliveries(far, 10).await.unwrap()),
        vec![waiting.id]
    );
    let list = store.list_deliveries(&w.bot.id, None, 10).await.unwrap();
    assert_eq!(list[1], died);
    assert_eq!(list[2], delivered);
}

pub async fn deliveries_are_listed_newest_first_by_status(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let made: Vec<_> = (0..4)
        .map(|i| delivery(&w.bot, &format!("t{i}"), ago(i)))
        .collect();
    enqueue(&*store, &made).await;
    let mine = delivery(&w.bot2, "t0", ago(9));
    enqueue(&*store, std::slice::from_ref(&mine)).await;
    let id = |i: usize| made[i].id.clone();
    for i in [0, 3] {
        store
            .record_attempt(&id(i), Attempt::Delivered { at: now() })
            .await
            .unwrap();
    }
    store
        .record_attempt(&id(1), dead("HTTP 404"))
        .await
        .unwrap();

    let list = |status: Option<DeliveryStatus>, limit: u32| {
        let (store, agent) = (store.clone(), w.bot.id.clone());
        async move { delivery_ids(&store.list_deliveries(&agent, status, limit).await.unwrap()) }
    };
    assert_eq!(list(None, 10).await, vec![id(3), id(2), id(1), id(0)]);
    assert_eq!(list(None, 2).await, vec![id(3), id(2)]);
    assert_eq!(
        list(Some(DeliveryStatus::Delivered), 10).await,
        vec![id(3), id(0)]
    );
    assert_eq!(list(Some(DeliveryStatus::Dead), 10).await, vec![id(1)]);
    assert_eq!(list(Some(DeliveryStatus::Pending), 10).await, vec![id(2)]);
    assert_eq!(only_delivery(&*store, &w.bot2).await.id, mine.id);
    assert!(
        store
            .list_deliveries(&w.alice.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Removing the webhook keeps its deliveries.
    store
        .set_webhook(&w.bot.id, Some(webhook(&w.bot, "https://bot.example.com")))
        .await
        .unwrap();
    store.set_webhook(&w.bot.id, None).await.unwrap();
    assert_eq!(list(None, 10).await, vec![id(3), id(2), id(1), id(0)]);
}

pub async fn replaying_a_dead_delivery_makes_it_due_again(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let d = delivery(&w.bot, "t1", ago(0));
    let done = delivery(&w.bot, "t2", ago(1));
    enqueue(&*store, &[d.clone(), done.clone()]).await;
    store
        .record_attempt(&d.id, retry(ago(2), "timeout"))
        .await
        .unwrap();
    store.record_attempt(&d.id, dead("timeout")).await.unwrap();
    store
        .record_attempt(&done.id, Attempt::Delivered { at: now() })
        .await
        .unwrap();
    assert!(store.due_deliveries(now(), 10).await.unwrap().is_empty());

    let before = now();
    let replayed = store.replay_delivery(&w.bot.id, &d.id).await.unwrap();
    let after = now();
    assert_eq!(replayed.status, DeliveryStatus::Pending);
    assert_eq!(replayed.attempts, 0);
    assert_eq!(replayed.last_error, None);
    assert_eq!(replayed.delivered_at, None);
    let due_at = replayed.next_attempt_at.unwrap();
    assert!(before <= due_at && due_at <= after, "due now: {due_at}");
    assert_eq!(replayed.created_at, d.created_at);
    assert_eq!(replayed.body, d.body);
    assert_eq!(
        store.due_deliveries(now(), 10).await.unwrap(),
        vec![replayed.clone()]
    );

    // A delivered one can be sent again too.
    let resent = store.replay_delivery(&w.bot.id, &done.id).await.unwrap();
    assert_eq!(resent.status, DeliveryStatus::Pending);
    assert_eq!(resent.delivered_at, None);
    assert_eq!(resent.attempts, 0);
    assert_eq!(
        delivery_ids(&store.due_deliveries(now(), 10).await.unwrap()),
        vec![d.id, done.id]
    );
}

pub async fn replaying_another_agents_delivery_is_not_found(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let d = delivery(&w.bot, "t1", ago(0));
    enqueue(&*store, std::slice::from_ref(&d)).await;
    let died = store.record_attempt(&d.id, dead("HTTP 410")).await.unwrap();
    assert_not_found(store.replay_delivery(&w.bot2.id, &d.id).await);
    assert_not_found(store.replay_delivery(&w.alice.id, &d.id).await);
    assert_not_found(store.replay_delivery(&w.bot.id, "no-such-delivery").await);
    assert_eq!(only_delivery(&*store, &w.bot).await, died, "left as it was");
}

pub async fn concurrent_enqueues_of_one_event_leave_one_row(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let d = delivery(&w.bot, "same", ago(0));
            tokio::spawn(async move { store.enqueue_deliveries(vec![d]).await.unwrap() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let only = only_delivery(&*store, &w.bot).await;
    assert_eq!(only.event_id, "same");
    assert_eq!(only.attempts, 0);
    assert_eq!(store.due_deliveries(now(), 10).await.unwrap(), vec![only]);
}

// ---- search -----------------------------------------------------------------

/// A search of `query` (parsed as people type it) in `channels`, first page.
fn searching(channels: &[&Channel], query: &str) -> SearchRequest {
    SearchRequest {
        channels: channels.iter().map(|c| c.id.clone()).collect(),
        terms: octo_core::search::parse_query(query).unwrap(),
        author: None,
        thread: None,
        has_attachment: None,
        before: None,
        after: None,
        limit: 20,
        offset: 0,
    }
}

async fn found(store: &dyn Store, request: SearchRequest) -> Vec<MessageId> {
    let hits = store.search(request).await.unwrap();
    hits.into_iter().map(|h| h.message.id).collect()
}

/// Found ids in any order (for results whose ranks may tie).
async fn found_set(store: &dyn Store, request: SearchRequest) -> HashSet<MessageId> {
    found(store, request).await.into_iter().collect()
}

fn set(messages: &[&Message]) -> HashSet<MessageId> {
    messages.iter().map(|m| m.id.clone()).collect()
}

/// The highlighted parts of a hit's snippet, lower-cased.
fn highlighted(hit: &SearchHit) -> Vec<String> {
    let chars: Vec<char> = hit.snippet.chars().collect();
    hit.highlights
        .iter()
        .map(|&(start, end)| {
            assert!(start < end && end as usize <= chars.len(), "{hit:?}");
            chars[start as usize..end as usize]
                .iter()
                .collect::<String>()
                .to_lowercase()
        })
        .collect()
}

pub async fn search_matches_words_prefixes_and_phrases(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let noon = post(
        &*store,
        msg(&c.id, &w.alice, "The release train leaves at noon"),
    )
    .await;
    let team = post(&*store, msg(&c.id, &w.owner, "train the release team")).await;
    let staging = post(&*store, msg(&c.id, &w.bot, "Rolling out to staging now")).await;
    let s = &*store;

    assert_eq!(
        found(s, searching(&[&c], "noon")).await,
        vec![noon.id.clone()]
    );
    assert_eq!(
        found(s, searching(&[&c], "NOON")).await,
        vec![noon.id.clone()],
        "case is folded"
    );
    assert_eq!(
        found_set(s, searching(&[&c], "release")).await,
        set(&[&noon, &team])
    );
    // Every term is required.
    assert_eq!(
        found(s, searching(&[&c], "release noon")).await,
        vec![noon.id.clone()]
    );
    assert!(
        found(s, searching(&[&c], "release staging"))
            .await
            .is_empty()
    );
    // A word matches whole words; a prefix matches their starts.
    assert!(found(s, searching(&[&c], "rel")).await.is_empty());
    assert!(found(s, searching(&[&c], "stag")).await.is_empty());
    assert_eq!(
        found_set(s, searching(&[&c], "rel*")).await,
        set(&[&noon, &team])
    );
    assert_eq!(
        found(s, searching(&[&c], "stag*")).await,
        vec![staging.id.clone()]
    );
    assert_eq!(
        found(s, searching(&[&c], "tea* trai*")).await,
        vec![team.id.clone()]
    );
    // A phrase needs its words adjacent and in order.
    assert_eq!(
        found(s, searching(&[&c], "\"release train\"")).await,
        vec![noon.id.clone()]
    );
    assert_eq!(
        found(s, searching(&[&c], "\"train the release\"")).await,
        vec![team.id.clone()]
    );
    assert!(
        found(s, searching(&[&c], "\"train release\""))
            .await
            .is_empty()
    );
    assert!(
        found(s, searching(&[&c], "\"release noon\""))
            .await
            .is_empty()
    );
    // What would be query syntax in any backend is just separators.
    assert_eq!(
        found(s, searching(&[&c], "noon) OR (team")).await,
        Vec::<MessageId>::new()
    );
    assert!(found(s, searching(&[&c], "nothing-here")).await.is_empty());

    // Hits carry the whole message, as reads show it.
    let hits = store.search(searching(&[&c], "noon")).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        Some(hits[0].message.clone()),
        store.get_message(&noon.id).await.unwrap()
    );
}

pub async fn search_keeps_to_the_given_channels(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let mine = channel(&*store, &w, "mine").await;
    let other = channel(&*store, &w, "other").await;
    let here = post(
        &*store,
        msg(&mine.id, &w.alice, "a zebra crossing at the corner"),
    )
    .await;
    // The best match of all, in a channel the caller may not see.
    let hidden = post(&*store, msg(&other.id, &w.owner, "zebra zebra zebra")).await;
    post(&*store, msg(&mine.id, &w.alice, "nothing to see")).await;
    let s = &*store;

    assert_eq!(
        found(s, searching(&[&mine], "zebra")).await,
        vec![here.id.clone()]
    );
    assert_eq!(
        found(s, searching(&[&other], "zebra")).await,
        vec![hidden.id.clone()]
    );
    assert_eq!(
        found_set(s, searching(&[&mine, &other], "zebra")).await,
        set(&[&here, &hidden])
    );
    assert!(found(s, searching(&[], "zebra")).await.is_empty());
    let mut unknown = searching(&[&mine], "zebra");
    unknown.channels = vec![ChannelId::generate()];
    assert!(found(s, unknown).await.is_empty());
}

pub async fn search_ranks_better_matches_first(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    for filler in ["lunch plans", "the build is green", "who has the keys"] {
        post(&*store, msg(&c.id, &w.owner, filler)).await;
    }
    // The better match is the older one, so ranking (not recency) decides.
    let strong = post(&*store, msg(&c.id, &w.bot, "kiwi kiwi kiwi")).await;
    let weak = post(
        &*store,
        msg(
            &c.id,
            &w.alice,
            "a long message about many unrelated things that mentions kiwi only once in passing",
        ),
    )
    .await;
    let hits = store.search(searching(&[&c], "kiwi")).await.unwrap();
    assert_eq!(
        hits.iter()
            .map(|h| h.message.id.clone())
            .collect::<Vec<_>>(),
        vec![strong.id.clone(), weak.id.clone()]
    );
    assert!(hits[0].score > hits[1].score, "{hits:?}");
}

pub async fn search_filters_by_author_thread_attachment_and_time(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let root = post(
        &*store,
        NewMessage {
            created_at: ago(100),
            ..msg(&c.id, &w.alice, "orange roadmap")
        },
    )
    .await;
    let answer = post(
        &*store,
        NewMessage {
            created_at: ago(200),
            ..reply(&c.id, &root.id, &w.bot, "orange answer")
        },
    )
    .await;
    let elsewhere = post(
        &*store,
        NewMessage {
            created_at: ago(250),
            ..msg(&c.id, &w.bot, "orange elsewhere")
        },
    )
    .await;
    let file = store
        .create_file(upload(&c.id, &w.owner, "orange.png", ago(290)))
        .await
        .unwrap();
    let with_file = post(
        &*store,
        NewMessage {
            created_at: ago(300),
            attachments: vec![file.id.clone()],
            ..msg(&c.id, &w.owner, "orange picture")
        },
    )
    .await;
    let s = &*store;
    let all = || searching(&[&c], "orange");
    assert_eq!(
        found_set(s, all()).await,
        set(&[&root, &answer, &elsewhere, &with_file])
    );

    let by_bot = SearchRequest {
        author: Some(w.bot.id.clone()),
        ..all()
    };
    assert_eq!(found_set(s, by_bot).await, set(&[&answer, &elsewhere]));
    let in_thread = SearchRequest {
        thread: Some(root.id.clone()),
        ..all()
    };
    assert_eq!(found_set(s, in_thread).await, set(&[&root, &answer]));
    let bot_in_thread = SearchRequest {
        thread: Some(root.id.clone()),
        author: Some(w.bot.id.clone()),
        ..all()
    };
    assert_eq!(found(s, bot_in_thread).await, vec![answer.id.clone()]);
    let with = SearchRequest {
        has_attachment: Some(true),
        ..all()
    };
    assert_eq!(found(s, with).await, vec![with_file.id.clone()]);
    let without = SearchRequest {
        has_attachment: Some(false),
        ..all()
    };
    assert_eq!(
        found_set(s, without).await,
        set(&[&root, &answer, &elsewhere])
    );
    let before = SearchRequest {
        before: Some(ago(225)),
        ..all()
    };
    assert_eq!(found_set(s, before).await, set(&[&root, &answer]));
    let after = SearchRequest {
        after: Some(ago(225)),
        ..all()
    };
    assert_eq!(found_set(s, after).await, set(&[&elsewhere, &with_file]));
    let between = SearchRequest {
        after: Some(ago(150)),
        before: Some(ago(275)),
        ..all()
    };
    assert_eq!(found_set(s, between).await, set(&[&answer, &elsewhere]));
    let nobody = SearchRequest {
        author: Some(w.bot2.id.clone()),
        ..all()
    };
    assert!(found(s, nobody).await.is_empty());
}

pub async fn search_follows_edits_deletes_and_streams(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let s = &*store;
    let m = post(s, msg(&c.id, &w.alice, "apple pie for dessert")).await;
    assert_eq!(
        found(s, searching(&[&c], "apple")).await,
        vec![m.id.clone()]
    );

    let edit = MessageEdit {
        text: "cherry pie for dessert".into(),
        mentions: Mentions::default(),
        edited_at: now(),
    };
    let (edited, _) = store.edit_message(&m.id, &w.alice.id, edit).await.unwrap();
    assert!(found(s, searching(&[&c], "apple")).await.is_empty());
    let hits = store.search(searching(&[&c], "cherry")).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].message, edited);
    assert!(hits[0].snippet.contains("cherry"), "{hits:?}");

    // Stream text is searchable as it grows and once it is finished.
    let streamed = post(s, stream(&c.id, &w.bot, "")).await;
    store
        .append_delta(&streamed.id, &w.bot.id, "thinking about ")
        .await
        .unwrap();
    store
        .append_delta(&streamed.id, &w.bot.id, "pie recipes")
        .await
        .unwrap();
    assert_eq!(
        found(s, searching(&[&c], "recipes")).await,
        vec![streamed.id.clone()]
    );
    assert_eq!(
        found_set(s, searching(&[&c], "pie")).await,
        set(&[&edited, &streamed])
    );
    store
        .finish_stream(
            &streamed.id,
            &w.bot.id,
            Some("final answer: crumble".into()),
            StreamStatus::Finished,
        )
        .await
        .unwrap();
    assert!(found(s, searching(&[&c], "recipes")).await.is_empty());
    assert_eq!(
        found(s, searching(&[&c], "crumble")).await,
        vec![streamed.id.clone()]
    );

    // Deleted messages never match.
    store.delete_message(&m.id, &w.alice.id).await.unwrap();
    store.delete_message(&streamed.id, &w.bot.id).await.unwrap();
    for query in ["cherry", "pie", "crumble", "dessert"] {
        assert!(
            found(s, searching(&[&c], query)).await.is_empty(),
            "{query}"
        );
    }
    let again = post(s, msg(&c.id, &w.alice, "pie again")).await;
    assert_eq!(found(s, searching(&[&c], "pie")).await, vec![again.id]);
}

pub async fn search_highlights_the_matches_in_the_snippet(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    post(
        &*store,
        msg(
            &c.id,
            &w.alice,
            "We shipped the new search feature today, and search is fast",
        ),
    )
    .await;
    let hits = store.search(searching(&[&c], "search")).await.unwrap();
    assert_eq!(hits.len(), 1);
    let marked = highlighted(&hits[0]);
    assert_eq!(marked, vec!["search", "search"], "{:?}", hits[0]);
    assert!(
        hits[0].snippet.contains("new search feature"),
        "{:?}",
        hits[0]
    );

    let hits = store.search(searching(&[&c], "ship* today")).await.unwrap();
    let marked = highlighted(&hits[0]);
    assert!(marked.contains(&"shipped".to_owned()), "{marked:?}");
    assert!(marked.contains(&"today".to_owned()), "{marked:?}");

    // A phrase is highlighted as its words (together or one by one).
    let hits = store
        .search(searching(&[&c], "\"new search\""))
        .await
        .unwrap();
    let marked = highlighted(&hits[0]);
    let words: Vec<&str> = marked.iter().flat_map(|h| h.split_whitespace()).collect();
    assert!(
        words.contains(&"new") && words.contains(&"search"),
        "{marked:?}"
    );
    assert!(
        words.iter().all(|w| ["new", "search"].contains(w)),
        "{marked:?}"
    );
}

pub async fn search_pages_with_limit_and_offset(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let mut posted = HashSet::new();
    for i in 0..7 {
        let text = format!("standup notes {}", "notes ".repeat(i));
        posted.insert(post(&*store, msg(&c.id, &w.alice, &text)).await.id);
    }
    post(&*store, msg(&c.id, &w.alice, "something else")).await;
    let all = found(&*store, searching(&[&c], "notes")).await;
    assert_eq!(all.len(), 7);
    assert_eq!(all.iter().cloned().collect::<HashSet<_>>(), posted);
    let mut paged = Vec::new();
    for offset in [0, 3, 6, 9] {
        let page = found(
            &*store,
            SearchRequest {
                limit: 3,
                offset,
                ..searching(&[&c], "notes")
            },
        )
        .await;
        assert!(page.len() <= 3);
        paged.extend(page);
    }
    assert_eq!(paged, all, "pages follow one order");
    let none = SearchRequest {
        limit: 0,
        ..searching(&[&c], "notes")
    };
    assert!(found(&*store, none).await.is_empty());
}

// ---- files ------------------------------------------------------------------

fn upload(channel: &ChannelId, uploader: &Principal, name: &str, at: Timestamp) -> Attachment {
    Attachment {
        id: MessageId::generate().to_string(),
        channel_id: channel.clone(),
        uploader_id: uploader.id.clone(),
        name: name.into(),
        content_type: "image/png".into(),
        size: 1234,
        sha256: "ab".repeat(32),
        message_id: None,
        created_at: at,
    }
}

fn attached(file: &Attachment, message: &Message) -> Attachment {
    Attachment {
        message_id: Some(message.id.clone()),
        ..file.clone()
    }
}

fn file_ids(files: &[Attachment]) -> Vec<String> {
    files.iter().map(|f| f.id.clone()).collect()
}

pub async fn files_are_recorded_and_attached_on_post(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let s = &*store;
    let mut files = Vec::new();
    for (i, name) in ["b.png", "a.png", "c.png"].into_iter().enumerate() {
        let f = upload(&c.id, &w.alice, name, ago(i as i64));
        assert_eq!(s.create_file(f.clone()).await.unwrap(), f);
        files.push(f);
    }
    assert_eq!(
        s.get_file(&files[0].id).await.unwrap(),
        Some(files[0].clone())
    );
    assert_eq!(s.get_file("no-such-file").await.unwrap(), None);
    assert_eq!(
        file_ids(&s.list_files(&c.id, 10).await.unwrap()),
        vec![
            files[2].id.clone(),
            files[1].id.clone(),
            files[0].id.clone()
        ],
        "newest first"
    );
    assert_eq!(s.list_files(&c.id, 2).await.unwrap().len(), 2);
    assert_not_found(
        s.create_file(upload(&ChannelId::generate(), &w.alice, "x.png", now()))
            .await,
    );

    // Listed out of upload order, attached in upload order.
    let new = NewMessage {
        attachments: vec![files[1].id.clone(), files[0].id.clone()],
        client_msg_id: Some("with-files".into()),
        ..msg(&c.id, &w.alice, "two pictures")
    };
    let posted = s.post_message(new.clone()).await.unwrap();
    let m = posted.message;
    assert_eq!(
        m.attachments,
        vec![attached(&files[0], &m), attached(&files[1], &m)]
    );
    let event = posted.event.unwrap();
    assert_eq!(event.payload, payload::message_created(&m));
    assert_eq!(
        event.payload["message"]["attachments"][0]["id"],
        json!(files[0].id)
    );
    assert_eq!(s.get_message(&m.id).await.unwrap(), Some(m.clone()));
    assert_eq!(
        s.get_file(&files[0].id).await.unwrap(),
        Some(attached(&files[0], &m))
    );
    let listed = s
        .list_messages(&c.id, page(ThreadFilter::TopLevel, None, None, 10))
        .await
        .unwrap();
    assert_eq!(listed, vec![m.clone()]);
    let hits = s.search(searching(&[&c], "pictures")).await.unwrap();
    assert_eq!(hits[0].message, m);
    // Attached files of a live message are still the channel's.
    assert_eq!(s.list_files(&c.id, 10).await.unwrap().len(), 3);

    // A retry returns the first message as it is, whatever it lists.
    let retry = NewMessage {
        id: MessageId::generate(),
        attachments: vec![files[0].id.clone(), "no-such-file".into()],
        ..new
    };
    let again = s.post_message(retry).await.unwrap();
    assert!(again.event.is_none());
    assert_eq!(again.message, m);

    // Replies and thread listings show their files too.
    let r = post(
        s,
        NewMessage {
            attachments: vec![files[2].id.clone()],
            ..reply(&c.id, &m.id, &w.alice, "and one more")
        },
    )
    .await;
    assert_eq!(r.attachments, vec![attached(&files[2], &r)]);
    let threads = s.list_threads(&c.id, 10).await.unwrap();
    assert_eq!(threads[0].attachments, m.attachments);
    let thread = s
        .list_messages(
            &c.id,
            page(ThreadFilter::Thread(m.id.clone()), None, None, 10),
        )
        .await
        .unwrap();
    assert_eq!(thread[1], r);
}

pub async fn attaching_refuses_files_that_are_not_the_authors_to_give(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let other = channel(&*store, &w, "other").await;
    let s = &*store;
    let mine = upload(&c.id, &w.alice, "mine.png", ago(0));
    let owners = upload(&c.id, &w.owner, "owners.png", ago(1));
    let elsewhere = upload(&other.id, &w.alice, "elsewhere.png", ago(2));
    let taken = upload(&c.id, &w.alice, "taken.png", ago(3));
    for f in [&mine, &owners, &elsewhere, &taken] {
        s.create_file(f.clone()).await.unwrap();
    }
    let holder = post(
        s,
        NewMessage {
            attachments: vec![taken.id.clone()],
            ..msg(&c.id, &w.alice, "first")
        },
    )
    .await;
    let last_seq = s.get_channel(&c.id).await.unwrap().unwrap().last_seq;

    for bad in [
        owners.id.clone(),
        elsewhere.id.clone(),
        taken.id.clone(),
        "no-such-file".to_owned(),
    ] {
        let new = NewMessage {
            attachments: vec![mine.id.clone(), bad.clone()],
            client_msg_id: Some(format!("try-{bad}")),
            ..msg(&c.id, &w.alice, "refused")
        };
        assert_conflict(s.post_message(new.clone()).await);
        assert_eq!(s.get_message(&new.id).await.unwrap(), None, "{bad}");
        assert_eq!(
            s.get_file(&mine.id).await.unwrap(),
            Some(mine.clone()),
            "nothing was attached ({bad})"
        );
    }
    assert_eq!(
        s.get_file(&taken.id).await.unwrap(),
        Some(attached(&taken, &holder))
    );
    assert_eq!(
        s.get_channel(&c.id).await.unwrap().unwrap().last_seq,
        last_seq,
        "refusals appended nothing"
    );
    // The owner's file is the owner's to send.
    let theirs = post(
        s,
        NewMessage {
            attachments: vec![owners.id.clone()],
            ..msg(&c.id, &w.owner, "mine after all")
        },
    )
    .await;
    assert_eq!(theirs.attachments, vec![attached(&owners, &theirs)]);
}

pub async fn files_of_deleted_messages_go(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "general").await;
    let s = &*store;
    let kept = upload(&c.id, &w.alice, "kept.png", ago(0));
    let gone = upload(&c.id, &w.alice, "gone.png", ago(1));
    let loose = upload(&c.id, &w.alice, "loose.png", ago(2));
    for f in [&kept, &gone, &loose] {
        s.create_file(f.clone()).await.unwrap();
    }
    let keeper = post(
        s,
        NewMessage {
            attachments: vec![kept.id.clone()],
            ..msg(&c.id, &w.alice, "keeper")
        },
    )
    .await;
    let m = post(
        s,
        NewMessage {
            attachments: vec![gone.id.clone()],
            ..msg(&c.id, &w.alice, "to delete")
        },
    )
    .await;
    let (tombstone, _) = s.delete_message(&m.id, &w.alice.id).await.unwrap();
    assert!(tombstone.attachments.is_empty());
    assert_eq!(s.get_message(&m.id).await.unwrap(), Some(tombstone));
    // The row stays until its bytes are dealt with, but is no longer listed.
    assert_eq!(
        s.get_file(&gone.id).await.unwrap(),
        Some(attached(&gone, &m))
    );
    assert_eq!(
        file_ids(&s.list_files(&c.id, 10).await.unwrap()),
        vec![loose.id.clone(), kept.id.clone()]
    );
    assert_eq!(
        s.delete_files_of(&m.id).await.unwrap(),
        vec![attached(&gone, &m)]
    );
    assert_eq!(s.get_file(&gone.id).await.unwrap(), None);
    assert!(s.delete_files_of(&m.id).await.unwrap().is_empty());
    assert_eq!(
        s.get_message(&keeper.id)
            .await
            .unwrap()
            .unwrap()
            .attachments,
        vec![attached(&kept, &keeper)]
    );
}

// ---- roles and the audit log ------------------------------------------------

pub async fn set_role_changes_the_org_role(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let admin = store.set_role(&w.alice.id, Role::Admin).await.unwrap();
    assert_eq!(
        admin,
        Principal {
            role: Role::Admin,
            ..w.alice.clone()
        }
    );
    assert_eq!(store.get_principal(&w.alice.id).await.unwrap(), Some(admin));
    assert_not_found(store.set_role(&PrincipalId::generate(), Role::Admin).await);
}

fn audit_entry(
    w: &World,
    actor: &Principal,
    action: &str,
    target: &str,
    at: Timestamp,
) -> AuditEntry {
    AuditEntry {
        id: MessageId::generate().to_string(),
        org_id: w.org.id.clone(),
        actor_id: actor.id.clone(),
        action: action.into(),
        target_kind: "principal".into(),
        target_id: target.into(),
        before: Some(json!({ "role": "member" })),
        after: None,
        at,
    }
}

pub async fn audit_entries_are_listed_newest_first_with_filters(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let s = &*store;
    let alice = w.alice.id.to_string();
    let bot = w.bot.id.to_string();
    let entries = [
        audit_entry(&w, &w.owner, "member.role_changed", &alice, ago(10)),
        audit_entry(&w, &w.alice, "token.revoked", &bot, ago(20)),
        audit_entry(&w, &w.owner, "agent.created", &bot, ago(30)),
        AuditEntry {
            target_kind: "channel".into(),
            before: None,
            after: Some(json!({ "private": true, "list": [1, 2] })),
            ..audit_entry(&w, &w.owner, "overrides.replaced", "chan-1", ago(40))
        },
    ];
    for e in &entries {
        s.append_audit(e.clone()).await.unwrap();
    }
    let org = &w.org.id;
    let list = |filter: AuditFilter| async move {
        let got = s.list_audit(org, filter).await.unwrap();
        got.into_iter().map(|e| e.id).collect::<Vec<_>>()
    };
    let all = AuditFilter {
        limit: 10,
        ..AuditFilter::default()
    };
    let newest_first: Vec<AuditEntry> = entries.iter().rev().cloned().collect();
    assert_eq!(
        s.list_audit(&w.org.id, all.clone()).await.unwrap(),
        newest_first
    );
    let id = |i: usize| entries[i].id.clone();
    assert_eq!(
        list(AuditFilter {
            limit: 2,
            ..all.clone()
        })
        .await,
        vec![id(3), id(2)]
    );
    assert_eq!(
        list(AuditFilter {
            actor: Some(w.owner.id.clone()),
            ..all.clone()
        })
        .await,
        vec![id(3), id(2), id(0)]
    );
    assert_eq!(
        list(AuditFilter {
            action: Some("token.revoked".into()),
            ..all.clone()
        })
        .await,
        vec![id(1)]
    );
    assert_eq!(
        list(AuditFilter {
            target_id: Some(bot.clone()),
            ..all.clone()
        })
        .await,
        vec![id(2), id(1)]
    );
    assert_eq!(
        list(AuditFilter {
            before: Some(ago(25)),
            ..all.clone()
        })
        .await,
        vec![id(1), id(0)]
    );
    assert_eq!(
        list(AuditFilter {
            after: Some(ago(25)),
            ..all.clone()
        })
        .await,
        vec![id(3), id(2)]
    );
    assert_eq!(
        list(AuditFilter {
            after: Some(ago(15)),
            before: Some(ago(35)),
            actor: Some(w.owner.id.clone()),
            ..all.clone()
        })
        .await,
        vec![id(2)]
    );
    assert!(
        list(AuditFilter {
            action: Some("nothing.happened".into()),
            ..all.clone()
        })
        .await
        .is_empty()
    );
    assert!(
        s.list_audit(&OrgId::generate(), all)
            .await
            .unwrap()
            .is_empty()
    );
}

// ---- leases -------------------------------------------------------------------

const LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

pub async fn a_lease_has_one_holder_until_released(store: Arc<dyn Store>) {
    assert!(
        store
            .claim_lease("sender", "node-1", LEASE_TTL)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_lease("sender", "node-2", LEASE_TTL)
            .await
            .unwrap(),
        "a live lease is not taken"
    );
    assert!(
        store
            .claim_lease("sender", "node-1", LEASE_TTL)
            .await
            .unwrap(),
        "the holder renews"
    );
    // Leases are independent by name.
    assert!(
        store
            .claim_lease("other", "node-2", LEASE_TTL)
            .await
            .unwrap()
    );
    // Releasing someone else's lease does nothing.
    store.release_lease("sender", "node-2").await.unwrap();
    assert!(
        !store
            .claim_lease("sender", "node-2", LEASE_TTL)
            .await
            .unwrap()
    );
    store.release_lease("sender", "node-1").await.unwrap();
    assert!(
        store
            .claim_lease("sender", "node-2", LEASE_TTL)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_lease("sender", "node-1", LEASE_TTL)
            .await
            .unwrap()
    );
}

pub async fn an_expired_lease_is_taken_over(store: Arc<dyn Store>) {
    // A ttl of zero expires at once: the holder died right after claiming.
    assert!(
        store
            .claim_lease("sender", "dead-node", std::time::Duration::ZERO)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_lease("sender", "node-2", LEASE_TTL)
            .await
            .unwrap(),
        "an expired lease is taken over"
    );
    assert!(
        !store
            .claim_lease("sender", "dead-node", LEASE_TTL)
            .await
            .unwrap(),
        "and is no longer the dead holder's"
    );
}

pub async fn concurrent_claims_have_one_winner(store: Arc<dyn Store>) {
    let claims = (0..8).map(|n| {
        let store = store.clone();
        async move {
            store
                .claim_lease("sender", &format!("node-{n}"), LEASE_TTL)
                .await
                .unwrap()
        }
    });
    let won = futures::future::join_all(claims).await;
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
}

// ---- group.md ------------------------------------------------------------------

fn groupmd_write(
    scope: &GroupmdScope,
    base: u64,
    author: &Principal,
    text: &str,
) -> NewGroupmdRevision {
    NewGroupmdRevision {
        scope: scope.clone(),
        base_revision: base,
        author: author.id.clone(),
        text: text.into(),
        diff: format!("+{text}"),
    }
}

pub async fn groupmd_revisions_chain_and_log_an_event(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "notes").await;
    let scope = GroupmdScope {
        channel: c.id.clone(),
        thread: None,
    };
    // Revision 0 (the template) is implicit.
    assert_eq!(store.groupmd_revision(&scope, None).await.unwrap(), None);
    assert!(store.groupmd_revisions(&scope).await.unwrap().is_empty());

    let (r1, event) = store
        .put_groupmd(groupmd_write(&scope, 0, &w.alice, "# one\n"))
        .await
        .unwrap();
    assert_eq!((r1.revision, r1.base_revision), (1, 0));
    assert_eq!(event.kind, EventKind::GroupmdUpdated);
    assert_eq!(event.payload["revision"], 1);
    let log = store.list_events(&c.id, 0, 100).await.unwrap();
    assert_eq!(
        log.last().map(|e| e.seq),
        Some(event.seq),
        "the event is in the log"
    );

    let (r2, _) = store
        .put_groupmd(groupmd_write(&scope, 1, &w.bot, "# two\n"))
        .await
        .unwrap();
    assert_eq!((r2.revision, r2.base_revision), (2, 1));
    assert_eq!(r2.author, w.bot.id);
    let latest = store.groupmd_revision(&scope, None).await.unwrap().unwrap();
    assert_eq!(latest.text, "# two\n");
    let first = store
        .groupmd_revision(&scope, Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.text.as_str(), first.diff.as_str()),
        ("# one\n", "+# one\n")
    );
    assert_eq!(store.groupmd_revision(&scope, Some(9)).await.unwrap(), None);
    let all = store.groupmd_revisions(&scope).await.unwrap();
    assert_eq!(all.iter().map(|r| r.revision).collect::<Vec<_>>(), [1, 2]);

    let missing = GroupmdScope {
        channel: ChannelId::generate(),
        thread: None,
    };
    assert_not_found(
        store
            .put_groupmd(groupmd_write(&missing, 0, &w.alice, "x"))
            .await,
    );
}

pub async fn groupmd_stale_writes_conflict_and_lose_nothing(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "race").await;
    let scope = GroupmdScope {
        channel: c.id.clone(),
        thread: None,
    };
    let (a, b) = tokio::join!(
        store.put_groupmd(groupmd_write(&scope, 0, &w.alice, "alice's\n")),
        store.put_groupmd(groupmd_write(&scope, 0, &w.owner, "owner's\n")),
    );
    let (winner, loser) = match (a, b) {
        (Ok(won), lost) => (won.0, lost),
        (lost, Ok(won)) => (won.0, lost),
        (a, b) => panic!("one write must win: {a:?} {b:?}"),
    };
    assert_conflict(loser);
    let all = store.groupmd_revisions(&scope).await.unwrap();
    assert_eq!(all.len(), 1, "exactly the winner is stored");
    assert_eq!(all[0], winner);
    // The loser rebases on the winner and gets through.
    let (r2, _) = store
        .put_groupmd(groupmd_write(&scope, winner.revision, &w.alice, "merged\n"))
        .await
        .unwrap();
    assert_eq!(r2.revision, 2);
}

pub async fn groupmd_of_a_thread_is_its_own(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "threads").await;
    let root = post(&*store, msg(&c.id, &w.alice, "root")).await;
    let answer = post(&*store, reply(&c.id, &root.id, &w.owner, "a reply")).await;
    let channel_scope = GroupmdScope {
        channel: c.id.clone(),
        thread: None,
    };
    let thread_scope = GroupmdScope {
        channel: c.id.clone(),
        thread: Some(root.id.clone()),
    };
    store
        .put_groupmd(groupmd_write(&thread_scope, 0, &w.alice, "thread doc"))
        .await
        .unwrap();
    assert_eq!(
        store.groupmd_revision(&channel_scope, None).await.unwrap(),
        None
    );
    let (r, event) = store
        .put_groupmd(groupmd_write(&channel_scope, 0, &w.alice, "channel doc"))
        .await
        .unwrap();
    assert_eq!(r.revision, 1, "each scope counts its own revisions");
    assert_eq!(event.payload["thread_id"], serde_json::Value::Null);
    let t = store
        .groupmd_revision(&thread_scope, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.text, "thread doc");
    // Only a root message of this channel has a thread document.
    let not_root = GroupmdScope {
        channel: c.id.clone(),
        thread: Some(answer.id.clone()),
    };
    assert_not_found(
        store
            .put_groupmd(groupmd_write(&not_root, 0, &w.alice, "x"))
            .await,
    );
}

// ---- read cursors ------------------------------------------------------------

pub async fn posting_marks_the_channel_read_for_the_author(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let c = channel(&*store, &w, "chatter").await;
    let before = store
        .channel_member(&c.id, &w.alice.id)
        .await
        .unwrap()
        .unwrap();
    let first = post(&*store, msg(&c.id, &w.owner, "one")).await;
    let mine = post(&*store, msg(&c.id, &w.alice, "two")).await;
    let after = store
        .channel_member(&c.id, &w.alice.id)
        .await
        .unwrap()
        .unwrap();
    assert!(before.read_seq < first.seq);
    assert_eq!(
        after.read_seq, mine.seq,
        "the author has read up to their own message"
    );
    assert_eq!(
        after.acked_seq, before.acked_seq,
        "deliveries are still to be acked"
    );
    let owner = store
        .channel_member(&c.id, &w.owner.id)
        .await
        .unwrap()
        .unwrap();
    assert!(owner.read_seq < mine.seq, "nobody else's cursor moves");
}
