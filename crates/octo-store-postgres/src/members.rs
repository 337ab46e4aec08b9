//! Channel membership: joins and leaves (each an event), trigger policies and
//! read cursors.

use crate::db::{self, Db};
use crate::error::Res;
use crate::events;
use crate::rows::{self, MEMBER_COLS, ms, seq_param};
use octo_core::model::*;
use octo_core::*;
use octo_store::{StoreError, Timestamp, now, payload};

/// Appends `member.joined` and adds the member. Its cursors start at its own
/// join event: history from before it joined does not count as unread, nor as
/// undelivered.
pub(crate) async fn join(
    c: &impl Db,
    channel: &ChannelId,
    principal: &PrincipalId,
    trigger: TriggerPolicy,
    actor: &PrincipalId,
    joined_at: Timestamp,
) -> Res<(ChannelMember, Event)> {
    let event = events::append(
        c,
        channel,
        EventKind::MemberJoined,
        actor,
        payload::member(principal),
    )
    .await?;
    db::execute(
        c,
        "INSERT INTO channel_members (channel_id, principal_id, trigger, read_seq, acked_seq, joined_at) \
         VALUES ($1, $2, $3, $4, $4, $5)",
        &[
            &channel.as_str(),
            &principal.as_str(),
            &trigger.as_str(),
            &seq_param(event.seq),
            &ms(joined_at),
        ],
    )
    .await?;
    let member = ChannelMember {
        channel_id: channel.clone(),
        principal_id: principal.clone(),
        trigger,
        read_seq: event.seq,
        joined_at,
        acked_seq: event.seq,
    };
    Ok((member, event))
}

/// Locks the channel row (membership changes of one channel take turns);
/// NotFound if there is no such channel.
async fn lock_channel(c: &impl Db, channel: &ChannelId) -> Res<()> {
    db::query_opt(
        c,
        "SELECT 1 FROM channels WHERE id = $1 FOR UPDATE",
        &[&channel.as_str()],
    )
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok(())
}

pub(crate) async fn add(
    c: &impl Db,
    channel: &ChannelId,
    principal: &PrincipalId,
    trigger: TriggerPolicy,
    actor: &PrincipalId,
) -> Res<(ChannelMember, Option<Event>)> {
    lock_channel(c, channel).await?;
    if let Some(mut existing) = get(c, channel, principal).await? {
        db::execute(
            c,
            "UPDATE channel_members SET trigger = $3 WHERE channel_id = $1 AND principal_id = $2",
            &[&channel.as_str(), &principal.as_str(), &trigger.as_str()],
        )
        .await?;
        existing.trigger = trigger;
        return Ok((existing, None));
    }
    let (member, event) = join(c, channel, principal, trigger, actor, now()).await?;
    Ok((member, Some(event)))
}

pub(crate) async fn remove(
    c: &impl Db,
    channel: &ChannelId,
    principal: &PrincipalId,
    actor: &PrincipalId,
) -> Res<Option<Event>> {
    lock_channel(c, channel).await?;
    let removed = db::execute(
        c,
        "DELETE FROM channel_members WHERE channel_id = $1 AND principal_id = $2",
        &[&channel.as_str(), &principal.as_str()],
    )
    .await?;
    if removed == 0 {
        return Ok(None);
    }
    let event = events::append(
        c,
        channel,
        EventKind::MemberLeft,
        actor,
        payload::member(principal),
    )
    .await?;
    Ok(Some(event))
}

pub(crate) async fn get(
    c: &impl Db,
    channel: &ChannelId,
    principal: &PrincipalId,
) -> Res<Option<ChannelMember>> {
    let sql = format!(
        "SELECT {MEMBER_COLS} FROM channel_members WHERE channel_id = $1 AND principal_id = $2"
    );
    db::query_opt_map(
        c,
        &sql,
        &[&channel.as_str(), &principal.as_str()],
        rows::member,
    )
    .await
}

pub(crate) async fn list(c: &impl Db, channel: &ChannelId) -> Res<Vec<ChannelMember>> {
    let sql =
        format!("SELECT {MEMBER_COLS} FROM channel_members WHERE channel_id = $1 ORDER BY pos");
    db::query_map(c, &sql, &[&channel.as_str()], rows::member).await
}

pub(crate) async fn memberships_of(
    c: &impl Db,
    principal: &PrincipalId,
) -> Res<Vec<ChannelMember>> {
    let sql =
        format!("SELECT {MEMBER_COLS} FROM channel_members WHERE principal_id = $1 ORDER BY pos");
    db::query_map(c, &sql, &[&principal.as_str()], rows::member).await
}

/// Moves the read cursor to `seq` clamped to the channel's last seq, in one
/// statement; NotFound if not a member.
pub(crate) async fn set_cursor(
    c: &impl Db,
    channel: &ChannelId,
    principal: &PrincipalId,
    seq: u64,
) -> Res<u64> {
    let row = db::query_opt(
        c,
        "UPDATE channel_members m SET read_seq = LEAST($3, ch.last_seq) FROM channels ch \
         WHERE ch.id = m.channel_id AND m.channel_id = $1 AND m.principal_id = $2 RETURNING m.read_seq",
        &[&channel.as_str(), &principal.as_str(), &seq_param(seq)],
    )
    .await?
    .ok_or(StoreError::NotFound)?;
    rows::u64_at(&row, 0)
}

/// Moves the delivery cursor forward only, clamped to the channel's last seq.
pub(crate) async fn ack_cursor(
    c: &impl Db,
    channel: &ChannelId,
    principal: &PrincipalId,
    seq: u64,
) -> Res<u64> {
    let row = db::query_opt(
        c,
        "UPDATE channel_members m SET acked_seq = GREATEST(m.acked_seq, LEAST($3, ch.last_seq)) \
         FROM channels ch WHERE ch.id = m.channel_id AND m.channel_id = $1 AND m.principal_id = $2 \
         RETURNING m.acked_seq",
        &[&channel.as_str(), &principal.as_str(), &seq_param(seq)],
    )
    .await?
    .ok_or(StoreError::NotFound)?;
    rows::u64_at(&row, 0)
}
