//! `octo serve`: the embedded default (SQLite in the data directory).

use crate::config::{DEFAULT_DATA, DEFAULT_LISTEN, FileConfig, FilesStorage};
use anyhow::Context;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use octo_broker::MemoryBroker;
use octo_server::AppState;
use octo_store_sqlite::{SqliteOptions, SqliteStore};
use std::net::SocketAddr;
use std::path::PathBuf;
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
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let file = match &args.config {
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

    let store = Arc::new(
        SqliteStore::open(&data, SqliteOptions::default())
            .await
            .with_context(|| format!("opening the database in {}", data.display()))?,
    );
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    // Scripts and tests read this line to find the port.
    println!("octo listening on http://{addr}");
    tracing::info!(%addr, data = %data.display(), "serving");

    let files = object_store_for(&file.files, &data)?;
    let state = AppState::new(
        store.clone(),
        Arc::new(MemoryBroker::default()),
        files,
        file.limits,
    );
    octo_server::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("no more requests; finishing writes");
    store.close().await;
    tracing::info!("stopped");
    Ok(())
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
