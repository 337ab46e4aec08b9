//! `agents.toml`: which agents the bridge drives and how each is reached.
//!
//! The file is read into loose `Raw*` records first (unknown keys rejected by
//! serde), then checked per connector, so a mistake is reported with the
//! agent's name and the key at fault rather than as a serde enum error.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Defaults and bounds of the `command` connector (documented in README).
pub const DEFAULT_TIMEOUT_SECS: u64 = 300;
pub const MAX_TIMEOUT_SECS: u64 = 24 * 3600;
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 64_000;
/// A reply is one message: 16,000 characters of at most 4 bytes.
pub const MAX_OUTPUT_BYTES: usize = 64_000;
pub const DEFAULT_CONCURRENCY: usize = 1;
pub const MAX_CONCURRENCY: usize = 64;
pub const DEFAULT_CONTEXT_TOKENS: usize = 4_000;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Syntax(String),
    #[error("agent {agent:?}: {message}")]
    Agent { agent: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// The whole file, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeConfig {
    /// The Octo server, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    pub agents: Vec<AgentConfig>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// The agent principal this entry drives (for logs and checks).
    pub name: String,
    /// The agent's own long-lived token.
    pub token: String,
    /// Turns of this agent handled at once.
    pub concurrency: usize,
    /// Budget of the context window asked for each turn.
    pub context_tokens: usize,
    pub connector: ConnectorConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConnectorConfig {
    Command(CommandConfig),
    OpenAi(OpenAiConfig),
    A2a(A2aConfig),
}

impl ConnectorConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            ConnectorConfig::Command(_) => "command",
            ConnectorConfig::OpenAi(_) => "openai",
            ConnectorConfig::A2a(_) => "a2a",
        }
    }
}

/// What the command reads on stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    /// `{"trigger": …, "context": <openai-format context>}`.
    Json,
    /// The context rendered as plain text.
    Text,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommandConfig {
    /// Program and arguments; run directly, not through a shell.
    pub argv: Vec<String>,
    pub input: InputFormat,
    pub timeout: Duration,
    pub max_output_bytes: usize,
    /// Extra environment for the command.
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiConfig {
    /// Up to and including `/v1`, e.g. `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    pub model: String,
    /// The API key, read from `api_key_env` at start (none for local servers).
    pub api_key: Option<String>,
    pub system_prompt: Option<String>,
    /// Extra request fields (temperature, max_tokens, …).
    pub parameters: serde_json::Map<String, serde_json::Value>,
    /// Attempts on 429/5xx/transport errors before giving up.
    pub max_attempts: u32,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct A2aConfig {
    /// Where the Agent Card is: `{agent_url}/.well-known/agent-card.json`.
    pub agent_url: String,
    /// Use `message/stream` when the card says it streams.
    pub streaming: bool,
    pub timeout: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    url: String,
    #[serde(default)]
    agents: Vec<RawAgent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    name: String,
    token: Option<String>,
    token_env: Option<String>,
    connector: String,
    concurrency: Option<usize>,
    context_tokens: Option<usize>,
    timeout_secs: Option<u64>,
    // command
    command: Option<Vec<String>>,
    input: Option<InputFormat>,
    max_output_bytes: Option<usize>,
    env: Option<BTreeMap<String, String>>,
    // openai
    base_url: Option<String>,
    model: Option<String>,
    api_key_env: Option<String>,
    system_prompt: Option<String>,
    parameters: Option<toml::Table>,
    max_attempts: Option<u32>,
    // a2a
    agent_url: Option<String>,
    streaming: Option<bool>,
}

impl BridgeConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, |k| std::env::var(k).ok())
    }

    /// Parses the file; `env` looks up `token_env` and `api_key_env`.
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        let url = raw.url.trim_end_matches('/').to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!(
                "url must start with http:// or https://, got {url:?}"
            )));
        }
        if raw.agents.is_empty() {
            return Err(ConfigError::Invalid(
                "no [[agents]]: the bridge has nothing to run".into(),
            ));
        }
        let mut agents = Vec::with_capacity(raw.agents.len());
        for a in raw.agents {
            if agents.iter().any(|b: &AgentConfig| b.name == a.name) {
                return Err(ConfigError::Agent {
                    agent: a.name,
                    message: "appears twice".into(),
                });
            }
            agents.push(agent(a, &env)?);
        }
        Ok(BridgeConfig { url, agents })
    }
}

fn agent(a: RawAgent, env: &impl Fn(&str) -> Option<String>) -> Result<AgentConfig, ConfigError> {
    let name = a.name.clone();
    let bad = |message: String| ConfigError::Agent {
        agent: name.clone(),
        message,
    };
    if name.trim().is_empty() {
        return Err(ConfigError::Invalid("an agent has an empty name".into()));
    }
    let token = match (&a.token, &a.token_env) {
        (Some(_), Some(_)) => return Err(bad("set token or token_env, not both".into())),
        (Some(t), None) => t.clone(),
        (None, Some(var)) => env(var).filter(|t| !t.is_empty()).ok_or_else(|| {
            bad(format!(
                "the environment variable {var} (token_env) is not set"
            ))
        })?,
        (None, None) => return Err(bad("needs token_env (or token)".into())),
    };
    let concurrency = a.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
    if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
        return Err(bad(format!("concurrency must be 1 to {MAX_CONCURRENCY}")));
    }
    let context_tokens = a.context_tokens.unwrap_or(DEFAULT_CONTEXT_TOKENS);
    if !(100..=200_000).contains(&context_tokens) {
        return Err(bad("context_tokens must be 100 to 200000".into()));
    }
    let timeout_secs = a.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS);
    if !(1..=MAX_TIMEOUT_SECS).contains(&timeout_secs) {
        return Err(bad(format!("timeout_secs must be 1 to {MAX_TIMEOUT_SECS}")));
    }
    let timeout = Duration::from_secs(timeout_secs);
    // Keys that belong to another connector are mistakes, not silence.
    let used = |keys: &[(&str, bool)], allowed: &[&str]| -> Result<(), ConfigError> {
        match keys.iter().find(|(k, set)| *set && !allowed.contains(k)) {
            Some((k, _)) => Err(bad(format!(
                "`{k}` does not apply to connector {:?}",
                a.connector
            ))),
            None => Ok(()),
        }
    };
    let keys = [
        ("command", a.command.is_some()),
        ("input", a.input.is_some()),
        ("max_output_bytes", a.max_output_bytes.is_some()),
        ("env", a.env.is_some()),
        ("base_url", a.base_url.is_some()),
        ("model", a.model.is_some()),
        ("api_key_env", a.api_key_env.is_some()),
        ("system_prompt", a.system_prompt.is_some()),
        ("parameters", a.parameters.is_some()),
        ("max_attempts", a.max_attempts.is_some()),
        ("agent_url", a.agent_url.is_some()),
        ("streaming", a.streaming.is_some()),
    ];
    let connector = match a.connector.as_str() {
        "command" => {
            used(&keys, &["command", "input", "max_output_bytes", "env"])?;
            let argv = a
                .command
                .filter(|c| c.first().is_some_and(|p| !p.is_empty()))
                .ok_or_else(|| bad("connector command needs command = [\"program\", …]".into()))?;
            let max_output_bytes = a.max_output_bytes.unwrap_or(DEFAULT_MAX_OUTPUT_BYTES);
            if !(1..=MAX_OUTPUT_BYTES).contains(&max_output_bytes) {
                return Err(bad(format!(
                    "max_output_bytes must be 1 to {MAX_OUTPUT_BYTES}"
                )));
            }
            ConnectorConfig::Command(CommandConfig {
                argv,
                input: a.input.unwrap_or(InputFormat::Json),
                timeout,
                max_output_bytes,
                env: a.env.unwrap_or_default(),
            })
        }
        "openai" => {
            used(
                &keys,
                &[
                    "base_url",
                    "model",
                    "api_key_env",
                    "system_prompt",
                    "parameters",
                    "max_attempts",
                ],
            )?;
            let base_url = http_url(a.base_url, "base_url").map_err(bad)?;
            let model = a
                .model
                .filter(|m| !m.is_empty())
                .ok_or_else(|| bad("connector openai needs model".into()))?;
            let api_key = match a.api_key_env {
                Some(var) => Some(env(&var).ok_or_else(|| {
                    bad(format!(
                        "the environment variable {var} (api_key_env) is not set"
                    ))
                })?),
                None => None,
            };
            let parameters = match a.parameters {
                Some(table) => match serde_json::to_value(table) {
                    Ok(serde_json::Value::Object(map)) => map,
                    _ => return Err(bad("parameters must be a table".into())),
                },
                None => serde_json::Map::new(),
            };
            for reserved in ["model", "messages", "stream", "tools"] {
                if parameters.contains_key(reserved) {
                    return Err(bad(format!(
                        "parameters must not set `{reserved}`: the bridge does"
                    )));
                }
            }
            let max_attempts = a.max_attempts.unwrap_or(4);
            if !(1..=10).contains(&max_attempts) {
                return Err(bad("max_attempts must be 1 to 10".into()));
            }
            ConnectorConfig::OpenAi(OpenAiConfig {
                base_url,
                model,
                api_key,
                system_prompt: a.system_prompt,
                parameters,
                max_attempts,
                timeout,
            })
        }
        "a2a" => {
            used(&keys, &["agent_url", "streaming"])?;
            ConnectorConfig::A2a(A2aConfig {
                agent_url: http_url(a.agent_url, "agent_url").map_err(bad)?,
                streaming: a.streaming.unwrap_or(true),
                timeout,
            })
        }
        other => {
            return Err(bad(format!(
                "unknown connector {other:?} (openai, command or a2a)"
            )));
        }
    };
    Ok(AgentConfig {
        name: a.name,
        token,
        concurrency,
        context_tokens,
        connector,
    })
}

fn http_url(raw: Option<String>, key: &str) -> Result<String, String> {
    let url = raw.ok_or_else(|| format!("needs {key}"))?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("{key} must start with http:// or https://"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        (k == "SCOUT_TOKEN").then(|| "octo_secret".to_owned())
    }

    #[test]
    fn the_issue_example_parses() {
        let c = BridgeConfig::parse(
            r#"
url = "http://127.0.0.1:8080/"
[[agents]]
name = "scout"
token_env = "SCOUT_TOKEN"
connector = "command"
command = ["sh", "-c", "cat"]
"#,
            env,
        )
        .unwrap();
        assert_eq!(c.url, "http://127.0.0.1:8080");
        let a = &c.agents[0];
        assert_eq!(a.token, "octo_secret");
        assert_eq!(a.concurrency, 1);
        let ConnectorConfig::Command(cmd) = &a.connector else {
            panic!("command")
        };
        assert_eq!(cmd.argv, ["sh", "-c", "cat"]);
        assert_eq!(cmd.timeout, Duration::from_secs(DEFAULT_TIMEOUT_SECS));
        assert_eq!(cmd.input, InputFormat::Json);
    }

    #[test]
    fn mistakes_name_the_agent_and_the_key() {
        let err = |text: &str| BridgeConfig::parse(text, env).unwrap_err().to_string();
        let head = "url = \"http://h\"\n[[agents]]\nname = \"scout\"\n";
        assert!(err(&format!("{head}connector = \"command\"\n")).contains("token_env"));
        assert!(
            err(&format!(
                "{head}token_env = \"NOPE\"\nconnector = \"command\"\ncommand=[\"x\"]\n"
            ))
            .contains("NOPE")
        );
        let e = err(&format!(
            "{head}token = \"t\"\nconnector = \"command\"\ncommand = [\"x\"]\nmodel = \"m\"\n"
        ));
        assert!(e.contains("scout") && e.contains("`model`"), "{e}");
        let e = err(&format!(
            "{head}token = \"t\"\nconnector = \"carrier-pigeon\"\n"
        ));
        assert!(e.contains("unknown connector"), "{e}");
        let e = err(&format!(
            "{head}token = \"t\"\nconnector = \"command\"\ncomand = [\"x\"]\n"
        ));
        assert!(e.contains("comand"), "{e}");
        let e = err(&format!(
            "{head}token = \"t\"\nconnector = \"command\"\ncommand = [\"x\"]\ntimeout_secs = 0\n"
        ));
        assert!(e.contains("timeout_secs"), "{e}");
        assert!(err("url = \"ftp://h\"\n").contains("http"));
    }

    #[test]
    fn openai_and_a2a_entries() {
        let c = BridgeConfig::parse(
            r#"
url = "http://h"
[[agents]]
name = "gpt"
token = "t1"
connector = "openai"
base_url = "http://127.0.0.1:9/v1/"
model = "m"
system_prompt = "be brief"
parameters = { temperature = 0.2 }
[[agents]]
name = "remote"
token = "t2"
connector = "a2a"
agent_url = "http://127.0.0.1:9"
"#,
            env,
        )
        .unwrap();
        let ConnectorConfig::OpenAi(o) = &c.agents[0].connector else {
            panic!("openai")
        };
        assert_eq!(o.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(o.parameters["temperature"], 0.2);
        assert!(matches!(c.agents[1].connector, ConnectorConfig::A2a(_)));
    }
}
