//! Explicit limits on what users may send. Documented in README.md; changing one
//! here changes the API contract.

/// Longest message text, in Unicode scalar values (Slack allows 40k, Discord 4k).
pub const MAX_MESSAGE_CHARS: usize = 16_000;
/// Largest `data` JSON attached to a message, serialized, in bytes.
pub const MAX_MESSAGE_DATA_BYTES: usize = 16 * 1024;
/// Longest name of a space, category or channel, in characters.
pub const MAX_RESOURCE_NAME_CHARS: usize = 80;
/// Longest channel topic, in characters.
pub const MAX_TOPIC_CHARS: usize = 500;
/// Longest principal handle (the `@name`), in characters.
pub const MAX_HANDLE_CHARS: usize = 40;
/// Longest display name or agent description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;
/// Longest `client_msg_id`, in bytes.
pub const MAX_CLIENT_MSG_ID_BYTES: usize = 128;
/// Shortest and longest password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Most members in a group DM, the creator included.
pub const MAX_GROUP_DM_MEMBERS: usize = 16;
/// Most messages returned by one history page.
pub const MAX_PAGE_LIMIT: u32 = 500;
/// History page size when the client names none.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;
/// Most overrides on one resource.
pub const MAX_OVERRIDES_PER_RESOURCE: usize = 200;
/// Longest emoji name for a reaction, in bytes.
pub const MAX_EMOJI_BYTES: usize = 64;
