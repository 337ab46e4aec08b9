//! `octo`: the server and its command-line client in one binary.
#![forbid(unsafe_code)]

mod agent_run;
mod cli;
mod config;
mod groupmd;
mod mcp_stdio;
mod scribe;
mod serve;
mod voice;

use clap::{Parser, Subcommand};

/// glibc's malloc was a tenth of the server's CPU under load (consolidation,
/// arena locks); jemalloc cut CPU per message by a fifth and kept idle RSS low
/// (mimalloc doubled it). BENCHMARKS.md, session 6.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "octo",
    version,
    about = "Team chat where AI agents are first-class members"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (embedded SQLite in the data directory).
    Serve(serve::ServeArgs),
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Log in and remember the token for the other commands.
    Login {
        /// The server's URL.
        #[arg(long, env = "OCTO_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long)]
        email: String,
    },
    /// Send a message to a channel (by id, name, or space/name).
    Send {
        channel: String,
        text: String,
        /// Reply in this thread (the root message's id).
        #[arg(long)]
        thread: Option<String>,
    },
    /// Follow a channel live (by id, name, or space/name) until Ctrl-C.
    Tail {
        channel: String,
        /// Replay the channel's whole log first.
        #[arg(long)]
        from_start: bool,
    },
    /// List the channels you can see.
    Channels,
    /// Search messages you can see: words, "phrases", prefix*.
    Search {
        query: String,
        /// Only this channel (id, name, or space/name).
        #[arg(long)]
        channel: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Manage agents.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// Serve MCP over stdin/stdout as the principal of OCTO_TOKEN (for
    /// Claude Code, Cursor, any MCP client).
    Mcp,
    /// Load benchmarks against a server started from this binary
    /// (`octo bench compare`: the same workload through NATS JetStream).
    Bench(Box<octo_bench::cli::BenchArgs>),
    /// Transcribe a WAV file with a channel's words as context.
    Transcribe {
        file: std::path::PathBuf,
        /// The channel's id.
        #[arg(long)]
        channel: String,
        /// Also post the text as your message.
        #[arg(long)]
        post: bool,
    },
    /// Offline evaluations.
    Eval {
        #[command(subcommand)]
        command: EvalCommand,
    },
    /// group.md tools.
    Groupmd {
        #[command(subcommand)]
        command: GroupmdCommand,
    },
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Voice: writes `{"id", "raw", "text"}` per case (raw: no context).
    Voice {
        #[arg(long)]
        cases: std::path::PathBuf,
        /// Holds `<id>.wav` for every case.
        #[arg(long)]
        audio: std::path::PathBuf,
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum GroupmdCommand {
    /// Print the maintainer's decisions, action items and open questions for
    /// a conversation file as JSON: the deterministic rules, or with
    /// --llm-url one pass of the LLM maintainer (no fallback to the rules).
    Extract {
        #[arg(long)]
        input: std::path::PathBuf,
        /// An OpenAI-compatible endpoint, up to and including `/v1`
        /// (e.g. http://127.0.0.1:8000/v1).
        #[arg(long, requires = "model")]
        llm_url: Option<String>,
        /// The model to ask, with --llm-url.
        #[arg(long, requires = "llm_url")]
        model: Option<String>,
        /// The environment variable holding the endpoint's API key, if it
        /// wants one.
        #[arg(long, requires = "llm_url")]
        api_key_env: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print a commented example config file.
    Example,
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Create an agent you own; prints its token once.
    Create {
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Bridge existing agents into Octo (command, openai, a2a connectors)
    /// until Ctrl-C or SIGTERM.
    Run {
        /// The bridge's agents.toml.
        #[arg(long, env = "OCTO_AGENTS_CONFIG")]
        config: std::path::PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OCTO_LOG")
                // async-nats logs every connection at info (octo bench).
                .unwrap_or_else(|_| "info,async_nats=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve::run(args).await,
        Command::Config {
            command: ConfigCommand::Example,
        } => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
        Command::Login { url, email } => cli::login(&url, &email).await,
        Command::Send {
            channel,
            text,
            thread,
        } => cli::send(&channel, &text, thread).await,
        Command::Tail {
            channel,
            from_start,
        } => cli::tail(&channel, from_start).await,
        Command::Channels => cli::channels().await,
        Command::Search {
            query,
            channel,
            limit,
        } => cli::search(&query, channel.as_deref(), limit).await,
        Command::Agent {
            command: AgentCommand::Create { name, description },
        } => cli::create_agent(&name, description.as_deref()).await,
        Command::Agent {
            command: AgentCommand::Run { config },
        } => agent_run::run(&config).await,
        Command::Mcp => mcp_stdio::run().await,
        Command::Bench(args) => octo_bench::cli::run(*args, Some(std::env::current_exe()?)).await,
        Command::Transcribe {
            file,
            channel,
            post,
        } => voice::transcribe(&file, &channel, post).await,
        Command::Eval {
            command: EvalCommand::Voice { cases, audio, out },
        } => voice::eval(&cases, &audio, &out).await,
        Command::Groupmd {
            command:
                GroupmdCommand::Extract {
                    input,
                    llm_url,
                    model,
                    api_key_env,
                },
        } => {
            let llm = llm_url
                .zip(model)
                .map(|(base_url, model)| groupmd::LlmArgs {
                    base_url,
                    model,
                    api_key_env,
                });
            groupmd::run_extract(&input, llm).await
        }
    }
}
