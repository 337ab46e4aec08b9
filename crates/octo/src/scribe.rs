//! The built-in `scribe` in `octo serve`: an ordinary agent that reaches this
//! server through its loopback URL with a token minted for the org's scribe.
//! With several nodes, only the holder of the `scribe` lease runs it; another
//! node takes over when the holder stops renewing. Each start revokes the
//! tokens earlier starts minted, so restarts leave one live scribe token.

use crate::config::ScribeSection;
use octo_client::Client;
use octo_core::model::{Org, PrincipalKind};
use octo_core::{OrgId, TokenId};
use octo_scribe::{MaintainerConfig, ScribeConfig};
use octo_server::password::{new_token_secret, token_hash};
use octo_store::{NewToken, Store, now};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The lease whose holder runs the scribe for the cluster.
pub const LEASE: &str = "scribe";

/// The label of the tokens this binary mints for the scribe (and revokes at
/// the next start).
pub const TOKEN_LABEL: &str = "built-in scribe (octo serve)";

/// One org's running scribe: dropping `stop` ends it.
struct Running {
    _stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Runs the scribe of every org while this node holds the lease; checks for
/// new orgs and renews the lease every third of its ttl. Never returns.
pub async fn supervise(
    store: Arc<dyn Store>,
    base_url: String,
    node: String,
    config: ScribeSection,
    maintainer: MaintainerConfig,
) {
    let ttl = Duration::from_millis(config.lease_ms.max(1));
    let mut running: HashMap<OrgId, Running> = HashMap::new();
    loop {
        let holding = match store.claim_lease(LEASE, &node, ttl).await {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim the scribe's lease");
                false
            }
        };
        running.retain(|_, r| !r.task.is_finished());
        if holding {
            match store.list_orgs().await {
                Ok(orgs) => {
                    for org in orgs {
                        if running.contains_key(&org.id) {
                            continue;
                        }
                        match start(&*store, &base_url, &org, &config, &maintainer).await {
                            Ok(Some(r)) => {
                                tracing::info!(org = %org.id, "scribe running on this node");
                                running.insert(org.id, r);
                            }
                            Ok(None) => {}
                            Err(e) => {
                                tracing::warn!(org = %org.id, error = %e, "scribe not started")
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "scribe: cannot list orgs"),
            }
        } else if !running.is_empty() {
            tracing::info!("another node holds the scribe's lease; stopping it here");
            running.clear();
        }
        tokio::time::sleep(ttl / 3).await;
    }
}

/// Mints a token for the org's scribe (through the store, which this binary
/// holds) and runs the loop against the server's own URL.
async fn start(
    store: &dyn Store,
    base_url: &str,
    org: &Org,
    config: &ScribeSection,
    maintainer: &MaintainerConfig,
) -> anyhow::Result<Option<Running>> {
    let scribe = store
        .find_principals_by_names(&org.id, &[octo_server::scribe::SCRIBE_NAME.to_owned()])
        .await?
        .into_iter()
        .find(|p| p.kind == PrincipalKind::Agent && !p.deactivated);
    let Some(scribe) = scribe else {
        return Ok(None);
    };
    // An earlier start's token is no longer used by anyone: that scribe has
    // stopped (this node restarted, or the lease moved here).
    for token in store.list_tokens(&scribe.id).await? {
        if token.label == TOKEN_LABEL && token.revoked_at.is_none() {
            store.revoke_token(&scribe.id, &token.id).await?;
        }
    }
    let secret = new_token_secret();
    store
        .create_token(NewToken {
            id: TokenId::generate(),
            principal_id: scribe.id.clone(),
            secret_hash: token_hash(&secret),
            label: TOKEN_LABEL.to_owned(),
            created_at: now(),
            expires_at: None,
        })
        .await?;
    let client = Client::new(base_url, Some(secret));
    let scribe_config = ScribeConfig {
        every_messages: config.every_messages,
        idle: Duration::from_secs(config.idle_secs),
        maintainer: maintainer.clone(),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = octo_scribe::run(client, scribe_config, shutdown).await {
            tracing::warn!(error = %e, "scribe stopped");
        }
    });
    Ok(Some(Running { _stop: stop, task }))
}
