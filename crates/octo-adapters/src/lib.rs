//! The bridge behind `octo agent run`: brings existing agents into Octo
//! channels unchanged.
//!
//! The bridge speaks to Octo only through the public API, like any client, via
//! the [`Platform`] trait ([`OctoPlatform`] is Octo's). Connectors turn a
//! [`Turn`] into a reply: [`CommandConnector`] runs a program per turn,
//! [`OpenAiConnector`] asks a chat-completions endpoint, [`A2aConnector`] a
//! remote A2A agent.
#![forbid(unsafe_code)]

pub mod a2a;
pub mod acks;
pub mod bridge;
pub mod command;
pub mod config;
pub mod connector;
pub mod octo;
pub mod openai;
pub mod platform;
pub mod sse;

pub use a2a::A2aConnector;
pub use bridge::{BridgeError, run};
pub use command::CommandConnector;
pub use config::{BridgeConfig, ConfigError};
pub use connector::{Connector, ConnectorError};
pub use octo::OctoPlatform;
pub use openai::OpenAiConnector;
pub use platform::{ContextFormat, Opened, Platform, PlatformError, Turn};
