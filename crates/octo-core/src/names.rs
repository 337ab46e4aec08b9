//! Types that can only hold valid user input. Handlers parse requests into these
//! once, at the boundary; everything past it can trust them.

use crate::limits::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a piece of user input was refused. `field` names the request field so the
/// client can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidInput {
    pub field: &'static str,
    pub reason: String,
}

impl InvalidInput {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control())
}

/// A principal's handle: what others type after `@`. Letters, digits, `.`, `_`
/// and `-`, starting with a letter or digit. Unique per org, ignoring case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Handle(String);
string_newtype!(Handle);

impl Handle {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, InvalidInput> {
        let count = raw.chars().count();
        if count == 0 {
            return Err(InvalidInput::new(field, "must not be empty"));
        }
        if count > MAX_HANDLE_CHARS {
            return Err(InvalidInput::new(
                field,
                format!("must be at most {MAX_HANDLE_CHARS} characters"),
            ));
        }
        let first_ok = raw.chars().next().is_some_and(|c| c.is_alphanumeric());
        let all_ok = raw
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !first_ok || !all_ok || raw.ends_with('.') {
            return Err(InvalidInput::new(
                field,
                "may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit",
            ));
        }
        if matches!(
            raw.to_lowercase().as_str(),
            "all" | "agents" | "here" | "channel" | "everyone"
        ) {
            return Err(InvalidInput::new(
                field,
                format!("'{raw}' is reserved for group mentions"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The case-folded form used for uniqueness and mention matching.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// Free text naming a space, category or channel: 1–80 characters, trimmed, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceName(String);
string_newtype!(ResourceName);

impl ResourceName {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, InvalidInput> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(InvalidInput::new(field, "must not be empty"));
        }
        if trimmed.chars().count() > MAX_RESOURCE_NAME_CHARS {
            return Err(InvalidInput::new(
                field,
                format!("must be at most {MAX_RESOURCE_NAME_CHARS} characters"),
            ));
        }
        if has_control(trimmed) {
            return Err(InvalidInput::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// Optional free text up to `max` characters (topics, descriptions, display
/// names). Empty input becomes `None`.
pub fn parse_optional_text(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, InvalidInput> {
    let Some(raw) = raw else { return Ok(None) };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max {
        return Err(InvalidInput::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n') {
        return Err(InvalidInput::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(Some(trimmed.to_owned()))
}

/// An email address, lower-cased. The check is deliberately loose (one `@`, a
/// dot in the domain, no spaces): the only real test of an address is mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);
string_newtype!(Email);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let s = raw.trim().to_lowercase();
        let bad = || InvalidInput::new("email", "is not an email address");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty() || domain.is_empty() || domain.contains('@') || !domain.contains('.') {
            return Err(bad());
        }
        if domain.starts_with('.') || domain.ends_with('.') {
            return Err(bad());
        }
        Ok(Self(s))
    }
}

/// A password that meets the length rules. Never serialized, never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let n = raw.chars().count();
        if n < MIN_PASSWORD_CHARS {
            return Err(InvalidInput::new(
                "password",
                format!("must be at least {MIN_PASSWORD_CHARS} characters"),
            ));
        }
        if n > MAX_PASSWORD_CHARS {
            return Err(InvalidInput::new(
                "password",
                format!("must be at most {MAX_PASSWORD_CHARS} characters"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// Message text: Markdown, not blank, at most [`MAX_MESSAGE_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageText(String);
string_newtype!(MessageText);

impl MessageText {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if raw.trim().is_empty() {
            return Err(InvalidInput::new("text", "must not be empty"));
        }
        if raw.chars().count() > MAX_MESSAGE_CHARS {
            return Err(InvalidInput::new(
                "text",
                format!("must be at most {MAX_MESSAGE_CHARS} characters"),
            ));
        }
        if raw.contains('\0') {
            return Err(InvalidInput::new("text", "must not contain NUL characters"));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// A reaction: an emoji character or a short name such as `thumbsup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Emoji(String);
string_newtype!(Emoji);

impl Emoji {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if raw.is_empty() || raw.len() > MAX_EMOJI_BYTES {
            return Err(InvalidInput::new(
                "emoji",
                format!("must be 1 to {MAX_EMOJI_BYTES} bytes"),
            ));
        }
        if raw
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        {
            return Err(InvalidInput::new(
                "emoji",
                "must not contain spaces, '/' or control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// The sender's idempotency key for a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientMsgId(String);
string_newtype!(ClientMsgId);

impl ClientMsgId {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if raw.is_empty() || raw.len() > MAX_CLIENT_MSG_ID_BYTES {
            return Err(InvalidInput::new(
                "client_msg_id",
                format!("must be 1 to {MAX_CLIENT_MSG_ID_BYTES} bytes"),
            ));
        }
        if has_control(raw) {
            return Err(InvalidInput::new(
                "client_msg_id",
                "must not contain control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles() {
        assert!(Handle::parse("name", "alice").is_ok());
        assert!(Handle::parse("name", "Bob.Smith_2").is_ok());
        assert!(Handle::parse("name", "").is_err());
        assert!(Handle::parse("name", "has space").is_err());
        assert!(Handle::parse("name", "-dash").is_err());
        assert!(Handle::parse("name", "all").is_err());
        assert!(Handle::parse("name", "Agents").is_err());
        assert!(Handle::parse("name", &"a".repeat(41)).is_err());
        assert_eq!(
            Handle::parse("name", "Alice").map(|h| h.key()),
            Ok("alice".into())
        );
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").map(|e| e.0),
            Ok("ann@example.com".into())
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.io",
            "a b@x.io",
            "a@b@c.io",
            "a@localhost",
            "a@.x",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn message_text_limits() {
        assert!(MessageText::parse("hi").is_ok());
        assert!(MessageText::parse("  \n ").is_err());
        assert!(MessageText::parse(&"é".repeat(MAX_MESSAGE_CHARS)).is_ok());
        assert!(MessageText::parse(&"é".repeat(MAX_MESSAGE_CHARS + 1)).is_err());
    }

    #[test]
    fn resource_names_trim() {
        assert_eq!(
            ResourceName::parse("name", "  general ").map(|n| n.0),
            Ok("general".into())
        );
        assert!(ResourceName::parse("name", "a\u{7}b").is_err());
    }
}
