//! Octo's domain, free of I/O: the types every other crate speaks, the parsing of
//! what users send (names, emails, message text, mentions), and the one pure
//! [`authorize`] that every entry point consults.
#![forbid(unsafe_code)]

pub mod event;
pub mod groupmd;
pub mod id;
pub mod limits;
pub mod mention;
pub mod model;
pub mod names;
pub mod perm;
pub mod search;
pub mod trigger;

pub use event::{Event, EventKind};
pub use id::{
    CategoryId, ChannelId, EventId, MessageId, OrgId, PrincipalId, ProposalId, SpaceId, TokenId,
};
pub use perm::{Action, Decision, Effect, Override, OverrideTarget, Role, authorize};
