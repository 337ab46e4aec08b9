//! Opaque, time-ordered identifiers (UUIDv7 as text).
//!
//! Each kind of id is its own type so a channel id can never be passed where a
//! message id is expected; on the wire they are all plain strings.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String)]
        pub struct $name(String);

        impl $name {
            /// A fresh id; ids made later sort after ids made earlier.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// Wraps an id read back from storage or a request. Ids are opaque:
            /// an unknown or malformed one simply finds nothing.
            pub fn from_string(s: impl Into<String>) -> Self {
                Self(s.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

id_type!(/// An organization: the top of the hierarchy.
    OrgId);
id_type!(/// A human or an agent.
    PrincipalId);
id_type!(/// A space inside an organization.
    SpaceId);
id_type!(/// A category grouping channels inside a space.
    CategoryId);
id_type!(/// A channel, DM or group DM: one ordered log.
    ChannelId);
id_type!(/// A message; also the id of a thread (its root message).
    MessageId);
id_type!(/// An event in a channel's log; stable across redeliveries, for dedupe.
    EventId);
id_type!(/// A bearer token's public id (the secret itself is never stored).
    TokenId);
id_type!(/// A proposed group.md change waiting for review (or resolved).
    ProposalId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered_and_distinct() {
        let a = MessageId::generate();
        let b = MessageId::generate();
        assert_ne!(a, b);
        assert!(a < b, "UUIDv7 ids made later must sort later: {a} {b}");
    }
}
