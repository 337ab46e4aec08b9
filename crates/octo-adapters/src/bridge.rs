//! The long-running bridge: for each agent of the config, turns from its
//! platform go to its connector, at most `concurrency` at a time.

use crate::a2a::A2aConnector;
use crate::command::CommandConnector;
use crate::config::{AgentConfig, BridgeConfig, ConnectorConfig};
use crate::connector::Connector;
use crate::octo::OctoPlatform;
use crate::openai::OpenAiConnector;
use crate::platform::{Platform, PlatformError, Turn};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

/// Turns still running at shutdown get this long to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("agent {agent:?}: {source}")]
    Connect {
        agent: String,
        source: PlatformError,
    },
    #[error("every agent's connection to Octo ended (see the log for why)")]
    Ended,
}

/// The connector an agent's config names.
pub fn connector_for(agent: &AgentConfig) -> Result<Arc<dyn Connector>, BridgeError> {
    match &agent.connector {
        ConnectorConfig::Command(c) => Ok(Arc::new(CommandConnector::new(
            c.clone(),
            agent.context_tokens,
        ))),
        ConnectorConfig::OpenAi(c) => Ok(Arc::new(OpenAiConnector::new(
            c.clone(),
            agent.context_tokens,
        ))),
        ConnectorConfig::A2a(c) => Ok(Arc::new(A2aConnector::new(c.clone(), agent.context_tokens))),
    }
}

/// Connects every agent, then runs until `shutdown` resolves; turns in
/// flight then get [`SHUTDOWN_GRACE`] to finish (unfinished ones come again
/// on the next start).
pub async fn run(
    config: BridgeConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), BridgeError> {
    let mut agents = Vec::with_capacity(config.agents.len());
    for agent in &config.agents {
        let connector = connector_for(agent)?;
        let (platform, turns) = OctoPlatform::connect(&config.url, &agent.name, &agent.token)
            .await
            .map_err(|source| BridgeError::Connect {
                agent: agent.name.clone(),
                source,
            })?;
        tracing::info!(agent = %agent.name, connector = agent.connector.kind(), "connected");
        agents.push((
            agent.concurrency,
            platform as Arc<dyn Platform>,
            turns,
            connector,
        ));
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut runners = JoinSet::new();
    for (concurrency, platform, turns, connector) in agents {
        runners.spawn(run_agent(
            platform,
            turns,
            connector,
            concurrency,
            stop_rx.clone(),
        ));
    }
    // Every runner ending by itself means every subscription was refused
    // (e.g. revoked tokens): nothing is left to do, and the caller should know.
    let ended = tokio::select! {
        () = shutdown => false,
        () = async { while runners.join_next().await.is_some() {} } => true,
    };
    if ended {
        return Err(BridgeError::Ended);
    }
    let _ = stop_tx.send(true);
    while runners.join_next().await.is_some() {}
    Ok(())
}

/// One agent's loop.
pub async fn run_agent(
    platform: Arc<dyn Platform>,
    mut turns: mpsc::Receiver<Turn>,
    connector: Arc<dyn Connector>,
    concurrency: usize,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(concurrency));
    let mut running = JoinSet::new();
    loop {
        let turn = tokio::select! {
            turn = turns.recv() => match turn {
                Some(turn) => turn,
                None => break,
            },
            _ = stop.wait_for(|s| *s) => break,
            // Reap finished turns so the set stays small.
            Some(_) = running.join_next(), if !running.is_empty() => continue,
        };
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stop.wait_for(|s| *s) => break,
        };
        let platform = platform.clone();
        let connector = connector.clone();
        running.spawn(async move {
            handle_turn(platform.as_ref(), connector.as_ref(), &turn).await;
            drop(permit);
        });
    }
    let drain = async { while running.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        running.abort_all();
    }
}

async fn handle_turn(platform: &dyn Platform, connector: &dyn Connector, turn: &Turn) {
    match connector.handle(platform, turn).await {
        Ok(()) => platform.done(turn).await,
        Err(e) if e.is_transient() => {
            // Not acked: the turn comes again once the platform is back.
            tracing::warn!(agent = %turn.agent, turn = %turn.id, error = %e, "turn left for later");
        }
        Err(e) => {
            tracing::warn!(agent = %turn.agent, turn = %turn.id, error = %e, "turn failed");
            if let Err(status) = platform.set_status(turn, &e.to_string()).await {
                tracing::warn!(agent = %turn.agent, error = %status, "could not show the failure");
            }
            platform.done(turn).await;
        }
    }
}
