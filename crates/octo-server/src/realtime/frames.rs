//! The frames of the real-time protocol (WebSocket and long-poll), in one place.
//!
//! Client → server: `hello` (first), `ack`, `typing`, `presence`, `send`, `ping`.
//! Server → client: `ready`, `event`, `subscribed`, `unsubscribed`, `typing`,
//! `presence`, `sent`, `error`, `pong`. Events carry the one shape of DESIGN §9.

use crate::routes::messages::PostMessageRequest;
use chrono::{DateTime, Utc};
use octo_broker::Presence;
use octo_core::model::Message;
use octo_core::trigger::{Trigger, TriggerReason};
use octo_core::{ChannelId, Event, MessageId, PrincipalId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    Hello {
        token: Option<String>,
        /// channel → last seq seen. Channels left out resume from the server-side
        /// cursor (members) or start live (visible non-members).
        cursors: Option<HashMap<ChannelId, u64>>,
        /// Only these channels (e.g. a client that follows one channel);
        /// omitted: every channel the principal can see.
        channels: Option<Vec<ChannelId>>,
    },
    /// Moves the server-side delivery cursors forward.
    Ack {
        cursors: HashMap<ChannelId, u64>,
    },
    Typing {
        channel_id: ChannelId,
        thread_id: Option<String>,
    },
    Presence {
        status: Presence,
    },
    /// Posts a message, as `POST /channels/{id}/messages` would; answered by
    /// `sent` or `error` with the same `ref`.
    Send(SendFrame),
    Ping,
}

/// The longest `ref` a client may give a `send`, in characters.
pub const MAX_REF_CHARS: usize = 64;

/// A client's name for one `send` (1 to [`MAX_REF_CHARS`] characters), echoed
/// in its answer so that pipelined sends can be told apart.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct SendRef(String);

impl SendRef {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SendRef {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        if (1..=MAX_REF_CHARS).contains(&s.chars().count()) {
            Ok(SendRef(s))
        } else {
            Err(format!("ref must be 1 to {MAX_REF_CHARS} characters"))
        }
    }
}

/// `{"type":"send","ref","channel_id", …the body of POST /channels/{id}/messages…}`.
///
/// The body's fields are spelled out here rather than flattened in: serde's
/// `flatten` does not support `deny_unknown_fields`, and a misspelt field must
/// be refused here as it is over HTTP. [`SendFrame::into_parts`] builds the
/// request with every field named, so a field added to `PostMessageRequest`
/// does not compile until it is added here too.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendFrame {
    #[serde(rename = "ref")]
    pub reference: SendRef,
    pub channel_id: ChannelId,
    pub text: String,
    pub thread_id: Option<MessageId>,
    pub client_msg_id: Option<String>,
    pub data: Option<serde_json::Value>,
    pub attachments: Option<Vec<String>>,
    #[serde(default)]
    pub stream: bool,
}

impl SendFrame {
    /// The ref, the channel, and the request exactly as HTTP would parse it.
    pub fn into_parts(self) -> (SendRef, ChannelId, PostMessageRequest) {
        let SendFrame {
            reference,
            channel_id,
            text,
            thread_id,
            client_msg_id,
            data,
            attachments,
            stream,
        } = self;
        let req = PostMessageRequest {
            text,
            thread_id,
            client_msg_id,
            data,
            attachments,
            stream,
        };
        (reference, channel_id, req)
    }
}

#[derive(Debug, Serialize)]
pub struct ReadyChannel {
    pub channel_id: ChannelId,
    /// Replay starts after this seq.
    pub from_seq: u64,
    /// The channel's newest seq when the session started: once the client has
    /// seen it, it is caught up.
    pub last_seq: u64,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Ready {
        principal_id: &'a PrincipalId,
        session_id: u64,
        channels: Vec<ReadyChannel>,
    },
    /// A channel became visible during the session; its events follow.
    Subscribed {
        channel_id: &'a ChannelId,
        from_seq: u64,
    },
    /// A channel stopped being visible; nothing more of it is sent.
    Unsubscribed {
        channel_id: &'a ChannelId,
        reason: &'a str,
    },
    Typing {
        channel_id: &'a ChannelId,
        principal_id: &'a PrincipalId,
        thread_id: Option<&'a str>,
    },
    Presence {
        principal_id: &'a PrincipalId,
        status: Presence,
    },
    /// A `send` was committed (or, `replayed`, its `client_msg_id` had been
    /// sent before and this is the first message): the message exactly as
    /// `POST /channels/{id}/messages` answers it.
    Sent {
        #[serde(rename = "ref")]
        reference: &'a str,
        message: &'a Message,
        replayed: bool,
    },
    Error {
        code: &'a str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        channel_id: Option<&'a ChannelId>,
        /// The `ref` of the `send` this answers.
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
    },
    Pong,
}

impl ServerFrame<'_> {
    pub fn to_text(&self) -> String {
        // Serializing these plain structs cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// An event as a frame: `{"type": "event", …the event…}`. Built once per event
/// and shared by every recipient.
pub fn event_frame(event: &Event) -> String {
    #[derive(Serialize)]
    struct Frame<'a> {
        #[serde(rename = "type")]
        frame_type: &'static str,
        #[serde(flatten)]
        event: &'a Event,
    }
    serde_json::to_string(&Frame {
        frame_type: "event",
        event,
    })
    .unwrap_or_default()
}

/// A trigger as a frame: the event that woke the agent (its one shape, with
/// `"type": "trigger"`) and why, with the turn token to act with.
pub fn trigger_frame(
    trigger: &Trigger,
    event: &Event,
    turn_token: &str,
    expires_at: DateTime<Utc>,
) -> String {
    #[derive(Serialize)]
    struct Detail<'a> {
        id: &'a str,
        agent_id: &'a PrincipalId,
        reason: TriggerReason,
        hop: u32,
        message_id: &'a MessageId,
        thread_id: Option<&'a MessageId>,
        /// Scoped to this channel; expires at `turn_expires_at`.
        turn_token: &'a str,
        turn_expires_at: DateTime<Utc>,
    }
    #[derive(Serialize)]
    struct Frame<'a> {
        #[serde(rename = "type")]
        frame_type: &'static str,
        #[serde(flatten)]
        event: &'a Event,
        trigger: Detail<'a>,
    }
    serde_json::to_string(&Frame {
        frame_type: "trigger",
        event,
        trigger: Detail {
            id: &trigger.id,
            agent_id: &trigger.agent_id,
            reason: trigger.reason,
            hop: trigger.hop,
            message_id: &trigger.message_id,
            thread_id: trigger.thread_id.as_ref(),
            turn_token,
            turn_expires_at: expires_at,
        },
    })
    .unwrap_or_default()
}

/// WebSocket close codes Octo uses (4000–4999 are for applications).
pub mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const TOO_BIG: u16 = 1009;
    pub const BAD_HELLO: u16 = 4400;
    pub const UNAUTHENTICATED: u16 = 4401;
    pub const HELLO_TIMEOUT: u16 = 4408;
    pub const SLOW_CONSUMER: u16 = 4409;
    pub const IDLE_TIMEOUT: u16 = 4410;
}
