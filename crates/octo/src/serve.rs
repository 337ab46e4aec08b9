//! `octo serve`: the embedded default (SQLite in the data directory, one
//! node), or a node of a cluster (PostgreSQL and NATS).

use crate::config::{DEFAULT_DATA, DEFAULT_LISTEN, FileConfig, FilesStorage, VoiceEngine};
use anyhow::Context;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use octo_broker::{Broker, MemoryBroker};
use octo_broker_nats::{NatsBroker, NatsOptions};
use octo_server::AppState;
use octo_store::Store;
use octo_store_postgres::{PgOptions, PgStore};
use octo_store_sqlite::{SqliteOptions, SqliteStore};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "OCTO_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Data directory.
    #[arg(long, env = "OCTO_DATA")]
    pub data: Option<PathBuf>,
    /// TOML config file (see `octo config example`).
    #[arg(long, env = "OCTO_CONFIG")]
    pub config: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user@host:port/db) shared by every node;
    /// default: SQLite in the data directory.
    #[arg(long, env = "OCTO_DATABASE")]
    pub database: Option<String>,
    /// PostgreSQL schema for Octo's tables (default: public).
    #[arg(long, env = "OCTO_DATABASE_SCHEMA")]
    pub database_schema: Option<String>,
    /// NATS URL (nats://host:port) for fan-out between nodes; default:
    /// in-process.
    #[arg(long, env = "OCTO_BROKER")]
    pub broker: Option<String>,
    /// NATS subject prefix (default: octo).
    #[arg(long, env = "OCTO_BROKER_PREFIX")]
    pub broker_prefix: Option<String>,
    /// Run the built-in scribe agent (overrides `[scribe] enabled`).
    #[arg(long, env = "OCTO_SCRIBE")]
    pub scribe: Option<bool>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let listen = match args.listen.or(file.listen) {
        Some(addr) => addr,
        None => DEFAULT_LISTEN.parse()?,
    };
    let data = args
        .data
        .or(file.data)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA));
    std::fs::create_dir_all(&data)
        .with_context(|| format!("creating data directory {}", data.display()))?;

    let store = open_store(
        args.database.or(file.database).as_deref(),
        args.database_schema.or(file.database_schema),
        &data,
        file.storage.sqlite_synchronous.store_option(),
    )
    .await?;
    let broker = open_broker(
        args.broker.or(file.broker).as_deref(),
        args.broker_prefix.or(file.broker_prefix),
    )
    .await?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    // Scripts and tests read this line to find the port.
    println!("octo listening on http://{addr}");
    tracing::info!(%addr, data = %data.display(), "serving");

    let files = object_store_for(&file.files, &data)?;
    if let Some(on) = args.scribe {
        file.scribe.enabled = on;
    }
    let mut limits = file.limits;
    limits.scribe_joins_channels = file.scribe.enabled;
    let mut state = AppState::new(store.clone(), broker, files, limits);
    if let VoiceEngine::Openai {
        base_url,
        model,
        api_key_env,
    } = &file.voice
    {
        let key = match api_key_env {
            Some(var) => Some(
                std::env::var(var)
                    .with_context(|| format!("[voice] api_key_env: {var} is not set"))?,
            ),
            None => None,
        };
        let pronouncer = Arc::new(octo_voice::phones::Pronouncer::default_dict());
        let engine = octo_voice::openai::OpenAiEngine::new(base_url, key, model);
        state = state.with_voice(octo_voice::Voice::new(Arc::new(engine), pronouncer));
    }
    let maintainer = if file.scribe.enabled {
        file.scribe.maintainer_config()?
    } else {
        octo_scribe::MaintainerConfig::Rules
    };
    let scribe = file.scribe.enabled.then(|| {
        tokio::spawn(crate::scribe::supervise(
            store.clone(),
            loopback_url(addr),
            state.hub.node().to_owned(),
            file.scribe.clone(),
            maintainer,
        ))
    });
    octo_server::serve(listener, state, shutdown_signal()).await?;
    if let Some(scribe) = scribe {
        scribe.abort();
    }
    tracing::info!("no more requests; finishing writes");
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn open_store(
    database: Option<&str>,
    schema: Option<String>,
    data: &Path,
    synchronous: octo_store_sqlite::Synchronous,
) -> anyhow::Result<Arc<dyn Store>> {
    match database {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let options = PgOptions {
                schema,
                ..PgOptions::default()
            };
            let store = PgStore::open(url, options)
                .await
                .with_context(|| format!("opening PostgreSQL at {}", redacted(url)))?;
            tracing::info!(database = %redacted(url), "storing in PostgreSQL");
            Ok(Arc::new(store))
        }
        Some(other) => anyhow::bail!(
            "unsupported database {:?}: expected a postgres:// URL (or none, for SQLite)",
            redacted(other)
        ),
        None => Ok(Arc::new(
            SqliteStore::open(
                data,
                SqliteOptions {
                    synchronous,
                    ..SqliteOptions::default()
                },
            )
            .await
            .with_context(|| format!("opening the database in {}", data.display()))?,
        )),
    }
}

async fn open_broker(
    broker: Option<&str>,
    prefix: Option<String>,
) -> anyhow::Result<Arc<dyn Broker>> {
    match broker {
        Some(url) if url.starts_with("nats://") => {
            let mut options = NatsOptions::default();
            if let Some(prefix) = prefix {
                options.prefix = prefix;
            }
            let broker = NatsBroker::connect(url, options)
                .await
                .with_context(|| format!("connecting to NATS at {url}"))?;
            tracing::info!(broker = %url, "fan-out over NATS");
            Ok(Arc::new(broker))
        }
        Some(other) => anyhow::bail!(
            "unsupported broker {other:?}: expected a nats:// URL (or none, for in-process)"
        ),
        None => Ok(Arc::new(MemoryBroker::default())),
    }
}

/// The URL without its password, for messages and logs.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn object_store_for(
    config: &FilesStorage,
    data: &std::path::Path,
) -> anyhow::Result<Arc<dyn ObjectStore>> {
    if let Some(bucket) = &config.s3_bucket {
        let mut s3 = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = &config.s3_endpoint {
            s3 = s3
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(region) = &config.s3_region {
            s3 = s3.with_region(region);
        }
        return Ok(Arc::new(
            s3.build().context("configuring the S3 file store")?,
        ));
    }
    let dir = data.join("files");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(Arc::new(
        LocalFileSystem::new_with_prefix(&dir).context("opening the file store")?,
    ))
}

/// Resolves on SIGINT or SIGTERM.
/// This server's own URL for in-process agents: a wildcard listen address is
/// reached on loopback.
fn loopback_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if !ip.is_unspecified() => ip,
        std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redacted("postgres://octo:hunter2@db:5432/octo"),
            "postgres://octo:***@db:5432/octo"
        );
        assert_eq!(
            redacted("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
    }
}
