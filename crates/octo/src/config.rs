//! The server's configuration: a TOML file, then `OCTO_*` environment variables,
//! then flags, each overriding the one before.

use octo_server::ServerConfig;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data: Option<PathBuf>,
    /// `postgres://…`: keep the logs and state in PostgreSQL, shared by every
    /// node. Absent: the embedded SQLite database in `data`.
    pub database: Option<String>,
    /// The PostgreSQL schema Octo's tables live in (created if missing);
    /// absent: `public`.
    pub database_schema: Option<String>,
    /// `nats://…`: fan events out between nodes over NATS. Absent: in-process
    /// (one node).
    pub broker: Option<String>,
    /// NATS subject prefix: clusters sharing one NATS keep apart by it.
    pub broker_prefix: Option<String>,
    pub limits: ServerConfig,
    pub storage: StorageSection,
    pub files: FilesStorage,
    pub voice: VoiceEngine,
    pub scribe: ScribeSection,
}

/// The built-in `scribe` agent that keeps each channel's group.md current.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScribeSection {
    /// Run it (and add it to new channels).
    pub enabled: bool,
    /// A pass after this many new messages in a channel.
    pub every_messages: usize,
    /// A pass once a channel has been quiet this long, in seconds.
    pub idle_secs: u64,
    /// In a cluster one node runs it: the holder of this lease, renewed every
    /// third of it; another node takes over after it.
    pub lease_ms: u64,
    /// What writes the revisions.
    pub maintainer: MaintainerKind,
    /// The endpoint of `maintainer = "openai"`.
    pub openai: Option<ScribeOpenAi>,
}

impl Default for ScribeSection {
    fn default() -> Self {
        Self {
            enabled: true,
            every_messages: 20,
            idle_secs: 60,
            lease_ms: 30_000,
            maintainer: MaintainerKind::Rules,
            openai: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaintainerKind {
    /// The deterministic maintainer: offline, touches only item lines.
    #[default]
    Rules,
    /// An OpenAI-compatible `chat/completions` endpoint rewrites the document;
    /// a revision that fails the checks is refused, not written.
    Openai,
}

/// `[scribe.openai]`: any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama,
/// llama.cpp server …).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScribeOpenAi {
    /// Up to and including `/v1`, e.g. `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub model: String,
    /// The environment variable holding the API key, if the endpoint needs one.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// For one request, the answer included.
    #[serde(default = "default_llm_timeout")]
    pub timeout_secs: u64,
    /// The largest answer read, in bytes (the document itself is held to
    /// group.md's 64 KiB limit).
    #[serde(default = "default_llm_response_bytes")]
    pub max_response_bytes: usize,
}

fn default_llm_timeout() -> u64 {
    60
}

fn default_llm_response_bytes() -> usize {
    256 * 1024
}

impl ScribeSection {
    /// The maintainer the scribe runs; the key is read from its environment
    /// variable now, so a missing one stops `octo serve` at start.
    pub fn maintainer_config(&self) -> anyhow::Result<octo_scribe::MaintainerConfig> {
        use octo_scribe::{MaintainerConfig, OpenAiMaintainer};
        match (self.maintainer, &self.openai) {
            (MaintainerKind::Rules, _) => Ok(MaintainerConfig::Rules),
            (MaintainerKind::Openai, None) => Err(anyhow::anyhow!(
                "[scribe] maintainer = \"openai\" needs a [scribe.openai] section with base_url and model"
            )),
            (MaintainerKind::Openai, Some(c)) => {
                let mut openai = OpenAiMaintainer::new(&c.base_url, &c.model);
                if let Some(var) = &c.api_key_env {
                    openai.api_key = Some(std::env::var(var).map_err(|_| {
                        anyhow::anyhow!("[scribe.openai] api_key_env: {var} is not set")
                    })?);
                }
                openai.timeout = std::time::Duration::from_secs(c.timeout_secs.max(1));
                openai.max_response_bytes = c.max_response_bytes;
                Ok(MaintainerConfig::OpenAi(openai))
            }
        }
    }
}

/// `[storage]`: how the embedded SQLite database commits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSection {
    pub sqlite_synchronous: SqliteSynchronous,
}

/// When an acknowledged write reaches the disk (SQLite's `synchronous`, WAL).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    /// An fsync per (group) commit: an acknowledged message survives a power loss.
    #[default]
    Full,
    /// No fsync at commit: a crash of the process loses nothing, a power loss
    /// or OS crash may lose the last commits.
    Normal,
}

impl SqliteSynchronous {
    pub fn store_option(self) -> octo_store_sqlite::Synchronous {
        match self {
            SqliteSynchronous::Full => octo_store_sqlite::Synchronous::Full,
            SqliteSynchronous::Normal => octo_store_sqlite::Synchronous::Normal,
        }
    }
}

/// Which speech engine `POST /channels/{id}/transcribe` uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "engine", rename_all = "lowercase", deny_unknown_fields)]
pub enum VoiceEngine {
    /// Offline, on Debian's libpocketsphinx and its English model (loaded when
    /// first asked for; without them voice answers 503 engine_unavailable).
    #[default]
    Pocketsphinx,
    /// Any OpenAI-compatible `/v1/audio/transcriptions` endpoint (whisper.cpp
    /// server, faster-whisper, hosted); the channel's words go in `prompt`.
    Openai {
        /// e.g. `http://127.0.0.1:9000`
        base_url: String,
        #[serde(default = "default_whisper_model")]
        model: String,
        /// The environment variable holding the API key, if the endpoint needs one.
        #[serde(default)]
        api_key_env: Option<String>,
    },
}

fn default_whisper_model() -> String {
    "whisper-1".into()
}

/// Where attachments' bytes go: `<data>/files` unless an S3-compatible bucket
/// is named (credentials from the usual `AWS_ACCESS_KEY_ID` /
/// `AWS_SECRET_ACCESS_KEY` environment variables).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilesStorage {
    pub s3_bucket: Option<String>,
    /// For S3-compatible stores (MinIO, R2, …): their endpoint URL.
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading config {}: {e}", path.display()))?;
        let config: Self =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("config {}: {e}", path.display()))?;
        let coalesce = config.limits.realtime.coalesce_ms;
        if coalesce > MAX_COALESCE_MS {
            anyhow::bail!(
                "config {}: limits.realtime.coalesce_ms is {coalesce}; at most {MAX_COALESCE_MS}",
                path.display()
            );
        }
        Ok(config)
    }
}

/// Longer would let a busy socket's events sit past any real-time promise.
const MAX_COALESCE_MS: u64 = 1000;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA: &str = "./octo-data";

/// Printed by `octo config example`; a test checks that it parses and matches
/// the defaults.
pub const EXAMPLE: &str = r#"# Octo server configuration (octo serve --config octo.toml).
# Every key is optional. OCTO_LISTEN / OCTO_DATA and the --listen / --data
# flags override what is set here.

# Address to serve HTTP on.
listen = "127.0.0.1:8080"

# Directory for the embedded database (SQLite) and later uploads.
data = "./octo-data"

# Scale-out (several identical nodes behind a load balancer): keep the logs
# and state in PostgreSQL and fan events out over NATS. Both unset (the
# default): SQLite in <data> and in-process fan-out, one node.
# OCTO_DATABASE / OCTO_BROKER and --database / --broker override these.
# database = "postgres://octo@127.0.0.1:5432/octo"
# database_schema = "public"
# broker = "nats://127.0.0.1:4222"
# broker_prefix = "octo"

# The embedded database (SQLite; ignored with a PostgreSQL database).
[storage]
# "full": every commit is fsynced before a message is acknowledged, so an
# acknowledged message survives a power loss. "normal": no fsync at commit
# (the write-ahead log is fsynced at checkpoints): a crash of Octo loses
# nothing, a power loss or OS crash may lose the last acknowledged messages
# (the durability class of NATS JetStream's default file store). Faster.
sqlite_synchronous = "full"

# Attachments are kept in <data>/files unless an S3-compatible bucket is named
# (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
[files]
# s3_bucket = "octo-files"
# s3_endpoint = "https://s3.example.com"
# s3_region = "us-east-1"

# Voice input: the offline engine (Debian's pocketsphinx), or any
# OpenAI-compatible /v1/audio/transcriptions endpoint:
#   [voice]
#   engine = "openai"
#   base_url = "http://127.0.0.1:9000"
#   model = "whisper-1"
#   api_key_env = "OPENAI_API_KEY"
[voice]
engine = "pocketsphinx"

[limits]
# Largest request body, in bytes.
max_body_bytes = 1048576
# How long a token from POST /api/v1/auth/login lives, in days.
login_token_days = 30

# Per principal (human or agent), for every authenticated request: a token
# bucket that holds `burst` requests and refills `per_second`. Past it: 429
# with Retry-After.
[limits.rate_limit]
burst = 200
per_second = 50.0

# Per client address, for login and setup attempts.
[limits.login_rate_limit]
burst = 20
per_second = 0.5

[limits.files]
# Largest upload, in bytes.
max_upload_bytes = 26214400

# WebSocket and long-poll.
[limits.realtime]
# Frames a connection may have queued before it counts as a consumer that
# stopped reading and is cut off (close 4409).
send_queue = 1024
# A socket write stuck this long cuts the connection off too.
send_timeout_ms = 10000
# The server pings this often; a client heard from for none of idle_timeout_ms
# is closed (4410).
ping_interval_ms = 20000
idle_timeout_ms = 60000
# Time allowed for the first frame, hello (4408).
hello_timeout_ms = 10000
# Largest frame a client may send (1009).
max_frame_bytes = 65536
# Longest wait a long-poll may ask for, in seconds.
longpoll_max_wait_secs = 60
# A socket written to less than this long ago gets what arrives in the rest of
# the window in one write: fewer writes under load, at most this much added
# latency. 0 writes every event at once.
coalesce_ms = 1

[limits.agents]
# A streaming reply with no delta for this long is closed as interrupted.
stream_idle_secs = 60
# How long a trigger's turn token lives.
turn_token_secs = 900
# Webhook deliveries: answer within this, first retry after this (doubling),
# dead-lettered after this many attempts.
webhook_timeout_ms = 10000
webhook_retry_base_ms = 1000
webhook_max_attempts = 9
# In a cluster one node sends webhooks: the holder of a lease in the database,
# renewed every third of this; another node takes a dead holder's over after it.
webhook_lease_ms = 30000

# The built-in scribe agent keeps each channel's group.md current (decisions,
# action items, open questions) and answers @scribe. It joins new channels
# (not DMs); remove it from a channel like any member.
[scribe]
enabled = true
# A pass after this many new messages in a channel, or once the channel has
# been quiet for idle_secs, or when someone posts exactly /groupmd.
every_messages = 20
idle_secs = 60
# In a cluster one node runs it: the holder of this lease (renewed every third
# of it); another node takes over after it.
lease_ms = 30000
# What writes the revisions: "rules" (offline and deterministic; only item
# lines change) or "openai": an OpenAI-compatible chat/completions endpoint
# gets the document and the new messages and answers the revised document,
# which is written only if it keeps every standard section, leaves the text
# outside them as it was and names only members as owners. When the endpoint
# fails (after 3 tries for 429/5xx), that pass uses the rules.
maintainer = "rules"
#   [scribe.openai]
#   base_url = "http://127.0.0.1:8000/v1"
#   model = "gpt-4o-mini"
#   api_key_env = "OPENAI_API_KEY"
#   timeout_secs = 60
#   max_response_bytes = 262144
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses_and_states_the_defaults() {
        let parsed: FileConfig = toml::from_str(EXAMPLE).expect("example parses");
        assert_eq!(parsed.listen, DEFAULT_LISTEN.parse().ok());
        assert_eq!(parsed.data.as_deref(), Some(Path::new(DEFAULT_DATA)));
        // The embedded default: no database URL, no broker.
        assert_eq!(parsed.database, None);
        assert_eq!(parsed.broker, None);
        assert_eq!(parsed.voice, VoiceEngine::default());
        for key in ["# database = \"postgres://", "# broker = \"nats://"] {
            assert!(EXAMPLE.contains(key), "the example states {key}");
        }
        let defaults = ServerConfig::default();
        let json = |v: &ServerConfig| serde_json::to_value(v).expect("serializes");
        assert_eq!(
            json(&parsed.limits),
            json(&defaults),
            "the example states every default"
        );
        assert_eq!(parsed.scribe, ScribeSection::default());
        assert_eq!(parsed.storage, StorageSection::default());
    }

    #[test]
    fn sqlite_synchronous_is_full_unless_normal_is_asked_for() {
        let default: FileConfig = toml::from_str("").expect("parses");
        assert_eq!(
            default.storage.sqlite_synchronous.store_option(),
            octo_store_sqlite::Synchronous::Full
        );
        let normal: FileConfig =
            toml::from_str("[storage]\nsqlite_synchronous = \"normal\"\n").expect("parses");
        assert_eq!(
            normal.storage.sqlite_synchronous.store_option(),
            octo_store_sqlite::Synchronous::Normal
        );
        let bad = toml::from_str::<FileConfig>("[storage]\nsqlite_synchronous = \"off\"\n")
            .expect_err("off is not a choice");
        let said = bad.to_string();
        assert!(
            said.contains("sqlite_synchronous")
                && said.contains("`full`")
                && said.contains("`normal`"),
            "the error names the key and the choices: {said}"
        );
    }

    #[test]
    fn an_openai_voice_engine_is_configured_by_url() {
        let parsed: FileConfig =
            toml::from_str("[voice]\nengine = \"openai\"\nbase_url = \"http://127.0.0.1:9\"\n")
                .expect("parses");
        assert_eq!(
            parsed.voice,
            VoiceEngine::Openai {
                base_url: "http://127.0.0.1:9".into(),
                model: "whisper-1".into(),
                api_key_env: None,
            }
        );
        assert!(toml::from_str::<FileConfig>("[voice]\nengine = \"siri\"\n").is_err());
    }

    #[test]
    fn the_openai_maintainer_needs_its_endpoint_and_key() {
        let parsed: FileConfig = toml::from_str(
            "[scribe]\nmaintainer = \"openai\"\n[scribe.openai]\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\ntimeout_secs = 5\n",
        )
        .expect("parses");
        match parsed.scribe.maintainer_config().expect("config") {
            octo_scribe::MaintainerConfig::OpenAi(c) => {
                assert_eq!(c.base_url, "http://127.0.0.1:9/v1");
                assert_eq!(c.timeout, std::time::Duration::from_secs(5));
                assert_eq!(c.api_key, None);
            }
            other => panic!("not the openai maintainer: {other:?}"),
        }
        let bare: FileConfig =
            toml::from_str("[scribe]\nmaintainer = \"openai\"\n").expect("parses");
        assert!(bare.scribe.maintainer_config().is_err());
        let unset: FileConfig = toml::from_str(
            "[scribe]\nmaintainer = \"openai\"\n[scribe.openai]\nbase_url = \"http://x/v1\"\nmodel = \"m\"\napi_key_env = \"OCTO_TEST_SURELY_UNSET_KEY\"\n",
        )
        .expect("parses");
        assert!(unset.scribe.maintainer_config().is_err());
        assert!(toml::from_str::<FileConfig>("[scribe]\nmaintainer = \"gpt\"\n").is_err());
    }

    #[test]
    fn a_coalescing_window_past_a_second_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("octo.toml");
        std::fs::write(&path, "[limits.realtime]\ncoalesce_ms = 5000\n").expect("write");
        let err = FileConfig::load(&path).expect_err("refused").to_string();
        assert!(err.contains("coalesce_ms is 5000; at most 1000"), "{err}");
        std::fs::write(&path, "[limits.realtime]\ncoalesce_ms = 0\n").expect("write");
        let config = FileConfig::load(&path).expect("0 writes at once");
        assert_eq!(config.limits.realtime.coalesce_ms, 0);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
    }
}
